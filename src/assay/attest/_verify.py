"""Offline verification of an audit attestation. Every check is explicit; the first
failure is named, and nothing counts as verified unless a trusted key signed it.

Order: envelope and signatures, statement shape, predicate schema, subjects against
the predicate, then whatever is at hand: report.json and samples.jsonl (digests and
the Merkle root over the records), model weights, locally installed suites,
disclosed records, a transparency-log inclusion proof and a checkpoint already
trusted. Structural failures stop early; the rest are all reported.

Longer than most modules: one ordered list of checks, each short, that must run in
this order and report into one result.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from assay._util.hashing import sha256_bytes
from assay.attest._dsse import (
    IN_TOTO_PAYLOAD_TYPE,
    EnvelopeError,
    decode_json_payload,
    strict_json_loads,
    verify_envelope,
)
from assay.attest._keys import key_id
from assay.attest._merkle import merkle_root
from assay.attest._samples import (
    SAMPLES_FILE,
    DisclosedRecord,
    RecordsError,
    split_records,
    verify_disclosure,
)
from assay.attest._statement import (
    PREDICATE_SCHEMA_VERSION,
    PREDICATE_TYPE,
    REPORT_FILE,
    STATEMENT_TYPE,
    PredicateError,
    expected_subjects,
    validate_predicate,
)
from assay.attest._tlog import (
    LogError,
    LogProof,
    attestation_entry,
    check_consistency,
    open_checkpoint,
    verify_log_proof,
)

_STATEMENT_FIELDS = {"_type", "subject", "predicateType", "predicate"}
_SUBJECT_FIELDS = {"name", "digest", "annotations"}
_HEX32 = re.compile(r"[0-9a-f]{64}")


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    skipped: bool = False  # nothing to check it against; not a failure


@dataclass
class Verification:
    checks: list[Check] = field(default_factory=list)
    signers: list[str] = field(default_factory=list)
    statement: dict[str, Any] | None = None
    disclosed: list[DisclosedRecord] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    @property
    def first_failure(self) -> Check | None:
        return next((c for c in self.checks if not c.ok), None)

    def add(self, name: str, ok: bool, detail: str) -> bool:
        self.checks.append(Check(name, ok, detail))
        return ok

    def skip(self, name: str, detail: str) -> None:
        self.checks.append(Check(name, True, detail, skipped=True))


def _read_json(path: Path) -> Any:
    """Strict JSON from a file; raises ValueError with a short reason."""
    try:
        return strict_json_loads(path.read_bytes())
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {type(exc).__name__}") from None
    except ValueError as exc:
        raise ValueError(f"{path} is not valid JSON: {exc}") from None


def _read_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {type(exc).__name__}") from None
    except UnicodeDecodeError:
        raise ValueError(f"{path} is not UTF-8 text") from None


def _check_subjects(statement: dict[str, Any]) -> dict[str, str]:
    """Subject name -> sha256 hex, after checking every subject's shape."""
    subjects = statement["subject"]
    if not isinstance(subjects, list) or not subjects:
        raise ValueError("the statement has no subjects")
    found: dict[str, str] = {}
    for subject in subjects:
        if (
            not isinstance(subject, dict)
            or not {"name", "digest"} <= set(subject) <= _SUBJECT_FIELDS
        ):
            raise ValueError("a subject must have name and digest (and optionally annotations)")
        name, digest = subject["name"], subject["digest"]
        if not isinstance(name, str) or not name:
            raise ValueError("a subject's name must be a non-empty string")
        if not isinstance(digest, dict) or set(digest) != {"sha256"}:
            raise ValueError(f"subject {name}: the digest must be exactly {{'sha256': ...}}")
        value = digest["sha256"]
        if not isinstance(value, str) or not _HEX32.fullmatch(value):
            raise ValueError(f"subject {name}: sha256 must be 64 lowercase hex digits")
        if "annotations" in subject and not isinstance(subject["annotations"], dict):
            raise ValueError(f"subject {name}: annotations must be an object")
        if name in found:
            raise ValueError(f"subject {name} appears twice")
        found[name] = value
    return found


def _file_check(
    result: Verification, folder: Path, name: str, digest: str, required: bool
) -> bytes | None:
    """Compare a file subject; returns the file's bytes when it matched."""
    path = folder / name
    if not path.is_file():
        if required:
            result.add(f"subject {name}", False, f"{path} is missing")
        else:
            result.skip(f"subject {name}", f"not at hand ({path}); not checked")
        return None
    data = path.read_bytes()
    actual = sha256_bytes(data).removeprefix("sha256:")
    ok = actual == digest
    result.add(
        f"subject {name}", ok, "digest matches" if ok else "digest differs: the file was changed"
    )
    return data if ok else None


def _report_consistency(report: Any, predicate: dict[str, Any]) -> str | None:
    """The first field where report.json disagrees with the signed predicate, if any."""
    if not isinstance(report, dict):
        return "report.json is not an object"

    def get(*keys: str) -> Any:
        node: Any = report
        for key in keys:
            node = node.get(key) if isinstance(node, dict) else None
        return node

    run, target, plan = predicate["run"], predicate["target"], predicate["plan"]
    pairs: list[tuple[str, Any, Any]] = [
        ("run_id", get("run_id"), run["run_id"]),
        ("config_digest", get("config_digest"), run["config_digest"]),
        ("target.model", get("target", "model"), target["model"]),
        (
            "target.fingerprint",
            get("target", "fingerprint", "digest"),
            target["fingerprint"]["digest"],
        ),
        ("tier", get("tier"), predicate["tier"]),
        ("seed", get("seed"), predicate["sampling"]["seed"]),
        ("plan.digest", get("plan", "digest"), plan["digest"]),
        ("decision.action", get("decision", "action"), predicate["decision"]["action"]),
        ("samples_digest", get("samples_digest"), predicate["samples"]["digest"]),
        ("assay_version", get("environment", "assay_version"), predicate["assay_version"]),
    ]
    suites = get("suites")
    pairs.append(
        (
            "suites",
            [
                [s.get("id"), s.get("version"), s.get("data_digest"), s.get("n")]
                for s in suites
                if isinstance(s, dict)
            ]
            if isinstance(suites, list)
            else None,
            [[r["suite"], r["version"], r["data_digest"], r["n"]] for r in predicate["results"]],
        )
    )
    return next((name for name, have, signed in pairs if have != signed), None)


SUITE_CATALOGS = "assay.suites"
"""The entry-point group of suite catalogues: each names a function from a suite id to
its installed spec (a ``version`` and a ``data_digest``), raising for an unknown id.
assay's own is ``assay.suites:get_suite``; a package of private suites may add one."""


class _InstalledSuite(Protocol):
    @property
    def version(self) -> str: ...

    @property
    def data_digest(self) -> str: ...


def _suite_catalogs() -> list[Callable[[str], _InstalledSuite]]:
    try:
        return [entry.load() for entry in entry_points(group=SUITE_CATALOGS)]
    except Exception:  # a verifier without the suite catalog still verifies the rest
        return []


def _installed_suite(
    catalogs: Sequence[Callable[[str], _InstalledSuite]], suite_id: str
) -> _InstalledSuite | None:
    for lookup in catalogs:
        try:
            return lookup(suite_id)
        except Exception:
            continue
    return None


def _check_local_suites(result: Verification, predicate: dict[str, Any]) -> None:
    catalogs = _suite_catalogs()
    if not catalogs:
        result.skip("suites", "the suite catalog is not available here; not checked")
        return
    for r in predicate["results"]:
        name = f"suite {r['suite']}@{r['version']}"
        spec = _installed_suite(catalogs, r["suite"])
        if spec is None:
            result.skip(name, "not installed here (a private suite?); not checked")
            continue
        if spec.version != r["version"]:
            result.skip(name, f"installed version is {spec.version}; not checked")
            continue
        ok = spec.data_digest == r["data_digest"]
        result.add(
            name,
            ok,
            "data digest matches the installed suite"
            if ok
            else "data digest differs from the installed suite of the same version",
        )


def _check_model(result: Verification, predicate: dict[str, Any], model_dir: Path | None) -> None:
    target = predicate["target"]
    if model_dir is None:
        result.skip(
            f"subject model:{target['model']}", "weights not at hand (--model DIR); not checked"
        )
        return
    from assay.models import fingerprint_directory

    actual = fingerprint_directory(model_dir, cached=False)
    ok = (
        actual.algorithm == target["fingerprint"]["algorithm"]
        and actual.digest == target["fingerprint"]["digest"]
    )
    result.add(
        f"subject model:{target['model']}",
        ok,
        f"the weights in {model_dir} match the fingerprint"
        if ok
        else f"the weights in {model_dir} are not the model that was tested",
    )


def verify_attestation(
    path: Path,
    trusted_keys: list[Ed25519PublicKey],
    artifacts: Path | None = None,
    *,
    threshold: int = 1,
    model_dir: Path | None = None,
    disclosures: Sequence[Path] = (),
    log_proof: Path | None = None,
    log_keys: Sequence[Ed25519PublicKey] = (),
    trusted_checkpoint: Path | None = None,
    check_suites: bool = True,
) -> Verification:
    """Verify an attestation offline.

    ``threshold`` distinct trusted keys must have signed. Files named as subjects are
    looked for in ``artifacts`` (then they must be there) or beside the attestation
    (then a missing one is skipped and said so).
    """
    result = Verification()
    checked = _check_signed_statement(result, path, trusted_keys, threshold)
    if checked is None:
        return result
    payload, statement, subjects = checked
    predicate = statement["predicate"]
    folder = artifacts if artifacts is not None else path.parent
    _check_files(result, folder, subjects, predicate, required=artifacts is not None)
    _check_model(result, predicate, model_dir)
    if check_suites:
        _check_local_suites(result, predicate)
    for disclosure in disclosures:
        _check_disclosure(result, disclosure, payload, predicate)
    _check_log(result, payload, log_proof, log_keys, trusted_checkpoint)
    return result


def _check_signed_statement(
    result: Verification, path: Path, trusted_keys: list[Ed25519PublicKey], threshold: int
) -> tuple[bytes, dict[str, Any], dict[str, str]] | None:
    """Envelope, signatures, statement, schema and subjects; None after a failure."""
    try:
        envelope = _read_json(path)
    except ValueError as exc:
        result.add("read", False, str(exc))
        return None

    trusted = {key_id(k): k for k in trusted_keys}
    try:
        payload, signers = verify_envelope(envelope, trusted, IN_TOTO_PAYLOAD_TYPE)
        statement = decode_json_payload(payload)
    except EnvelopeError as exc:
        result.add("signature", False, str(exc))
        return None
    result.signers = signers
    required = f" ({len(signers)} of the {threshold} trusted signatures required)"
    detail = f"signed by {', '.join(signers)}" + (required if threshold > 1 else "")
    if not result.add("signature", len(signers) >= threshold, detail):
        return None

    if set(statement) != _STATEMENT_FIELDS:
        problem = "an in-toto statement has exactly _type, subject, predicateType, predicate"
        result.add("statement", False, problem)
        return None
    if statement["_type"] != STATEMENT_TYPE or statement["predicateType"] != PREDICATE_TYPE:
        problem = "not an assay audit statement (wrong _type or predicateType)"
        result.add("statement", False, problem)
        return None
    try:
        subjects = _check_subjects(statement)
    except ValueError as exc:
        result.add("statement", False, str(exc))
        return None
    result.add("statement", True, f"{len(subjects)} subjects, predicate {PREDICATE_TYPE}")

    predicate = statement["predicate"]
    try:
        validate_predicate(predicate)
    except PredicateError as exc:
        result.add("schema", False, str(exc))
        return None
    schema = f"audit-predicate-{PREDICATE_SCHEMA_VERSION}.schema.json"
    result.add("schema", True, f"predicate matches {schema}")
    result.statement = statement

    expected = expected_subjects(predicate)
    if set(subjects) != set(expected):
        missing = sorted(set(expected) - set(subjects))
        extra = sorted(set(subjects) - set(expected))
        problem = f"subjects do not match the predicate (missing {missing}, unexpected {extra})"
        result.add("subjects", False, problem)
        return None
    wrong = next((n for n, d in expected.items() if d is not None and subjects[n] != d), None)
    if wrong is not None:
        result.add("subjects", False, f"subject {wrong} disagrees with the predicate")
        return None
    result.add("subjects", True, "model, plan, assay, suites and files agree with the predicate")
    return payload, statement, subjects


def _check_files(
    result: Verification,
    folder: Path,
    subjects: dict[str, str],
    predicate: dict[str, Any],
    *,
    required: bool,
) -> None:
    report_bytes = _file_check(result, folder, REPORT_FILE, subjects[REPORT_FILE], required)
    if report_bytes is not None:
        try:
            field_name = _report_consistency(strict_json_loads(report_bytes), predicate)
        except ValueError:
            field_name = "(not JSON)"
        result.add(
            "report",
            field_name is None,
            "report.json agrees with the signed statement"
            if field_name is None
            else f"report.json disagrees with the signed statement at {field_name}",
        )
    samples = predicate["samples"]
    samples_bytes = _file_check(result, folder, SAMPLES_FILE, subjects[SAMPLES_FILE], required)
    if samples_bytes is None:
        return
    try:
        root, size = merkle_root(split_records(samples_bytes))
    except RecordsError as exc:
        result.add("samples root", False, str(exc))
        return
    ok = root.hex() == samples["root"] and size == samples["tree_size"]
    result.add(
        "samples root",
        ok,
        f"the Merkle root over {size} records matches the signed root"
        if ok
        else "the Merkle root over samples.jsonl differs from the signed root",
    )


def _check_disclosure(
    result: Verification, disclosure: Path, payload: bytes, predicate: dict[str, Any]
) -> None:
    name = f"disclosure {disclosure.name}"
    samples = predicate["samples"]
    try:
        revealed = verify_disclosure(
            _read_json(disclosure),
            statement_digest=sha256_bytes(payload),
            tree_size=samples["tree_size"],
            root=bytes.fromhex(samples["root"]),
        )
    except (ValueError, RecordsError) as exc:
        result.add(name, False, str(exc))
        return
    result.disclosed.extend(revealed)
    labels = ", ".join(f"{d.record.get('suite')}/{d.record.get('sample_id')}" for d in revealed[:5])
    more = f" and {len(revealed) - 5} more" if len(revealed) > 5 else ""
    result.add(name, True, f"{len(revealed)} records proven in the signed root: {labels}{more}")


def _check_log(
    result: Verification,
    payload: bytes,
    log_proof: Path | None,
    log_keys: Sequence[Ed25519PublicKey],
    trusted_checkpoint: Path | None,
) -> None:
    if log_proof is None:
        if trusted_checkpoint is not None:
            result.add(
                "log consistency", False, "a trusted checkpoint needs a log proof (--log-proof)"
            )
        return
    log_trusted = {key_id(k): k for k in log_keys}
    if not log_trusted:
        result.add("log inclusion", False, "no trusted log key given (--log-key)")
        return
    proof: LogProof
    try:
        proof = verify_log_proof(_read_json(log_proof), attestation_entry(payload), log_trusted)
    except (ValueError, LogError) as exc:
        result.add("log inclusion", False, str(exc))
        return
    cp = proof.checkpoint
    result.add(
        "log inclusion",
        True,
        f"entry {proof.leaf_index} of {cp.origin} at size {cp.tree_size}",
    )
    if trusted_checkpoint is None:
        return
    try:
        trusted, _ = open_checkpoint(_read_text(trusted_checkpoint), log_trusted)
        if proof.consistency is None:
            if trusted.tree_size != cp.tree_size:
                raise LogError(
                    "the log proof carries no consistency proof from the trusted checkpoint"
                )
            hashes: list[bytes] = []
        else:
            old_size, hashes = proof.consistency
            if old_size != trusted.tree_size:
                raise LogError(
                    f"the consistency proof starts at size {old_size}, the trusted checkpoint is at {trusted.tree_size}"
                )
        check_consistency(trusted, cp, hashes)
    except (ValueError, LogError) as exc:
        result.add("log consistency", False, str(exc))
        return
    result.add(
        "log consistency",
        True,
        f"the log at size {cp.tree_size} extends the trusted checkpoint at size {trusted.tree_size}",
    )
