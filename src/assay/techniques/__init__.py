"""White-box and tamper-resistance audit techniques, run through a gateway's HTTP API.

Each technique takes a :class:`WhiteboxClient` (white-tier token), a model name and
a typed config with budgets, and returns a typed result recording tier ``white``,
its configuration, the budget used, curves for figures and a headline metric.
Techniques register themselves in :data:`TECHNIQUES` with the :func:`technique`
decorator, whose body runs in a :class:`TechniqueRun`.
"""

from assay.techniques._base import (
    HIDDEN_PROPERTIES,
    BudgetExceeded,
    BudgetMeter,
    BudgetUsed,
    Curve,
    Finding,
    Headline,
    Point,
    Progress,
    TechniqueConfig,
    TechniqueResult,
    TierRow,
    tier_table,
)
from assay.techniques._client import (
    FineTuneJob,
    GatewayRequestError,
    Generation,
    GradientResult,
    HookPoints,
    Intervention,
    NoiseGeneration,
    ProbeResult,
    WhiteboxClient,
)
from assay.techniques._elicitation import (
    ElicitationConfig,
    ElicitationResult,
    RouteResult,
    run_elicitation,
)
from assay.techniques._finetune import (
    AttackRun,
    FinetuneAttackConfig,
    FinetuneAttackResult,
    run_finetune_attack,
)
from assay.techniques._gcg import GcgResult, run_gcg
from assay.techniques._probes import LayerProbe, ProbeConfig, ProbeTechniqueResult, run_probes
from assay.techniques._refusal_direction import (
    LayerScore,
    RefusalDirectionConfig,
    RefusalDirectionResult,
    run_refusal_direction,
)
from assay.techniques._registry import (
    TECHNIQUES,
    TechniqueRunner,
    TechniqueSpec,
    run_technique,
    technique,
)
from assay.techniques._run import TechniqueRun
from assay.techniques._steering import (
    SteeringConfig,
    SteeringResult,
    SteeringSetting,
    run_steering,
)
from assay.techniques._suffix_search import GcgConfig, GcgStep
from assay.techniques._trigger_search import (
    TriggerSearchConfig,
    TriggerSearchResult,
    run_trigger_search,
)

__all__ = [
    "HIDDEN_PROPERTIES",
    "TECHNIQUES",
    "AttackRun",
    "BudgetExceeded",
    "BudgetMeter",
    "BudgetUsed",
    "Curve",
    "ElicitationConfig",
    "ElicitationResult",
    "Finding",
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
    "NoiseGeneration",
    "Point",
    "ProbeConfig",
    "ProbeResult",
    "ProbeTechniqueResult",
    "Progress",
    "RefusalDirectionConfig",
    "RefusalDirectionResult",
    "RouteResult",
    "SteeringConfig",
    "SteeringResult",
    "SteeringSetting",
    "TechniqueConfig",
    "TechniqueResult",
    "TechniqueRun",
    "TechniqueRunner",
    "TechniqueSpec",
    "TierRow",
    "TriggerSearchConfig",
    "TriggerSearchResult",
    "WhiteboxClient",
    "run_elicitation",
    "run_finetune_attack",
    "run_gcg",
    "run_probes",
    "run_refusal_direction",
    "run_steering",
    "run_technique",
    "run_trigger_search",
    "technique",
    "tier_table",
]
