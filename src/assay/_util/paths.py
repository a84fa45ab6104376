"""Where assay keeps its files: one home directory, overridable by ``ASSAY_HOME``."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs


def assay_home() -> Path:
    """The data directory: ``$ASSAY_HOME`` or the platform's user data directory."""
    env = os.environ.get("ASSAY_HOME")
    home = Path(env).expanduser() if env else Path(platformdirs.user_data_dir("assay"))
    home.mkdir(parents=True, exist_ok=True)
    return home


def cache_dir() -> Path:
    """Caches that can be rebuilt (dequantised weights): ``$ASSAY_HOME/cache`` or the
    platform's user cache directory."""
    env = os.environ.get("ASSAY_HOME")
    path = Path(env).expanduser() / "cache" if env else Path(platformdirs.user_cache_dir("assay"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def subdir(name: str) -> Path:
    """A named folder under the data directory, created on first use."""
    path = assay_home() / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def atomic_write_text(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file beside it, so a reader (or a
    crash) sees the old file or the new one, never half of one."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path
