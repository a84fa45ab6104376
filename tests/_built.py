"""Models the tests train, built once: shared by the xdist workers of a run (under a
file lock) and kept for later runs in pytest's cache folder, keyed by the builder's
source and arguments and by the torch and transformers versions, so the fast loop does
not retrain the same tiny model every time. ``pytest --cache-clear`` rebuilds them."""

from __future__ import annotations

import hashlib
import inspect
import shutil
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from filelock import FileLock


def built_once(
    config: pytest.Config,
    fallback: pytest.TempPathFactory,
    build: Callable[..., Path],
    sources: tuple[ModuleType, ...],
    **arguments: Any,
) -> Path:
    """``build(directory, **arguments)``'s output, from the cache when an identical build
    is there (``sources``: the modules whose code decides what gets built)."""
    key = hashlib.sha256(
        "\n".join(
            [
                build.__qualname__,
                repr(sorted(arguments.items())),
                *(inspect.getsource(module) for module in sources),
                version("torch"),
                version("transformers"),
            ]
        ).encode()
    ).hexdigest()[:16]
    name = f"{build.__name__}-{key}"
    if config.cache is None:  # -p no:cacheprovider
        return build(fallback.mktemp(name) / "model", **arguments)
    root = config.cache.mkdir("assay-built")
    final = root / name
    with FileLock(str(root / f"{name}.lock")):
        if not (final / "complete").is_file():
            shutil.rmtree(final, ignore_errors=True)
            staging = root / f"{name}.staging"
            shutil.rmtree(staging, ignore_errors=True)
            build(staging / "model", **arguments)
            (staging / "complete").touch()
            staging.rename(final)
    return final / "model"
