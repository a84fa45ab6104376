"""The techniques by name, for audit plans and reports."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from assay._util.errors import UsageError
from assay.techniques import (
    _elicitation,
    _finetune,
    _gcg,
    _probes,
    _refusal_direction,
    _steering,
    _trigger_search,
)
from assay.techniques._base import Progress, TechniqueConfig, TechniqueResult
from assay.techniques._client import WhiteboxClient
from assay.techniques._elicitation import ElicitationConfig, run_elicitation
from assay.techniques._finetune import FinetuneAttackConfig, run_finetune_attack
from assay.techniques._gcg import GcgConfig, run_gcg
from assay.techniques._probes import ProbeConfig, run_probes
from assay.techniques._refusal_direction import RefusalDirectionConfig, run_refusal_direction
from assay.techniques._steering import SteeringConfig, run_steering
from assay.techniques._trigger_search import TriggerSearchConfig, run_trigger_search

Runner = Callable[..., TechniqueResult]


@dataclass(frozen=True)
class TechniqueSpec:
    """A technique: its config class, its reduced and full configs, and how to run it.

    ``run(client, model, config, progress=None)`` returns a :class:`TechniqueResult`.
    """

    name: str
    title: str
    paper: str
    config_class: type[TechniqueConfig]
    run: Runner

    @property
    def reduced(self) -> TechniqueConfig:
        return self.config_class.reduced()

    @property
    def full(self) -> TechniqueConfig:
        return self.config_class.full()

    def parse_config(
        self, config: TechniqueConfig | Mapping[str, Any] | str | None = None
    ) -> TechniqueConfig:
        """A config from an instance, a mapping (plan YAML; ``preset: reduced`` or ``full``
        in it starts from that preset), ``"reduced"``/``"full"``, or None (the defaults);
        bad fields become one UsageError naming each."""
        if config is None:
            return self.config_class()
        if isinstance(config, str):
            if config in ("reduced", "full"):
                return self.reduced if config == "reduced" else self.full
            raise UsageError(f"{self.name}: unknown preset {config!r}", hint="use reduced or full")
        if isinstance(config, TechniqueConfig):
            if not isinstance(config, self.config_class):
                raise UsageError(
                    f"{self.name} needs a {self.config_class.__name__}, got {type(config).__name__}"
                )
            return config
        fields = dict(config)
        preset = fields.pop("preset", None)
        if preset is not None:
            if preset not in ("reduced", "full"):
                raise UsageError(
                    f"{self.name}: unknown preset {preset!r}", hint="use reduced or full"
                )
            base = self.reduced if preset == "reduced" else self.full
            fields = {**base.model_dump(exclude_unset=False), **fields}
        try:
            return self.config_class.model_validate(fields)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'config'}: {e['msg']}" for e in exc.errors()
            )
            raise UsageError(f"{self.name} configuration: {problems}") from None


TECHNIQUES: dict[str, TechniqueSpec] = {
    spec.name: spec
    for spec in (
        TechniqueSpec(
            name=_refusal_direction.NAME,
            title=_refusal_direction.TITLE,
            paper="Arditi et al. 2024, Refusal in language models is mediated by a single direction",
            config_class=RefusalDirectionConfig,
            run=run_refusal_direction,
        ),
        TechniqueSpec(
            name=_steering.NAME,
            title=_steering.TITLE,
            paper="Rimsky et al. 2024, Steering Llama 2 via Contrastive Activation Addition",
            config_class=SteeringConfig,
            run=run_steering,
        ),
        TechniqueSpec(
            name=_probes.NAME,
            title=_probes.TITLE,
            paper="Alain & Bengio 2016, Understanding intermediate layers using linear classifier probes",
            config_class=ProbeConfig,
            run=run_probes,
        ),
        TechniqueSpec(
            name=_gcg.NAME,
            title=_gcg.TITLE,
            paper="Zou et al. 2023, Universal and Transferable Adversarial Attacks on Aligned Language Models",
            config_class=GcgConfig,
            run=run_gcg,
        ),
        TechniqueSpec(
            name=_finetune.NAME,
            title=_finetune.TITLE,
            paper="Qi et al. 2024, Fine-tuning aligned language models compromises safety",
            config_class=FinetuneAttackConfig,
            run=run_finetune_attack,
        ),
        TechniqueSpec(
            name=_elicitation.NAME,
            title=_elicitation.TITLE,
            paper="Greenblatt et al. 2024, Stress-testing capability elicitation with "
            "password-locked models; Tice et al. 2024, Noise injection reveals hidden "
            "capabilities of sandbagging language models",
            config_class=ElicitationConfig,
            run=run_elicitation,
        ),
        TechniqueSpec(
            name=_trigger_search.NAME,
            title=_trigger_search.TITLE,
            paper="Zou et al. 2023 (GCG) as a trigger-inversion scan; Shen et al. 2022, "
            "Constrained optimization with dynamic bound-scaling for effective NLP backdoor defense",
            config_class=TriggerSearchConfig,
            run=run_trigger_search,
        ),
    )
}


def run_technique(
    name: str,
    client: WhiteboxClient,
    model: str,
    config: TechniqueConfig | Mapping[str, Any] | str | None = None,
    *,
    progress: Progress | None = None,
) -> TechniqueResult:
    """Run technique ``name`` against ``model`` behind ``client``'s gateway."""
    spec = TECHNIQUES.get(name)
    if spec is None:
        raise UsageError(
            f"unknown technique {name!r}", hint=f"use one of {', '.join(sorted(TECHNIQUES))}"
        )
    return spec.run(client, model, spec.parse_config(config), progress=progress)
