"""Models, their versions with fingerprints, and outside-the-box documents."""

from __future__ import annotations

import base64
import json

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy import select

from assay._util.hashing import sha256_bytes
from assay.registry._db import Document, Model, ModelVersion, Submission
from assay.registry._deps import Caller, Db, IntId, Paging, State, now, paginate, respond
from assay.registry._errors import RegistryError, conflict, decode_b64, invalid
from assay.registry._policy import Action, authorize
from assay.registry._resources import (
    document_resource,
    get_or_404,
    load_engagement,
    load_model,
    load_version,
    model_resource,
    org_by_slug,
    slug_of,
    submission_resource,
    version_resource,
)
from assay.registry._schemas import (
    DocumentIn,
    DocumentOut,
    Fingerprint,
    ModelIn,
    ModelOut,
    Page,
    SubmissionBrief,
    VersionIn,
    VersionOut,
)
from assay.registry._types import DocumentKind, ReleaseStatus, Visibility
from assay.registry._visibility import Principal, Sight, sight

router = APIRouter(tags=["models"])

# What a document may be, and how its bytes are checked before they are stored.
DOCUMENT_TYPES = {
    "text/markdown": "text",
    "text/plain": "text",
    "application/json": "json",
    "application/pdf": "pdf",
}


def _document_out(doc: Document) -> DocumentOut:
    return DocumentOut(
        id=doc.id,
        kind=DocumentKind(doc.kind),
        filename=doc.filename,
        media_type=doc.media_type,
        size=doc.size,
        sha256=doc.sha256,
        visibility=Visibility(doc.visibility),
        created_at=doc.created_at,
    )


def version_out(
    db: Db, caller: Principal, version: ModelVersion, model: Model, *, detail: bool
) -> VersionOut:
    developer = slug_of(db, model.org_id)
    out = VersionOut(
        id=version.id,
        model_id=model.id,
        model=model.name,
        developer=developer,
        version=version.version,
        release_status=ReleaseStatus(version.release_status),
        fingerprints=[Fingerprint(**f) for f in version.fingerprints],
        created_at=version.created_at,
    )
    if detail:
        docs = db.scalars(
            select(Document).where(Document.version_id == version.id).order_by(Document.id)
        )
        out.documents = [
            _document_out(d)
            for d in docs
            if sight(caller, document_resource(db, d, version, model)) is not Sight.NONE
        ]
        audits = []
        for sub in db.scalars(
            select(Submission).where(Submission.version_id == version.id).order_by(Submission.id)
        ):
            engagement = load_engagement(db, sub.engagement_id).row
            if sight(caller, submission_resource(sub, engagement)) is Sight.NONE:
                continue
            audits.append(
                SubmissionBrief(
                    id=sub.id,
                    tester=slug_of(db, sub.org_id),
                    tier=sub.summary["tier"],
                    decision=sub.summary["decision"],
                    visibility=Visibility(sub.visibility),
                    created_at=sub.created_at,
                )
            )
        out.audits = audits
    return out


def model_out(db: Db, caller: Principal, model: Model) -> ModelOut:
    versions = db.scalars(
        select(ModelVersion).where(ModelVersion.model_id == model.id).order_by(ModelVersion.id)
    )
    return ModelOut(
        id=model.id,
        developer=slug_of(db, model.org_id),
        name=model.name,
        description=model.description,
        created_at=model.created_at,
        versions=[
            version_out(db, caller, v, model, detail=False)
            for v in versions
            if sight(caller, version_resource(db, v, model)) is not Sight.NONE
        ],
    )


@router.get("/v1/models", response_model=Page[ModelOut])
def list_models(
    request: Request,
    caller: Caller,
    db: Db,
    page: Paging,
    developer: str | None = Query(None, pattern=r"^[a-z0-9][a-z0-9-]{0,62}$"),
) -> Response:
    """Models you may see: every model with a released version, and your own."""
    authorize(caller, Action.READ_PUBLIC)
    query = select(Model)
    if developer is not None:
        query = query.where(Model.org_id == org_by_slug(db, developer).id)
    rows, cursor = paginate(
        db,
        query,
        Model.id,
        page,
        lambda m: sight(caller, model_resource(db, m)) is not Sight.NONE,
    )
    items = [model_out(db, caller, m) for m in rows]
    return respond(request, caller, Page[ModelOut](items=items, next_cursor=cursor))


@router.post("/v1/models", response_model=ModelOut, status_code=201)
def create_model(request: Request, caller: Caller, db: Db, body: ModelIn) -> Response:
    """Register a model (developers)."""
    authorize(caller, Action.CREATE_MODEL)
    assert caller.org_id is not None
    if db.scalar(select(Model).where(Model.org_id == caller.org_id, Model.name == body.name)):
        raise conflict(f"you have a model named {body.name!r} already", "exists")
    model = Model(
        org_id=caller.org_id, name=body.name, description=body.description, created_at=now(request)
    )
    db.add(model)
    db.commit()
    return respond(request, caller, model_out(db, caller, model), status_code=201)


@router.get("/v1/models/{model_id}", response_model=ModelOut)
def show_model(request: Request, caller: Caller, db: Db, model_id: IntId) -> Response:
    model = load_model(db, model_id)
    authorize(caller, Action.READ_PUBLIC, model_resource(db, model))
    return respond(request, caller, model_out(db, caller, model))


@router.post("/v1/models/{model_id}/versions", response_model=VersionOut, status_code=201)
def create_version(
    request: Request, caller: Caller, db: Db, model_id: IntId, body: VersionIn
) -> Response:
    """Register a version with the fingerprints audits of it record: the weights
    manifest (assay-manifest-v1) for open weights, the endpoint identity
    (assay-endpoint-v1) for a served model."""
    model = load_model(db, model_id)
    authorize(caller, Action.EDIT_MODEL, model_resource(db, model))
    exists = db.scalar(
        select(ModelVersion).where(
            ModelVersion.model_id == model.id, ModelVersion.version == body.version
        )
    )
    if exists is not None:
        raise conflict(f"{model.name} has a version {body.version!r} already", "exists")
    version = ModelVersion(
        model_id=model.id,
        version=body.version,
        release_status=body.release_status.value,
        fingerprints=[f.model_dump() for f in body.fingerprints],
        created_at=now(request),
    )
    db.add(version)
    db.commit()
    return respond(
        request, caller, version_out(db, caller, version, model, detail=True), status_code=201
    )


@router.get("/v1/versions/{version_id}", response_model=VersionOut)
def show_version(request: Request, caller: Caller, db: Db, version_id: IntId) -> Response:
    """A model version with its documents and the accepted audits of it you may see."""
    version, model = load_version(db, version_id)
    authorize(caller, Action.READ_PUBLIC, version_resource(db, version, model))
    return respond(request, caller, version_out(db, caller, version, model, detail=True))


def check_document(body: DocumentIn, max_bytes: int) -> bytes:
    """The document's bytes, after checking size, digest and that they are what the
    media type says; 413/422 otherwise, before anything is stored."""
    kind = DOCUMENT_TYPES.get(body.media_type)
    if kind is None:
        raise invalid(
            f"media type {body.media_type!r} is not accepted; use one of "
            + ", ".join(sorted(DOCUMENT_TYPES))
        )
    if len(body.content_b64) > (max_bytes * 4) // 3 + 4:
        raise RegistryError(413, f"documents are at most {max_bytes} bytes", code="too_large")
    content = decode_b64(body.content_b64, "content_b64")
    if not content:
        raise invalid("the document is empty")
    if len(content) > max_bytes:
        raise RegistryError(413, f"documents are at most {max_bytes} bytes", code="too_large")
    if body.sha256 is not None and sha256_bytes(content) != body.sha256:
        raise invalid("the content does not match the sha256 given", "digest_mismatch")
    if kind == "pdf" and not content.startswith(b"%PDF-"):
        raise invalid("the content is not a PDF file")
    if kind in ("text", "json"):
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError:
            raise invalid(f"{body.media_type} content must be UTF-8 text") from None
        if "\x00" in text:
            raise invalid("text content must not contain NUL characters")
        if kind == "json":
            try:
                json.loads(text)
            except ValueError:
                raise invalid("the content is not valid JSON") from None
    return content


@router.post("/v1/versions/{version_id}/documents", response_model=DocumentOut, status_code=201)
def add_document(
    request: Request, caller: Caller, db: Db, state: State, version_id: IntId, body: DocumentIn
) -> Response:
    """Attach an outside-the-box document (model card, methodology, training-data
    statement, safety case): checked, hashed, stored with its visibility."""
    version, model = load_version(db, version_id)
    authorize(caller, Action.EDIT_MODEL, model_resource(db, model))
    content = check_document(body, state.limits.max_document_bytes)
    doc = Document(
        version_id=version.id,
        kind=body.kind.value,
        filename=body.filename,
        media_type=body.media_type,
        size=len(content),
        sha256=sha256_bytes(content),
        visibility=body.visibility.value,
        content=content,
        created_at=now(request),
    )
    db.add(doc)
    db.commit()
    return respond(request, caller, _document_out(doc), status_code=201)


@router.get("/v1/documents/{document_id}", response_model=None)
def get_document(request: Request, caller: Caller, db: Db, document_id: IntId) -> Response:
    """The document's bytes, as an attachment, with its digest as the ETag."""
    doc = get_or_404(db, Document, document_id, "document")
    version, model = load_version(db, doc.version_id)
    authorize(caller, Action.READ_PUBLIC, document_resource(db, doc, version, model))
    etag = f'"{doc.sha256.removeprefix("sha256:")}"'
    headers = {
        "ETag": etag,
        "Vary": "Authorization",
        "Cache-Control": "no-cache" if caller.anonymous else "private, no-cache",
        "Content-Disposition": f'attachment; filename="{doc.filename}"',
        "X-Content-Type-Options": "nosniff",
        "Digest": "sha-256=" + base64.b64encode(bytes.fromhex(etag.strip('"'))).decode(),
    }
    if etag in (request.headers.get("if-none-match") or ""):
        return Response(status_code=304, headers=headers)
    return Response(doc.content, media_type=doc.media_type, headers=headers)
