"""Submitted audits: ingest, reading, co-signing, publication; and the transparency log.

Longer than most modules: the routes of a submission's life (ingest, reading,
co-signing, publication) and of the log it is entered in share the same loading and
visibility helpers.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from datetime import datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy import select

from assay.attest import LogError, attestation_entry, pae, parse_envelope
from assay.registry._db import Cosignature, LogRecord, OrgKey, Submission
from assay.registry._deps import Caller, Db, IntId, Paging, State, now, paginate, respond
from assay.registry._engagements import apply, next_state
from assay.registry._errors import conflict, invalid, not_found
from assay.registry._ingest import verify_submission
from assay.registry._log import publication_entry
from assay.registry._policy import Action, authorize
from assay.registry._resources import (
    current_key,
    load_engagement,
    load_submission,
    load_version,
    slugs,
    submission_resource,
)
from assay.registry._schemas import (
    CosignIn,
    LogEntryOut,
    LogInfo,
    Page,
    ProofOut,
    SubmissionIn,
    SubmissionOut,
)
from assay.registry._types import KeyKind, Transition, Visibility
from assay.registry._visibility import Principal, Sight, sight

router = APIRouter(tags=["submissions"])
log_router = APIRouter(tags=["transparency log"])
MAX_LOG_PAGE = 1000


def signing_keys(db: Db, org_id: int) -> list[Ed25519PublicKey]:
    """The organisation's current Ed25519 keys."""
    keys = []
    for row in db.scalars(
        select(OrgKey).where(
            OrgKey.org_id == org_id, OrgKey.kind == KeyKind.SIGNING, OrgKey.revoked_at.is_(None)
        )
    ):
        public = load_pem_public_key(row.public_key.encode())
        assert isinstance(public, Ed25519PublicKey)
        keys.append(public)
    return keys


def submission_out(db: Db, submission: Submission) -> SubmissionOut:
    view = load_submission(db, submission.id)
    names = slugs(db, {view.engagement.developer_org_id, submission.org_id})
    version, model = load_version(db, submission.version_id)
    cosigners = db.scalars(
        select(Cosignature.key_id)
        .where(Cosignature.submission_id == submission.id)
        .order_by(Cosignature.id)
    )
    return SubmissionOut(
        id=submission.id,
        engagement_id=submission.engagement_id,
        tester=names[submission.org_id],
        developer=names[view.engagement.developer_org_id],
        version_id=submission.version_id,
        model=model.name,
        version=version.version,
        statement_sha256=submission.statement_sha256,
        summary=submission.summary,
        signers=submission.signers,
        cosigners=list(cosigners),
        visibility=Visibility(submission.visibility),
        log_index=submission.log_index,
        created_at=submission.created_at,
        published_at=submission.published_at,
    )


@router.post(
    "/v1/engagements/{engagement_id}/submissions", response_model=SubmissionOut, status_code=201
)
def submit(
    request: Request,
    caller: Caller,
    db: Db,
    state: State,
    engagement_id: IntId,
    body: SubmissionIn,
) -> Response:
    """Submit an audit's attestation.json (and report.json). It is verified with the
    code of `assay verify` against your organisation's registered keys and checked
    against the engagement's model version and scope; refused with the reason, or
    stored and appended to the transparency log."""
    view = load_engagement(db, engagement_id)
    authorize(caller, Action.SUBMIT, view.resource, view.parties)
    engagement = view.row
    next_state(engagement, Transition.REPORT)
    assert caller.org_id is not None
    version, _ = load_version(db, engagement.version_id)
    accepted = verify_submission(
        body.attestation,
        body.report,
        trusted=signing_keys(db, caller.org_id),
        fingerprints=version.fingerprints,
        scope=engagement.scope,
        limits=state.limits,
    )
    if db.scalar(
        select(Submission.id).where(Submission.statement_sha256 == accepted.statement_sha256)
    ):
        raise conflict("this attestation has been submitted already", "duplicate")
    moment = now(request)
    public = body.visibility is Visibility.PUBLIC
    # The log is appended first (before this session writes anything): an accepted
    # submission is never stored unlogged.
    entries = [attestation_entry(accepted.payload)]
    if public:
        entries.append(
            publication_entry("submission", accepted.statement_sha256, moment.isoformat())
        )
    index = state.log.append_many(entries, tag=f"engagement:{engagement.id}")
    submission = Submission(
        engagement_id=engagement.id,
        org_id=caller.org_id,
        version_id=version.id,
        statement_sha256=accepted.statement_sha256,
        envelope=body.attestation,
        report=body.report.encode() if body.report is not None else None,
        summary=accepted.summary,
        signers=accepted.signers,
        visibility=body.visibility.value,
        log_index=index,
        submitted_by=caller.user_id,
        created_at=moment,
        published_at=moment if public else None,
        publication_log_index=index + 1 if public else None,
    )
    db.add(submission)
    db.flush()
    _records(db, submission, moment)
    apply(db, engagement, Transition.REPORT, caller, f"submission {submission.id}", moment)
    db.commit()
    return respond(request, caller, submission_out(db, submission), status_code=201)


def _records(db: Db, submission: Submission, moment: datetime) -> None:
    """What the submission's log entries stand for."""
    db.add(
        LogRecord(
            log_index=submission.log_index,
            kind="submission",
            subject_type="submission",
            subject_id=submission.id,
            created_at=moment,
        )
    )
    if submission.publication_log_index is not None:
        db.add(
            LogRecord.publication(
                submission.publication_log_index, "submission", submission.id, moment
            )
        )


@router.get("/v1/submissions", response_model=Page[SubmissionOut])
def list_submissions(
    request: Request,
    caller: Caller,
    db: Db,
    page: Paging,
    version_id: int | None = Query(None, ge=1, le=2**31 - 1),
    engagement_id: int | None = Query(None, ge=1, le=2**31 - 1),
    statement_sha256: str | None = Query(None, pattern=r"^sha256:[0-9a-f]{64}$"),
) -> Response:
    """Accepted audits you may see: published ones, and restricted ones of your
    engagements (authorities see restricted ones too)."""
    authorize(caller, Action.READ_PUBLIC)
    query = select(Submission)
    if version_id is not None:
        query = query.where(Submission.version_id == version_id)
    if engagement_id is not None:
        query = query.where(Submission.engagement_id == engagement_id)
    if statement_sha256 is not None:
        query = query.where(Submission.statement_sha256 == statement_sha256)

    def visible(sub: Submission) -> bool:
        engagement = load_engagement(db, sub.engagement_id).row
        return sight(caller, submission_resource(sub, engagement)) is not Sight.NONE

    rows, cursor = paginate(db, query, Submission.id, page, visible)
    items = [submission_out(db, s) for s in rows]
    return respond(request, caller, Page[SubmissionOut](items=items, next_cursor=cursor))


def _readable(db: Db, caller: Principal, submission_id: int) -> Submission:
    view = load_submission(db, submission_id)
    authorize(caller, Action.READ_PUBLIC, view.resource, view.parties)
    return view.row


@router.get("/v1/submissions/{submission_id}", response_model=SubmissionOut)
def show_submission(request: Request, caller: Caller, db: Db, submission_id: IntId) -> Response:
    return respond(request, caller, submission_out(db, _readable(db, caller, submission_id)))


def _envelope(db: Db, submission: Submission) -> dict[str, object]:
    envelope = dict(submission.envelope)
    signatures = list(envelope["signatures"])
    for cosig in db.scalars(
        select(Cosignature)
        .where(Cosignature.submission_id == submission.id)
        .order_by(Cosignature.id)
    ):
        signatures = [s for s in signatures if s.get("keyid") != cosig.key_id]
        signatures.append({"keyid": cosig.key_id, "sig": cosig.signature})
    envelope["signatures"] = signatures
    return envelope


@router.get("/v1/submissions/{submission_id}/attestation", response_model=None)
def get_attestation(request: Request, caller: Caller, db: Db, submission_id: IntId) -> Response:
    """attestation.json as submitted, with any co-signatures added since."""
    submission = _readable(db, caller, submission_id)
    return respond(request, caller, _envelope(db, submission))


@router.get("/v1/submissions/{submission_id}/report", response_model=None)
def get_report(request: Request, caller: Caller, db: Db, submission_id: IntId) -> Response:
    """report.json exactly as submitted (its digest is in the signed statement)."""
    submission = _readable(db, caller, submission_id)
    if submission.report is None:
        raise not_found("report (none was submitted)")
    return Response(
        submission.report,
        media_type="application/json",
        headers={
            "ETag": '"' + submission.statement_sha256.removeprefix("sha256:")[:40] + '-r"',
            "Vary": "Authorization",
        },
    )


@router.get("/v1/submissions/{submission_id}/proof", response_model=None)
def get_proof(
    request: Request,
    caller: Caller,
    db: Db,
    state: State,
    submission_id: IntId,
    old_size: int | None = Query(
        None, ge=0, le=2**62, description="a tree size you trust: adds a consistency proof"
    ),
) -> Response:
    """The submission's inclusion proof under a freshly signed checkpoint (what
    `assay verify --log-proof` takes), with a consistency proof from ``old_size``."""
    submission = _readable(db, caller, submission_id)
    try:
        bundle = state.log.proof_bundle(submission.log_index, old_size)
    except LogError as exc:
        raise invalid(str(exc)) from None
    return respond(request, caller, bundle)


@router.post("/v1/submissions/{submission_id}/cosign", response_model=SubmissionOut)
def cosign(
    request: Request, caller: Caller, db: Db, submission_id: IntId, body: CosignIn
) -> Response:
    """The developer adds its signature over the submitted statement (DSSE PAE), made
    with one of its registered signing keys (`assay attest cosign` makes one)."""
    view = load_submission(db, submission_id)
    authorize(caller, Action.COSIGN, view.resource, view.parties)
    key = current_key(db, body.keyid, KeyKind.SIGNING, {caller.org_id})
    if key is None:
        raise invalid("keyid is not a current signing key of your organisation", "wrong_key")
    public = load_pem_public_key(key.public_key.encode())
    assert isinstance(public, Ed25519PublicKey)
    payload_type, payload, _ = parse_envelope(view.row.envelope)
    try:
        signature = base64.b64decode(body.sig, validate=True)
        public.verify(signature, pae(payload_type, payload))
    except (binascii.Error, ValueError, InvalidSignature):
        raise invalid("the signature does not verify over the submitted statement") from None
    exists = db.scalar(
        select(Cosignature).where(
            Cosignature.submission_id == view.row.id, Cosignature.key_id == key.id
        )
    )
    if exists is None:
        db.add(
            Cosignature(
                submission_id=view.row.id,
                org_id=key.org_id,
                key_id=key.id,
                signature=base64.b64encode(signature).decode(),
                created_at=now(request),
            )
        )
        db.commit()
    return respond(request, caller, submission_out(db, view.row))


@router.post("/v1/submissions/{submission_id}/publish", response_model=SubmissionOut)
def publish(
    request: Request, caller: Caller, db: Db, state: State, submission_id: IntId
) -> Response:
    """Make a restricted submission public (its testing organisation); the publication
    is an entry in the transparency log. Publication cannot be undone."""
    view = load_submission(db, submission_id)
    authorize(caller, Action.PUBLISH_SUBMISSION, view.resource, view.parties)
    submission = view.row
    if submission.visibility != Visibility.PUBLIC:
        moment = now(request)
        entry = publication_entry("submission", submission.statement_sha256, moment.isoformat())
        index = state.log.append_many([entry], tag=f"engagement:{submission.engagement_id}")
        submission.visibility = Visibility.PUBLIC.value
        submission.published_at = moment
        submission.publication_log_index = index
        db.add(LogRecord.publication(index, "submission", submission.id, moment))
        db.commit()
    return respond(request, caller, submission_out(db, view.row))


# ---- the transparency log --------------------------------------------------------------


@log_router.get("/v1/log", response_model=LogInfo)
def log_info(request: Request, caller: Caller, state: State) -> Response:
    """The log's origin, size and public key."""
    authorize(caller, Action.READ_PUBLIC)
    log = state.log
    info = LogInfo(
        origin=log.origin,
        size=log.size,
        key_id=log.key_id,
        public_key=log.public_key_pem,
        verifier_key=log.verifier_key,
    )
    return respond(request, caller, info)


@log_router.get("/v1/log/checkpoint", response_model=None)
def log_checkpoint(request: Request, caller: Caller, state: State) -> Response:
    """The current tree head: a C2SP checkpoint note signed by the log key (the format
    transparency-log witnesses read)."""
    authorize(caller, Action.READ_PUBLIC)
    return Response(
        state.log.checkpoint(),
        media_type="text/plain; charset=utf-8",
        headers={"Cache-Control": "no-cache"},
    )


@log_router.get("/v1/log/entries", response_model=list[LogEntryOut])
def log_entries(
    request: Request,
    caller: Caller,
    db: Db,
    state: State,
    start: int = Query(0, ge=0, le=2**62),
    limit: int = Query(100, ge=1, le=MAX_LOG_PAGE),
) -> Response:
    """Entries from ``start``: their bytes and what each stands for."""
    authorize(caller, Action.READ_PUBLIC)
    found = state.log.entries(start, start + limit)
    stop = found[-1][0] + 1 if found else start
    records = {
        r.log_index: r
        for r in db.scalars(
            select(LogRecord).where(LogRecord.log_index >= start, LogRecord.log_index < stop)
        )
    }
    items = []
    for index, data in found:
        record = records.get(index)
        items.append(
            LogEntryOut(
                index=index,
                data=data.decode("utf-8", "replace"),
                kind=record.kind if record else None,
                subject_type=record.subject_type if record else None,
                subject_id=record.subject_id if record else None,
            ).model_dump(mode="json")
        )
    return respond(request, caller, items)


def _proof(
    request: Request, caller: Principal, size: int, prove: Callable[[], list[bytes]]
) -> Response:
    try:
        hashes = prove()
    except LogError as exc:
        raise invalid(str(exc)) from None
    return respond(request, caller, ProofOut(tree_size=size, hashes=[h.hex() for h in hashes]))


@log_router.get("/v1/log/proofs/inclusion", response_model=ProofOut)
def inclusion_proof(
    request: Request,
    caller: Caller,
    state: State,
    index: int = Query(ge=0, le=2**62),
    tree_size: int | None = Query(None, ge=1, le=2**62),
) -> Response:
    """The audit path of entry ``index`` in the tree of ``tree_size`` (default: now)."""
    authorize(caller, Action.READ_PUBLIC)
    size = tree_size if tree_size is not None else state.log.size
    return _proof(request, caller, size, lambda: state.log.inclusion_proof(index, size))


@log_router.get("/v1/log/proofs/consistency", response_model=ProofOut)
def consistency_proof(
    request: Request,
    caller: Caller,
    state: State,
    first: int = Query(ge=0, le=2**62),
    second: int | None = Query(None, ge=0, le=2**62),
) -> Response:
    """The proof that the tree of size ``second`` (default: now) extends ``first``."""
    authorize(caller, Action.READ_PUBLIC)
    size = second if second is not None else state.log.size
    return _proof(request, caller, size, lambda: state.log.consistency_proof(first, size))
