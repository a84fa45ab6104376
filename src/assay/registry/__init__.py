"""The registry: where developers, testing organisations, authorities and the public
meet. Organisations and their keys, models and versions, testing services,
engagements with their state machine, verified audit submissions, a transparency log.
"""

from assay.registry._app import RegistryConfig, RegistryState, build_state, create_app
from assay.registry._clock import Clock, ManualClock, SystemClock
from assay.registry._ingest import Limits
from assay.registry._sealed import (
    SealError,
    SealingKey,
    load_or_create_sealing_key,
    load_sealing_key,
    seal,
    sealing_key_id,
)
from assay.registry._types import (
    EngagementState,
    KeyKind,
    OrgKind,
    ReleaseStatus,
    Role,
    Scope,
    Visibility,
)

__all__ = [
    "Clock",
    "EngagementState",
    "KeyKind",
    "Limits",
    "ManualClock",
    "OrgKind",
    "RegistryConfig",
    "RegistryState",
    "ReleaseStatus",
    "Role",
    "Scope",
    "SealError",
    "SealingKey",
    "SystemClock",
    "Visibility",
    "build_state",
    "create_app",
    "load_or_create_sealing_key",
    "load_sealing_key",
    "seal",
    "sealing_key_id",
]
