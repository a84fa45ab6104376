"""The registry: where developers, testing organisations, authorities and the public
meet. Organisations and their keys, models and versions, testing services,
engagements with their state machine, verified audit submissions, findings under
coordinated disclosure, signed webhooks, a transparency log, and web pages.
"""

from assay.registry._app import RegistryConfig, RegistryState, build_state, create_app
from assay.registry._clock import Clock, ManualClock, SystemClock
from assay.registry._findings import (
    AuthorityRoute,
    DisclosurePolicy,
    Settings,
    load_settings,
    sweep,
)
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
    FindingState,
    FindingStep,
    KeyKind,
    OrgKind,
    PrevalenceCategory,
    ReleaseStatus,
    Role,
    Scope,
    Severity,
    Visibility,
)
from assay.registry._webhooks import (
    WebhookPolicy,
    WebhookVerificationError,
    deliver_due,
    verify_webhook,
)
from assay.registry._worker import Worker, run_once, serve_registry

__all__ = [
    "AuthorityRoute",
    "Clock",
    "DisclosurePolicy",
    "EngagementState",
    "FindingState",
    "FindingStep",
    "KeyKind",
    "Limits",
    "ManualClock",
    "OrgKind",
    "PrevalenceCategory",
    "RegistryConfig",
    "RegistryState",
    "ReleaseStatus",
    "Role",
    "Scope",
    "SealError",
    "SealingKey",
    "Settings",
    "Severity",
    "SystemClock",
    "Visibility",
    "WebhookPolicy",
    "WebhookVerificationError",
    "Worker",
    "build_state",
    "create_app",
    "deliver_due",
    "load_or_create_sealing_key",
    "load_sealing_key",
    "load_settings",
    "run_once",
    "seal",
    "sealing_key_id",
    "serve_registry",
    "sweep",
    "verify_webhook",
]
