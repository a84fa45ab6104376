"""API targets carry a behavioural fingerprint: which model actually answered."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from assay.audit import AuditConfig, run_audit
from assay.testing import always_comply, always_refuse


def fingerprint(url: str, out: Path) -> dict[str, object]:
    run_audit(
        AuditConfig(
            target=f"openai:{url}", suites=["misuse_refusal"], limit=2, out=out, show_progress=False
        )
    )
    target = json.loads((out / "report.json").read_text())["target"]
    return dict(target["fingerprint"])


@pytest.mark.slow
def test_same_model_same_behaviour_other_model_other_behaviour(
    serve_scripted: Callable[[object], str], tmp_path: Path
) -> None:
    refusing = serve_scripted(always_refuse(name="m"))
    first = fingerprint(refusing, tmp_path / "a")
    again = fingerprint(refusing, tmp_path / "b")
    assert first["behaviour"] is not None and first["behaviour"] == again["behaviour"]
    swapped = fingerprint(serve_scripted(always_comply(name="m")), tmp_path / "c")
    # same name, same kind of endpoint, different model answering
    assert swapped["behaviour"] != first["behaviour"]
    attestation = json.loads((tmp_path / "a" / "attestation.json").read_text())
    assert attestation["payloadType"] == "application/vnd.in-toto+json"
