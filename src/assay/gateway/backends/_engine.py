"""Batched inference for a local transformers causal LM.

One call runs a whole micro-batch: a single left-padded prefill forward pass
(which already yields prompt logprobs and the first generated token), then a
decode loop with a KV cache in which rows leave the batch as soon as they end.
Logits are projected only where they are needed: the last position for plain
generation, every prompt position for rows that asked for prompt logprobs.

Reported logprobs are those of the model's raw distribution (temperature 1,
no nucleus truncation), whatever sampling parameters chose the token; this is
what vLLM reports too, and what scoring by likelihood needs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import torch

from assay.gateway.whitebox._hooks import ModelLayout, hooked, is_peft, layout_of
from assay.gateway.whitebox._interventions import Intervention

FinishReason = Literal["stop", "length"]

_GREEDY_BELOW = 1e-5
_BYTE_FALLBACK = re.compile(r"^<0x([0-9A-Fa-f]{2})>$")


@dataclass(frozen=True)
class TokenLogprob:
    """One candidate token at a position and its log-probability."""

    token_id: int
    logprob: float


@dataclass(frozen=True)
class PositionLogprobs:
    """The token actually at a position, its log-probability, and the top alternatives."""

    token_id: int
    logprob: float
    top: tuple[TokenLogprob, ...] = ()


@dataclass
class GenerationRequest:
    """What one row of a batch asks for.

    ``logprobs`` / ``prompt_logprobs``: ``None`` for none; ``k >= 0`` for the chosen
    token's logprob plus the ``k`` most likely alternatives at each position.
    """

    prompt_ids: list[int]
    max_new_tokens: int = 16
    temperature: float = 1.0
    top_p: float = 1.0
    seed: int | None = None
    stop: Sequence[str] = ()
    logprobs: int | None = None
    prompt_logprobs: int | None = None
    interventions: tuple[Intervention, ...] = ()
    adapter: str | None = None  # a LoRA adapter loaded on a peft-wrapped model


@dataclass
class GenerationResult:
    """Generated tokens and text, with the logprobs that were asked for."""

    prompt_ids: list[int]
    output_ids: list[int] = field(default_factory=list)
    text: str = ""
    finish_reason: FinishReason = "length"
    output_logprobs: list[PositionLogprobs] | None = None
    # entry 0 is None: the first prompt token has no context to be predicted from
    prompt_logprobs: list[PositionLogprobs | None] | None = None


class TokenTexts:
    """Exact text and bytes of single tokens (byte-level BPE and SentencePiece aware)."""

    def __init__(self, tokenizer: Any) -> None:
        self._tokenizer = tokenizer
        self._byte_decoder = _byte_level_decoder()
        self._cache: dict[int, tuple[str, bytes]] = {}

    def text_of(self, token_id: int) -> str:
        return self._lookup(token_id)[0]

    def bytes_of(self, token_id: int) -> bytes:
        return self._lookup(token_id)[1]

    def _lookup(self, token_id: int) -> tuple[str, bytes]:
        hit = self._cache.get(token_id)
        if hit is None:
            hit = self._compute(token_id)
            self._cache[token_id] = hit
        return hit

    def _compute(self, token_id: int) -> tuple[str, bytes]:
        piece = self._tokenizer.convert_ids_to_tokens(token_id)
        if isinstance(piece, str):
            if piece in self._tokenizer.all_special_tokens:
                return piece, piece.encode()
            byte_match = _BYTE_FALLBACK.match(piece)
            if byte_match:
                raw = bytes([int(byte_match.group(1), 16)])
                return raw.decode("utf-8", errors="replace"), raw
            if piece and all(ch in self._byte_decoder for ch in piece):
                raw = bytes(self._byte_decoder[ch] for ch in piece)
                return raw.decode("utf-8", errors="replace"), raw
            if piece.startswith("\u2581"):  # SentencePiece word boundary
                text = " " + piece[1:]
                return text, text.encode()
        text = self._tokenizer.decode([token_id])
        return text, text.encode()


def _byte_level_decoder() -> dict[str, int]:
    """Inverse of GPT-2's byte-to-unicode table used by byte-level BPE vocabularies."""
    printable = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    codes = printable[:]
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            codes.append(256 + extra)
            extra += 1
    return {chr(c): b for b, c in zip(printable, codes, strict=True)}


class Engine:
    """Runs batches of :class:`GenerationRequest` on one model, on one thread at a time."""

    def __init__(self, model: Any, tokenizer: Any) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.token_texts = TokenTexts(tokenizer)
        self.pad_id: int = (
            tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        )
        self.eos_ids: frozenset[int] = frozenset(_eos_ids(model, tokenizer))
        self.device = next(model.parameters()).device
        self._default_generator = torch.Generator(device="cpu").manual_seed(0)
        self._layout: ModelLayout | None = None
        # state the intervention hooks read during a forward pass
        self._batch: list[GenerationRequest] = []
        self._rows: list[int] = []
        self._phase: Literal["prefill", "decode"] = "prefill"

    @property
    def layout(self) -> ModelLayout:
        if self._layout is None:
            self._layout = layout_of(self.model)
        return self._layout

    def set_model(self, model: Any) -> None:
        """Serve ``model`` from now on (a peft wrapper around the same weights)."""
        self.model = model
        self._layout = None

    @property
    def context_length(self) -> int:
        config = self.model.config
        for attr in ("max_position_embeddings", "n_positions", "max_sequence_length"):
            value = getattr(config, attr, None)
            if isinstance(value, int) and value > 0:
                return value
        return 2048

    def run(
        self,
        requests: Sequence[GenerationRequest],
        on_done: Callable[[int, GenerationResult], None] | None = None,
    ) -> list[GenerationResult]:
        """Run a batch; ``on_done(i, result)`` fires as soon as row ``i`` is finished."""
        batch = list(requests)
        hooks = sorted({iv.hook for r in batch for iv in r.interventions})
        with torch.inference_mode():
            if not hooks:
                return self._run(batch, on_done or (lambda _i, _r: None))
            self._batch = batch
            try:
                with hooked(self.layout, hooks, self._edit):
                    return self._run(batch, on_done or (lambda _i, _r: None))
            finally:
                self._batch = []

    def _edit(self, name: str, hidden: torch.Tensor) -> torch.Tensor:
        """Apply each row's interventions at hook ``name`` (``hidden``: [rows, seq, width])."""
        changed = hidden
        for b, i in enumerate(self._rows):
            for iv in self._batch[i].interventions:
                if iv.hook == name and iv.applies(self._phase):
                    if changed is hidden:
                        changed = hidden.clone()
                    changed[b] = iv.apply(hidden[b])
        return changed

    def _forward(self, rows: list[int], requests: list[GenerationRequest], **kwargs: Any) -> Any:
        self._rows = rows
        if is_peft(self.model):
            # always explicit: peft would otherwise apply whichever adapter is active
            kwargs["adapter_names"] = [requests[i].adapter or "__base__" for i in rows]
        return self.model(**kwargs)

    def _run(
        self,
        requests: list[GenerationRequest],
        on_done: Callable[[int, GenerationResult], None],
    ) -> list[GenerationResult]:
        batch = len(requests)
        lengths = [len(r.prompt_ids) for r in requests]
        width = max(lengths)
        input_ids = torch.full((batch, width), self.pad_id, dtype=torch.long)
        attention = torch.zeros((batch, width), dtype=torch.long)
        for i, r in enumerate(requests):
            input_ids[i, width - lengths[i] :] = torch.tensor(r.prompt_ids, dtype=torch.long)
            attention[i, width - lengths[i] :] = 1
        positions = (attention.cumsum(-1) - 1).clamp(min=0)

        echo_rows = [i for i, r in enumerate(requests) if r.prompt_logprobs is not None]
        keep: int | torch.Tensor = 1
        if echo_rows:
            mask = torch.zeros((batch, width), dtype=torch.bool)
            mask[:, -1] = True
            for i in echo_rows:
                mask[i, width - lengths[i] :] = True
            keep = mask
        decoding = any(r.max_new_tokens > 1 for r in requests)
        self._phase = "prefill"
        out = self._forward(
            list(range(batch)),
            requests,
            input_ids=input_ids.to(self.device),
            attention_mask=attention.to(self.device),
            position_ids=positions.to(self.device),
            use_cache=decoding,
            logits_to_keep=keep,
        )
        logits = out.logits.float()
        results = [GenerationResult(prompt_ids=list(r.prompt_ids)) for r in requests]

        # Split the projected logits back into per-row views.
        if isinstance(keep, torch.Tensor):
            counts = keep.sum(dim=1).tolist()
            per_row = list(torch.split(logits, counts, dim=0))
        else:
            per_row = [logits[i] for i in range(batch)]
        last_logits = torch.stack([rows[-1] for rows in per_row])

        for i in echo_rows:
            k = requests[i].prompt_logprobs or 0
            results[i].prompt_logprobs = self._prompt_logprobs(
                per_row[i], requests[i].prompt_ids, k
            )

        generators = [self._generator(r.seed) for r in requests]
        active: list[int] = []
        next_tokens: list[int] = []
        for i, r in enumerate(requests):
            if r.max_new_tokens <= 0:
                results[i].finish_reason = "length"
                on_done(i, results[i])
                continue
            token = self._append(results[i], r, last_logits[i], generators[i])
            if self._finished(results[i], r, token):
                on_done(i, results[i])
            else:
                active.append(i)
                next_tokens.append(token)

        cache = getattr(out, "cache", None) or getattr(out, "past_key_values", None)
        if not active:
            return results
        if cache is None:
            raise RuntimeError(
                "the model returned no KV cache; it cannot generate more than one token here"
            )
        rows = torch.tensor(active, dtype=torch.long)
        if len(active) < batch:
            cache.batch_select_indices(rows.to(self.device))
        attention = attention[rows]
        next_position = positions[rows, -1] + 1
        self._phase = "decode"
        while active:
            attention = torch.cat([attention, torch.ones((len(active), 1), dtype=torch.long)], 1)
            step = self._forward(
                active,
                requests,
                input_ids=torch.tensor(next_tokens, dtype=torch.long)[:, None].to(self.device),
                attention_mask=attention.to(self.device),
                position_ids=next_position[:, None].to(self.device),
                cache=cache,
                use_cache=True,
                logits_to_keep=1,
            )
            cache = getattr(step, "cache", None) or getattr(step, "past_key_values", None) or cache
            step_logits = step.logits[:, -1, :].float()
            still: list[int] = []
            still_tokens: list[int] = []
            for j, i in enumerate(active):
                token = self._append(results[i], requests[i], step_logits[j], generators[i])
                if self._finished(results[i], requests[i], token):
                    on_done(i, results[i])
                else:
                    still.append(j)
                    still_tokens.append(token)
            if len(still) < len(active):
                keep_rows = torch.tensor(still, dtype=torch.long)
                if still:
                    cache.batch_select_indices(keep_rows.to(self.device))
                attention = attention[keep_rows]
                next_position = next_position[keep_rows]
            active = [active[j] for j in still]
            next_tokens = still_tokens
            next_position = next_position + 1
        return results

    def _generator(self, seed: int | None) -> torch.Generator:
        if seed is None:
            return self._default_generator
        return torch.Generator(device="cpu").manual_seed(seed)

    def _append(
        self,
        result: GenerationResult,
        request: GenerationRequest,
        logits: torch.Tensor,
        generator: torch.Generator,
    ) -> int:
        """Choose the next token for one row and record it.

        An end-of-sequence token is recorded too (as vLLM does: clients that read
        logprobs of ``max_tokens=1`` completions expect one generated position),
        but it never reaches the text."""
        token = _choose(logits, request.temperature, request.top_p, generator)
        result.output_ids.append(token)
        if request.logprobs is not None:
            logprobs = torch.log_softmax(logits, dim=-1)
            if result.output_logprobs is None:
                result.output_logprobs = []
            result.output_logprobs.append(_position(logprobs, token, request.logprobs))
        return token

    def _finished(self, result: GenerationResult, request: GenerationRequest, token: int) -> bool:
        if token in self.eos_ids:
            result.text = self._decode(result.output_ids)
            result.finish_reason = "stop"
            return True
        text = self._decode(result.output_ids)
        if request.stop:
            cut = min((idx for s in request.stop if s and (idx := text.find(s)) >= 0), default=-1)
            if cut >= 0:
                result.text = text[:cut]
                result.finish_reason = "stop"
                return True
        result.text = text
        if len(result.output_ids) >= request.max_new_tokens:
            result.finish_reason = "length"
            return True
        return False

    def _decode(self, ids: list[int]) -> str:
        return str(self.tokenizer.decode(ids, skip_special_tokens=True))

    @staticmethod
    def _prompt_logprobs(
        row_logits: torch.Tensor, prompt_ids: list[int], k: int
    ) -> list[PositionLogprobs | None]:
        # row_logits[j] is the distribution over the token at prompt position j + 1.
        logprobs = torch.log_softmax(row_logits, dim=-1)
        entries: list[PositionLogprobs | None] = [None]
        for j in range(1, len(prompt_ids)):
            entries.append(_position(logprobs[j - 1], prompt_ids[j], k))
        return entries


def _position(logprobs: torch.Tensor, token: int, k: int) -> PositionLogprobs:
    top: tuple[TokenLogprob, ...] = ()
    if k > 0:
        values, indices = torch.topk(logprobs, min(k, logprobs.shape[-1]))
        top = tuple(
            TokenLogprob(int(t), float(v))
            for t, v in zip(indices.tolist(), values.tolist(), strict=True)
        )
    return PositionLogprobs(token_id=token, logprob=float(logprobs[token]), top=top)


def _choose(
    logits: torch.Tensor, temperature: float, top_p: float, generator: torch.Generator
) -> int:
    if temperature < _GREEDY_BELOW:
        return int(torch.argmax(logits))
    probs = torch.softmax(logits / temperature, dim=-1)
    if top_p < 1.0:
        sorted_probs, order = torch.sort(probs, descending=True)
        cumulative = torch.cumsum(sorted_probs, dim=-1)
        drop = cumulative - sorted_probs > top_p  # keep the smallest set reaching top_p
        sorted_probs[drop] = 0.0
        probs = torch.zeros_like(probs).scatter_(0, order, sorted_probs)
    choice = torch.multinomial(probs.cpu(), 1, generator=generator)
    return int(choice.item())


def _eos_ids(model: Any, tokenizer: Any) -> set[int]:
    ids: set[int] = set()
    config_eos = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    for value in (config_eos, tokenizer.eos_token_id):
        if isinstance(value, int):
            ids.add(value)
        elif isinstance(value, list):
            ids.update(v for v in value if isinstance(v, int))
    return ids
