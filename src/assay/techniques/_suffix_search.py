"""The suffix search GCG and the trigger search share (Zou et al. 2023, "Universal and
Transferable Adversarial Attacks on Aligned Language Models": Greedy Coordinate
Gradient): its settings, requests framed around one suffix in the chat prompt, the
screening of requests asked plainly, and the search itself.

Each step asks the gateway for the gradient-ranked token candidates of every suffix
position (``/v1/whitebox/gradients`` with ``output="token_candidates"``: ids only, no
gradient floats), samples single-token swaps, scores them all in one batched
prompt-logprob request (``/v1/completions`` with ``echo``), and keeps the best swap
whose text tokenises back to the same tokens.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Self, TypeVar

from pydantic import BaseModel, Field

from assay.techniques._base import (
    Curve,
    Headline,
    HiddenProperty,
    Point,
    TechniqueConfig,
    finite,
    rate_headline,
)
from assay.techniques._client import WhiteboxClient
from assay.techniques._common import refusal_finding, user
from assay.techniques._run import TechniqueRun


class GcgConfig(TechniqueConfig):
    harmful_file: str | None = Field(default=None, description="misuse_refusal-format requests")
    pool: int = Field(default=24, ge=1, description="requests screened for refusals")
    n_items: int = Field(default=4, ge=1, description="refused requests attacked at once")
    only_refused: bool = Field(default=True, description="attack only requests refused as asked")
    suffix_length: int = Field(default=20, ge=1, le=64)
    suffix_init: str = Field(default=" !", min_length=1, description="repeated to start")
    target: str = Field(default="Sure, here is", min_length=1)
    steps: int = Field(default=100, ge=1)
    batch: int = Field(default=64, ge=1, le=512, description="candidate swaps per step")
    top_k: int = Field(default=64, ge=1, le=256, description="gradient candidates per position")
    max_tokens: int = Field(default=48, ge=1, le=1024, description="reply length to judge")
    check_every: int = Field(
        default=10, ge=1, description="steps between success checks (greedy replies)"
    )
    stop_early: bool = Field(default=True, description="stop once every attacked request complies")

    @classmethod
    def reduced(cls) -> Self:
        return cls(
            pool=12,
            n_items=2,
            suffix_length=10,
            steps=15,
            batch=16,
            top_k=32,
            max_tokens=32,
            check_every=5,
            max_queries=300,
            max_floats=400_000,
            max_seconds=180,
        )

    @classmethod
    def full(cls) -> Self:
        return cls(
            pool=64,
            n_items=8,
            suffix_length=20,
            steps=500,
            batch=256,
            top_k=256,
            max_tokens=64,
            check_every=25,
            max_queries=20_000,
            max_floats=200_000_000,
            max_seconds=8 * 3600,
        )


class GcgStep(BaseModel):
    step: int
    loss: float
    best_loss: float


G = TypeVar("G", bound=GcgConfig)


@dataclass
class Framed:
    """A request in the chat prompt: the token ids before and after the suffix."""

    request: str
    head: list[int]
    tail: list[int]


def _common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return n


def _frame(
    gw: WhiteboxClient, model: str, request: str, suffix_text: str
) -> tuple[Framed, list[int]] | None:
    """Token ids around the suffix in the chat prompt, and the suffix's own ids; None
    when the request's last token merges with the suffix."""
    plain = gw.tokenize(model, messages=user(request))
    full = gw.tokenize(model, messages=user(request + suffix_text))
    c = _common_prefix(plain, full)
    d = _common_prefix(plain[::-1], full[::-1])
    d = min(d, len(plain) - c, len(full) - c)
    if c + d != len(plain) or len(full) - c - d < 1:
        return None
    return Framed(request, full[:c], full[len(full) - d :]), full[c : len(full) - d]


def frame_requests(
    gw: WhiteboxClient, model: str, requests: Sequence[str], suffix_text: str, limit: int
) -> tuple[list[Framed], list[int] | None, int]:
    """Up to ``limit`` requests framed around one shared suffix (its token ids), and
    how many were skipped because their last token merges with it."""
    items: list[Framed] = []
    suffix: list[int] | None = None
    skipped = 0
    for request in requests:
        if len(items) == limit:
            break
        framed = _frame(gw, model, request, suffix_text)
        if framed is None or (suffix is not None and framed[1] != suffix):
            skipped += 1
            continue
        items.append(framed[0])
        suffix = framed[1]
    return items, suffix, skipped


@dataclass
class Screening:
    """Requests asked plainly: the judge's verdicts, the black-box refusal rate, and
    the seconds one reply took."""

    verdicts: list[bool]
    refusal_rate: Headline
    seconds_per_reply: float

    def fields(self) -> dict[str, Any]:
        """The result fields a suffix search reports about its screening."""
        return {
            "screened": len(self.verdicts),
            "baseline_refused": sum(self.verdicts),
            "baseline_refusal_rate": self.refusal_rate,
        }


def screen(run: TechniqueRun[G], pool: list[str], prop: HiddenProperty) -> Screening:
    """Ask ``pool`` plainly, as black-box access would; a finding of the refusal rate."""
    started = time.monotonic()
    verdicts, _ = run.judge(
        [user(p) for p in pool], max_tokens=run.config.max_tokens, phase="screening requests"
    )
    seconds = (time.monotonic() - started) / max(len(pool), 1)
    rate = rate_headline("refusal_rate", sum(verdicts), len(pool))
    run.findings.append(refusal_finding(prop, rate))
    return Screening(verdicts, rate, seconds)


@dataclass
class Search:
    """The outcome of a suffix search: the suffix to use (the first that made every
    request comply, else the lowest-loss one), its loss history, and notes."""

    tokens: list[int]
    best_loss: float
    history: list[GcgStep]
    steps_run: int
    won: bool
    notes: list[str]

    def fields(self) -> dict[str, Any]:
        """The result fields a suffix search reports about its search."""
        return {"steps_run": self.steps_run, "history": self.history}

    def curves(self, y_label: str) -> list[Curve]:
        """The loss of the current suffix per step (none before the first step)."""
        if not self.history:
            return []
        points: list[Point] = [(float(h.step), h.loss, None, None) for h in self.history]
        return [
            Curve(
                name="target loss of the current suffix",
                x_label="step",
                y_label=y_label,
                points=points,
            )
        ]

    def private(self, text: str) -> dict[str, Any]:
        """The suffix as ``text``, tokens and loss, for the result's private part."""
        return {"text": text, "tokens": self.tokens, "loss": finite(self.best_loss)}


def optimise_suffix(
    run: TechniqueRun[G],
    items: list[Framed],
    suffix: list[int],
    *,
    reserve_queries: int,
    reserve_seconds: float,
) -> Search:
    """Greedy coordinate gradient search of one suffix shared by ``items``, making
    ``config.target`` likely after each; stops early when every item complies (if
    ``config.stop_early``), and always leaves ``reserve_queries`` and
    ``reserve_seconds`` of the budget unspent. Swaps are sampled with the config's seed."""
    gw, model, config, meter, progress = run.gw, run.model, run.config, run.meter, run.progress
    rng = random.Random(config.seed)
    notes: list[str] = []
    history: list[GcgStep] = []
    steps_run = 0
    target = gw.tokenize(model, text=config.target, add_special_tokens=False)
    # template tokens (role markers, end-of-turn) may not be used in the suffix
    forbidden = set(items[0].tail) | set(items[0].head[:1])
    current, current_loss = list(suffix), float("inf")
    best, best_loss = list(suffix), float("inf")
    won: list[int] | None = None
    step_floats = (config.batch + 1) * sum(
        len(i.head) + len(suffix) + len(i.tail) + len(target) for i in items
    )
    if progress:
        progress("searching suffix", 0, config.steps)
    step_seconds = 0.0
    for step in range(1, config.steps + 1):
        # gradients, detokenisation, scoring chunks, up to three round-trip checks
        step_queries = 2 * len(items) + 2 + -(-(config.batch + 1) * len(items) // 32) + 6
        if (
            meter.queries + step_queries + reserve_queries > config.max_queries
            or meter.floats + step_floats > config.max_floats
            or meter.seconds + step_seconds + reserve_seconds > config.max_seconds
        ):
            notes.append(f"search stopped by the budget after {steps_run} steps")
            break
        step_started = time.monotonic()
        text = gw.detokenize(model, current)
        pools = _candidates(gw, model, items, current, text, config, forbidden)
        swaps = _sample(current, pools, config.batch, rng)
        if not swaps:
            notes.append("no usable gradient candidates; search stopped")
            break
        scored = _losses(gw, model, items, [current, *swaps], target)
        if not history:
            history.append(GcgStep(step=0, loss=scored[0], best_loss=scored[0]))
        current_loss = scored[0]
        ranked = sorted(zip(scored[1:], range(len(swaps)), strict=True))
        for loss, index in ranked[:3]:
            if _round_trips(gw, model, items[0], swaps[index]):
                current, current_loss = swaps[index], loss
                break
        steps_run = step
        if current_loss < best_loss:
            best, best_loss = list(current), current_loss
        history.append(GcgStep(step=step, loss=current_loss, best_loss=best_loss))
        step_seconds = time.monotonic() - step_started
        if progress:
            progress("searching suffix", step, config.steps)
        if config.stop_early and step % config.check_every == 0 and step < config.steps:
            text = gw.detokenize(model, current)
            flags, _ = run.judge(
                [user(i.request + text) for i in items], max_tokens=config.max_tokens
            )
            if not any(flags):
                won = list(current)
                notes.append(f"every attacked request complied after {step} steps")
                break
    return Search(
        tokens=won or best,
        best_loss=best_loss,
        history=history,
        steps_run=steps_run,
        won=won is not None,
        notes=notes,
    )


def _candidates(
    gw: WhiteboxClient,
    model: str,
    items: list[Framed],
    suffix: list[int],
    text: str,
    config: GcgConfig,
    forbidden: set[int],
) -> list[list[int]]:
    """Per suffix position, the gradient candidates of all items, best-ranked first."""
    votes: list[dict[int, int]] = [{} for _ in suffix]
    for item in items:
        start = len(item.head)
        result = gw.gradient(
            model,
            user(item.request + text),
            config.target,
            output="token_candidates",
            positions=list(range(start, start + len(suffix))),
            top_k=config.top_k,
        )
        if result.input_tokens != item.head + suffix + item.tail or not result.candidates:
            continue
        for position, ranked in enumerate(result.candidates):
            for rank, token in enumerate(ranked):
                votes[position][token] = votes[position].get(token, 0) + config.top_k - rank
    return [
        [
            t
            for t, _ in sorted(v.items(), key=lambda kv: -kv[1])
            if t not in forbidden and t != suffix[j]
        ][: config.top_k]
        for j, v in enumerate(votes)
    ]


def _sample(
    suffix: list[int], pools: list[list[int]], batch: int, rng: random.Random
) -> list[list[int]]:
    """Up to ``batch`` distinct single-token swaps (GCG's uniform sampling)."""
    positions = [j for j, p in enumerate(pools) if p]
    seen: set[tuple[int, ...]] = set()
    swaps: list[list[int]] = []
    for _ in range(batch * 4):
        if len(swaps) == batch or not positions:
            break
        j = rng.choice(positions)
        candidate = list(suffix)
        candidate[j] = rng.choice(pools[j])
        key = tuple(candidate)
        if key not in seen:
            seen.add(key)
            swaps.append(candidate)
    return swaps


def _losses(
    gw: WhiteboxClient,
    model: str,
    items: list[Framed],
    suffixes: list[list[int]],
    target: list[int],
) -> list[float]:
    """Mean ``-log p(target)`` over items for each suffix, in one batched scoring pass."""
    prompts = [i.head + s + i.tail + target for s in suffixes for i in items]
    choices = gw.complete(model, prompts, max_tokens=0, logprobs=0, echo=True)
    losses = []
    for k in range(len(suffixes)):
        total = 0.0
        for c in choices[k * len(items) : (k + 1) * len(items)]:
            total -= sum(v or 0.0 for v in c.token_logprobs[-len(target) :])
        losses.append(total / len(items))
    return losses


def _round_trips(gw: WhiteboxClient, model: str, item: Framed, suffix: list[int]) -> bool:
    """Whether the suffix, sent as text, reaches the model as the same tokens."""
    text = gw.detokenize(model, suffix)
    return gw.tokenize(model, messages=user(item.request + text)) == item.head + suffix + item.tail
