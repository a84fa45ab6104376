"""The local transformers backend: one model behind every tier.

This module holds what every operation shares (the engine, the micro-batcher,
tokenization, limits, the model thread) and answers the gateway's protocols by
delegating: OpenAI inference to :mod:`._inference`, each white-box operation to its
module in :mod:`assay.gateway.whitebox` (which sees this backend as a
:class:`~assay.gateway.whitebox.Runtime`), fine-tuning to
:class:`~assay.gateway.finetuning.FineTuneManager`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel

from assay.gateway._errors import GatewayError, bad_request
from assay.gateway._metering import Meter
from assay.gateway._prompts import render_chat
from assay.gateway._protocol import (
    ChatCompletionRequest,
    ChatCompletionResponse,
    ChatMessage,
    CompletionRequest,
    CompletionResponse,
    DetokenizeRequest,
    DetokenizeResponse,
    ModelCard,
    TokenizeRequest,
    TokenizeResponse,
)
from assay.gateway._tokens import TokenInfo
from assay.gateway.backends import _inference as inference
from assay.gateway.backends._batcher import MicroBatcher
from assay.gateway.backends._engine import (
    Engine,
    GenerationRequest,
    GenerationResult,
    RowError,
    TokenTexts,
)
from assay.gateway.finetuning import (
    FineTuneJob,
    FineTuneManager,
    FineTuneRequest,
    WorkerSettings,
)
from assay.gateway.whitebox import Call, HookPoints, TextInput, WhiteboxOperation
from assay.gateway.whitebox._hooks import ModelLayout, check_point
from assay.models import LocalModel
from assay.tiers import Tier

T = TypeVar("T")
S = TypeVar("S")
Resp = TypeVar("Resp", bound=BaseModel)


@dataclass(frozen=True)
class BatchingConfig:
    """How concurrent requests are grouped into forward passes, and per-request limits."""

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
        self._states: dict[Any, Any] = {}

    def enable_fine_tuning(
        self,
        db: Any,
        adapters_dir: Path,
        *,
        max_examples: int = 2000,
        worker: WorkerSettings | None = None,
    ) -> FineTuneManager:
        """Allow LoRA jobs: trained by a worker process, jobs in ``db``, adapters under
        ``adapters_dir``."""
        self.fine_tuning = FineTuneManager(
            engine=db,
            adapters_dir=adapters_dir,
            base_name=self.name,
            base_dir=self.local.path,
            tokenizer=self.tokenizer,
            get_model=lambda: self.engine.model,
            set_model=self.engine.set_model,
            run_on_model=self.run_on_model,
            max_examples=max_examples,
            settings=worker,
        )
        return self.fine_tuning

    async def startup(self) -> None:
        if self.fine_tuning is not None:
            await self.fine_tuning.startup()

    async def aclose(self) -> None:
        if self.fine_tuning is not None:
            await self.fine_tuning.aclose()
        await self.batcher.aclose()

    # ---- discovery (Backend) ----------------------------------------------------------

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

    # ---- OpenAI-compatible (Backend) --------------------------------------------------

    async def chat(
        self, request: ChatCompletionRequest, meter: Meter, adapter: str | None = None
    ) -> ChatCompletionResponse:
        return await inference.chat(self, request, meter, adapter)

    async def complete(
        self, request: CompletionRequest, meter: Meter, adapter: str | None = None
    ) -> CompletionResponse:
        return await inference.complete(self, request, meter, adapter)

    def tokenize(self, request: TokenizeRequest) -> TokenizeResponse:
        return inference.tokenize(self, request)

    def detokenize(self, request: DetokenizeRequest) -> DetokenizeResponse:
        return inference.detokenize(self, request)

    # ---- white box (WhiteboxBackend) ---------------------------------------------------

    def hook_points(self) -> HookPoints:
        layout = self.layout
        return HookPoints(
            model=self.name,
            num_layers=layout.num_layers,
            hidden_size=layout.hidden_size,
            hook_points=layout.points(parameter_lookups=self.batching.parameter_lookups),
        )

    async def run_whitebox(
        self, operation: WhiteboxOperation[Any, Resp], request: Any, call: Call
    ) -> Resp:
        return await operation.run(self, request, call)

    # ---- fine-tuning (FineTuningBackend) ------------------------------------------------

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
        meter.reserve(tokens=cost, floats=hyper.steps)
        job = await self.fine_tuning.create(
            engagement=token.engagement,
            token_id=token.id,
            examples=request.training_data,
            hyper=hyper,
            suffix=request.suffix,
        )
        meter.record(prompt_tokens=cost, floats=hyper.steps)
        return job

    def fine_tune_jobs(self, token: TokenInfo) -> list[FineTuneJob]:
        return self.fine_tuning.list(token.engagement) if self.fine_tuning is not None else []

    # ---- what operations share (the white-box Runtime) ---------------------------------

    @property
    def model(self) -> Any:
        return self.engine.model

    @property
    def tokenizer(self) -> Any:
        return self.local.tokenizer

    @property
    def layout(self) -> ModelLayout:
        return self.engine.layout

    @property
    def pad_id(self) -> int:
        return self.engine.pad_id

    @property
    def token_texts(self) -> TokenTexts:
        return self.engine.token_texts

    def state(self, kind: Callable[[], S]) -> S:
        if kind not in self._states:
            self._states[kind] = kind()
        state: S = self._states[kind]
        return state

    async def run_on_model(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the model thread, between batches, never alongside one."""
        return await self.batcher.run_exclusive(fn)

    async def generate(
        self, rows: Sequence[GenerationRequest], engagement: str = ""
    ) -> list[GenerationResult]:
        """Run rows through the batcher; a row that fails fails its request (400 for
        the engine's row errors, naming the cause)."""
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
            if isinstance(result, RowError):
                raise bad_request(str(result), code=result.code)
            if isinstance(result, BaseException):
                raise result
        return [r for r in results if not isinstance(r, BaseException)]

    def run_rows(self, rows: Sequence[GenerationRequest]) -> list[GenerationResult]:
        try:
            return self.engine.run(rows)
        except RowError as exc:
            raise bad_request(str(exc), code=exc.code) from None

    def check_point(self, name: str, *, readable: bool = False) -> None:
        check_point(
            self.layout, name, readable=readable, parameter_lookups=self.batching.parameter_lookups
        )

    def check_floats(self, bound: int, param: str) -> None:
        if bound > self.batching.max_floats_per_request:
            raise bad_request(
                f"this request could return {bound} floats; the limit per request is "
                f"{self.batching.max_floats_per_request}: ask for fewer inputs, hook points or positions",
                param=param,
            )

    def input_ids(self, item: TextInput) -> list[int]:
        if item.messages is not None:
            ids = self.chat_prompt_ids(item.messages)
        else:
            assert item.text is not None
            ids = self.encode(item.text)
        if not ids:
            raise bad_request("an input encodes to zero tokens", param="inputs")
        self.budget(ids, 0, "inputs", allow_zero=True)
        return ids

    def chat_prompt_ids(self, messages: Sequence[ChatMessage]) -> list[int]:
        """The token ids of a chat request's prompt (see :func:`render_chat`)."""
        text = render_chat(self.tokenizer, self.name, messages)
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def prompt_ids(self, prompt: str | list[str] | list[int] | list[list[int]]) -> list[list[int]]:
        """The token ids of each prompt of a completions request."""
        if isinstance(prompt, str):
            prompts: list[list[int]] = [self.encode(prompt)]
        elif not prompt:
            raise bad_request("'prompt' is empty", param="prompt")
        elif all(isinstance(p, str) for p in prompt):
            prompts = [self.encode(str(p)) for p in prompt]
        elif all(isinstance(p, int) for p in prompt):
            prompts = [[int(p) for p in prompt]]  # type: ignore[arg-type]
        else:
            prompts = [list(p) for p in prompt]  # type: ignore[arg-type]
        for ids in prompts:
            if not ids:
                raise bad_request("a prompt encodes to zero tokens", param="prompt")
            self.check_ids(ids, "prompt")
        return prompts

    def encode(self, text: str) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=True)["input_ids"])

    def check_ids(self, ids: Sequence[int], param: str) -> None:
        vocab = len(self.tokenizer)
        bad = [i for i in ids if not 0 <= i < vocab]
        if bad:
            raise bad_request(
                f"token id {bad[0]} is outside the vocabulary (0..{vocab - 1})", param=param
            )

    def budget(
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
