"""Reusable test fixtures: tiny models and reference targets with known behaviour."""

from assay.testing._tiny import CHATML_TEMPLATE, build_tiny_llama

__all__ = ["CHATML_TEMPLATE", "build_tiny_llama"]
