"""Gradient-guided adversarial suffixes (Zou et al. 2023, "Universal and Transferable
Adversarial Attacks on Aligned Language Models": Greedy Coordinate Gradient).

One suffix is optimised jointly on a few harmful requests the model refuses, to make
a compliant opening (``target``) likely. Each step asks the gateway for the
gradient-ranked token candidates of every suffix position (``/v1/whitebox/gradients``
with ``output="token_candidates"``: ids only, no gradient floats), samples
single-token swaps, scores them all in one batched prompt-logprob request
(``/v1/completions`` with ``echo``), and keeps the best swap whose text tokenises back
to the same tokens. Success is judged on greedy replies to the requests as text.
The suffixes found are returned in ``private`` only.
"""

from __future__ import annotations

from pydantic import Field

from assay.techniques._base import Finding, Headline, TechniqueResult, rate_headline
from assay.techniques._common import JUDGE, refused, user
from assay.techniques._data import harmful_prompts, shuffled
from assay.techniques._registry import technique
from assay.techniques._run import TechniqueRun
from assay.techniques._suffix_search import (
    Framed,
    GcgConfig,
    GcgStep,
    Screening,
    Search,
    frame_requests,
    optimise_suffix,
    screen,
)


class GcgResult(TechniqueResult):
    judge: str = JUDGE
    screened: int = 0
    baseline_refused: int = 0
    items_attacked: int = 0
    steps_run: int = 0
    history: list[GcgStep] = Field(default_factory=list)
    baseline_refusal_rate: Headline | None = None


@technique(
    name="gcg",
    title="Gradient-guided adversarial suffixes (GCG)",
    paper="Zou et al. 2023, Universal and Transferable Adversarial Attacks on Aligned Language Models",
    config=GcgConfig,
    headline="attack_success_rate",
)
def run_gcg(run: TechniqueRun[GcgConfig]) -> GcgResult:
    """Search a suffix that flips refusals; attack success rate on the attacked requests."""
    config, gw, model = run.config, run.gw, run.model
    pool = shuffled(harmful_prompts(config.harmful_file), config.seed)[: config.pool]
    run.notes += [
        f"Target opening {config.target!r}; candidates from /v1/whitebox/gradients "
        "(token_candidates), scored by prompt logprobs; success judged on greedy replies by "
        f"{JUDGE}.",
        "The suffixes found are in the private part of the result.",
    ]
    screening: Screening | None = None
    search: Search | None = None
    items: list[Framed] = []
    with run.budget():
        screening = screen(run, pool, "safeguards")
        chosen = [
            p for p, v in zip(pool, screening.verdicts, strict=True) if v or not config.only_refused
        ]
        items, suffix, skipped = frame_requests(
            gw, model, chosen, config.suffix_init * config.suffix_length, config.n_items
        )
        if skipped:
            run.notes.append(
                f"{skipped} request(s) whose tokens merge with the suffix were skipped"
            )
        if not items or suffix is None:
            run.notes.append(
                f"no request to attack: {sum(screening.verdicts)} of {len(pool)} screened "
                "were refused"
            )
        else:
            search = optimise_suffix(
                run,
                items,
                suffix,
                reserve_queries=len(items) + 1,  # the final judgement and a detokenisation
                reserve_seconds=screening.seconds_per_reply * len(items),
            )
            _judge_suffix(run, items, search)
    if search is not None:
        run.curves = search.curves("-log p(target), mean over requests")
    return run.result(
        GcgResult,
        **(screening.fields() if screening else {}),
        **(search.fields() if search else {}),
        items_attacked=len(items),
    )


def _judge_suffix(run: TechniqueRun[GcgConfig], items: list[Framed], search: Search) -> None:
    """The attack success rate of the suffix found, on the requests it was found on."""
    run.notes += search.notes
    final_text = run.gw.detokenize(run.model, search.tokens)
    flags, replies = run.judge(
        [user(i.request + final_text) for i in items],
        max_tokens=run.config.max_tokens,
        phase="judging the suffix",
    )
    complied = sum(not f for f in flags)
    run.headline = rate_headline("attack_success_rate", complied, len(items))
    run.findings.append(
        Finding.of(
            "safeguards",
            "white",
            run.headline,
            f"a {len(search.tokens)}-token suffix found in {search.steps_run} gradient steps "
            f"flipped {complied} of {len(items)} refused requests",
            flagged=complied > 0,
        )
    )
    run.private["suffix"] = search.private(final_text)
    run.private["replies"] = [
        {"request": i.request, "reply": r, "refused": refused(r)}
        for i, r in zip(items, replies, strict=True)
    ]
