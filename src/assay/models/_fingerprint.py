"""Model fingerprints: a digest over a manifest of the files that define a model."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from assay._util.hashing import sha256_file, sha256_json
from assay._util.paths import atomic_write_text, cache_dir

MANIFEST_ALGORITHM = "assay-manifest-v1"


class FileEntry(BaseModel):
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    path: str
    size: int
    digest: str


class ModelFingerprint(BaseModel):
    """Identity of a model: for local weights a manifest digest, for APIs the endpoint."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    algorithm: str
    digest: str
    files: list[FileEntry] = []
    behaviour: str | None = Field(
        default=None,
        description="API models: sha256 over greedy replies to fixed probe prompts "
        "(assay-behaviour-v1), evidence of which model actually answered",
    )


def _digest_cached(path: Path) -> str:
    """sha256 of a file, cached by (path, size, mtime) so re-audits do not rehash GBs."""
    stat = path.stat()
    key = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    cache_file = cache_dir() / "file-digests.json"
    try:
        cache: dict[str, str] = json.loads(cache_file.read_text())
    except (OSError, ValueError):
        cache = {}
    if key in cache:
        return cache[key]
    digest = sha256_file(path)
    cache[key] = digest
    atomic_write_text(cache_file, json.dumps(cache, indent=0))
    return digest


def fingerprint_directory(directory: Path, *, cached: bool = True) -> ModelFingerprint:
    """Hash every regular, non-hidden file under ``directory`` into one manifest digest.

    ``cached=False`` rehashes every file: a verifier must, since a file edited in place
    can keep its size and modification time."""
    files = sorted(
        p
        for p in directory.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(directory).parts)
    )
    entries = [
        FileEntry(
            path=p.relative_to(directory).as_posix(),
            size=p.stat().st_size,
            digest=_digest_cached(p) if cached else sha256_file(p),
        )
        for p in files
    ]
    manifest = [e.model_dump() for e in entries]
    return ModelFingerprint(
        algorithm=MANIFEST_ALGORITHM, digest=sha256_json(manifest), files=entries
    )


def fingerprint_endpoint(base_url: str, model: str) -> ModelFingerprint:
    """An API model is known only by where it is served and what it is called."""
    return ModelFingerprint(
        algorithm="assay-endpoint-v1", digest=sha256_json({"base_url": base_url, "model": model})
    )
