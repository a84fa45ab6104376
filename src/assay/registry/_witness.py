"""``assay verify --registry``: an attestation checked against what a registry says
about it, by someone with no account.

The registry tells which organisation submitted the statement and which keys that
organisation had registered then; the attestation must be signed by one of them.
The registry's log must hold the statement (an inclusion proof under a checkpoint
signed by the log key), and must only have grown since the checkpoint this verifier
saw last, kept in a witness file (a consistency proof from that checkpoint). The log
key is the one given, or the one the witness file recorded on first use.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from assay._util.errors import UsageError
from assay._util.hashing import sha256_bytes
from assay._util.paths import subdir
from assay.attest import (
    Check,
    EnvelopeError,
    LogError,
    Verification,
    key_id,
    open_checkpoint,
    parse_envelope,
    strict_json_loads,
    verify_attestation,
)
from assay.registry._client import RegistryClient


def default_witness(registry_url: str) -> Path:
    digest = hashlib.sha256(registry_url.rstrip("/").encode()).hexdigest()[:16]
    return subdir("witness") / f"{digest}.json"


def _public(pem: str) -> Ed25519PublicKey:
    key = load_pem_public_key(pem.encode())
    if not isinstance(key, Ed25519PublicKey):
        raise UsageError("the registry published a key that is not Ed25519")
    return key


def _keys_at(keys: list[dict[str, Any]], moment: str) -> list[Ed25519PublicKey]:
    """Signing keys registered at ``moment`` and not revoked before it."""
    when = datetime.fromisoformat(moment)
    chosen = []
    for key in keys:
        if key["kind"] != "signing":
            continue
        created = datetime.fromisoformat(key["created_at"])
        revoked = key["revoked_at"] and datetime.fromisoformat(key["revoked_at"])
        if created <= when and (not revoked or revoked > when):
            chosen.append(_public(key["public_key"]))
    return chosen


def verify_with_registry(
    attestation: Path,
    registry_url: str,
    *,
    witness: Path | None = None,
    log_key: Ed25519PublicKey | None = None,
    artifacts: Path | None = None,
    disclosures: Sequence[Path] = (),
    check_suites: bool = True,
) -> tuple[Verification, list[str]]:
    """Verify ``attestation`` against the registry; returns the verification and notes.
    The witness file is updated only when every check passed."""
    try:
        envelope = strict_json_loads(attestation.read_bytes())
        _, payload, _ = parse_envelope(envelope)
    except (OSError, ValueError, EnvelopeError) as exc:
        raise UsageError(f"{attestation} is not an attestation: {exc}") from None
    statement_sha256 = sha256_bytes(payload)
    witness = witness or default_witness(registry_url)
    seen: dict[str, Any] | None = None
    if witness.is_file():
        try:
            seen = json.loads(witness.read_text())
        except ValueError:
            raise UsageError(f"the witness file {witness} is not JSON") from None
    notes: list[str] = []
    with RegistryClient(registry_url) as client:
        found = client.get("/v1/submissions", statement_sha256=statement_sha256)["items"]
        if not found:
            result = Verification()
            result.add("registry", False, f"no submission of this statement in {client.url}")
            return result, notes
        submission = found[0]
        tester_keys = _keys_at(
            client.get(f"/v1/orgs/{submission['tester']}/keys"), submission["created_at"]
        )
        info = client.get("/v1/log")
        published = _public(info["public_key"])
        if log_key is None and seen is not None:
            log_key = _public(seen["log_key"])
        if log_key is None:
            log_key = published
            notes.append(
                f"trusting the log key {key_id(published)} on first use; it is recorded in {witness}"
            )
        elif key_id(log_key) != key_id(published):
            result = Verification()
            result.add(
                "log key",
                False,
                f"the registry's log key is now {key_id(published)}, not the trusted {key_id(log_key)}",
            )
            return result, notes
        old_size = None
        if seen is not None:
            try:
                old_size = open_checkpoint(seen["checkpoint"], {key_id(log_key): log_key})[
                    0
                ].tree_size
            except (LogError, KeyError, TypeError) as exc:
                raise UsageError(
                    f"the witness file {witness} holds no valid checkpoint: {exc}"
                ) from None
        if old_size is not None and info["size"] < old_size:
            result = Verification()
            result.add(
                "log consistency",
                False,
                f"the log has {info['size']} entries, fewer than the {old_size} of the checkpoint "
                "in your witness file: the registry rolled its log back",
            )
            return result, notes
        bundle = client.get(f"/v1/submissions/{submission['id']}/proof", old_size=old_size)
    with tempfile.TemporaryDirectory(prefix="assay-verify-") as folder:
        proof_path = Path(folder) / "proof.json"
        proof_path.write_text(json.dumps(bundle))
        trusted_checkpoint = None
        if seen is not None:
            trusted_checkpoint = Path(folder) / "checkpoint.json"
            trusted_checkpoint.write_text(seen["checkpoint"], encoding="utf-8")
        if not tester_keys:
            result = Verification()
            result.add("registry", False, f"{submission['tester']} had no signing key registered")
            return result, notes
        result = verify_attestation(
            attestation,
            tester_keys,
            artifacts,
            disclosures=disclosures,
            log_proof=proof_path,
            log_keys=[log_key],
            trusted_checkpoint=trusted_checkpoint,
            check_suites=check_suites,
        )
    result.checks.insert(
        0,
        Check(
            "registry",
            True,
            f"submission {submission['id']} by {submission['tester']} for "
            f"{submission['model']} {submission['version']} ({submission['visibility']})",
        ),
    )
    if result.ok:
        witness.parent.mkdir(parents=True, exist_ok=True)
        witness.write_text(
            json.dumps(
                {
                    "registry": registry_url,
                    "log_key": info["public_key"],
                    "checkpoint": bundle["checkpoint"],
                },
                indent=2,
            )
            + "\n"
        )
    return result, notes
