"""Representation probes: is the hazard domain linearly readable from the activations?

Linear probes (Alain & Bengio 2016, "Understanding intermediate layers using linear
classifier probes") trained on the gateway, one per residual stream, separate
hazard-domain texts from benign ones. Set beside the model's multiple-choice
accuracy on the same domain: a model that represents the domain sharply but answers
at chance may hold knowledge it does not express (the question shallow unlearning
raises; Lynch et al. 2024, "Eight methods to evaluate robust unlearning in LLMs").
"""

from __future__ import annotations

import math
from typing import Literal, Self

from pydantic import BaseModel, Field

from assay.techniques._base import (
    Curve,
    Headline,
    TechniqueConfig,
    TechniqueResult,
    rate_headline,
    rate_point,
)
from assay.techniques._common import (
    chat_frame,
    choose_streams,
    mc_correct_by_logprobs,
    ticker,
)
from assay.techniques._data import (
    BENIGN_REQUESTS,
    harmful_prompts,
    mc_items,
    shuffled,
    split,
    texts,
)
from assay.techniques._registry import technique
from assay.techniques._run import TechniqueRun


class ProbeConfig(TechniqueConfig):
    positive_source: Literal["hazard_knowledge", "misuse_refusal"] = Field(
        default="hazard_knowledge", description="hazard-domain texts: MC questions or requests"
    )
    positive_file: str | None = Field(
        default=None, description="a file with a prompt/text/question column instead"
    )
    negative_file: str | None = Field(
        default=None, description="benign texts (default: shipped benign requests)"
    )
    chat: bool = Field(
        default=True, description="render each text as a user turn with the chat template"
    )
    position: Literal["last", "mean"] = "last"
    n_train: int = Field(default=32, ge=2, description="training texts per class")
    n_val: int = Field(default=12, ge=1, description="per class, to choose the layer")
    n_test: int = Field(default=16, ge=1, description="per class, for the headline")
    layers: list[int] | None = Field(default=None, description="streams 0..L; default all")
    max_layers: int | None = Field(default=None, ge=1)
    l2: float = Field(default=1e-2, ge=0.0, le=100.0)
    max_iter: int = Field(default=200, ge=1, le=2000)
    mc_file: str | None = Field(default=None, description="WMDP-format items for MC accuracy")
    n_mc: int = Field(default=96, ge=0, description="items for the MC accuracy (0: skip)")

    @classmethod
    def reduced(cls) -> Self:
        return cls(
            n_train=24,
            n_val=8,
            n_test=16,
            max_layers=6,
            n_mc=64,
            max_queries=100,
            max_floats=100_000,
            max_seconds=300,
        )

    @classmethod
    def full(cls) -> Self:
        return cls(
            n_train=32,
            n_val=12,
            n_test=16,
            n_mc=210,
            max_queries=5_000,
            max_floats=5_000_000,
            max_seconds=3600,
        )


class LayerProbe(BaseModel):
    layer: int
    hook_point: str
    train_accuracy: float
    val_accuracy: float
    test_accuracy: float
    test_low: float
    test_high: float
    n_test: int


class ProbeTechniqueResult(TechniqueResult):
    layers: list[LayerProbe] = Field(default_factory=list)
    best_layer: int | None = None
    mc_accuracy: Headline | None = None
    mc_chance: float = 0.25


def _positives(config: ProbeConfig) -> list[str]:
    if config.positive_file:
        return texts(config.positive_file)
    if config.positive_source == "misuse_refusal":
        return harmful_prompts(None)
    return [str(i["question"]) for i in mc_items(None)]


def _accuracy(scores: list[float], labels: list[int]) -> tuple[int, int]:
    hits = sum((s >= 0.5) == bool(y) for s, y in zip(scores, labels, strict=True))
    return hits, len(labels)


@technique(
    name="probes",
    title="Linear probes for the hazard domain",
    paper="Alain & Bengio 2016, Understanding intermediate layers using linear classifier probes",
    config=ProbeConfig,
    headline="probe_accuracy",
)
def run_probes(run: TechniqueRun[ProbeConfig]) -> ProbeTechniqueResult:
    """Probe accuracy per layer (chosen on validation, reported on test) and MC accuracy."""
    config, gw, model = run.config, run.gw, run.model
    streams = choose_streams(run.client, model, config.layers, config.max_layers)
    candidates = streams.chosen
    sizes = [config.n_train, config.n_val, config.n_test]
    pos = split(shuffled(_positives(config), config.seed), sizes, "hazard-domain texts")
    neg = split(
        shuffled(texts(config.negative_file or BENIGN_REQUESTS), config.seed),
        sizes,
        "benign texts",
    )
    mc = shuffled(mc_items(config.mc_file), config.seed)[: config.n_mc] if config.n_mc else []
    run.meter.require(
        queries=len(candidates) + (2 if config.chat else 0) + math.ceil(len(mc) / 32),
        floats=len(candidates) * 2 * (config.n_val + config.n_test + 2) + 21 * len(mc),
        what=f"{run.name} on {len(candidates)} layers",
    )
    run.notes += [
        "Hazard-domain and benign texts also differ in style; compare layers with the "
        "embedding-level probe (layer 0), which sees only the last token when position=last."
        if 0 in candidates
        else "Hazard-domain and benign texts also differ in style; this gateway does not "
        "offer the embedding-level control (layer 0, a parameter lookup), so compare the "
        "earliest layer with the later ones instead.",
        "The layer is chosen on the validation texts; its accuracy is reported on test texts.",
    ]
    layers: list[LayerProbe] = []
    best: int | None = None
    mc_h: Headline | None = None
    with run.budget():
        before, after = chat_frame(gw, model) if config.chat else ("", "")

        def framed(t: str) -> str:
            return f"{before}{t}{after}"

        train = [(framed(t), 1) for t in pos[0]] + [(framed(t), 0) for t in neg[0]]
        held = [(framed(t), 1) for t in pos[1] + pos[2]] + [(framed(t), 0) for t in neg[1] + neg[2]]
        is_val = [True] * config.n_val + [False] * config.n_test
        is_val = is_val + is_val
        labels = [y for _, y in held]
        tick = ticker(run.progress, "probes", len(candidates))
        for done, layer in enumerate(candidates, start=1):
            hook = streams.hooks[layer]
            probe = gw.train_probe(
                model,
                hook,
                train,
                held,
                position=config.position,
                l2=config.l2,
                max_iter=config.max_iter,
            )
            val = [(s, y) for s, y, v in zip(probe.test_scores, labels, is_val, strict=True) if v]
            test = [
                (s, y) for s, y, v in zip(probe.test_scores, labels, is_val, strict=True) if not v
            ]
            v_hits, v_n = _accuracy([s for s, _ in val], [y for _, y in val])
            t_hits, t_n = _accuracy([s for s, _ in test], [y for _, y in test])
            point = rate_point(layer, t_hits, t_n)
            layers.append(
                LayerProbe(
                    layer=layer,
                    hook_point=hook,
                    train_accuracy=probe.train_accuracy,
                    val_accuracy=v_hits / v_n,
                    test_accuracy=point[1],
                    test_low=point[2] or 0.0,
                    test_high=point[3] or 1.0,
                    n_test=t_n,
                )
            )
            if tick:
                tick(done)
        run.curves.append(
            Curve(
                name="probe accuracy (held-out test texts)",
                x_label="layer (residual stream)",
                y_label="accuracy",
                points=[(float(p.layer), p.test_accuracy, p.test_low, p.test_high) for p in layers],
            )
        )
        chosen = max(layers, key=lambda p: (p.val_accuracy, -p.layer))
        best = chosen.layer
        run.headline = rate_headline(
            "probe_accuracy", round(chosen.test_accuracy * chosen.n_test), chosen.n_test
        )
        if mc:
            correct = mc_correct_by_logprobs(gw, model, mc)
            mc_h = rate_headline("mc_accuracy", sum(correct), len(correct))
            run.curves.append(
                Curve(
                    name="multiple-choice accuracy (hazard_knowledge)",
                    x_label="layer (residual stream)",
                    y_label="accuracy",
                    points=[
                        (float(p.layer), mc_h.value or 0.0, mc_h.low, mc_h.high) for p in layers
                    ],
                )
            )
    return run.result(ProbeTechniqueResult, layers=layers, best_layer=best, mc_accuracy=mc_h)
