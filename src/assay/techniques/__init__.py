"""White-box and tamper-resistance audit techniques, run through a gateway's HTTP API.

Each technique takes a :class:`WhiteboxClient` (white-tier token), a model name and
a typed config with budgets, and returns a typed result recording tier ``white``,
its configuration, the budget used, curves for figures and a headline metric.
"""

from assay.techniques._base import (
    BudgetExceeded,
    BudgetMeter,
    BudgetUsed,
    Curve,
    Headline,
    Point,
    Progress,
    TechniqueConfig,
    TechniqueResult,
)
from assay.techniques._client import (
    FineTuneJob,
    GatewayRequestError,
    Generation,
    GradientResult,
    HookPoints,
    Intervention,
    ProbeResult,
    WhiteboxClient,
)
from assay.techniques._finetune import (
    AttackRun,
    FinetuneAttackConfig,
    FinetuneAttackResult,
    run_finetune_attack,
)
from assay.techniques._gcg import GcgConfig, GcgResult, GcgStep, run_gcg
from assay.techniques._probes import LayerProbe, ProbeConfig, ProbeTechniqueResult, run_probes
from assay.techniques._refusal_direction import (
    LayerScore,
    RefusalDirectionConfig,
    RefusalDirectionResult,
    run_refusal_direction,
)
from assay.techniques._registry import TECHNIQUES, TechniqueSpec, run_technique
from assay.techniques._steering import (
    SteeringConfig,
    SteeringResult,
    SteeringSetting,
    run_steering,
)

__all__ = [
    "TECHNIQUES",
    "AttackRun",
    "BudgetExceeded",
    "BudgetMeter",
    "BudgetUsed",
    "Curve",
    "FineTuneJob",
    "FinetuneAttackConfig",
    "FinetuneAttackResult",
    "GatewayRequestError",
    "GcgConfig",
    "GcgResult",
    "GcgStep",
    "Generation",
    "GradientResult",
    "Headline",
    "HookPoints",
    "Intervention",
    "LayerProbe",
    "LayerScore",
    "Point",
    "ProbeConfig",
    "ProbeResult",
    "ProbeTechniqueResult",
    "Progress",
    "RefusalDirectionConfig",
    "RefusalDirectionResult",
    "SteeringConfig",
    "SteeringResult",
    "SteeringSetting",
    "TechniqueConfig",
    "TechniqueResult",
    "TechniqueSpec",
    "WhiteboxClient",
    "run_finetune_attack",
    "run_gcg",
    "run_probes",
    "run_refusal_direction",
    "run_steering",
    "run_technique",
]
