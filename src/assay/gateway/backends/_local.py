"""The local transformers backend: OpenAI requests in, batched engine rows out."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import torch

from assay.gateway._errors import GatewayError, bad_request
from assay.gateway._metering import Meter
from assay.gateway._protocol import (
    AssistantMessage,
    ChatChoice,
    ChatChoiceLogprobs,
    ChatCompletionRequest,
    ChatCompletionResponse,
    ChatMessage,
    ChatTokenLogprob,
    CompletionChoice,
    CompletionLogprobs,
    CompletionRequest,
    CompletionResponse,
    DetokenizeRequest,
    DetokenizeResponse,
    ModelCard,
    PromptLogprobsField,
    TokenizeRequest,
    TokenizeResponse,
    TopLogprob,
    Usage,
    VllmPromptLogprob,
)
from assay.gateway._tiers import Tier
from assay.gateway._tokens import TokenInfo
from assay.gateway.backends._batcher import MicroBatcher
from assay.gateway.backends._engine import (
    Engine,
    GenerationRequest,
    GenerationResult,
    PositionLogprobs,
    RowError,
)
from assay.gateway.whitebox import _ops as ops
from assay.gateway.whitebox._finetune import FineTuneManager
from assay.gateway.whitebox._hooks import adapter_scope, check_point
from assay.gateway.whitebox._interventions import Intervention
from assay.gateway.whitebox._protocol import (
    ActivationBlock,
    ActivationsRequest,
    ActivationsResponse,
    FineTuneJob,
    FineTuneRequest,
    GeneratedToken,
    GradientRequest,
    GradientResponse,
    HookPoints,
    InterventionGenerateRequest,
    InterventionGenerateResponse,
    ProbeResponse,
    ProbeScoreRequest,
    ProbeScoreResponse,
    ProbeTrainRequest,
    TextInput,
    TopToken,
)
from assay.models import LocalModel

T = TypeVar("T")


@dataclass(frozen=True)
class BatchingConfig:
    """How concurrent requests are grouped into forward passes."""

    max_batch_size: int = 16
    max_wait_ms: float = 5.0
    max_batch_tokens: int = 32768
    default_max_tokens: int = 512
    max_new_tokens: int = 4096
    max_prompt_tokens: int | None = None  # default: the model's context length
    max_floats_per_request: int = 131_072
    max_rows_per_request: int = 64  # prompts x n of one request (fairness between tenants)
    max_finetune_tokens: int = 262_144  # steps x batch_size x max_length of one job
    parameter_lookups: bool = False  # offer hook points that return parameters (opt-in)


class LocalBackend:
    """Serves one local model (all tiers) with dynamic micro-batching."""

    kind = "local"
    max_tier = Tier.WHITE

    def __init__(self, local: LocalModel, batching: BatchingConfig | None = None) -> None:
        self.local = local
        self.name = local.name
        self.batching = batching or BatchingConfig()
        self.engine = Engine(local.model, local.tokenizer)
        self.batcher = MicroBatcher(
            self.engine.run,
            max_batch_size=self.batching.max_batch_size,
            max_wait_s=self.batching.max_wait_ms / 1000,
            max_batch_tokens=self.batching.max_batch_tokens,
        )
        self._created = int(time.time())
        self.fine_tuning: FineTuneManager | None = None
        self._probes: dict[str, ops.Probe] = {}

    def enable_fine_tuning(
        self, db: Any, adapters_dir: Path, *, max_examples: int = 2000
    ) -> FineTuneManager:
        """Allow LoRA jobs, with adapters under ``adapters_dir`` and jobs in ``db``."""
        self.fine_tuning = FineTuneManager(
            engine=db,
            adapters_dir=adapters_dir,
            base_name=self.name,
            tokenizer=self.tokenizer,
            get_model=lambda: self.engine.model,
            set_model=self.engine.set_model,
            run_on_model=self.run_on_model,
            max_examples=max_examples,
        )
        return self.fine_tuning

    async def startup(self) -> None:
        if self.fine_tuning is not None:
            await self.fine_tuning.load_saved()

    async def run_on_model(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the model thread, between batches, never alongside one."""
        return await self.batcher.run_exclusive(fn)

    # ---- discovery -----------------------------------------------------------

    def model_cards(self, token: TokenInfo | None = None) -> list[ModelCard]:
        names = [self.name]
        if token is not None and self.fine_tuning is not None:
            names += self.fine_tuning.variants(token.engagement)
        return [
            ModelCard(id=n, created=self._created, max_model_len=self.engine.context_length)
            for n in names
        ]

    def serves(self, model: str) -> bool:
        return model.split("@", 1)[0] == self.name

    def resolve(self, model: str, token: TokenInfo) -> str | None:
        """The adapter behind ``model`` for this token (``None``: the base model)."""
        if "@" not in model:
            return None
        if self.fine_tuning is None:
            raise GatewayError(
                404, f"model {model!r} is not served here", code="model_not_found", param="model"
            )
        return self.fine_tuning.resolve(model, token.engagement)

    async def aclose(self) -> None:
        await self.batcher.aclose()

    def hook_points(self) -> HookPoints:
        layout = self.engine.layout
        return HookPoints(
            model=self.name,
            num_layers=layout.num_layers,
            hidden_size=layout.hidden_size,
            hook_points=layout.points(parameter_lookups=self.batching.parameter_lookups),
        )

    # ---- tokenization --------------------------------------------------------

    @property
    def tokenizer(self) -> Any:
        return self.local.tokenizer

    def chat_prompt_ids(self, messages: Sequence[ChatMessage]) -> list[int]:
        """Render messages with the model's chat template; a final assistant message
        is continued rather than closed (an answer prefix)."""
        if not getattr(self.tokenizer, "chat_template", None):
            raise bad_request(
                f"model {self.name!r} has no chat template; use /v1/completions with a raw prompt",
                code="no_chat_template",
            )
        rendered = []
        for m in messages:
            if m.non_text_parts():
                raise bad_request(
                    f"only text content is supported, got {', '.join(m.non_text_parts())}",
                    param="messages",
                )
            role = "system" if m.role == "developer" else m.role
            rendered.append({"role": role, "content": m.text()})
        continue_final = rendered[-1]["role"] == "assistant"
        text = self.tokenizer.apply_chat_template(
            rendered,
            tokenize=False,
            add_generation_prompt=not continue_final,
            continue_final_message=continue_final,
        )
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def tokenize(self, request: TokenizeRequest) -> TokenizeResponse:
        if request.messages is not None:
            ids = self.chat_prompt_ids(request.messages)
        elif request.prompt is not None:
            ids = list(
                self.tokenizer(request.prompt, add_special_tokens=request.add_special_tokens)[
                    "input_ids"
                ]
            )
        else:
            raise bad_request("give either 'prompt' or 'messages'", param="prompt")
        texts = self.engine.token_texts
        return TokenizeResponse(
            tokens=ids,
            count=len(ids),
            max_model_len=self.engine.context_length,
            token_strs=[texts.text_of(i) for i in ids],
        )

    def detokenize(self, request: DetokenizeRequest) -> DetokenizeResponse:
        self._check_ids(request.tokens, "tokens")
        return DetokenizeResponse(prompt=str(self.tokenizer.decode(request.tokens)))

    # ---- generation ----------------------------------------------------------

    async def chat(
        self, request: ChatCompletionRequest, meter: Meter, adapter: str | None = None
    ) -> ChatCompletionResponse:
        if request.tools:
            raise bad_request("tool calling is not supported by this gateway", param="tools")
        prompt_ids = self.chat_prompt_ids(request.messages)
        max_new = request.max_completion_tokens or request.max_tokens
        max_new = self._budget(prompt_ids, max_new, "max_tokens")
        top_k = request.top_logprobs or 0
        wants = request.logprobs or request.top_logprobs is not None
        float_bound = request.n * max_new * (1 + top_k) if wants else 0
        if request.prompt_logprobs is not None:
            float_bound += (len(prompt_ids) - 1) * (1 + request.prompt_logprobs)
        meter.reserve(tokens=len(prompt_ids) + request.n * max_new, floats=float_bound)
        rows = [
            GenerationRequest(
                prompt_ids=prompt_ids,
                max_new_tokens=max_new,
                temperature=1.0 if request.temperature is None else request.temperature,
                top_p=1.0 if request.top_p is None else request.top_p,
                seed=None if request.seed is None else request.seed + j,
                stop=request.stop_list(),
                logprobs=top_k if wants else None,
                prompt_logprobs=request.prompt_logprobs if j == 0 else None,
                adapter=adapter,
            )
            for j in range(request.n)
        ]
        results = await self._run_all(rows, meter.token.engagement)
        meter.record(
            prompt_tokens=len(prompt_ids),
            completion_tokens=sum(len(r.output_ids) for r in results),
            floats=sum(_floats(r) for r in results),
        )
        choices = []
        for j, result in enumerate(results):
            logprobs = None
            if result.output_logprobs is not None or rows[j].logprobs is not None:
                logprobs = ChatChoiceLogprobs(
                    content=[self._chat_token(p) for p in result.output_logprobs or []]
                )
            choices.append(
                ChatChoice(
                    index=j,
                    message=AssistantMessage(content=result.text),
                    finish_reason=result.finish_reason,
                    logprobs=logprobs,
                )
            )
        return ChatCompletionResponse(
            id=f"chatcmpl-{uuid.uuid4().hex}",
            created=int(time.time()),
            model=self.name,
            choices=choices,
            usage=_usage(len(prompt_ids), results),
            prompt_logprobs=self._vllm_prompt_logprobs(results[0])
            if request.prompt_logprobs is not None
            else None,
        )

    async def complete(
        self, request: CompletionRequest, meter: Meter, adapter: str | None = None
    ) -> CompletionResponse:
        if request.suffix:
            raise bad_request("'suffix' (fill-in-the-middle) is not supported", param="suffix")
        prompts = self._prompt_ids(request.prompt)
        want_prompt_lps = request.echo and request.logprobs is not None
        rows: list[GenerationRequest] = []
        for ids in prompts:
            max_new = self._budget(ids, request.max_tokens, "max_tokens", allow_zero=True)
            for j in range(request.n):
                prompt_k: int | None = None
                if want_prompt_lps:
                    prompt_k = request.logprobs
                if request.prompt_logprobs is not None:
                    prompt_k = max(prompt_k or 0, request.prompt_logprobs)
                rows.append(
                    GenerationRequest(
                        prompt_ids=ids,
                        max_new_tokens=max_new,
                        temperature=1.0 if request.temperature is None else request.temperature,
                        top_p=1.0 if request.top_p is None else request.top_p,
                        seed=None if request.seed is None else request.seed + j,
                        stop=request.stop_list(),
                        logprobs=request.logprobs,
                        prompt_logprobs=prompt_k,
                        adapter=adapter,
                    )
                )
        token_bound = sum(len(r.prompt_ids) + r.max_new_tokens for r in rows)
        float_bound = sum(
            r.max_new_tokens * (1 + (r.logprobs or 0)) * (r.logprobs is not None)
            + (len(r.prompt_ids) - 1)
            * (1 + (r.prompt_logprobs or 0))
            * (r.prompt_logprobs is not None)
            for r in rows
        )
        meter.reserve(tokens=token_bound, floats=float_bound)
        results = await self._run_all(rows, meter.token.engagement)
        meter.record(
            prompt_tokens=sum(len(r.prompt_ids) for r in rows),
            completion_tokens=sum(len(r.output_ids) for r in results),
            floats=sum(_floats(r) for r in results),
        )
        choices = []
        for index, (row, result) in enumerate(zip(rows, results, strict=True)):
            prompt_text = str(self.tokenizer.decode(row.prompt_ids)) if request.echo else ""
            choices.append(
                CompletionChoice(
                    index=index,
                    text=prompt_text + result.text,
                    finish_reason=result.finish_reason,
                    logprobs=self._completion_logprobs(result, echo=request.echo)
                    if request.logprobs is not None
                    else None,
                    prompt_logprobs=self._vllm_prompt_logprobs(result)
                    if request.prompt_logprobs is not None
                    else None,
                )
            )
        prompt_tokens = sum(len(p) for p in prompts)
        completion_tokens = sum(len(r.output_ids) for r in results)
        return CompletionResponse(
            id=f"cmpl-{uuid.uuid4().hex}",
            created=int(time.time()),
            model=self.name,
            choices=choices,
            usage=Usage(
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                total_tokens=prompt_tokens + completion_tokens,
            ),
        )

    # ---- white-box operations ------------------------------------------------------

    def _input_ids(self, item: TextInput) -> list[int]:
        if item.messages is not None:
            ids = self.chat_prompt_ids(item.messages)
        else:
            assert item.text is not None
            ids = self._encode(item.text)
        if not ids:
            raise bad_request("an input encodes to zero tokens", param="inputs")
        self._budget(ids, 0, "inputs", allow_zero=True)
        return ids

    def _check_floats(self, bound: int, param: str) -> None:
        if bound > self.batching.max_floats_per_request:
            raise bad_request(
                f"this request could return {bound} floats; the limit per request is "
                f"{self.batching.max_floats_per_request}: ask for fewer inputs, hook points or positions",
                param=param,
            )

    async def activations(
        self, request: ActivationsRequest, meter: Meter, adapter: str | None
    ) -> ActivationsResponse:
        layout = self.engine.layout
        for name in request.hook_points:
            check_point(
                layout, name, readable=True, parameter_lookups=self.batching.parameter_lookups
            )
        prompts = [self._input_ids(i) for i in request.inputs]
        width = layout.hidden_size
        per = [len(p) if request.positions == "all" else 1 for p in prompts]
        bound = sum(per) * len(request.hook_points) * width
        self._check_floats(bound, "inputs")
        meter.reserve(tokens=sum(len(p) for p in prompts), floats=bound)

        def work() -> list[dict[str, torch.Tensor]]:
            with adapter_scope(self.engine.model, adapter):
                return ops.capture(
                    self.engine.model,
                    layout,
                    prompts,
                    request.hook_points,
                    request.positions,
                    self.engine.pad_id,
                )

        captured = await self.run_on_model(work)
        blocks = []
        floats = 0
        for index, row in enumerate(captured):
            for name in request.hook_points:
                tensor = row[name]
                floats += tensor.numel()
                blocks.append(
                    ActivationBlock(
                        input_index=index,
                        hook_point=name,
                        shape=list(tensor.shape),
                        values=ops.encode(tensor, request.encoding),
                    )
                )
        meter.record(prompt_tokens=sum(len(p) for p in prompts), floats=floats)
        return ActivationsResponse(
            model=request.model, hidden_size=width, data=blocks, floats=floats
        )

    async def intervene(
        self, request: InterventionGenerateRequest, meter: Meter, adapter: str | None
    ) -> InterventionGenerateResponse:
        layout = self.engine.layout
        interventions = []
        for spec in request.interventions:
            check_point(layout, spec.hook_point)
            if len(spec.vector) != layout.hidden_size:
                raise bad_request(
                    f"intervention vectors need {layout.hidden_size} values (the model width), got {len(spec.vector)}",
                    param="interventions",
                )
            # finite, non-zero for ablation, no overflow once scaled: checked at the edge
            vector = torch.tensor(spec.vector, dtype=torch.float32)
            interventions.append(
                Intervention(spec.hook_point, spec.op, vector, spec.scale, spec.positions)
            )
        prompt = self._input_ids(request.input)
        max_new = self._budget(prompt, request.max_tokens, "max_tokens")
        k = request.logprobs
        meter.reserve(
            tokens=len(prompt) + max_new, floats=max_new * (1 + k) if k is not None else 0
        )
        row = GenerationRequest(
            prompt_ids=prompt,
            max_new_tokens=max_new,
            temperature=request.temperature,
            top_p=request.top_p,
            seed=request.seed,
            stop=request.stop,
            logprobs=k,
            interventions=tuple(interventions),
            adapter=adapter,
        )
        result = (await self._run_all([row], meter.token.engagement))[0]
        floats = _floats(result)
        meter.record(
            prompt_tokens=len(prompt), completion_tokens=len(result.output_ids), floats=floats
        )
        texts = self.engine.token_texts
        tokens = (
            [
                GeneratedToken(
                    token=texts.text_of(p.token_id),
                    logprob=p.logprob,
                    top_logprobs=[
                        TopToken(token=texts.text_of(t.token_id), logprob=t.logprob) for t in p.top
                    ],
                )
                for p in result.output_logprobs or []
            ]
            if k is not None
            else None
        )
        return InterventionGenerateResponse(
            model=request.model,
            text=result.text,
            finish_reason=result.finish_reason,
            prompt_tokens=len(prompt),
            completion_tokens=len(result.output_ids),
            tokens=tokens,
            floats=floats,
        )

    async def gradient(
        self, request: GradientRequest, meter: Meter, adapter: str | None
    ) -> GradientResponse:
        layout = self.engine.layout
        input_ids = self._input_ids(request.input)
        target_ids = list(self.tokenizer(request.target, add_special_tokens=False)["input_ids"])
        if not target_ids:
            raise bad_request("the target encodes to zero tokens", param="target")
        self._budget(input_ids + target_ids, 0, "target", allow_zero=True)
        positions = (
            request.positions if request.positions is not None else list(range(len(input_ids)))
        )
        if any(not 0 <= p < len(input_ids) for p in positions) or not positions:
            raise bad_request(f"positions must lie in 0..{len(input_ids) - 1}", param="positions")
        per_position = {"embedding_grad": layout.hidden_size, "norm": 1, "token_candidates": 0}[
            request.output
        ]
        bound = 1 + len(positions) * per_position
        self._check_floats(bound, "positions")
        meter.reserve(tokens=len(input_ids) + len(target_ids), floats=bound)

        def work() -> tuple[ops.GradientResult, list[list[int]] | None]:
            with adapter_scope(self.engine.model, adapter):
                result = ops.input_gradient(
                    self.engine.model, layout, input_ids, target_ids, positions
                )
            candidates = (
                ops.token_candidates(result, request.top_k)
                if request.output == "token_candidates"
                else None
            )
            return result, candidates

        result, candidates = await self.run_on_model(work)
        values: list[float] | str | None = None
        shape: list[int] | None = None
        if request.output == "embedding_grad":
            values, shape = ops.encode(result.grad, request.encoding), list(result.grad.shape)
        elif request.output == "norm":
            norms = result.grad.norm(dim=-1)
            values, shape = ops.encode(norms, request.encoding), list(norms.shape)
        meter.record(prompt_tokens=len(input_ids) + len(target_ids), floats=bound)
        return GradientResponse(
            model=request.model,
            input_tokens=input_ids,
            target_tokens=target_ids,
            target_logprob=result.target_logprob,
            positions=positions,
            shape=shape,
            values=values,
            candidates=candidates,
            floats=bound,
        )

    async def train_probe(
        self, request: ProbeTrainRequest, meter: Meter, token: TokenInfo, adapter: str | None
    ) -> ProbeResponse:
        layout = self.engine.layout
        check_point(
            layout,
            request.hook_point,
            readable=True,
            parameter_lookups=self.batching.parameter_lookups,
        )
        train = [self._input_ids(TextInput(text=e.text)) for e in request.train]
        test = [self._input_ids(TextInput(text=e.text)) for e in request.test]
        if len({e.label for e in request.train}) < 2:
            raise bad_request("the training examples need both labels, 0 and 1", param="train")
        bound = len(test) + (layout.hidden_size + 1 if request.return_weights else 0) + 2
        meter.reserve(tokens=sum(map(len, train)) + sum(map(len, test)), floats=bound)

        def work() -> ops.Probe:
            with adapter_scope(self.engine.model, adapter):
                features = ops.capture(
                    self.engine.model,
                    layout,
                    train + test,
                    [request.hook_point],
                    request.position,
                    self.engine.pad_id,
                )
            x = torch.stack([f[request.hook_point] for f in features])
            y = torch.tensor([e.label for e in request.train])
            weights, bias = ops.train_probe(x[: len(train)], y, request.l2, request.max_iter)
            probe = ops.Probe(
                ops.new_probe_id(),
                token.engagement,
                request.model,
                request.hook_point,
                request.position,
                weights,
                bias,
            )
            probe_features[probe.id] = x
            return probe

        probe_features: dict[str, torch.Tensor] = {}
        probe = await self.run_on_model(work)
        self._probes[probe.id] = probe
        x = probe_features[probe.id]
        scores = probe.scores(x)
        y_train = torch.tensor([e.label for e in request.train])
        y_test = torch.tensor([e.label for e in request.test])
        test_scores = scores[len(train) :]
        meter.record(prompt_tokens=sum(map(len, train)) + sum(map(len, test)), floats=bound)
        return ProbeResponse(
            id=probe.id,
            model=request.model,
            hook_point=request.hook_point,
            position=request.position,
            train_accuracy=ops.accuracy(scores[: len(train)], y_train),
            test_accuracy=ops.accuracy(test_scores, y_test) if test else None,
            test_scores=[float(v) for v in test_scores],
            weights=[float(v) for v in probe.weights] if request.return_weights else None,
            bias=probe.bias if request.return_weights else None,
            floats=bound,
        )

    def probe_model(self, probe_id: str, token: TokenInfo) -> str:
        """The model a probe was trained on (404 for other engagements' probes)."""
        probe = self._probes.get(probe_id)
        if probe is None or probe.engagement != token.engagement:
            raise GatewayError(404, f"no probe {probe_id[:100]!r}", code="probe_not_found")
        return probe.model

    def fine_tune_jobs(self, token: TokenInfo) -> list[FineTuneJob]:
        return self.fine_tuning.list(token.engagement) if self.fine_tuning is not None else []

    async def score_probe(
        self, probe_id: str, request: ProbeScoreRequest, meter: Meter, token: TokenInfo
    ) -> ProbeScoreResponse:
        probe = self._probes.get(probe_id)
        if probe is None or probe.engagement != token.engagement:
            raise GatewayError(404, f"no probe {probe_id!r}", code="probe_not_found")
        prompts = [self._input_ids(TextInput(text=t)) for t in request.texts]
        meter.reserve(tokens=sum(map(len, prompts)), floats=len(prompts))
        layout = self.engine.layout

        def work() -> list[dict[str, torch.Tensor]]:
            with adapter_scope(self.engine.model, None):
                return ops.capture(
                    self.engine.model,
                    layout,
                    prompts,
                    [probe.hook_point],
                    probe.position,
                    self.engine.pad_id,
                )

        features = await self.run_on_model(work)
        scores = probe.scores(torch.stack([f[probe.hook_point] for f in features]))
        meter.record(prompt_tokens=sum(map(len, prompts)), floats=len(prompts))
        return ProbeScoreResponse(
            id=probe_id, scores=[float(v) for v in scores], floats=len(prompts)
        )

    async def create_fine_tune(
        self, request: FineTuneRequest, meter: Meter, token: TokenInfo
    ) -> FineTuneJob:
        if self.fine_tuning is None:
            raise GatewayError(
                403,
                "fine-tuning is not enabled on this gateway",
                type="permission_error",
                code="not_supported_by_backend",
            )
        if "@" in request.model or request.model != self.name:
            raise bad_request(f"fine-tune the base model {self.name!r}", param="model")
        hyper = request.hyperparameters
        cost = hyper.steps * hyper.batch_size * hyper.max_length
        if cost > self.batching.max_finetune_tokens:
            raise bad_request(
                f"this job could train on {cost} tokens (steps x batch_size x max_length); the "
                f"limit per job here is {self.batching.max_finetune_tokens}",
                param="hyperparameters",
                code="fine_tune_too_large",
            )
        meter.reserve(tokens=hyper.steps * hyper.batch_size * hyper.max_length, floats=hyper.steps)
        job = await self.fine_tuning.create(
            engagement=token.engagement,
            token_id=token.id,
            examples=request.training_data,
            hyper=hyper,
            suffix=request.suffix,
        )
        meter.record(
            prompt_tokens=hyper.steps * hyper.batch_size * hyper.max_length, floats=hyper.steps
        )
        return job

    # ---- helpers -------------------------------------------------------------

    async def _run_all(
        self, rows: list[GenerationRequest], engagement: str = ""
    ) -> list[GenerationResult]:
        limit = self.batching.max_rows_per_request
        if len(rows) > limit:
            raise bad_request(
                f"this request asks for {len(rows)} generations (prompts x n); the limit per "
                f"request here is {limit}: split it into several requests",
                param="prompt",
                code="too_many_rows",
            )
        results = await asyncio.gather(
            *(self.batcher.submit(r, engagement) for r in rows), return_exceptions=True
        )
        for result in results:
            if isinstance(result, BaseException):
                raise _row_error(result)
        return [r for r in results if not isinstance(r, BaseException)]

    def _prompt_ids(self, prompt: str | list[str] | list[int] | list[list[int]]) -> list[list[int]]:
        if isinstance(prompt, str):
            prompts: list[list[int]] = [self._encode(prompt)]
        elif not prompt:
            raise bad_request("'prompt' is empty", param="prompt")
        elif all(isinstance(p, str) for p in prompt):
            prompts = [self._encode(str(p)) for p in prompt]
        elif all(isinstance(p, int) for p in prompt):
            prompts = [[int(p) for p in prompt]]  # type: ignore[arg-type]
        else:
            prompts = [list(p) for p in prompt]  # type: ignore[arg-type]
        for ids in prompts:
            if not ids:
                raise bad_request("a prompt encodes to zero tokens", param="prompt")
            self._check_ids(ids, "prompt")
        return prompts

    def _encode(self, text: str) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=True)["input_ids"])

    def _check_ids(self, ids: Sequence[int], param: str) -> None:
        vocab = len(self.tokenizer)
        bad = [i for i in ids if not 0 <= i < vocab]
        if bad:
            raise bad_request(
                f"token id {bad[0]} is outside the vocabulary (0..{vocab - 1})", param=param
            )

    def _budget(
        self, prompt_ids: list[int], requested: int | None, param: str, *, allow_zero: bool = False
    ) -> int:
        limit = self.engine.context_length
        prompt_limit = min(self.batching.max_prompt_tokens or limit, limit)
        if len(prompt_ids) > prompt_limit:
            raise GatewayError(
                400,
                f"the prompt has {len(prompt_ids)} tokens; the context length limit here is {prompt_limit}",
                param="prompt" if allow_zero else "messages",
                code="context_length_exceeded",
            )
        if requested is not None and requested > self.batching.max_new_tokens:
            raise bad_request(
                f"{param}={requested} exceeds this gateway's limit of {self.batching.max_new_tokens}",
                param=param,
            )
        room = limit - len(prompt_ids)
        if room < (0 if allow_zero else 1):
            raise GatewayError(
                400,
                f"the prompt has {len(prompt_ids)} tokens; this model's context length is {limit}",
                param="messages" if param == "max_tokens" and not allow_zero else "prompt",
                code="context_length_exceeded",
            )
        if requested is None:
            return min(self.batching.default_max_tokens, room)
        if requested > room:
            raise GatewayError(
                400,
                f"{param}={requested} does not fit: the prompt has {len(prompt_ids)} tokens "
                f"and the context length is {limit}",
                param=param,
                code="context_length_exceeded",
            )
        return requested

    def _top(self, position: PositionLogprobs) -> list[TopLogprob]:
        texts = self.engine.token_texts
        return [
            TopLogprob(
                token=texts.text_of(t.token_id),
                logprob=t.logprob,
                bytes=list(texts.bytes_of(t.token_id)),
            )
            for t in position.top
        ]

    def _chat_token(self, position: PositionLogprobs) -> ChatTokenLogprob:
        texts = self.engine.token_texts
        return ChatTokenLogprob(
            token=texts.text_of(position.token_id),
            logprob=position.logprob,
            bytes=list(texts.bytes_of(position.token_id)),
            top_logprobs=self._top(position),
        )

    def _completion_logprobs(self, result: GenerationResult, *, echo: bool) -> CompletionLogprobs:
        texts = self.engine.token_texts
        tokens: list[str] = []
        token_lps: list[float | None] = []
        tops: list[dict[str, float] | None] = []
        if echo:
            prompt_positions = result.prompt_logprobs or [None] * len(result.prompt_ids)
            for token_id, pos in zip(result.prompt_ids, prompt_positions, strict=True):
                tokens.append(texts.text_of(token_id))
                token_lps.append(pos.logprob if pos is not None else None)
                tops.append(_top_dict(self, pos) if pos is not None else None)
        for pos in result.output_logprobs or []:
            tokens.append(texts.text_of(pos.token_id))
            token_lps.append(pos.logprob)
            tops.append(_top_dict(self, pos))
        offsets: list[int] = []
        cursor = 0
        for t in tokens:
            offsets.append(cursor)
            cursor += len(t)
        return CompletionLogprobs(
            tokens=tokens, token_logprobs=token_lps, top_logprobs=tops, text_offset=offsets
        )

    def _vllm_prompt_logprobs(self, result: GenerationResult) -> PromptLogprobsField:
        texts = self.engine.token_texts
        entries: PromptLogprobsField = []
        for pos in result.prompt_logprobs or []:
            if pos is None:
                entries.append(None)
                continue
            entry = {
                str(pos.token_id): VllmPromptLogprob(
                    logprob=pos.logprob, decoded_token=texts.text_of(pos.token_id)
                )
            }
            for rank, alt in enumerate(pos.top, start=1):
                entry.setdefault(
                    str(alt.token_id),
                    VllmPromptLogprob(
                        logprob=alt.logprob, rank=rank, decoded_token=texts.text_of(alt.token_id)
                    ),
                )
            entries.append(entry)
        return entries


def _row_error(exc: BaseException) -> BaseException:
    """What a failed row means for its own request: the engine's row errors become a 400
    naming the cause; anything else propagates (a 500, logged)."""
    if isinstance(exc, RowError):
        return bad_request(str(exc), code=exc.code)
    return exc


def _top_dict(backend: LocalBackend, position: PositionLogprobs) -> dict[str, float]:
    texts = backend.engine.token_texts
    top = {texts.text_of(t.token_id): t.logprob for t in position.top}
    # The completions format always includes the chosen token among the alternatives.
    top.setdefault(texts.text_of(position.token_id), position.logprob)
    return top


def _floats(result: GenerationResult) -> int:
    """Floats a result sends back: each logprob and each alternative counts."""
    count = sum(1 + len(p.top) for p in result.output_logprobs or [])
    count += sum(1 + len(p.top) for p in result.prompt_logprobs or [] if p is not None)
    return count


def _usage(prompt_tokens: int, results: list[GenerationResult]) -> Usage:
    completion = sum(len(r.output_ids) for r in results)
    return Usage(
        prompt_tokens=prompt_tokens,
        completion_tokens=completion,
        total_tokens=prompt_tokens + completion,
    )
