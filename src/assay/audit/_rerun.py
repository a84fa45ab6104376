"""``assay rerun``: re-execute an attested audit from its recorded configuration and
measure how far the results agree.

The attestation records the target, tier, plan (name and digest), seed and suites;
when the original ``samples.jsonl`` is beside it, the rerun scores exactly the same
items, so the two audits can be compared item by item (paired), not only by their
summary numbers. Differences come from sampling at temperature, a changed endpoint,
or a changed model; the fingerprints say which.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from assay._util.errors import UsageError
from assay.audit._config import AuditConfig, AuditOutcome
from assay.audit._plan import load_plan
from assay.audit._runner import run_audit
from assay.tiers import Tier

if TYPE_CHECKING:
    from assay.report import Comparison


@dataclass(frozen=True)
class RerunOutcome:
    original: Path
    rerun: AuditOutcome
    comparison: Comparison
    items_compared: int
    items_identical: int
    decisions_agree: int
    decisions_total: int
    same_fingerprint: bool
    same_items: bool


def _attested_predicate(path: Path, trusted: list[Ed25519PublicKey]) -> dict[str, Any]:
    from assay.attest import EnvelopeError, decode_json_payload, key_id, verify_envelope

    try:
        envelope = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise UsageError(f"cannot read {path} as an attestation (JSON)") from None
    try:
        payload, _signers = verify_envelope(envelope, {key_id(k): k for k in trusted})
        statement = decode_json_payload(payload)
    except EnvelopeError as exc:
        raise UsageError(
            f"{path} is not signed by a trusted key: {exc}", hint="pass --key SIGNER.pub"
        ) from None
    predicate = statement.get("predicate")
    if not isinstance(predicate, dict) or "results" not in predicate:
        raise UsageError(f"{path} is not an assay audit attestation")
    return predicate


def rerun_attestation(
    attestation: Path,
    out: Path,
    trusted: list[Ed25519PublicKey],
    *,
    target: str | None = None,
    plan_path: str | None = None,
    show_progress: bool = True,
) -> RerunOutcome:
    """Re-execute the audit ``attestation`` describes into ``out`` and compare."""
    from assay.report import compare_reports, sample_values

    predicate = _attested_predicate(attestation, trusted)
    recorded_plan = predicate["plan"]
    plan = load_plan(plan_path or recorded_plan["name"])
    suites = [str(r["suite"]) for r in predicate["results"]]
    if recorded_plan["digest"] not in (plan.digest, plan.only(suites).digest):
        raise UsageError(
            f"plan {plan.name!r} here has digest {plan.digest}, the audit used "
            f"{recorded_plan['digest']}",
            hint="pass --plan FILE with the plan the audit used",
        )
    folder = attestation.parent
    before = sample_values(folder)
    items: dict[str, list[str]] | None = None
    if before:
        items = {}
        for suite, sample in before:
            items.setdefault(suite, []).append(sample)
    config = AuditConfig(
        target=target or predicate["target"]["spec"],
        tier=Tier(predicate["tier"]),
        tier_explicit=True,
        plan=plan_path or recorded_plan["name"],
        suites=suites,
        seed=int(predicate["sampling"]["seed"]),
        out=out,
        show_progress=show_progress,
        only_samples=items,
    )
    outcome = run_audit(config)
    comparison = compare_reports(folder / "report.json", out / "report.json")
    after = sample_values(out)
    shared = set(before) & set(after)
    identical = sum(1 for k in shared if before[k] == after[k])
    original = {r["suite"]: r["decision"]["outcome"] for r in predicate["results"]}
    agree = sum(1 for s in outcome.report.suites if original.get(s.id) == s.decision.outcome)
    return RerunOutcome(
        original=folder,
        rerun=outcome,
        comparison=comparison,
        items_compared=len(shared),
        items_identical=identical,
        decisions_agree=agree,
        decisions_total=len(original),
        same_fingerprint=outcome.report.target.fingerprint.digest
        == predicate["target"]["fingerprint"]["digest"],
        same_items=items is not None,
    )


__all__ = ["RerunOutcome", "rerun_attestation"]
