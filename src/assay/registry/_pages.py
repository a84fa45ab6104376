"""The registry's web pages, rendered on the server (Jinja2), no script needed.

Public: scorecards per model version, organisations with their services and record,
published findings, the transparency-log browser, the Atom feed (:mod:`._feed`).
Signed in: the findings inbox, a finding with its trail and the forms for the steps
the reader may take, the form to file a finding, engagements.

Every page asks the same policy and visibility functions as the API; a finding is
rendered from :func:`._routes_findings.finding_out`, as in the API.

Longer than most modules: one router of about twenty short page handlers that share
the session, form and rendering helpers; the templates hold the markup.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import Select, or_, select
from starlette.concurrency import run_in_threadpool

from assay._util.db import aware
from assay.attest import leaf_hash, verify_consistency, verify_inclusion
from assay.registry._auth import SESSION_COOKIE, check_password, close_session, open_session
from assay.registry._db import (
    Engagement,
    EngagementEvent,
    Finding,
    LogRecord,
    Model,
    ModelVersion,
    Organisation,
    Service,
    Submission,
)
from assay.registry._deps import Caller, Db, IntId, State, now
from assay.registry._errors import RegistryError, invalid, not_found
from assay.registry._policy import Action, authorize
from assay.registry._resources import (
    engagement_resource,
    finding_resource,
    load_engagement,
    load_finding,
    load_version,
    model_resource,
    org_by_slug,
    slug_of,
    slugs,
    submission_resource,
    version_resource,
)
from assay.registry._routes_findings import (
    STEP_ROUTES,
    create_finding,
    finding_out,
    take_step,
)
from assay.registry._schemas import FindingIn, FindingOut
from assay.registry._scorecard import audits_of_version
from assay.registry._types import FindingStep, PrevalenceCategory, Severity
from assay.registry._visibility import PUBLIC, Principal, Sight, sight
from assay.registry._web import (
    LOGIN_CSRF_COOKIE,
    STATIC,
    local_path,
    login_csrf,
    render,
    set_login_csrf,
    set_session_cookie,
)

router = APIRouter(include_in_schema=False)
LOG_PAGE = 50
RISK_AREAS = (
    "cbrn_cyber_knowledge",
    "misuse_safeguards",
    "autonomous_behaviour",
    "harmful_discrimination",
    "election_integrity",
)
TIERS = ("black", "grey", "white", "outside")


def html_error(request: Request, status: int, message: str, headers: dict[str, str]) -> Response:
    """An error as a page (the app's error handler for everything outside /v1/)."""
    principal: Principal = getattr(request.state, "principal", PUBLIC)
    if status == 401:
        message = "Sign in to see this page."
    response = render(
        request, principal, "error.html.j2", status=status, title=f"Error {status}", message=message
    )
    for name, value in headers.items():
        if name.lower() != "www-authenticate":
            response.headers[name] = value
    return response


def _signed_in(caller: Principal) -> None:
    authorize(caller, Action.READ_RESTRICTED)


@router.get("/static/registry.css")
def stylesheet() -> FileResponse:
    return FileResponse(
        STATIC / "registry.css",
        media_type="text/css",
        headers={"Cache-Control": "public, max-age=3600"},
    )


# ---- public pages ----------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
def home(request: Request, caller: Caller, db: Db) -> Response:
    authorize(caller, Action.READ_PUBLIC)
    models = []
    for model in db.scalars(select(Model).order_by(Model.id)):
        if sight(caller, model_resource(db, model)) is Sight.NONE:
            continue
        versions = [
            v
            for v in db.scalars(
                select(ModelVersion)
                .where(ModelVersion.model_id == model.id)
                .order_by(ModelVersion.id)
            )
            if sight(caller, version_resource(db, v, model)) is not Sight.NONE
        ]
        models.append((model, slug_of(db, model.org_id), versions))
    published = list(
        db.scalars(
            select(Finding)
            .where(Finding.published_at.is_not(None))
            .order_by(Finding.published_at.desc())
            .limit(10)
        )
    )
    findings = [finding_out(db, caller, f, sight(caller, finding_resource(f))) for f in published]
    return render(
        request, caller, "home.html.j2", title="Registry", models=models, findings=findings
    )


def _finding_summaries(db: Db, caller: Principal, query: Select[Finding]) -> list[FindingOut]:
    """The findings of ``query`` that ``caller`` sees, each as its summary (pages list
    findings in summary; a finding's own page shows it in full)."""
    return [
        finding_out(db, caller, f, Sight.SUMMARY)
        for f in db.scalars(query)
        if sight(caller, finding_resource(f)) is not Sight.NONE
    ]


@router.get("/versions/{version_id}", response_class=HTMLResponse)
def scorecard(request: Request, caller: Caller, db: Db, version_id: IntId) -> Response:
    """A model version's scorecard."""
    version, model = load_version(db, version_id)
    authorize(caller, Action.READ_PUBLIC, version_resource(db, version, model))
    audits = audits_of_version(db, caller, version.id)
    findings = _finding_summaries(
        db,
        caller,
        select(Finding).where(Finding.version_id == version.id).order_by(Finding.id.desc()),
    )
    return render(
        request,
        caller,
        "scorecard.html.j2",
        title=f"{model.name} {version.version}",
        model=model,
        version=version,
        developer=slug_of(db, model.org_id),
        audits=audits,
        findings=findings,
    )


@router.get("/orgs", response_class=HTMLResponse)
def organisations(request: Request, caller: Caller, db: Db) -> Response:
    authorize(caller, Action.READ_PUBLIC)
    orgs = list(db.scalars(select(Organisation).order_by(Organisation.kind, Organisation.slug)))
    return render(request, caller, "orgs.html.j2", title="Organisations", orgs=orgs)


@router.get("/orgs/{slug}", response_class=HTMLResponse)
def organisation(request: Request, caller: Caller, db: Db, slug: str) -> Response:
    """An organisation: a testing organisation's services and record; a developer's
    models."""
    org = org_by_slug(db, slug)
    authorize(caller, Action.READ_PUBLIC)
    services = list(
        db.scalars(
            select(Service)
            .where(Service.org_id == org.id, Service.withdrawn_at.is_(None))
            .order_by(Service.id)
        )
    )
    record = []
    for sub in db.scalars(
        select(Submission).where(Submission.org_id == org.id).order_by(Submission.id.desc())
    ):
        engagement = load_engagement(db, sub.engagement_id).row
        if sight(caller, submission_resource(sub, engagement)) is Sight.NONE:
            continue
        version, model = load_version(db, sub.version_id)
        record.append((sub, model, version))
    findings = _finding_summaries(
        db,
        caller,
        select(Finding)
        .where(or_(Finding.tester_org_id == org.id, Finding.developer_org_id == org.id))
        .order_by(Finding.id.desc()),
    )
    models = [
        m
        for m in db.scalars(select(Model).where(Model.org_id == org.id).order_by(Model.id))
        if sight(caller, model_resource(db, m)) is not Sight.NONE
    ]
    return render(
        request,
        caller,
        "org.html.j2",
        title=org.name,
        org=org,
        services=services,
        record=record,
        findings=findings,
        models=models,
    )


# ---- the transparency log --------------------------------------------------------------


def _records(db: Db, start: int, stop: int) -> dict[int, LogRecord]:
    return {
        r.log_index: r
        for r in db.scalars(
            select(LogRecord).where(LogRecord.log_index >= start, LogRecord.log_index < stop)
        )
    }


def _subject_link(record: LogRecord | None) -> str | None:
    if record is None:
        return None
    if record.subject_type in ("finding", "finding_reproduction"):
        return f"/findings/{record.subject_id}"
    return None


@router.get("/log", response_class=HTMLResponse)
def log_browser(
    request: Request, caller: Caller, db: Db, state: State, start: int | None = None
) -> Response:
    """The transparency log: its signed checkpoint and its entries, newest first."""
    authorize(caller, Action.READ_PUBLIC)
    log = state.log
    size = log.size
    first = max(0, size - LOG_PAGE) if start is None else max(0, min(start, max(size - 1, 0)))
    stop = min(size, first + LOG_PAGE)
    entries = log.entries(first, stop)
    records = _records(db, first, stop)
    rows = [
        (
            index,
            data.decode("utf-8", "replace"),
            records.get(index),
            _subject_link(records.get(index)),
        )
        for index, data in reversed(entries)
    ]
    return render(
        request,
        caller,
        "log.html.j2",
        title="Transparency log",
        log=log,
        size=size,
        checkpoint=log.checkpoint(),
        rows=rows,
        first=first,
        stop=stop,
        page=LOG_PAGE,
    )


@router.get("/log/entries/{index}", response_class=HTMLResponse)
def log_entry_page(request: Request, caller: Caller, db: Db, state: State, index: int) -> Response:
    """One entry, with its inclusion proof in the current tree (checked here too)."""
    authorize(caller, Action.READ_PUBLIC)
    log = state.log
    size = log.size
    if not 0 <= index < size:
        raise not_found("log entry")
    data = log.entries(index, index + 1)[0][1]
    proof = log.inclusion_proof(index, size)
    root = log.root(size)
    ok = verify_inclusion(leaf_hash(data), index, size, proof, root)
    record = _records(db, index, index + 1).get(index)
    return render(
        request,
        caller,
        "log_entry.html.j2",
        title=f"Log entry {index}",
        index=index,
        size=size,
        data=data.decode("utf-8", "replace"),
        record=record,
        link=_subject_link(record),
        proof=[h.hex() for h in proof],
        root=root.hex(),
        verified=ok,
    )


@router.get("/log/consistency", response_class=HTMLResponse)
def log_consistency(
    request: Request,
    caller: Caller,
    state: State,
    first: int | None = None,
    second: int | None = None,
) -> Response:
    """Whether the log of one size extends the log of a smaller one."""
    authorize(caller, Action.READ_PUBLIC)
    log = state.log
    size = log.size
    result: dict[str, Any] | None = None
    if first is not None:
        to = second if second is not None else size
        if not 0 < first <= to <= size:
            raise invalid(f"choose sizes with 0 < first <= second <= {size}")
        proof = log.consistency_proof(first, to)
        old_root, new_root = log.root(first), log.root(to)
        result = {
            "first": first,
            "second": to,
            "old_root": old_root.hex(),
            "new_root": new_root.hex(),
            "proof": [h.hex() for h in proof],
            "verified": verify_consistency(first, old_root, to, new_root, proof),
        }
    return render(
        request,
        caller,
        "log_consistency.html.j2",
        title="Log consistency",
        size=size,
        result=result,
    )


# ---- findings --------------------------------------------------------------------------


@router.get("/findings", response_class=HTMLResponse)
def findings_page(request: Request, caller: Caller, db: Db) -> Response:
    """Published findings."""
    authorize(caller, Action.READ_PUBLIC)
    findings = _finding_summaries(
        db,
        caller,
        select(Finding)
        .where(Finding.published_at.is_not(None))
        .order_by(Finding.published_at.desc())
        .limit(200),
    )
    return render(
        request, caller, "findings.html.j2", title="Published findings", findings=findings
    )


@router.get("/inbox", response_class=HTMLResponse)
def inbox(request: Request, caller: Caller, db: Db) -> Response:
    """The findings your organisation is a party to: what needs you first, with their
    deadlines and the steps you may take."""
    _signed_in(caller)
    rows = [
        f
        for f in db.scalars(select(Finding).order_by(Finding.id.desc()))
        if sight(caller, finding_resource(f)) is Sight.FULL
    ]
    findings = [finding_out(db, caller, f, Sight.FULL) for f in rows]
    findings.sort(
        key=lambda f: (
            not f.allowed_actions,
            f.state == "published",
            f.publish_due_at or datetime.max.replace(tzinfo=aware(f.filed_at).tzinfo),
        )
    )
    kind = caller.org_kind.value if caller.org_kind else ""
    return render(
        request, caller, "inbox.html.j2", title="Findings inbox", findings=findings, kind=kind
    )


@router.get("/findings/new", response_class=HTMLResponse)
def new_finding_form(request: Request, caller: Caller, db: Db) -> Response:
    authorize(caller, Action.FILE_FINDING)
    return _finding_form(request, caller, db, {}, [])


def _finding_form(
    request: Request,
    caller: Principal,
    db: Db,
    values: dict[str, Any],
    errors: list[str],
    status: int = 200,
) -> Response:
    versions = []
    for version in db.scalars(select(ModelVersion).order_by(ModelVersion.id)):
        model = db.get(Model, version.model_id)
        assert model is not None
        if sight(caller, version_resource(db, version, model)) is not Sight.NONE:
            versions.append((version, model))
    engagements = list(
        db.scalars(
            select(Engagement)
            .where(Engagement.tester_org_id == caller.org_id)
            .order_by(Engagement.id.desc())
        )
    )
    return render(
        request,
        caller,
        "finding_new.html.j2",
        status=status,
        title="File a finding",
        versions=versions,
        engagements=engagements,
        values=values,
        errors=errors,
        risk_areas=RISK_AREAS,
        severities=[s.value for s in Severity],
        categories=[c.value for c in PrevalenceCategory],
        tiers=TIERS[:3],
    )


def _number(value: str, cast: Any) -> Any:
    return cast(value) if value.strip() else None


def _finding_body(form: dict[str, str]) -> FindingIn:
    """A filing from the form's fields (pydantic checks it as it checks the API's)."""
    prevalence: dict[str, Any] = {"category": form.get("prevalence_category") or "unknown"}
    try:
        for key, cast in (("rate", float), ("n", int), ("submission_id", int)):
            value = _number(form.get(f"prevalence_{key}", ""), cast)
            if value is not None:
                prevalence[key] = value
        low = _number(form.get("prevalence_low", ""), float)
        high = _number(form.get("prevalence_high", ""), float)
        version_id = int(form.get("version_id") or 0)
        engagement_id = _number(form.get("engagement_id", ""), int)
        submission_id = _number(form.get("submission_id", ""), int)
    except ValueError as exc:
        raise invalid(f"a number field is not a number: {exc}") from None
    if low is not None or high is not None:
        prevalence["interval"] = {"low": low, "high": high}
    for key in ("suite", "metric"):
        if form.get(f"prevalence_{key}", "").strip():
            prevalence[key] = form[f"prevalence_{key}"].strip()

    def split(key: str) -> list[str]:
        return [p.strip() for p in form.get(key, "").split(",") if p.strip()]

    data: dict[str, Any] = {
        "version_id": version_id,
        "engagement_id": engagement_id,
        "submission_id": submission_id,
        "title": form.get("title", ""),
        "summary": form.get("summary", ""),
        "description": form.get("description", ""),
        "policy_violation": form.get("policy_violation", ""),
        "context_info": form.get("context_info", ""),
        "risk_area": form.get("risk_area", "").strip(),
        "severity": form.get("severity", ""),
        "national_security": form.get("national_security") == "on",
        "prevalence": prevalence,
        "impacts": split("impacts"),
        "impacted_stakeholders": split("impacted_stakeholders"),
        "detection": {
            "tier": form.get("detection_tier", ""),
            "technique": form.get("detection_technique", ""),
        },
        "reason": form.get("reason", ""),
    }
    return FindingIn.model_validate(data)


@router.post("/findings/new", response_class=HTMLResponse)
async def file_finding_page(request: Request, caller: Caller, db: Db, state: State) -> Response:
    authorize(caller, Action.FILE_FINDING)
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    try:
        body = _finding_body(form)
        moment = now(request)
        finding = await run_in_threadpool(create_finding, db, state, caller, body, moment)
    except ValidationError as exc:
        errors = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:8]]
        return _finding_form(request, caller, db, form, errors, status=422)
    except RegistryError as exc:
        if exc.status in (401, 403, 404):
            raise
        return _finding_form(request, caller, db, form, [exc.message], status=exc.status)
    return RedirectResponse(f"/findings/{finding.id}", status_code=303)


@router.get("/findings/{finding_id}", response_class=HTMLResponse)
def finding_page(request: Request, caller: Caller, db: Db, finding_id: IntId) -> Response:
    """A finding: in full with its trail and your steps for its parties; its public
    summary once published for everyone else."""
    view = load_finding(db, finding_id)
    seen = authorize(caller, Action.READ_PUBLIC, view.resource, view.parties)
    out = finding_out(db, caller, view.row, seen)
    return render(request, caller, "finding.html.j2", title=out.title, f=out)


@router.post("/findings/{finding_id}/steps/{name}", response_class=HTMLResponse)
async def finding_step(
    request: Request, caller: Caller, db: Db, state: State, finding_id: IntId, name: str
) -> Response:
    """Take a step from the finding's page (the same checks as the API's routes)."""
    step = STEP_ROUTES.get(name)
    if step is None or step in (
        FindingStep.ATTACH_REPRODUCTION,
        FindingStep.RELEASE_REPRODUCTION,
    ):
        raise not_found("step")
    form = await request.form()
    reason = str(form.get("reason", ""))
    extra: dict[str, Any] = {}
    try:
        if step is FindingStep.CLAIM_FIX and str(form.get("fix_released_at", "")).strip():
            extra["fix_released_at"] = datetime.fromisoformat(str(form["fix_released_at"]))
        if step is FindingStep.PROPOSE_EXTENSION:
            days = int(str(form.get("days", "")))
            if not 1 <= days <= 3650:
                raise ValueError
            extra["days"] = days
    except ValueError:
        raise invalid("give a date (YYYY-MM-DD) or a number of days from 1 to 3650") from None
    await run_in_threadpool(
        take_step, request, caller, db, state, finding_id, step, reason, **extra
    )
    return RedirectResponse(f"/findings/{finding_id}", status_code=303)


# ---- engagements -----------------------------------------------------------------------


@router.get("/engagements", response_class=HTMLResponse)
def engagements_page(request: Request, caller: Caller, db: Db) -> Response:
    _signed_in(caller)
    rows = [
        e
        for e in db.scalars(
            select(Engagement)
            .where(
                or_(
                    Engagement.developer_org_id == caller.org_id,
                    Engagement.tester_org_id == caller.org_id,
                )
            )
            .order_by(Engagement.id.desc())
        )
        if sight(caller, engagement_resource(e)) is not Sight.NONE
    ]
    items = []
    for e in rows:
        version, model = load_version(db, e.version_id)
        items.append((e, model, version, slugs(db, {e.developer_org_id, e.tester_org_id})))
    return render(request, caller, "engagements.html.j2", title="Engagements", items=items)


@router.get("/engagements/{engagement_id}", response_class=HTMLResponse)
def engagement_page(request: Request, caller: Caller, db: Db, engagement_id: IntId) -> Response:
    view = load_engagement(db, engagement_id)
    authorize(caller, Action.READ_RESTRICTED, view.resource, view.parties)
    e = view.row
    version, model = load_version(db, e.version_id)
    events = list(
        db.scalars(
            select(EngagementEvent)
            .where(EngagementEvent.engagement_id == e.id)
            .order_by(EngagementEvent.id)
        )
    )
    names = slugs(db, {e.developer_org_id, e.tester_org_id, *(ev.actor_org_id for ev in events)})
    submissions = list(
        db.scalars(
            select(Submission).where(Submission.engagement_id == e.id).order_by(Submission.id)
        )
    )
    findings = _finding_summaries(db, caller, select(Finding).where(Finding.engagement_id == e.id))
    return render(
        request,
        caller,
        "engagement.html.j2",
        title=f"Engagement {e.id}",
        e=e,
        model=model,
        version=version,
        events=events,
        names=names,
        submissions=submissions,
        findings=findings,
    )


# ---- signing in ------------------------------------------------------------------------


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, caller: Caller, next: str = "/inbox") -> Response:
    token = login_csrf(request)
    response = render(
        request, caller, "login.html.j2", title="Sign in", login_token=token, next=local_path(next)
    )
    set_login_csrf(request, response, token)
    return response


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request, caller: Caller, db: Db) -> Response:
    """Sign in with a user name and password; a session cookie follows."""
    form = await request.form()
    name, password = str(form.get("user", "")), str(form.get("password", ""))
    target = local_path(str(form.get("next", "/inbox")))
    cookie_token = request.cookies.get(LOGIN_CSRF_COOKIE)
    if not cookie_token or form.get("csrf") != cookie_token:
        raise RegistryError(403, "the form expired: reload the page and sign in again", code="csrf")
    moment = now(request)
    try:
        user = await run_in_threadpool(check_password, db, name, password, moment)
    except RegistryError as exc:
        if exc.status not in (401, 429):
            raise
        token = login_csrf(request)
        response = render(
            request,
            caller,
            "login.html.j2",
            status=exc.status,
            title="Sign in",
            login_token=token,
            next=target,
            error=exc.message,
            user=name,
        )
        response.headers.update({k: v for k, v in exc.headers.items() if k != "WWW-Authenticate"})
        return response
    new = open_session(db, user, moment)
    db.commit()
    redirect = RedirectResponse(target, status_code=303)
    max_age = int((new.expires_at - moment).total_seconds())
    set_session_cookie(request, redirect, new.cookie, max_age)
    redirect.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return redirect


@router.post("/logout")
def logout(request: Request, caller: Caller, db: Db) -> Response:
    """End the browser session (the CSRF check of every session request applies)."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie and caller.session_id is not None:
        close_session(db, cookie, now(request))
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
