"""The embedded model: provisioned once into a safetensors cache (slow: real SmolLM2)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from assay.models import builtin_cache_path, load_local_model, provision_builtin

pytestmark = pytest.mark.slow


def test_provisioning_builds_a_fast_loading_cache(smollm2_home: Path) -> None:
    directory = provision_builtin("smollm2", show_progress=False)
    assert directory == builtin_cache_path("smollm2")
    assert (directory / "model.safetensors").stat().st_size > 400_000_000
    again = time.perf_counter()
    assert provision_builtin("smollm2", show_progress=False) == directory
    assert time.perf_counter() - again < 1.0  # cached: no second dequantisation
    model = load_local_model(directory, name="smollm2")
    assert model.model.config.num_hidden_layers == 30 and model.model.config.hidden_size == 576
    assert model.tokenizer.chat_template
    assert model.fingerprint.digest.startswith("sha256:")
