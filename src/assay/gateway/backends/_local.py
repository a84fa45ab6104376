"""The local transformers backend: OpenAI requests in, batched engine rows out."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from assay.gateway._errors import GatewayError, bad_request
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
from assay.gateway.backends._batcher import MicroBatcher
from assay.gateway.backends._engine import (
    Engine,
    GenerationRequest,
    GenerationResult,
    PositionLogprobs,
)
from assay.models import LocalModel


@dataclass(frozen=True)
class BatchingConfig:
    """How concurrent requests are grouped into forward passes."""

    max_batch_size: int = 16
    max_wait_ms: float = 5.0
    max_batch_tokens: int = 32768
    default_max_tokens: int = 512


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

    # ---- discovery -----------------------------------------------------------

    def model_cards(self) -> list[ModelCard]:
        return [
            ModelCard(id=self.name, created=self._created, max_model_len=self.engine.context_length)
        ]

    def serves(self, model: str) -> bool:
        return model == self.name

    async def aclose(self) -> None:
        await self.batcher.aclose()

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

    async def chat(self, request: ChatCompletionRequest) -> ChatCompletionResponse:
        if request.tools:
            raise bad_request("tool calling is not supported by this gateway", param="tools")
        prompt_ids = self.chat_prompt_ids(request.messages)
        max_new = request.max_completion_tokens or request.max_tokens
        max_new = self._budget(prompt_ids, max_new, "max_tokens")
        top_k = request.top_logprobs or 0
        rows = [
            GenerationRequest(
                prompt_ids=prompt_ids,
                max_new_tokens=max_new,
                temperature=1.0 if request.temperature is None else request.temperature,
                top_p=1.0 if request.top_p is None else request.top_p,
                seed=None if request.seed is None else request.seed + j,
                stop=request.stop_list(),
                logprobs=top_k if (request.logprobs or request.top_logprobs is not None) else None,
                prompt_logprobs=request.prompt_logprobs if j == 0 else None,
            )
            for j in range(request.n)
        ]
        results = await self._run_all(rows)
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

    async def complete(self, request: CompletionRequest) -> CompletionResponse:
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
                    )
                )
        results = await self._run_all(rows)
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

    # ---- helpers -------------------------------------------------------------

    async def _run_all(self, rows: list[GenerationRequest]) -> list[GenerationResult]:
        import asyncio

        return list(await asyncio.gather(*(self.batcher.submit(r) for r in rows)))

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


def _top_dict(backend: LocalBackend, position: PositionLogprobs) -> dict[str, float]:
    texts = backend.engine.token_texts
    top = {texts.text_of(t.token_id): t.logprob for t in position.top}
    # The completions format always includes the chosen token among the alternatives.
    top.setdefault(texts.text_of(position.token_id), position.logprob)
    return top


def _usage(prompt_tokens: int, results: list[GenerationResult]) -> Usage:
    completion = sum(len(r.output_ids) for r in results)
    return Usage(
        prompt_tokens=prompt_tokens,
        completion_tokens=completion,
        total_tokens=prompt_tokens + completion,
    )
