"""OpenAI-compatible inference on a local model: chat and completions (through the
batcher), tokenization, and the logprob formats of the OpenAI and vLLM APIs."""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING

from assay.gateway._errors import bad_request
from assay.gateway._metering import Meter
from assay.gateway._protocol import (
    AssistantMessage,
    ChatChoice,
    ChatChoiceLogprobs,
    ChatCompletionRequest,
    ChatCompletionResponse,
    ChatTokenLogprob,
    CompletionChoice,
    CompletionLogprobs,
    CompletionRequest,
    CompletionResponse,
    DetokenizeRequest,
    DetokenizeResponse,
    PromptLogprobsField,
    TokenizeRequest,
    TokenizeResponse,
    TopLogprob,
    Usage,
    VllmPromptLogprob,
)
from assay.gateway.backends._engine import (
    GenerationRequest,
    GenerationResult,
    PositionLogprobs,
    count_floats,
)

if TYPE_CHECKING:
    from assay.gateway.backends._local import LocalBackend


async def chat(
    rt: LocalBackend, request: ChatCompletionRequest, meter: Meter, adapter: str | None = None
) -> ChatCompletionResponse:
    if request.tools:
        raise bad_request("tool calling is not supported by this gateway", param="tools")
    prompt_ids = rt.chat_prompt_ids(request.messages)
    max_new = request.max_completion_tokens or request.max_tokens
    max_new = rt.budget(prompt_ids, max_new, "max_tokens")
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
    results = await rt.generate(rows, meter.token.engagement)
    meter.record(
        prompt_tokens=len(prompt_ids),
        completion_tokens=sum(len(r.output_ids) for r in results),
        floats=sum(count_floats(r) for r in results),
    )
    choices = []
    for j, result in enumerate(results):
        logprobs = None
        if result.output_logprobs is not None or rows[j].logprobs is not None:
            logprobs = ChatChoiceLogprobs(
                content=[_chat_token(rt, p) for p in result.output_logprobs or []]
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
        model=rt.name,
        choices=choices,
        usage=_usage(len(prompt_ids), results),
        prompt_logprobs=_vllm_prompt_logprobs(rt, results[0])
        if request.prompt_logprobs is not None
        else None,
    )


async def complete(
    rt: LocalBackend, request: CompletionRequest, meter: Meter, adapter: str | None = None
) -> CompletionResponse:
    if request.suffix:
        raise bad_request("'suffix' (fill-in-the-middle) is not supported", param="suffix")
    prompts = rt.prompt_ids(request.prompt)
    want_prompt_lps = request.echo and request.logprobs is not None
    rows: list[GenerationRequest] = []
    for ids in prompts:
        max_new = rt.budget(ids, request.max_tokens, "max_tokens", allow_zero=True)
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
        + (len(r.prompt_ids) - 1) * (1 + (r.prompt_logprobs or 0)) * (r.prompt_logprobs is not None)
        for r in rows
    )
    meter.reserve(tokens=token_bound, floats=float_bound)
    results = await rt.generate(rows, meter.token.engagement)
    meter.record(
        prompt_tokens=sum(len(r.prompt_ids) for r in rows),
        completion_tokens=sum(len(r.output_ids) for r in results),
        floats=sum(count_floats(r) for r in results),
    )
    choices = []
    for index, (row, result) in enumerate(zip(rows, results, strict=True)):
        prompt_text = str(rt.tokenizer.decode(row.prompt_ids)) if request.echo else ""
        choices.append(
            CompletionChoice(
                index=index,
                text=prompt_text + result.text,
                finish_reason=result.finish_reason,
                logprobs=_completion_logprobs(rt, result, echo=request.echo)
                if request.logprobs is not None
                else None,
                prompt_logprobs=_vllm_prompt_logprobs(rt, result)
                if request.prompt_logprobs is not None
                else None,
            )
        )
    prompt_tokens = sum(len(p) for p in prompts)
    completion_tokens = sum(len(r.output_ids) for r in results)
    return CompletionResponse(
        id=f"cmpl-{uuid.uuid4().hex}",
        created=int(time.time()),
        model=rt.name,
        choices=choices,
        usage=Usage(
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            total_tokens=prompt_tokens + completion_tokens,
        ),
    )


def tokenize(rt: LocalBackend, request: TokenizeRequest) -> TokenizeResponse:
    if request.messages is not None:
        ids = rt.chat_prompt_ids(request.messages)
    elif request.prompt is not None:
        ids = list(
            rt.tokenizer(request.prompt, add_special_tokens=request.add_special_tokens)["input_ids"]
        )
    else:
        raise bad_request("give either 'prompt' or 'messages'", param="prompt")
    texts = rt.engine.token_texts
    return TokenizeResponse(
        tokens=ids,
        count=len(ids),
        max_model_len=rt.engine.context_length,
        token_strs=[texts.text_of(i) for i in ids],
    )


def detokenize(rt: LocalBackend, request: DetokenizeRequest) -> DetokenizeResponse:
    rt.check_ids(request.tokens, "tokens")
    return DetokenizeResponse(prompt=str(rt.tokenizer.decode(request.tokens)))


def _top(rt: LocalBackend, position: PositionLogprobs) -> list[TopLogprob]:
    texts = rt.engine.token_texts
    return [
        TopLogprob(
            token=texts.text_of(t.token_id),
            logprob=t.logprob,
            bytes=list(texts.bytes_of(t.token_id)),
        )
        for t in position.top
    ]


def _chat_token(rt: LocalBackend, position: PositionLogprobs) -> ChatTokenLogprob:
    texts = rt.engine.token_texts
    return ChatTokenLogprob(
        token=texts.text_of(position.token_id),
        logprob=position.logprob,
        bytes=list(texts.bytes_of(position.token_id)),
        top_logprobs=_top(rt, position),
    )


def _completion_logprobs(
    rt: LocalBackend, result: GenerationResult, *, echo: bool
) -> CompletionLogprobs:
    texts = rt.engine.token_texts
    tokens: list[str] = []
    token_lps: list[float | None] = []
    tops: list[dict[str, float] | None] = []
    if echo:
        prompt_positions = result.prompt_logprobs or [None] * len(result.prompt_ids)
        for token_id, pos in zip(result.prompt_ids, prompt_positions, strict=True):
            tokens.append(texts.text_of(token_id))
            token_lps.append(pos.logprob if pos is not None else None)
            tops.append(_top_dict(rt, pos) if pos is not None else None)
    for pos in result.output_logprobs or []:
        tokens.append(texts.text_of(pos.token_id))
        token_lps.append(pos.logprob)
        tops.append(_top_dict(rt, pos))
    offsets: list[int] = []
    cursor = 0
    for t in tokens:
        offsets.append(cursor)
        cursor += len(t)
    return CompletionLogprobs(
        tokens=tokens, token_logprobs=token_lps, top_logprobs=tops, text_offset=offsets
    )


def _vllm_prompt_logprobs(rt: LocalBackend, result: GenerationResult) -> PromptLogprobsField:
    texts = rt.engine.token_texts
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


def _top_dict(rt: LocalBackend, position: PositionLogprobs) -> dict[str, float]:
    texts = rt.engine.token_texts
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
