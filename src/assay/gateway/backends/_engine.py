"""Batched inference for a local transformers causal LM.

One call runs a whole micro-batch: a single left-padded prefill forward pass
(which already yields prompt logprobs and the first generated token), then a
decode loop with a KV cache in which rows leave the batch as soon as they end.
Logits are projected only where they are needed: the last position for plain
generation, every prompt position for rows that asked for prompt logprobs.

Reported logprobs are those of the model's raw distribution (temperature 1,
no nucleus truncation), whatever sampling parameters chose the token; this is
what vLLM reports too, and what scoring by likelihood needs.

Longer than most modules (under 500 lines): the engine is one algorithm (prefill,
decoding, admission of new rows, a failing row taken out), and splitting its steps
apart would scatter state they share. Row types, token texts and the KV-cache state
live in ``_rows``, ``_texts`` and ``_cache``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

import torch

from assay.gateway.backends._cache import Decoding, can_merge
from assay.gateway.backends._rows import (
    Admit,
    GenerationRequest,
    GenerationResult,
    OnFail,
    PositionLogprobs,
    RowError,
    TokenLogprob,
    count_floats,
)
from assay.gateway.backends._texts import TokenTexts
from assay.gateway.whitebox._hooks import ModelLayout, hooked, is_peft, layout_of

__all__ = [
    "Admit",
    "Engine",
    "GenerationRequest",
    "GenerationResult",
    "OnFail",
    "PositionLogprobs",
    "RowError",
    "TokenLogprob",
    "TokenTexts",
    "count_floats",
]

# torch.Generator.manual_seed takes [-2**63, 2**64)
_SEED_MIN, _SEED_MAX = -(2**63), 2**64 - 1
_GREEDY_BELOW = 1e-5


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
        self._failed: dict[int, BaseException] = {}  # rows whose intervention raised

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
        admit: Admit | None = None,
        on_fail: OnFail | None = None,
    ) -> list[GenerationResult]:
        """Run a batch; ``on_done(i, result)`` fires as soon as row ``i`` is finished.

        With ``admit``, the batch is continuous: before each decoding step,
        ``admit(active_rows, can_join)`` may hand over more requests, which are
        prefilled and join the running rows (their indices continue after the
        initial ones; their results are appended to the returned list).

        A row that cannot go on (a seed torch refuses, an intervention that fails,
        logits that are no longer finite) is taken out of the batch and reported to
        ``on_fail(i, error)``; the other rows go on as if it had never been there.
        Without ``on_fail`` the first such error is raised.
        """
        batch = list(requests)
        hooks = frozenset(iv.hook for r in batch for iv in r.interventions)
        self._batch = batch
        self._failed = {}
        if on_fail is None:

            def on_fail(_i: int, exc: BaseException) -> None:
                raise exc

        done = on_done or (lambda _i, _r: None)
        try:
            with torch.inference_mode():
                if not hooks:
                    return self._run(batch, done, admit, hooks, on_fail)
                with hooked(self.layout, sorted(hooks), self._edit):
                    return self._run(batch, done, admit, hooks, on_fail)
        finally:
            self._batch = []
            self._failed = {}

    def _edit(self, name: str, hidden: torch.Tensor) -> torch.Tensor:
        """Apply each row's interventions at hook ``name`` (``hidden``: [rows, seq, width])."""
        changed = hidden
        for b, i in enumerate(self._rows):
            if i in self._failed:
                continue
            for iv in self._batch[i].interventions:
                if iv.hook == name and iv.applies(self._phase):
                    if changed is hidden:
                        changed = hidden.clone()
                    try:
                        edited = iv.apply(hidden[b])
                    except Exception as exc:
                        self._failed[i] = RowError(f"the intervention at {name} failed: {exc}")
                        break
                    if not torch.isfinite(edited).all():
                        self._failed[i] = RowError(
                            f"the intervention at {name} made the activations non-finite",
                            code="non_finite_activations",
                        )
                        break
                    changed[b] = edited
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
        admit: Admit | None,
        hooks: frozenset[str],
        on_fail: OnFail,
    ) -> list[GenerationResult]:
        results: list[GenerationResult] = []
        generators: list[torch.Generator] = []
        state = self._prefill(requests, 0, results, generators, on_done, on_fail)
        mergeable = state is not None and can_merge(state.cache)

        def can_join(request: GenerationRequest) -> bool:
            return all(iv.hook in hooks for iv in request.interventions)

        while state is not None and state.active:
            if admit is not None and mergeable:
                newcomers = admit(len(state.active), can_join)
                if newcomers:
                    start = len(requests)
                    requests.extend(newcomers)
                    joined = self._prefill(
                        requests[start:], start, results, generators, on_done, on_fail
                    )
                    if joined is not None:
                        state.merge(joined)
            self._phase = "decode"
            state.attention = torch.cat(
                [state.attention, torch.ones((len(state.active), 1), dtype=torch.long)], 1
            )
            step = self._forward(
                state.active,
                requests,
                input_ids=torch.tensor(state.tokens, dtype=torch.long)[:, None].to(self.device),
                attention_mask=state.attention.to(self.device),
                position_ids=state.positions[:, None].to(self.device),
                cache=state.cache,
                use_cache=True,
                logits_to_keep=1,
            )
            state.cache = (
                getattr(step, "cache", None)
                or getattr(step, "past_key_values", None)
                or state.cache
            )
            step_logits = step.logits[:, -1, :].float()
            finite = torch.isfinite(step_logits).all(dim=-1).tolist()
            chosen = self._choose_rows(
                step_logits,
                [requests[i] for i in state.active],
                [generators[i] for i in state.active],
            )
            still: list[int] = []
            still_tokens: list[int] = []
            for j, i in enumerate(state.active):
                token = chosen[j]
                problem = self._problem(i, finite[j], token)
                if problem is not None:
                    on_fail(i, problem)
                    continue
                assert isinstance(token, int)
                self._record(results[i], requests[i], step_logits[j], token)
                if self._finished(results[i], requests[i], token):
                    on_done(i, results[i])
                else:
                    still.append(j)
                    still_tokens.append(token)
            state.keep(still, still_tokens)
            state.positions = state.positions + 1
        return results

    def _problem(
        self, index: int, finite: bool, token: int | BaseException
    ) -> BaseException | None:
        """Why row ``index`` cannot go on, if it cannot."""
        if index in self._failed:
            return self._failed[index]
        if not finite:
            return RowError(
                "the model's output became non-finite (NaN or infinity), for example after "
                "an intervention drove the activations out of range",
                code="non_finite_logits",
            )
        if isinstance(token, BaseException):
            return token
        return None

    def _prefill(
        self,
        requests: list[GenerationRequest],
        start: int,
        results: list[GenerationResult],
        generators: list[torch.Generator],
        on_done: Callable[[int, GenerationResult], None],
        on_fail: OnFail,
    ) -> Decoding | None:
        """One forward pass over new prompts: prompt logprobs, first tokens, and the
        state (cache, mask, positions) of the rows that go on generating."""
        results.extend(GenerationResult(prompt_ids=list(r.prompt_ids)) for r in requests)
        ok: list[int] = []
        for i, r in enumerate(requests):
            if r.seed is not None and not _SEED_MIN <= r.seed <= _SEED_MAX:
                generators.append(self._default_generator)
                on_fail(
                    start + i,
                    RowError(
                        f"seed {r.seed} is out of range ({_SEED_MIN}..{_SEED_MAX})", "invalid_seed"
                    ),
                )
                continue
            generators.append(self._generator(r.seed))
            ok.append(i)
        if not ok:
            return None
        rows_in = [requests[i] for i in ok]
        batch = len(rows_in)
        lengths = [len(r.prompt_ids) for r in rows_in]
        width = max(lengths)
        input_ids = torch.full((batch, width), self.pad_id, dtype=torch.long)
        attention = torch.zeros((batch, width), dtype=torch.long)
        for j, r in enumerate(rows_in):
            input_ids[j, width - lengths[j] :] = torch.tensor(r.prompt_ids, dtype=torch.long)
            attention[j, width - lengths[j] :] = 1
        positions = (attention.cumsum(-1) - 1).clamp(min=0)

        echo_rows = [j for j, r in enumerate(rows_in) if r.prompt_logprobs is not None]
        keep: int | torch.Tensor = 1
        if echo_rows:
            mask = torch.zeros((batch, width), dtype=torch.bool)
            mask[:, -1] = True
            for j in echo_rows:
                mask[j, width - lengths[j] :] = True
            keep = mask
        decoding = any(r.max_new_tokens > 1 for r in rows_in)
        self._phase = "prefill"
        out = self._forward(
            [start + i for i in ok],
            self._batch,
            input_ids=input_ids.to(self.device),
            attention_mask=attention.to(self.device),
            position_ids=positions.to(self.device),
            use_cache=decoding,
            logits_to_keep=keep,
        )
        logits = out.logits.float()

        # Split the projected logits back into per-row views.
        if isinstance(keep, torch.Tensor):
            counts = keep.sum(dim=1).tolist()
            per_row = list(torch.split(logits, counts, dim=0))
        else:
            per_row = [logits[j] for j in range(batch)]
        last_logits = torch.stack([rows[-1] for rows in per_row])
        finite = [bool(torch.isfinite(rows).all()) for rows in per_row]

        for j in echo_rows:
            if finite[j]:
                k = rows_in[j].prompt_logprobs or 0
                results[start + ok[j]].prompt_logprobs = self._prompt_logprobs(
                    per_row[j], rows_in[j].prompt_ids, k
                )

        first_tokens = self._choose_rows(last_logits, rows_in, [generators[start + i] for i in ok])
        active: list[int] = []
        tokens: list[int] = []
        for j, r in enumerate(rows_in):
            index = start + ok[j]
            problem = self._problem(index, finite[j], first_tokens[j])
            if problem is not None:
                on_fail(index, problem)
                continue
            if r.max_new_tokens <= 0:
                results[index].finish_reason = "length"
                on_done(index, results[index])
                continue
            token = first_tokens[j]
            assert isinstance(token, int)
            self._record(results[index], r, last_logits[j], token)
            if self._finished(results[index], r, token):
                on_done(index, results[index])
            else:
                active.append(j)
                tokens.append(token)
        if not active:
            return None
        cache = getattr(out, "cache", None) or getattr(out, "past_key_values", None)
        if cache is None:
            raise RuntimeError(
                "the model returned no KV cache; it cannot generate more than one token here"
            )
        rows = torch.tensor(active, dtype=torch.long)
        if len(active) < batch:
            cache.batch_select_indices(rows.to(self.device))
        return Decoding(
            active=[start + ok[j] for j in active],
            tokens=tokens,
            attention=attention[rows],
            positions=positions[rows, -1] + 1,
            cache=cache,
        )

    def _generator(self, seed: int | None) -> torch.Generator:
        if seed is None:
            return self._default_generator
        return torch.Generator(device="cpu").manual_seed(seed)

    def _choose_rows(
        self,
        logits: torch.Tensor,
        requests: Sequence[GenerationRequest],
        generators: Sequence[torch.Generator],
    ) -> list[int | BaseException]:
        """The next token of each row: one vectorised argmax when every row is greedy.
        A row whose sampling fails gets its error instead of a token."""
        if all(r.temperature < _GREEDY_BELOW for r in requests):
            return [int(t) for t in torch.argmax(logits, dim=-1).tolist()]
        chosen: list[int | BaseException] = []
        for row, r, g in zip(logits, requests, generators, strict=True):
            try:
                chosen.append(_choose(row, r.temperature, r.top_p, g))
            except (RuntimeError, ValueError) as exc:
                chosen.append(RowError(f"sampling failed: {exc}", code="sampling_failed"))
        return chosen

    def _record(
        self, result: GenerationResult, request: GenerationRequest, logits: torch.Tensor, token: int
    ) -> int:
        """Record a chosen token (and its logprobs if asked).

        An end-of-sequence token is recorded too (as vLLM does: clients that read
        logprobs of ``max_tokens=1`` completions expect one generated position),
        but it never reaches the text."""
        result.output_ids.append(token)
        if request.logprobs is not None:
            logprobs = torch.log_softmax(logits, dim=-1)
            if result.output_logprobs is None:
                result.output_logprobs = []
            result.output_logprobs.append(_position(logprobs, token, request.logprobs))
        return token

    def _finished(self, result: GenerationResult, request: GenerationRequest, token: int) -> bool:
        """Whether the row ends here; its text is decoded only when it does (or when a
        stop sequence must be looked for)."""
        if token in self.eos_ids:
            result.text = self._decode(result.output_ids)
            result.finish_reason = "stop"
            return True
        if request.stop:
            text = self._decode(result.output_ids)
            cut = min((idx for s in request.stop if s and (idx := text.find(s)) >= 0), default=-1)
            if cut >= 0:
                result.text = text[:cut]
                result.finish_reason = "stop"
                return True
        if len(result.output_ids) >= request.max_new_tokens:
            result.text = self._decode(result.output_ids)
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
