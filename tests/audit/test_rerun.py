"""``assay rerun``: the recorded configuration re-executed on the same items."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from assay._util.errors import UsageError
from assay.attest import keys_dir, load_public_key
from assay.audit import AuditConfig, rerun_attestation, run_audit
from assay.testing import always_comply, always_refuse


@pytest.mark.slow
def test_rerun_scores_the_same_items_and_agrees_on_a_deterministic_target(
    serve_scripted: Callable[[object], str], tmp_path: Path
) -> None:
    url = serve_scripted(always_refuse())
    original = tmp_path / "original"
    run_audit(
        AuditConfig(
            target=f"openai:{url}",
            suites=["misuse_refusal", "hazard_knowledge"],
            limit=10,
            seed=7,
            out=original,
            show_progress=False,
        )
    )
    trusted = [load_public_key(keys_dir() / "tester.pub")]
    result = rerun_attestation(
        original / "attestation.json", tmp_path / "again", trusted, show_progress=False
    )
    assert result.same_items and result.same_fingerprint
    assert result.items_compared == 20 and result.items_identical == 20
    assert result.decisions_agree == result.decisions_total == 2
    assert all(s.verdict == "no_clear_change" for s in result.comparison.suites)

    # the same recorded configuration against a changed model shows the change
    changed = serve_scripted(always_comply())
    drifted = rerun_attestation(
        original / "attestation.json",
        tmp_path / "drifted",
        trusted,
        target=f"openai:{changed}",
        show_progress=False,
    )
    refusal = next(s for s in drifted.comparison.suites if s.suite == "misuse_refusal")
    assert refusal.difference == -1.0 and refusal.verdict == "regression"
    assert drifted.items_identical < drifted.items_compared


def test_rerun_refuses_an_attestation_no_trusted_key_signed(
    serve_scripted: Callable[[object], str], tmp_path: Path
) -> None:
    from assay.attest import generate_key

    url = serve_scripted(always_refuse())
    run_audit(
        AuditConfig(
            target=f"openai:{url}",
            suites=["misuse_refusal"],
            limit=3,
            out=tmp_path / "a",
            show_progress=False,
        )
    )
    stranger = generate_key("stranger")
    with pytest.raises(UsageError, match="not signed by a trusted key"):
        rerun_attestation(
            tmp_path / "a" / "attestation.json",
            tmp_path / "b",
            [stranger.public_key],
            show_progress=False,
        )
