"""Fixtures serving the built-in reference models (slow tests; imported by the conftest
files of tests/models and tests/techniques)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from assay.testing import ServedModel, serve_builtin


@contextmanager
def in_home(home: Path) -> Iterator[None]:
    """``ASSAY_HOME`` set to ``home`` for the block (where the merged models are cached)."""
    previous = os.environ.get("ASSAY_HOME")
    os.environ["ASSAY_HOME"] = str(home)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("ASSAY_HOME", None)
        else:
            os.environ["ASSAY_HOME"] = previous


@pytest.fixture(scope="session")
def reference_home(_smollm2_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This worker's data directory (keys, tokens) whose model cache is the run's shared
    one: SmolLM2 provisioned, reference models merged into it on first use (once per
    run, under provisioning's lock)."""
    home = tmp_path_factory.mktemp("reference-home")
    (home / "cache").mkdir()
    (home / "cache" / "models").symlink_to(_smollm2_cache.parent, target_is_directory=True)
    return home


@pytest.fixture(scope="module")
def served(request: pytest.FixtureRequest, reference_home: Path) -> Iterator[ServedModel]:
    """``builtin:<param>`` behind a real gateway with a white-tier token."""
    from assay.models.reference import REFERENCE_MODELS

    name = str(request.param).removeprefix("smollm2-")
    if name in REFERENCE_MODELS and not REFERENCE_MODELS[name].build_record():
        pytest.skip(f"{name} is not built yet (python -m assay.models.reference build {name})")
    with ExitStack() as stack:
        with in_home(reference_home):
            model = stack.enter_context(serve_builtin(request.param))
        yield model
