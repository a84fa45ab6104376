"""Audit attestations end to end: statement, schema, subjects, files, disclosure, log."""

from __future__ import annotations

import base64
import json
import math
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assay._util.hashing import sha256_bytes
from assay.attest import (
    PREDICATE_SCHEMA_PATH,
    PREDICATE_TYPE,
    Checkpoint,
    EnvelopeError,
    PredicateError,
    TransparencyLog,
    add_signature,
    attestation_entry,
    audit_statement,
    build_disclosure,
    gateway_log_summary,
    load_or_create_key,
    parse_envelope,
    select_records,
    sign_envelope,
    split_records,
    statement_bytes,
    validate_predicate,
    verify_attestation,
    verify_envelope,
    write_envelope,
)
from tests.attest._audit import make_audit, make_report, write_samples

FAST = {"check_suites": False}


@pytest.fixture
def audit(tmp_path: Path) -> Path:
    return make_audit(tmp_path / "out", n=40)


def signer() -> Any:
    return load_or_create_key("tester").public_key


def payload_of(attestation: Path) -> bytes:
    return base64.b64decode(json.loads(attestation.read_text())["payload"])


def statement_of(attestation: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(payload_of(attestation))
    return data


def resign(attestation: Path, statement: dict[str, Any]) -> None:
    """Sign a (doctored) statement with the real tester key: only the content checks can
    catch it."""
    write_envelope(
        attestation, sign_envelope(statement_bytes(statement), [load_or_create_key("tester")])
    )


def failed(result: Any) -> str:
    failure = result.first_failure
    assert failure is not None, result.checks
    return str(failure.name)


def test_a_fresh_attestation_verifies_every_check(audit: Path) -> None:
    result = verify_attestation(audit, [signer()])
    assert result.ok, result.first_failure
    names = {c.name for c in result.checks if not c.skipped}
    assert {
        "signature",
        "statement",
        "schema",
        "subjects",
        "subject report.json",
        "report",
        "subject samples.jsonl",
        "samples root",
    } <= names
    skipped = {c.name for c in result.checks if c.skipped}
    assert "subject model:toy" in skipped and "suite toy_suite@1.0.0" in skipped
    subjects = {s["name"] for s in statement_of(audit)["subject"]}
    assert subjects == {
        "model:toy",
        "plan:quick",
        "pkg:pypi/assay@0.1.0",
        "suite:toy_suite@1.0.0",
        "report.json",
        "samples.jsonl",
    }


def test_the_predicate_follows_the_published_schema(audit: Path) -> None:
    schema = json.loads(PREDICATE_SCHEMA_PATH.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$id"].endswith("audit-predicate-1.schema.json")
    statement = statement_of(audit)
    assert statement["predicateType"] == PREDICATE_TYPE
    predicate = statement["predicate"]
    jsonschema.validate(predicate, schema)
    assert predicate["samples"]["tree_size"] == 40
    assert predicate["sampling"] == {
        "seed": 7,
        "params": {"toy_suite": {"method": "logprobs", "temperature": 0.0}},
        "statistics": {},
    }
    assert predicate["techniques"] == [
        {"suite": "toy_suite", "method": "logprobs", "tier": "grey", "judge": None}
    ]
    assert predicate["results"][0]["metrics"][0]["ci"]["low"] == 0.2
    for mutate in (
        lambda p: p.update(extra=1),
        lambda p: p["samples"].update(root="AB" * 32),
        lambda p: p["samples"].update(root="ab" * 32 + "\n"),
        lambda p: p["results"][0]["metrics"][0].update(ci={"low": 0}),
        lambda p: p.pop("gateway_log"),
        lambda p: p.update(tier="purple"),
    ):
        bad = json.loads(json.dumps(predicate))
        mutate(bad)
        with pytest.raises(PredicateError):
            validate_predicate(bad)


def test_non_finite_metrics_are_signed_as_null(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    write_samples(out / "samples.jsonl", 3)
    report = make_report(out)
    report.suites[0].metrics[0].value = math.nan
    assert report.suites[0].metrics[0].ci is not None
    report.suites[0].metrics[0].ci.high = math.inf
    metric = audit_statement(report, out)["predicate"]["results"][0]["metrics"][0]
    assert metric["value"] is None and metric["ci"] is None


def test_a_gateway_log_export_carries_its_signed_head_and_totals(tmp_path: Path) -> None:
    gateway = load_or_create_key("gateway")
    export = {
        "type": "https://assay.dev/gateway-log-export/v1",
        "engagement": "acme",
        "chain": {"ok": True, "entries": 12, "head": sha256_bytes(b"head")},
        "totals": {"requests": 10, "prompt_tokens": 100, "floats": 0},
    }
    envelope = sign_envelope(
        json.dumps(export).encode(), [gateway], "application/vnd.assay.gateway-log+json"
    )
    summary = gateway_log_summary(envelope, {gateway.key_id: gateway.public_key})
    out = tmp_path / "out"
    out.mkdir()
    write_samples(out / "samples.jsonl", 3)
    predicate = audit_statement(make_report(out), out, gateway_log=summary)["predicate"]
    assert predicate["gateway_log"]["head"] == export["chain"]["head"]
    assert predicate["gateway_log"]["totals"]["requests"] == 10
    assert predicate["gateway_log"]["signers"] == [gateway.key_id]
    validate_predicate(predicate)
    stranger = load_or_create_key("stranger")
    with pytest.raises(Exception, match="no signature by a trusted key"):
        gateway_log_summary(envelope, {stranger.key_id: stranger.public_key})


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(position=st.integers(min_value=0), bit=st.integers(min_value=0, max_value=7))
def test_any_flipped_bit_of_the_attestation_file_fails(
    audit: Path, position: int, bit: int
) -> None:
    original = audit.read_bytes()
    raw = bytearray(original)
    raw[position % len(raw)] ^= 1 << bit
    try:
        audit.write_bytes(bytes(raw))
        ok = verify_attestation(audit, [signer()], **FAST).ok
        # DSSE's keyid is an unauthenticated hint and unknown fields are ignored (the
        # spec's consumer rules): a flip there may verify; a flip in what is signed never
        assert not ok or _signed_content(bytes(raw)) == _signed_content(original)
    finally:
        audit.write_bytes(original)


def _signed_content(raw: bytes) -> object:
    try:
        payload_type, payload, signatures = parse_envelope(json.loads(raw))
    except (ValueError, EnvelopeError):
        return None
    return payload_type, payload, sorted(sig for _, sig in signatures)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(position=st.integers(min_value=0), value=st.integers(min_value=0, max_value=255))
def test_any_changed_byte_fails_unless_only_json_whitespace_changed(
    audit: Path, position: int, value: int
) -> None:
    original = audit.read_bytes()
    raw = bytearray(original)
    raw[position % len(raw)] = value
    try:
        audit.write_bytes(bytes(raw))
        ok = verify_attestation(audit, [signer()], **FAST).ok
    finally:
        audit.write_bytes(original)
    if ok:  # harmless: whitespace between JSON tokens, and the unsigned keyid hint or
        # an unknown field (which DSSE consumers must accept, e.g. "keyid" -> " eyid")
        assert _signed_content(bytes(raw)) == _signed_content(original) is not None


def test_changed_artefacts_fail_and_name_the_file(audit: Path) -> None:
    out = audit.parent
    report = out / "report.json"
    report.write_text(report.read_text().replace('"seed": 7', '"seed": 8'))
    assert failed(verify_attestation(audit, [signer()], **FAST)) == "subject report.json"
    make_report(out)  # restore a report (new run id: the digest differs again)
    samples = out / "samples.jsonl"
    lines = samples.read_text().splitlines(keepends=True)
    lines[3], lines[4] = lines[4], lines[3]
    samples.write_text("".join(lines))
    result = verify_attestation(audit, [signer()], **FAST)
    assert "subject samples.jsonl" in [c.name for c in result.checks if not c.ok]


def test_missing_artefacts_are_skipped_beside_but_required_with_artifacts(audit: Path) -> None:
    (audit.parent / "samples.jsonl").unlink()
    result = verify_attestation(audit, [signer()], **FAST)
    assert result.ok
    assert any(c.skipped and c.name == "subject samples.jsonl" for c in result.checks)
    strict = verify_attestation(audit, [signer()], audit.parent, **FAST)
    assert failed(strict) == "subject samples.jsonl"


def test_a_signed_but_inconsistent_statement_fails(audit: Path) -> None:
    good = statement_of(audit)
    doctored: list[tuple[str, Any]] = []

    s = json.loads(json.dumps(good))
    s["predicate"]["samples"]["root"] = "0" * 64
    doctored.append(("samples root", s))

    s = json.loads(json.dumps(good))
    for subject in s["subject"]:
        if subject["name"].startswith("suite:"):
            subject["digest"]["sha256"] = "0" * 64
    doctored.append(("subjects", s))

    s = json.loads(json.dumps(good))
    s["subject"].append({"name": "extra", "digest": {"sha256": "0" * 64}})
    doctored.append(("subjects", s))

    s = json.loads(json.dumps(good))
    s["subject"] = [x for x in s["subject"] if x["name"] != "report.json"]
    doctored.append(("subjects", s))

    s = json.loads(json.dumps(good))
    s["subject"][0]["digest"]["sha512"] = "0" * 128
    doctored.append(("statement", s))

    s = json.loads(json.dumps(good))
    s["subject"].append(dict(s["subject"][0]))
    doctored.append(("statement", s))

    s = json.loads(json.dumps(good))
    s["predicateType"] = "https://example.com/other/v1"
    doctored.append(("statement", s))

    s = json.loads(json.dumps(good))
    s["extra"] = True
    doctored.append(("statement", s))

    s = json.loads(json.dumps(good))
    s["predicate"]["results"][0]["metrics"][0]["value"] = "high"
    doctored.append(("schema", s))

    s = json.loads(json.dumps(good))
    s["predicate"]["decision"]["action"] = "remove_capability"
    doctored.append(("report", s))

    for expected, statement in doctored:
        resign(audit, statement)
        assert failed(verify_attestation(audit, [signer()], **FAST)) == expected, expected


def test_signatures_threshold_and_cosigning(audit: Path) -> None:
    developer = load_or_create_key("developer")
    both = [signer(), developer.public_key]
    one = verify_attestation(audit, both, threshold=2, **FAST)
    assert failed(one) == "signature" and "1 of the 2" in one.checks[0].detail
    envelope = json.loads(audit.read_text())
    write_envelope(audit, add_signature(envelope, developer))
    result = verify_attestation(audit, both, threshold=2, **FAST)
    assert result.ok and len(result.signers) == 2
    assert verify_attestation(audit, [developer.public_key], **FAST).ok
    stranger = load_or_create_key("stranger").public_key
    assert failed(verify_attestation(audit, [stranger], **FAST)) == "signature"


def test_envelope_paranoia() -> None:
    key = load_or_create_key("tester")
    trusted = {key.key_id: key.public_key}
    good = sign_envelope(b'{"a":1}', [key])
    verify_envelope(good, trusted)
    bad_cases = [
        {**good, "payload": good["payload"][:-4]},
        {**good, "payload": "not base64!"},
        {
            **good,
            "signatures": [{"keyid": key.key_id, "sig": base64.b64encode(b"x" * 63).decode()}],
        },
        {
            **good,
            "signatures": [{"keyid": "someone-else", "sig": good["signatures"][0]["sig"][::-1]}],
        },
        {**good, "signatures": []},
        {**good, "payloadType": ""},
        {k: v for k, v in good.items() if k != "payloadType"},
    ]
    for bad in bad_cases:
        with pytest.raises(EnvelopeError):
            verify_envelope(bad, trusted)
    with pytest.raises(EnvelopeError, match="payloadType"):
        verify_envelope(good, trusted, payload_type="application/other")


def test_duplicate_json_keys_in_the_attestation_fail(audit: Path) -> None:
    text = audit.read_text()
    audit.write_text(text.replace('"payloadType"', '"payloadType": "x", "payloadType"', 1))
    assert failed(verify_attestation(audit, [signer()], **FAST)) == "read"


# --- selective disclosure ---------------------------------------------------------


def disclose(audit: Path, samples: list[str], indices: list[int] = []) -> dict[str, Any]:  # noqa: B006
    lines = split_records((audit.parent / "samples.jsonl").read_bytes())
    chosen = select_records(lines, samples, indices)
    return build_disclosure(lines, chosen, sha256_bytes(payload_of(audit)))


def test_disclosed_records_verify_without_the_other_records(audit: Path, tmp_path: Path) -> None:
    disclosure = tmp_path / "disclosure.json"
    disclosure.write_text(json.dumps(disclose(audit, ["s-00003", "toy_suite/s-00017"], [39])))
    (audit.parent / "samples.jsonl").unlink()  # the verifier does not have the rest
    result = verify_attestation(audit, [signer()], disclosures=[disclosure], **FAST)
    assert result.ok, result.first_failure
    assert [d.index for d in result.disclosed] == [3, 17, 39]
    assert result.disclosed[0].record["sample_id"] == "s-00003"


def test_disclosure_of_another_attestation_fails(audit: Path, tmp_path: Path) -> None:
    other = make_audit(tmp_path / "other", n=40)
    disclosure = tmp_path / "d.json"
    disclosure.write_text(json.dumps(disclose(other, ["s-00001"])))
    result = verify_attestation(audit, [signer()], disclosures=[disclosure], **FAST)
    assert "another attestation" in str(result.first_failure)


def test_unknown_samples_are_refused(audit: Path) -> None:
    with pytest.raises(ValueError, match="no record"):
        disclose(audit, ["nope"])
    with pytest.raises(ValueError, match="no record 40"):
        disclose(audit, [], [40])


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_any_change_to_a_revealed_record_or_proof_fails(
    audit: Path, tmp_path: Path, data: st.DataObject
) -> None:
    doc = disclose(audit, ["s-00005", "s-00030"])
    entry = doc["records"][data.draw(st.integers(0, 1))]
    target = data.draw(st.sampled_from(["record", "proof", "index"]))
    if target == "record":
        raw = bytearray(entry["record"].encode())
        pos = data.draw(st.integers(0, len(raw) - 1))
        raw[pos] = data.draw(st.integers(0, 255).filter(lambda v: v != raw[pos]))
        try:
            entry["record"] = raw.decode("utf-8")
        except UnicodeDecodeError:
            entry["record"] = raw.decode("latin-1")
    elif target == "proof":
        i = data.draw(st.integers(0, len(entry["proof"]) - 1))
        h = entry["proof"][i]
        pos = data.draw(st.integers(0, 63))
        new = data.draw(st.sampled_from("0123456789abcdefABCDEF g").filter(lambda c: c != h[pos]))
        entry["proof"][i] = h[:pos] + new + h[pos + 1 :]
    else:
        entry["index"] = data.draw(st.integers(-1, 45).filter(lambda v: v != entry["index"]))
    path = tmp_path / "tampered.json"
    path.write_text(json.dumps(doc, ensure_ascii=False))
    result = verify_attestation(audit, [signer()], disclosures=[path], **FAST)
    assert not result.ok
    assert str(result.first_failure.name).startswith("disclosure")  # type: ignore[union-attr]


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(position=st.integers(min_value=0), value=st.integers(min_value=0, max_value=255))
def test_any_changed_byte_of_a_disclosure_file_fails(
    audit: Path, tmp_path: Path, position: int, value: int
) -> None:
    original = json.dumps(disclose(audit, ["s-00011"]), indent=1, ensure_ascii=False).encode()
    raw = bytearray(original)
    raw[position % len(raw)] = value
    path = tmp_path / "d.json"
    path.write_bytes(bytes(raw))
    ok = verify_attestation(audit, [signer()], disclosures=[path], **FAST).ok
    if ok:
        assert json.loads(bytes(raw)) == json.loads(original)


def test_a_non_canonical_record_is_refused(audit: Path, tmp_path: Path) -> None:
    doc = disclose(audit, ["s-00003"])
    entry = doc["records"][0]
    record = json.loads(entry["record"])
    for spelling in (
        json.dumps(record, sort_keys=True),  # \u escapes instead of UTF-8
        json.dumps(dict(reversed(record.items())), ensure_ascii=False),  # unsorted keys
    ):
        assert spelling != entry["record"]
        entry["record"] = spelling
        path = tmp_path / "d.json"
        path.write_text(json.dumps(doc))
        result = verify_attestation(audit, [signer()], disclosures=[path], **FAST)
        assert "canonical" in str(result.first_failure)


def test_samples_jsonl_lines_are_rfc8785_canonical_json(tmp_path: Path) -> None:
    """The run store used to write records with ``json.dumps(sort_keys=True)`` (spaces
    after separators, ``1.0`` for whole floats): not RFC 8785, unlike every other JSON
    assay hashes or signs."""
    from datetime import UTC, datetime

    import rfc8785

    from assay.audit._store import RunStore
    from assay.records import SampleRecord

    store = RunStore(tmp_path / "run.sqlite")
    base = {
        "suite": "s",
        "epoch": 1,
        "answer": None,
        "output": "réponse — «ok»\u2028",
        "input_tokens": 3,
        "output_tokens": 1,
        "eval_id": "ev",
        "scored_at": datetime(2026, 1, 1, tzinfo=UTC),
    }
    values = [1.0, 0.25]
    for i, value in enumerate(values):
        store.add(
            SampleRecord(
                sample_id=f"x{i}",
                value=value,
                sample_metadata={"seed": 2**63 - 1, "weight": 1e-7},
                score_metadata={"z": [1.0, -math.inf, math.nan], "a": True},
                **base,
            )
        )
    path = tmp_path / "samples.jsonl"
    store.export_jsonl(path)
    lines = split_records(path.read_bytes())
    assert len(lines) == len(values)
    for line in lines:
        assert rfc8785.dumps(json.loads(line)) == line
    first = json.loads(lines[0])
    assert first["value"] == 1 and lines[0].endswith(b'"value":1}') and b", " not in lines[0]
    assert first["sample_metadata"] == {"seed": str(2**63 - 1), "weight": 1e-7}
    assert first["score_metadata"]["z"] == [1, "-Infinity", "NaN"]


def test_folders_with_records_written_before_rfc8785_still_verify_and_disclose(
    tmp_path: Path,
) -> None:
    old = make_audit(tmp_path / "old", n=12, legacy_records=True)
    assert b'": ' in (old.parent / "samples.jsonl").read_bytes()  # the legacy spelling
    assert verify_attestation(old, [signer()], **FAST).ok
    path = tmp_path / "d.json"
    path.write_text(json.dumps(disclose(old, ["s-00003"])))
    result = verify_attestation(old, [signer()], disclosures=[path], **FAST)
    assert result.ok, failed(result)
    assert result.disclosed[0].record["sample_id"] == "s-00003"


# --- transparency log --------------------------------------------------------------


def log_with(audit: Path, path: Path, before: int = 5, after: int = 3) -> TransparencyLog:
    log = TransparencyLog(path)
    log.append_many([f"other {i}".encode() for i in range(before)])
    log.append(attestation_entry(payload_of(audit)))
    log.append_many([f"later {i}".encode() for i in range(after)])
    return log


def test_log_inclusion_and_consistency_with_a_trusted_checkpoint(
    audit: Path, tmp_path: Path
) -> None:
    log_key = load_or_create_key("log")
    log = TransparencyLog(tmp_path / "log.sqlite")
    log.append_many([f"other {i}".encode() for i in range(5)])
    trusted = tmp_path / "trusted.txt"
    trusted.write_text(log.checkpoint().sign([log_key]))
    index = log.append(attestation_entry(payload_of(audit)))
    log.append_many([b"later"] * 4)
    proof = tmp_path / "proof.json"
    proof.write_text(json.dumps(log.proof_bundle(index, [log_key], old_size=5)))
    result = verify_attestation(
        audit,
        [signer()],
        log_proof=proof,
        log_keys=[log_key.public_key],
        trusted_checkpoint=trusted,
        **FAST,
    )
    assert result.ok, result.first_failure
    assert {"log inclusion", "log consistency"} <= {c.name for c in result.checks}

    stranger = load_or_create_key("stranger").public_key
    wrong_key = verify_attestation(audit, [signer()], log_proof=proof, log_keys=[stranger], **FAST)
    assert failed(wrong_key) == "log inclusion"

    # a forked log: same size as the trusted checkpoint, different history
    fork = TransparencyLog(tmp_path / "fork.sqlite")
    fork.append_many([f"other {i}".encode() for i in range(4)] + [b"rewritten"])
    forked = tmp_path / "forked.txt"
    forked.write_text(fork.checkpoint().sign([log_key]))
    result = verify_attestation(
        audit,
        [signer()],
        log_proof=proof,
        log_keys=[log_key.public_key],
        trusted_checkpoint=forked,
        **FAST,
    )
    assert failed(result) == "log consistency"
    assert "forked" in str(result.first_failure)


def test_a_log_proof_for_another_entry_fails(audit: Path, tmp_path: Path) -> None:
    key = load_or_create_key("log")
    log = log_with(audit, tmp_path / "log.sqlite")
    proof = tmp_path / "proof.json"
    proof.write_text(json.dumps(log.proof_bundle(2, [key])))  # not the attestation
    result = verify_attestation(
        audit, [signer()], log_proof=proof, log_keys=[key.public_key], **FAST
    )
    assert failed(result) == "log inclusion"


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(position=st.integers(min_value=0), bit=st.integers(min_value=0, max_value=7))
def test_any_flipped_bit_of_a_log_proof_fails(
    audit: Path, tmp_path: Path, position: int, bit: int
) -> None:
    key = load_or_create_key("log")
    log_path = tmp_path / "log.sqlite"
    if not log_path.exists():
        log_with(audit, log_path).close()
    with TransparencyLog(log_path) as log:
        original = json.dumps(log.proof_bundle(5, [key], old_size=3), indent=1).encode()
        trusted = Checkpoint(log.origin, 3, log.root(3)).sign([key])
    (tmp_path / "trusted.json").write_text(trusted)
    check = {
        "log_keys": [key.public_key],
        "trusted_checkpoint": tmp_path / "trusted.json",
        **FAST,
    }
    path = tmp_path / "p.json"
    path.write_bytes(original)
    assert verify_attestation(audit, [signer()], log_proof=path, **check).ok  # type: ignore[arg-type]
    raw = bytearray(original)
    raw[position % len(raw)] ^= 1 << bit
    path.write_bytes(bytes(raw))
    assert not verify_attestation(audit, [signer()], log_proof=path, **check).ok  # type: ignore[arg-type]


# --- artefacts at hand: model weights and installed suites ---------------------------


def test_model_weights_at_hand_are_checked(tmp_path: Path) -> None:
    from assay.models import fingerprint_directory

    weights = tmp_path / "weights"
    weights.mkdir()
    (weights / "config.json").write_text("{}")
    (weights / "model.safetensors").write_bytes(b"\x00" * 64)
    fp = fingerprint_directory(weights)
    audit = make_audit(tmp_path / "out", n=5, fingerprint=(fp.algorithm, fp.digest))
    assert verify_attestation(audit, [signer()], model_dir=weights, **FAST).ok
    (weights / "model.safetensors").write_bytes(b"\x01" * 64)
    result = verify_attestation(audit, [signer()], model_dir=weights, **FAST)
    assert failed(result) == "subject model:toy"


def test_installed_suites_are_compared_by_version_and_data_digest(tmp_path: Path) -> None:
    from assay.suites import get_suite

    spec = get_suite("hazard_knowledge")
    good = make_audit(
        tmp_path / "good", n=5, suite=spec.id, version=spec.version, data_digest=spec.data_digest
    )
    assert verify_attestation(good, [signer()]).ok
    bad = make_audit(
        tmp_path / "bad", n=5, suite=spec.id, version=spec.version, data_digest=sha256_bytes(b"x")
    )
    assert failed(verify_attestation(bad, [signer()])) == f"suite {spec.id}@{spec.version}"
    other = make_audit(tmp_path / "other", n=5, suite=spec.id, version="99.0.0")
    result = verify_attestation(other, [signer()])
    assert result.ok and any(c.skipped and "99.0.0" in c.name for c in result.checks)
