"""Inspect entry point: ``inspect eval assay/<suite>`` finds assay's tasks here."""

from assay.suites.hazard_knowledge import hazard_knowledge
from assay.suites.misuse_refusal import misuse_refusal

__all__ = ["hazard_knowledge", "misuse_refusal"]
