"""Reusable test fixtures: tiny models, scripted reference targets with known behaviour,
and the built-in reference models served behind a real gateway."""

from assay.testing._postgres import postgres_schema
from assay.testing._reference import (
    COMPLIANT_REPLY,
    REFUSING_REPLY,
    always_comply,
    always_refuse,
    biased_decider,
    coder,
    declines_then_complies,
    multiple_choice_answerer,
    multiple_choice_oracle,
    partisan,
    scripted_agent,
)
from assay.testing._scripted import ScriptedBackend
from assay.testing._served import ServedModel, serve_builtin
from assay.testing._tiny import CHATML_TEMPLATE, build_tiny_llama
from assay.testing._upstream import STUB_MODEL, stub_upstream_app

__all__ = [
    "CHATML_TEMPLATE",
    "COMPLIANT_REPLY",
    "REFUSING_REPLY",
    "STUB_MODEL",
    "ScriptedBackend",
    "ServedModel",
    "always_comply",
    "always_refuse",
    "biased_decider",
    "build_tiny_llama",
    "coder",
    "declines_then_complies",
    "multiple_choice_answerer",
    "multiple_choice_oracle",
    "partisan",
    "postgres_schema",
    "scripted_agent",
    "serve_builtin",
    "stub_upstream_app",
]
