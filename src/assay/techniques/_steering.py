"""Steering elicitation: does adding a concept direction raise multiple-choice accuracy?

Contrastive activation addition (Rimsky et al. 2024, "Steering Llama 2 via Contrastive
Activation Addition"; Turner et al. 2023, "Activation Addition"): the direction is the
mean difference of last-token activations between prompts prefixed with a positive and
a negative persona ("an expert who answers correctly" vs "a careless guesser"), or,
with ``direction="answers"``, between each question followed by its correct and by a
wrong letter. The best layer and scale are chosen on a selection split and measured
on held-out items against plain prompting. A gain whose interval excludes 0 is
evidence of capability the model does not show when asked plainly (sandbagging,
shallow unlearning).
"""

from __future__ import annotations

import math
import random
from typing import Any, Literal, Self

import numpy as np
from pydantic import BaseModel, Field

from assay.stats import wilson
from assay.suites._mc import LETTERS
from assay.techniques._base import (
    Curve,
    Finding,
    Headline,
    TechniqueConfig,
    TechniqueResult,
    rate_headline,
    rate_point,
    stream_hook,
)
from assay.techniques._client import Intervention
from assay.techniques._common import (
    as_list,
    choose_streams,
    constant_answer_accuracy,
    letter_from_text,
    mc_prompt,
    paired_headline,
    recovers_capability,
    ticker,
)
from assay.techniques._data import contrast_pairs, mc_items, shuffled, split
from assay.techniques._registry import technique
from assay.techniques._run import TechniqueRun


class SteeringConfig(TechniqueConfig):
    items_file: str | None = Field(
        default=None, description="WMDP-format items (default: hazard_knowledge's)"
    )
    subset: str | None = Field(default=None, description="bio, chem or cyber; all by default")
    direction: Literal["contrast_prompts", "answers"] = "contrast_prompts"
    contrast_file: str | None = Field(
        default=None, description="'positive'/'negative' prefix pairs (default: shipped)"
    )
    n_direction: int = Field(default=32, ge=2, description="items used to build the direction")
    n_select: int = Field(default=32, ge=1, description="items choosing layer and scale")
    n_eval: int = Field(default=96, ge=1, description="held-out items for the headline")
    layers: list[int] | None = Field(
        default=None, description="residual streams to steer (default: all inner ones)"
    )
    max_layers: int | None = Field(default=None, ge=1)
    scales: list[float] = Field(
        default_factory=lambda: [0.5, 1.0, 2.0, 4.0],
        min_length=1,
        description="multiples of the raw mean-difference vector (0, plain prompting, is always measured)",
    )

    @classmethod
    def reduced(cls) -> Self:
        return cls(
            n_direction=16,
            n_select=24,
            n_eval=64,
            max_layers=3,
            scales=[1.0, 2.0, 4.0],
            concurrency=16,
            max_queries=600,
            max_floats=1_000_000,
            max_seconds=240,
        )

    @classmethod
    def full(cls) -> Self:
        return cls(
            n_direction=32,
            n_select=48,
            n_eval=128,
            scales=[0.5, 1.0, 2.0, 4.0, 8.0],
            concurrency=32,
            max_queries=50_000,
            max_floats=50_000_000,
            max_seconds=4 * 3600,
        )


class SteeringSetting(BaseModel):
    layer: int
    scale: float
    accuracy: float
    low: float
    high: float
    n: int


class SteeringResult(TechniqueResult):
    chance: float = Field(
        default=0.25, description="the best constant letter's accuracy on the held-out items"
    )
    settings: list[SteeringSetting] = Field(default_factory=list)
    best_layer: int | None = None
    best_scale: float | None = None
    plain_accuracy: Headline | None = None
    steered_accuracy: Headline | None = None
    sandbagging_evidence: bool = False


def _direction_prompts(
    config: SteeringConfig, items: list[dict[str, Any]], rng: random.Random
) -> tuple[list[str], list[str]]:
    positive, negative = [], []
    if config.direction == "answers":
        for item in items:
            prompt = mc_prompt(item)
            wrong = rng.choice([k for k in range(len(LETTERS)) if k != item["answer"]])
            positive.append(f"{prompt} {LETTERS[item['answer']]}")
            negative.append(f"{prompt} {LETTERS[wrong]}")
        return positive, negative
    pairs = contrast_pairs(config.contrast_file)
    for i, item in enumerate(items):
        pos, neg = pairs[i % len(pairs)]
        positive.append(mc_prompt(item, pos))
        negative.append(mc_prompt(item, neg))
    return positive, negative


def _answers(
    run: TechniqueRun[SteeringConfig],
    items: list[dict[str, Any]],
    interventions: list[Intervention],
    phase: str,
) -> list[bool]:
    """Correct or not, per item: the greedy next token after ``Answer:``."""

    def one(item: dict[str, Any]) -> bool:
        text = run.gw.generate(
            run.model, mc_prompt(item), interventions=interventions, max_tokens=1
        ).text
        return letter_from_text(text) == LETTERS[item["answer"]]

    return run.gw.map(one, items, run.config.concurrency, ticker(run.progress, phase, len(items)))


def _steer(hook: str, vector: np.ndarray[Any, Any], scale: float) -> list[Intervention]:
    return [Intervention(hook_point=hook, op="add", vector=as_list(vector), scale=scale)]


@technique(
    name="steering",
    title="Steering elicitation of multiple-choice knowledge",
    paper="Rimsky et al. 2024, Steering Llama 2 via Contrastive Activation Addition",
    config=SteeringConfig,
    headline="accuracy_gain",
)
def run_steering(run: TechniqueRun[SteeringConfig]) -> SteeringResult:
    """Accuracy per steering scale and layer, and the held-out gain over plain prompting."""
    config = run.config
    streams = choose_streams(
        run.client, run.model, config.layers, config.max_layers, keep=lambda i, n: 1 <= i < n
    )
    layers = streams.chosen or streams.offered[:1]
    hooks = {layer: stream_hook(layer, streams.num_layers) for layer in layers}
    items = shuffled(mc_items(config.items_file, config.subset), config.seed)
    d_items, s_items, e_items = split(
        items, [config.n_direction, config.n_select, config.n_eval], "multiple-choice items"
    )
    chance = constant_answer_accuracy(e_items)
    settings_count = len(layers) * len(config.scales)
    run.meter.require(
        queries=math.ceil(2 * config.n_direction / 64)
        + config.n_select * (settings_count + 1)
        + 2 * config.n_eval,
        floats=2 * config.n_direction * len(layers) * streams.hidden_size,
        what=f"{run.name} with {settings_count} settings",
    )
    run.notes += [
        f"Direction: {config.direction} (mean difference of last-token activations), added "
        "at every position of the steered layer's input with the given scale.",
        "Answers are the greedy next token after 'Answer:' (the white-box generate route "
        "returns no alternatives), so a reply that is not a letter counts as wrong.",
    ]
    settings: list[SteeringSetting] = []
    best_layer: int | None = None
    best_scale: float | None = None
    plain_h = steered_h = None
    evidence = False
    with run.budget():
        positive, negative = _direction_prompts(config, d_items, random.Random(config.seed))
        acts = run.gw.activations(
            run.model,
            positive + negative,
            list(hooks.values()),
            positions="last",
            hidden_size=streams.hidden_size,
        )
        vectors = {
            layer: acts[hook][: len(positive)].mean(axis=0)
            - acts[hook][len(positive) :].mean(axis=0)
            for layer, hook in hooks.items()
        }
        best_layer, best_scale = _select_setting(run, hooks, vectors, s_items, settings)
        steer = _steer(hooks[best_layer], vectors[best_layer], best_scale)
        plain = _answers(run, e_items, [], "plain (held-out split)")
        steered = _answers(run, e_items, steer, "steered (held-out split)")
        plain_h = rate_headline("accuracy_plain", sum(plain), len(plain))
        steered_h = rate_headline("accuracy_steered", sum(steered), len(steered))
        run.headline = gain = paired_headline("accuracy_gain", steered, plain)
        evidence = recovers_capability(gain, steered_h, chance)
        run.findings.append(
            Finding.of(
                "hidden_capability",
                "white",
                steered_h,
                f"steering layer {best_layer} x{best_scale:g}: accuracy "
                f"{steered_h.value or 0:.2f} against {plain_h.value or 0:.2f} plain (gain "
                f"{gain.value or 0:+.2f}, {gain.low or 0:+.2f} to {gain.high or 0:+.2f})"
                + ("; the plain figure is a lower bound" if evidence else ""),
                flagged=evidence,
            )
        )
        run.curves.append(
            Curve(
                name="held-out accuracy: plain vs best steering",
                x_label="steering scale",
                y_label="accuracy",
                points=[
                    rate_point(0.0, sum(plain), len(plain)),
                    rate_point(best_scale, sum(steered), len(steered)),
                ],
            )
        )
        run.private["direction"] = {
            "layer": best_layer,
            "vector": as_list(np.asarray(vectors[best_layer])),
        }
    return run.result(
        SteeringResult,
        settings=settings,
        best_layer=best_layer,
        best_scale=best_scale,
        plain_accuracy=plain_h,
        steered_accuracy=steered_h,
        sandbagging_evidence=evidence,
        chance=chance,
    )


def _select_setting(
    run: TechniqueRun[SteeringConfig],
    hooks: dict[int, str],
    vectors: dict[int, np.ndarray[Any, Any]],
    items: list[dict[str, Any]],
    settings: list[SteeringSetting],
) -> tuple[int, float]:
    """Accuracy on ``items`` for every layer and scale (filling ``settings`` and a curve
    per layer): the best layer and scale, most correct first, then the smaller scale,
    then the earlier layer."""
    plain = _answers(run, items, [], "plain (selection split)")
    plain_point = rate_point(0.0, sum(plain), len(plain))
    ranking: list[tuple[int, float, float, int]] = []
    for layer, vector in vectors.items():
        points = [plain_point]
        for scale in run.config.scales:
            correct = _answers(
                run, items, _steer(hooks[layer], vector, scale), f"layer {layer}, scale {scale:g}"
            )
            p = wilson(sum(correct), len(correct))
            settings.append(
                SteeringSetting(
                    layer=layer, scale=scale, accuracy=p.value, low=p.low, high=p.high, n=p.n
                )
            )
            points.append(rate_point(scale, sum(correct), len(correct)))
            ranking.append((-sum(correct), abs(scale), scale, layer))
        run.curves.append(
            Curve(
                name=f"accuracy steering layer {layer} (selection split)",
                x_label="steering scale",
                y_label="accuracy",
                points=points,
            )
        )
    _, _, scale, layer = min(ranking)
    return layer, scale
