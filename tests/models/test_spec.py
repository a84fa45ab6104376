"""Target specs and fingerprints."""

from __future__ import annotations

from pathlib import Path

import pytest

from assay._util.errors import UsageError
from assay.models import TargetKind, fingerprint_directory, parse_target


@pytest.mark.parametrize(
    ("spec", "kind", "location"),
    [
        ("builtin:smollm2", TargetKind.BUILTIN, "smollm2"),
        ("hf:/models/x", TargetKind.HF, "/models/x"),
        ("hf:org/name", TargetKind.HF, "org/name"),
        ("openai:http://127.0.0.1:8000/v1/", TargetKind.OPENAI, "http://127.0.0.1:8000/v1"),
        ("gateway:https://gw.example", TargetKind.GATEWAY, "https://gw.example"),
        ("OPENAI:https://api.example/v1", TargetKind.OPENAI, "https://api.example/v1"),
    ],
)
def test_parse(spec: str, kind: TargetKind, location: str) -> None:
    parsed = parse_target(spec)
    assert (parsed.kind, parsed.location) == (kind, location)
    assert parsed.is_local == (kind in (TargetKind.BUILTIN, TargetKind.HF))


@pytest.mark.parametrize(
    "spec",
    [
        "",
        "smollm2",
        "builtin:",
        "builtin:nope",
        "s3:bucket",
        "openai:localhost:8000",
        "gateway:ftp://x",
    ],
)
def test_bad_specs_are_usage_errors(spec: str) -> None:
    with pytest.raises(UsageError):
        parse_target(spec)


def test_fingerprint_changes_with_any_file(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "model.safetensors").write_bytes(b"\x00" * 64)
    (tmp_path / ".cache").mkdir()
    (tmp_path / ".cache" / "ignored").write_text("x")
    first = fingerprint_directory(tmp_path)
    assert [f.path for f in first.files] == ["config.json", "model.safetensors"]
    assert fingerprint_directory(tmp_path).digest == first.digest
    (tmp_path / "model.safetensors").write_bytes(b"\x00" * 63 + b"\x01")
    assert fingerprint_directory(tmp_path).digest != first.digest
