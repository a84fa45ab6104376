"""A small typed client for the gateway's white-box routes (and the few grey ones the
techniques need). Techniques reach the model only through it: the same code audits
a local model or a proprietary one behind a lab's gateway.

Over 400 lines because it is one typed method per gateway route the techniques use,
with the wire models those routes take; each method is short.
"""

from __future__ import annotations

import base64
import copy
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, Literal, TypeVar

import httpx
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from assay._util.errors import AssayError
from assay.gateway.finetuning import FineTuneJob
from assay.gateway.whitebox import (
    MAX_NOISE_INPUTS,
    GradientResponse,
    HookPoints,
    Intervention,
    InterventionGenerateResponse,
    NoiseGenerateRequest,
    NoiseGenerateResponse,
    NoiseGeneration,
    ProbeResponse,
    TextInput,
    WeightNoise,
)
from assay.techniques._base import BudgetMeter

__all__ = [
    "CompletionChoice",
    "FineTuneJob",
    "GatewayRequestError",
    "Generation",
    "GradientResult",
    "HookPoints",
    "Intervention",
    "Message",
    "NoiseGeneration",
    "ProbeResult",
    "Prompt",
    "WhiteboxClient",
]

T = TypeVar("T")
R = TypeVar("R")

Message = Mapping[str, str]
# A raw text, or chat messages the gateway renders with the model's chat template.
Prompt = str | Sequence[Message]

_ACTIVATIONS_CHUNK = 64
_COMPLETIONS_CHUNK = 32


class GatewayRequestError(AssayError):
    """The gateway refused or failed a request; carries its status and error code."""

    def __init__(self, status: int, code: str | None, message: str, route: str) -> None:
        hint = None
        if code == "quota_exceeded":
            hint = "the token's quota is spent; ask the developer to raise it"
        elif code == "tier_insufficient" or status == 401:
            hint = "white-box techniques need a valid white-tier token"
        super().__init__(f"gateway {status} ({code or 'error'}) on {route}: {message}", hint=hint)
        self.status = status
        self.code = code


class _Loose(BaseModel):
    model_config = ConfigDict(extra="ignore")


# The gateway's wire models, under the names the techniques use.
Generation = InterventionGenerateResponse
GradientResult = GradientResponse
ProbeResult = ProbeResponse


class CompletionChoice(_Loose):
    text: str
    token_logprobs: list[float | None] = Field(default_factory=list)
    top_logprobs: list[dict[str, float] | None] = Field(default_factory=list)


def _input(prompt: Prompt) -> dict[str, Any]:
    if isinstance(prompt, str):
        return {"text": prompt}
    return {"messages": [dict(m) for m in prompt]}


def _decode(values: list[float] | str, shape: Sequence[int]) -> np.ndarray[Any, Any]:
    if isinstance(values, str):
        flat = np.frombuffer(base64.b64decode(values), dtype="<f4")
    else:
        flat = np.asarray(values, dtype=np.float32)
    return flat.reshape(tuple(shape)).astype(np.float32)


class WhiteboxClient:
    """HTTP client for one gateway and one bearer token (white tier).

    ``base_url`` is the gateway's root or its ``/v1`` URL. A client made by
    :meth:`metered` counts every request against a technique's budget.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = 600.0,
        max_retries: int = 3,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        root = base_url.rstrip("/")
        self.base_url = root if root.endswith("/v1") else root + "/v1"
        self.max_retries = max_retries
        self.meter: BudgetMeter | None = None
        self._http = httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> WhiteboxClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def metered(self, meter: BudgetMeter) -> WhiteboxClient:
        """The same connection, counting requests against ``meter``."""
        view = copy.copy(self)
        view.meter = meter
        return view

    # ---- transport -----------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        floats_bound: int = 0,
        metered: bool = True,
        count_floats: Callable[[Any], int] | None = None,
    ) -> Any:
        meter = self.meter if metered else None
        if meter is not None:
            meter.reserve(floats_bound)
        elif self.meter is not None:
            self.meter.check_time()
        actual = floats_bound
        try:
            payload = self._send(method, path, body)
            if count_floats is not None:
                actual = count_floats(payload)
            elif isinstance(payload, dict) and isinstance(payload.get("floats"), int):
                actual = int(payload["floats"])
            return payload
        except GatewayRequestError:
            actual = 0
            raise
        finally:
            if meter is not None:
                meter.settle(floats_bound, actual)

    def _send(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        params: dict[str, str] | None = None,
    ) -> Any:
        for attempt in range(self.max_retries + 1):
            try:
                response = self._http.request(method, path, json=body, params=params)
            except httpx.TransportError as exc:
                raise AssayError(f"cannot reach the gateway at {self.base_url}: {exc}") from None
            if response.status_code == 429 and attempt < self.max_retries:
                code = _error(response)[0]
                if code == "rate_limited":
                    time.sleep(min(float(response.headers.get("retry-after", "1")), 60.0))
                    continue
            if response.status_code >= 400:
                code, message = _error(response)
                raise GatewayRequestError(response.status_code, code, message, path)
            return response.json()
        raise AssertionError("unreachable")

    def map(
        self,
        fn: Callable[[T], R],
        items: Iterable[T],
        concurrency: int,
        on_done: Callable[[int], None] | None = None,
    ) -> list[R]:
        """``[fn(x) for x in items]`` with ``concurrency`` requests in flight, so the
        gateway can batch them; the first error cancels what has not started."""
        work = list(items)
        if concurrency <= 1 or len(work) <= 1:
            results = []
            for i, x in enumerate(work):
                results.append(fn(x))
                if on_done:
                    on_done(i + 1)
            return results
        done = 0
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            futures: list[Future[R]] = [pool.submit(fn, x) for x in work]
            pending = set(futures)
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for f in finished:
                    error = f.exception()
                    if error is not None:
                        for p in pending:
                            p.cancel()
                        raise error
                done += len(finished)
                if on_done:
                    on_done(done)
            return [f.result() for f in futures]

    # ---- routes ----------------------------------------------------------------

    def hook_points(self, model: str) -> HookPoints:
        response = self._send("GET", "/whitebox/hook_points", None, params={"model": model})
        return HookPoints.model_validate(response)

    def activations(
        self,
        model: str,
        inputs: Sequence[Prompt],
        hook_points: Sequence[str],
        *,
        positions: Literal["last", "mean"] = "last",
        hidden_size: int | None = None,
    ) -> dict[str, np.ndarray[Any, Any]]:
        """``{hook point: [len(inputs), hidden]}`` at the last or mean position."""
        width = hidden_size or self.hook_points(model).hidden_size
        rows: dict[str, list[np.ndarray[Any, Any]]] = {h: [] for h in hook_points}
        for start in range(0, len(inputs), _ACTIVATIONS_CHUNK):
            chunk = inputs[start : start + _ACTIVATIONS_CHUNK]
            body = {
                "model": model,
                "inputs": [_input(p) for p in chunk],
                "hook_points": list(hook_points),
                "positions": positions,
                "encoding": "base64",
            }
            bound = len(chunk) * len(hook_points) * width
            response = self._request("POST", "/whitebox/activations", body, floats_bound=bound)
            blocks = sorted(response["data"], key=lambda b: b["input_index"])
            for block in blocks:
                rows[block["hook_point"]].append(_decode(block["values"], block["shape"]))
        return {h: np.stack(v) for h, v in rows.items()}

    def chat(self, model: str, messages: Sequence[Message], *, max_tokens: int = 64) -> str:
        """A greedy reply through ``/v1/chat/completions``: what black-box access sees."""
        body = {
            "model": model,
            "messages": [dict(m) for m in messages],
            "max_tokens": max_tokens,
            "temperature": 0.0,
        }
        response = self._request("POST", "/chat/completions", body)
        return str(response["choices"][0]["message"]["content"] or "")

    def generate(
        self,
        model: str,
        prompt: Prompt,
        *,
        interventions: Sequence[Intervention] = (),
        max_tokens: int = 64,
        temperature: float = 0.0,
        seed: int | None = None,
    ) -> Generation:
        """Generation with interventions (``/v1/whitebox/generate``)."""
        body: dict[str, Any] = {
            "model": model,
            "input": _input(prompt),
            "interventions": [i.model_dump() for i in interventions],
            "max_tokens": max_tokens,
            "temperature": temperature,
        }
        if seed is not None:
            body["seed"] = seed
        return Generation.model_validate(self._request("POST", "/whitebox/generate", body))

    def noise_generate(
        self,
        model: str,
        inputs: Sequence[Prompt],
        *,
        scale: float,
        seed: int,
        max_tokens: int = 1,
        logprobs: int | None = None,
    ) -> list[NoiseGeneration]:
        """Greedy generation for ``inputs`` with seeded Gaussian noise of standard deviation
        ``scale`` added to the weights for this request only (``/v1/whitebox/noise``);
        ``index`` counts across all ``inputs``."""
        generations: list[NoiseGeneration] = []
        for start in range(0, len(inputs), MAX_NOISE_INPUTS):
            chunk = inputs[start : start + MAX_NOISE_INPUTS]
            request = NoiseGenerateRequest(
                model=model,
                inputs=[TextInput.model_validate(_input(p)) for p in chunk],
                noise=WeightNoise(scale=scale, seed=seed),
                max_tokens=max_tokens,
                logprobs=logprobs,
            )
            body = request.model_dump(mode="json", exclude_none=True)
            bound = 0 if logprobs is None else len(chunk) * max_tokens * (1 + logprobs)
            response = NoiseGenerateResponse.model_validate(
                self._request("POST", "/whitebox/noise", body, floats_bound=bound)
            )
            for row in sorted(response.data, key=lambda r: r.index):
                generations.append(row.model_copy(update={"index": start + row.index}))
        return generations

    def gradient(
        self,
        model: str,
        prompt: Prompt,
        target: str,
        *,
        output: Literal["token_candidates", "norm"] = "token_candidates",
        positions: Sequence[int] | None = None,
        top_k: int = 16,
    ) -> GradientResult:
        """Gradient of ``log p(target | prompt)``; ``token_candidates`` gives, per
        position, the token ids that most increase it to first order."""
        body: dict[str, Any] = {
            "model": model,
            "input": _input(prompt),
            "target": target,
            "output": output,
            "top_k": top_k,
        }
        if positions is not None:
            body["positions"] = list(positions)
        bound = 1 if output == "token_candidates" else 1 + (len(positions) if positions else 4096)
        return GradientResult.model_validate(
            self._request("POST", "/whitebox/gradients", body, floats_bound=bound)
        )

    def train_probe(
        self,
        model: str,
        hook_point: str,
        train: Sequence[tuple[str, int]],
        test: Sequence[tuple[str, int]] = (),
        *,
        position: Literal["last", "mean"] = "last",
        l2: float = 1e-2,
        max_iter: int = 200,
    ) -> ProbeResult:
        """A logistic-regression probe trained on the gateway; weights stay there."""
        body = {
            "model": model,
            "hook_point": hook_point,
            "position": position,
            "train": [{"text": t, "label": y} for t, y in train],
            "test": [{"text": t, "label": y} for t, y in test],
            "l2": l2,
            "max_iter": max_iter,
            "return_weights": False,
        }
        return ProbeResult.model_validate(
            self._request("POST", "/whitebox/probes", body, floats_bound=len(test) + 2)
        )

    def score_probe(self, probe_id: str, texts: Sequence[str]) -> list[float]:
        response = self._request(
            "POST",
            f"/whitebox/probes/{probe_id}/score",
            {"texts": list(texts)},
            floats_bound=len(texts),
        )
        return [float(s) for s in response["scores"]]

    def complete(
        self,
        model: str,
        prompts: Sequence[str] | Sequence[Sequence[int]],
        *,
        max_tokens: int = 1,
        logprobs: int | None = None,
        echo: bool = False,
        temperature: float = 0.0,
    ) -> list[CompletionChoice]:
        """``/v1/completions`` for several prompts (texts or token ids), in chunks."""
        choices: list[CompletionChoice] = []
        items = list(prompts)
        for start in range(0, len(items), _COMPLETIONS_CHUNK):
            chunk = [
                p if isinstance(p, str) else list(p)
                for p in items[start : start + _COMPLETIONS_CHUNK]
            ]
            body: dict[str, Any] = {
                "model": model,
                "prompt": chunk,
                "max_tokens": max_tokens,
                "temperature": temperature,
                "echo": echo,
            }
            if logprobs is not None:
                body["logprobs"] = logprobs
            per_token = 0 if logprobs is None else 1 + logprobs
            # a byte-level tokenizer never makes more tokens than bytes (plus specials)
            lengths = [len(p) if not isinstance(p, str) else len(p.encode()) + 4 for p in chunk]
            bound = sum(per_token * (max_tokens + (n if echo else 0)) for n in lengths)
            response = self._request(
                "POST", "/completions", body, floats_bound=bound, count_floats=_completion_floats
            )
            for c in sorted(response["choices"], key=lambda c: c["index"]):
                lp = c.get("logprobs") or {}
                choices.append(
                    CompletionChoice(
                        text=c["text"],
                        token_logprobs=lp.get("token_logprobs") or [],
                        top_logprobs=lp.get("top_logprobs") or [],
                    )
                )
        return choices

    def tokenize(
        self,
        model: str,
        *,
        text: str | None = None,
        messages: Sequence[Message] | None = None,
        add_special_tokens: bool = True,
    ) -> list[int]:
        body: dict[str, Any] = {"model": model, "add_special_tokens": add_special_tokens}
        if messages is not None:
            body["messages"] = [dict(m) for m in messages]
        else:
            body["prompt"] = text
        return [int(t) for t in self._request("POST", "/tokenize", body)["tokens"]]

    def detokenize(self, model: str, tokens: Sequence[int]) -> str:
        body = {"model": model, "tokens": list(tokens)}
        return str(self._request("POST", "/detokenize", body)["prompt"])

    def create_fine_tune(
        self,
        model: str,
        training_data: Sequence[Mapping[str, Any]],
        hyperparameters: Mapping[str, Any],
        suffix: str,
    ) -> FineTuneJob:
        """Start a LoRA job; the result is served as ``MODEL@SUFFIX``."""
        body = {
            "model": model,
            "training_data": [dict(e) for e in training_data],
            "hyperparameters": dict(hyperparameters),
            "suffix": suffix,
        }
        bound = int(hyperparameters.get("steps", 20))
        return FineTuneJob.model_validate(
            self._request("POST", "/fine_tuning/jobs", body, floats_bound=bound)
        )

    def fine_tune_job(self, job_id: str) -> FineTuneJob:
        return FineTuneJob.model_validate(
            self._request("GET", f"/fine_tuning/jobs/{job_id}", metered=False)
        )

    def wait_fine_tune(self, job_id: str, *, poll: float = 0.25) -> FineTuneJob:
        """Poll until the job ends (the meter's time budget still applies)."""
        while True:
            job = self.fine_tune_job(job_id)
            if job.status in ("succeeded", "failed"):
                return job
            time.sleep(poll)


def _error(response: httpx.Response) -> tuple[str | None, str]:
    try:
        error = response.json()["error"]
        return error.get("code"), str(error.get("message", response.text))
    except (ValueError, KeyError, TypeError):
        return None, response.text[:300]


def _completion_floats(payload: Any) -> int:
    total = 0
    for choice in payload.get("choices", []):
        lp = choice.get("logprobs") or {}
        total += sum(1 for v in lp.get("token_logprobs") or [] if v is not None)
        total += sum(max(len(t) - 1, 0) for t in lp.get("top_logprobs") or [] if t)
    return total
