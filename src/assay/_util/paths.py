"""Where assay keeps its files: one home directory, overridable by ``ASSAY_HOME``."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Literal

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


@contextmanager
def atomic_writer(
    path: Path, mode: Literal["w", "wb"] = "w", *, durable: bool = False
) -> Iterator[IO[Any]]:
    """A file to write ``path``'s new content into: a temporary file beside it, renamed
    onto ``path`` when the block ends without error (after an fsync when ``durable``) and
    removed when it fails, so a reader, a crash or a second writer sees the old file or
    a whole new one, never half of one. Each writer has its own temporary name."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    encoding = "utf-8" if mode == "w" else None
    try:
        with tmp.open(mode.replace("w", "x"), encoding=encoding) as f:
            yield f
            if durable:
                f.flush()
                os.fsync(f.fileno())
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str, *, durable: bool = False) -> Path:
    """Write ``text`` to ``path`` through :func:`atomic_writer`."""
    with atomic_writer(path, durable=durable) as f:
        f.write(text)
    return path
