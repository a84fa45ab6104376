"""Reusable test fixtures: tiny models and reference targets with known behaviour."""

from assay.testing._scripted import (
    COMPLIANT_REPLY,
    REFUSING_REPLY,
    ScriptedBackend,
    always_comply,
    always_refuse,
    multiple_choice_oracle,
)
from assay.testing._tiny import CHATML_TEMPLATE, build_tiny_llama

__all__ = [
    "CHATML_TEMPLATE",
    "COMPLIANT_REPLY",
    "REFUSING_REPLY",
    "ScriptedBackend",
    "always_comply",
    "always_refuse",
    "build_tiny_llama",
    "multiple_choice_oracle",
]
