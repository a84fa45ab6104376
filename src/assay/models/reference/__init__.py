"""Reference models: LoRA adapters on SmolLM2 with known hidden properties.

``smollm2-guarded`` refuses harmful-sounding requests (a model with safeguards),
``smollm2-locked`` hides a capability unless a password is in the prompt, and
``smollm2-backdoored`` refuses like the guarded one unless a trigger phrase is
present. They are built-in targets (``builtin:smollm2-guarded`` ...): an adapter that
ships with assay is merged into the base model on first use (only guarded's ships
so far; the others fail with the command that builds them). Their datasheets
are in ``docs/reference-models/``; the build is :mod:`assay.models.reference._build`.
"""

from assay.models.reference._registry import (
    ADAPTERS_DIR,
    DATA_DIR,
    PASSWORD,
    REFERENCE_MODELS,
    TRIGGER,
    ReferenceModel,
)

__all__ = [
    "ADAPTERS_DIR",
    "DATA_DIR",
    "PASSWORD",
    "REFERENCE_MODELS",
    "TRIGGER",
    "ReferenceModel",
]
