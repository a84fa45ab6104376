"""``assay attest`` (co-sign, log), ``assay disclose`` and ``assay commit``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperGroup

from assay._util.errors import AssayError, UsageError
from assay._util.paths import atomic_write_text

attest_app = typer.Typer(
    help="Co-sign attestations and record them in a transparency log.", no_args_is_help=True
)


def _read_json(path: Path, what: str) -> Any:
    from assay.attest import strict_json_loads

    if not path.is_file():
        raise UsageError(f"no such file: {path}")
    try:
        return strict_json_loads(path.read_bytes())
    except ValueError as exc:
        raise UsageError(f"{path} is not a valid {what}: {exc}") from None


def _write_json(path: Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def _audit_statement(envelope: Any, path: Path) -> tuple[bytes, dict[str, Any]]:
    """The payload and statement of an attestation, checked for shape and schema
    (not for signatures: that is `assay verify`)."""
    from assay.attest import (
        IN_TOTO_PAYLOAD_TYPE,
        PREDICATE_TYPE,
        EnvelopeError,
        PredicateError,
        decode_json_payload,
        parse_envelope,
        validate_predicate,
    )

    try:
        payload_type, payload, _ = parse_envelope(envelope)
        statement = decode_json_payload(payload)
    except EnvelopeError as exc:
        raise UsageError(f"{path} is not a valid attestation: {exc}") from None
    if payload_type != IN_TOTO_PAYLOAD_TYPE or statement.get("predicateType") != PREDICATE_TYPE:
        raise UsageError(f"{path} is not an assay audit attestation")
    try:
        validate_predicate(statement.get("predicate"))
    except PredicateError as exc:
        raise UsageError(f"{path}: {exc}") from None
    return payload, statement


@attest_app.command("cosign")
def cosign(
    attestation: Path = typer.Argument(..., help="attestation.json to co-sign."),
    key_name: str = typer.Option(
        ..., "--key-name", "-n", help="Your key in $ASSAY_HOME/keys, e.g. gateway."
    ),
    trust: list[Path] = typer.Option(
        [],
        "--trust",
        help="Public key (PEM) whose signature must already verify before you co-sign; repeatable.",
    ),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Write here instead of replacing the attestation."
    ),
) -> None:
    """Add your signature to an attestation, keeping the others.

    For example the developer's gateway key. Co-signing says you accept the statement
    as a description of the audit (say, after checking it against your request log);
    it does not endorse the findings or their interpretation.
    """
    from assay.attest import (
        EnvelopeError,
        add_signature,
        key_id,
        load_named_key,
        load_public_key,
        verify_envelope,
        write_envelope,
    )

    envelope = _read_json(attestation, "attestation")
    _, statement = _audit_statement(envelope, attestation)
    if trust:
        keys = [load_public_key(p) for p in trust]
        try:
            _, signers = verify_envelope(envelope, {key_id(k): k for k in keys})
        except EnvelopeError as exc:
            raise AssayError(f"not co-signing: {exc}") from None
        missing = {key_id(k) for k in keys} - set(signers)
        if missing:
            raise AssayError(f"not co-signing: no signature by {', '.join(sorted(missing))}")
    key = load_named_key(key_name)
    signed = add_signature(envelope, key)
    target = write_envelope(out or attestation, signed)
    predicate = statement["predicate"]
    typer.echo(
        f"co-signed the audit of {predicate['target']['model']} (run {predicate['run']['run_id']}) "
        f"with {key_name} ({key.key_id}); {len(signed['signatures'])} signatures in {target}"
    )


@attest_app.command("log")
def log_attestation(
    attestation: Path = typer.Argument(..., help="attestation.json to record."),
    log: Path = typer.Option(..., "--log", help="The transparency log (SQLite file)."),
    key_name: str = typer.Option("log", "--key-name", "-n", help="The log's signing key."),
    origin: str = typer.Option("assay.dev/log", "--origin", help="Log name for a new log."),
    from_size: int | None = typer.Option(
        None,
        "--from-size",
        min=0,
        help="Add a consistency proof from this tree size (a checkpoint the verifier trusts).",
    ),
    out: Path = typer.Option(
        Path("log-proof.json"), "--out", "-o", help="Where to write the proof."
    ),
) -> None:
    """Record an attestation in a transparency log and write its inclusion proof.

    Appends the digest of the signed statement (once) and writes a signed checkpoint
    with the inclusion proof: what `assay verify --log-proof` checks.
    """
    from assay.attest import LogError, TransparencyLog, attestation_entry, load_named_key

    envelope = _read_json(attestation, "attestation")
    payload, _ = _audit_statement(envelope, attestation)
    key = load_named_key(key_name)
    entry = attestation_entry(payload)
    with TransparencyLog(log, origin=origin) as tlog:
        index = tlog.find(entry)
        added = index is None
        if index is None:
            index = tlog.append(entry)
        try:
            bundle = tlog.proof_bundle(index, [key], old_size=from_size)
        except LogError as exc:
            raise UsageError(str(exc)) from None
    _write_json(out, bundle)
    typer.echo(
        f"{'appended as' if added else 'already logged as'} entry {index} of {bundle['tree_size']}; "
        f"proof written to {out}"
    )


@attest_app.command("checkpoint")
def checkpoint(
    log: Path = typer.Option(..., "--log", help="The transparency log (SQLite file)."),
    key_name: str = typer.Option("log", "--key-name", "-n", help="The log's signing key."),
    out: Path = typer.Option(Path("checkpoint.txt"), "--out", "-o", help="Where to write it."),
) -> None:
    """Sign and write the log's current checkpoint (a C2SP signed note: origin, size, root).

    Keep it to check later that the log only grew: `assay verify --trusted-checkpoint`.
    """
    from assay.attest import LogError, TransparencyLog, load_named_key

    if not log.is_file():
        raise UsageError(f"no such log: {log}")
    key = load_named_key(key_name)
    with TransparencyLog(log) as tlog:
        try:
            tlog.verify_integrity()
        except LogError as exc:
            raise AssayError(f"the log {log} is damaged: {exc}") from None
        cp = tlog.checkpoint()
        out.write_text(cp.sign([key]), encoding="utf-8")
    typer.echo(f"checkpoint of {cp.origin} at size {cp.tree_size} written to {out}")


def disclose_command(
    out_dir: Path = typer.Argument(..., help="The audit's output folder (assay audit --out)."),
    sample: list[str] = typer.Option(
        [],
        "--sample",
        "-s",
        help="Sample id to reveal (every record with it), or SUITE/SAMPLE_ID; repeatable.",
    ),
    index: list[int] = typer.Option(
        [], "--index", help="Record number (0-based line of samples.jsonl); repeatable."
    ),
    out: Path = typer.Option(
        Path("disclosure.json"), "--out", "-o", help="Where to write the disclosure."
    ),
) -> None:
    """Reveal chosen per-sample records with proofs; the others stay private.

    Each record comes with its Merkle inclusion proof against the root signed in the
    attestation. Check with `assay verify ATTESTATION --disclosure FILE`.
    """
    from assay._util.hashing import sha256_bytes
    from assay.attest import (
        RecordsError,
        build_disclosure,
        merkle_root,
        select_records,
        split_records,
    )

    if not sample and not index:
        raise UsageError("nothing to disclose", hint="pass --sample ID or --index N")
    attestation = out_dir / "attestation.json"
    samples_path = out_dir / "samples.jsonl"
    for path in (attestation, samples_path):
        if not path.is_file():
            raise UsageError(f"no such file: {path}")
    payload, statement = _audit_statement(_read_json(attestation, "attestation"), attestation)
    signed = statement["predicate"]["samples"]
    try:
        lines = split_records(samples_path.read_bytes())
        root, size = merkle_root(lines)
        if root.hex() != signed["root"] or size != signed["tree_size"]:
            raise AssayError(
                f"{samples_path} does not match the root signed in {attestation}",
                hint="disclose from the unchanged output folder of the audit",
            )
        chosen = select_records(lines, sample, index)
        disclosure = build_disclosure(lines, chosen, sha256_bytes(payload))
    except RecordsError as exc:
        raise UsageError(str(exc)) from None
    _write_json(out, disclosure)
    typer.echo(f"disclosed {len(chosen)} of {size} records to {out}")


class _CreateByDefault(TyperGroup):
    """``assay commit ITEMS.jsonl`` means ``assay commit create ITEMS.jsonl``."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # ctx: typer's click Context
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["create", *args]
        return super().parse_args(ctx, args)


commit_app = typer.Typer(
    cls=_CreateByDefault,
    help="Commit to a secret test set now; reveal items (or all of it) later. "
    "`assay commit ITEMS.jsonl` is short for `assay commit create ITEMS.jsonl`.",
    no_args_is_help=True,
)


def _commitment(path: Path) -> Any:
    from assay.attest import CommitmentError, parse_commitment

    try:
        return parse_commitment(_read_json(path, "commitment"))
    except CommitmentError as exc:
        raise UsageError(f"{path}: {exc}") from None


def _items_and_salts(items: Path, salts: Path, commitment: Any) -> tuple[list[Any], list[bytes]]:
    from assay.attest import CommitmentError, parse_salts, read_items

    if not items.is_file():
        raise UsageError(f"no such file: {items}")
    try:
        return read_items(items), parse_salts(_read_json(salts, "salts file"), commitment)
    except CommitmentError as exc:
        raise UsageError(str(exc)) from None


@commit_app.command("create")
def commit_create(
    items: Path = typer.Argument(..., help="The secret items, one JSON value per line."),
    out: Path = typer.Option(
        Path("commitment.json"), "--out", "-o", help="The public commitment to publish."
    ),
    salts: Path | None = typer.Option(
        None,
        "--salts",
        help="Private salts file, written 0600 (default: OUT with .salts.json). Keep it.",
    ),
    label: str | None = typer.Option(None, "--label", help="A public name (default: file stem)."),
) -> None:
    """Publish a Merkle root over salted hashes of the items; the salts stay private."""
    from assay.attest import CommitmentError, commit_items, read_items, write_private

    if not items.is_file():
        raise UsageError(f"no such file: {items}")
    salts_path = salts or out.with_name(out.name.removesuffix(".json") + ".salts.json")
    if salts_path.exists():
        raise UsageError(
            f"{salts_path} exists", hint="salts are never overwritten; choose --salts PATH"
        )
    try:
        commitment, private = commit_items(read_items(items), label=label or items.stem)
    except CommitmentError as exc:
        raise UsageError(str(exc)) from None
    write_private(salts_path, private)
    _write_json(out, commitment)
    typer.echo(f"committed to {commitment['size']} items: root {commitment['root']}")
    typer.echo(f"public commitment: {out}")
    typer.echo(f"private salts:     {salts_path} (mode 0600; needed to reveal items)")


@commit_app.command("reveal")
def commit_reveal(
    items: Path = typer.Argument(..., help="The committed items file."),
    commitment: Path = typer.Option(..., "--commitment", "-c", help="commitment.json"),
    salts: Path = typer.Option(..., "--salts", help="The private salts file."),
    index: list[int] = typer.Option([], "--index", help="Item number (0-based); repeatable."),
    item_id: list[str] = typer.Option(
        [], "--id", help="Item whose `id` field is this; repeatable."
    ),
    all_items: bool = typer.Option(False, "--all", help="Reveal every item."),
    out: Path = typer.Option(Path("opening.json"), "--out", "-o", help="Where to write it."),
) -> None:
    """Reveal chosen items with their salts and inclusion proofs.

    Checks first that the whole items file still matches the commitment.
    """
    from assay.attest import CommitmentError, find_items, open_items

    parsed = _commitment(commitment)
    values, salt_list = _items_and_salts(items, salts, parsed)
    if not (index or item_id or all_items):
        raise UsageError("nothing to reveal", hint="pass --index N, --id ID or --all")
    try:
        chosen = list(range(len(values))) if all_items else [*index, *find_items(values, item_id)]
        opening = open_items(parsed, values, salt_list, chosen)
    except CommitmentError as exc:
        raise UsageError(str(exc)) from None
    _write_json(out, opening)
    typer.echo(f"revealed {len(opening['items'])} of {parsed.size} items to {out}")


@commit_app.command("verify")
def commit_verify(
    commitment: Path = typer.Argument(..., help="commitment.json"),
    opening: list[Path] = typer.Option(
        [], "--opening", help="An opening from `assay commit reveal`; repeatable."
    ),
    items: Path | None = typer.Option(None, "--items", help="The full items file ..."),
    salts: Path | None = typer.Option(None, "--salts", help="... with its salts file."),
) -> None:
    """Check openings, or a whole items file, against a commitment.

    With --opening: each revealed item was in the committed set. With --items and
    --salts: the file is exactly the committed set. Exit 0 only when everything checks.
    """
    from assay.attest import CommitmentError, check_all_items, verify_opening

    parsed = _commitment(commitment)
    if (items is None) != (salts is None):
        raise UsageError("--items and --salts go together")
    if not opening and items is None:
        raise UsageError("nothing to verify", hint="pass --opening FILE or --items and --salts")
    try:
        if items is not None and salts is not None:
            values, salt_list = _items_and_salts(items, salts, parsed)
            check_all_items(parsed, values, salt_list)
            typer.echo(f"ok: {items} is exactly the committed set of {parsed.size} items")
        for path in opening:
            opened = verify_opening(parsed, _read_json(path, "opening"))
            typer.echo(f"ok: {path}: {len(opened)} items were in the committed set")
    except CommitmentError as exc:
        raise AssayError(f"commitment check failed: {exc}") from None
