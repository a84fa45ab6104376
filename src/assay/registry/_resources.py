"""Loading rows together with the facts visibility and policy decide on."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from assay.registry._db import (
    Document,
    Engagement,
    Finding,
    Model,
    ModelVersion,
    Organisation,
    OrgKey,
    Service,
    Submission,
)
from assay.registry._errors import not_found
from assay.registry._policy import Parties
from assay.registry._types import KeyKind, ReleaseStatus, Visibility
from assay.registry._visibility import Resource

T = TypeVar("T")


def get_or_404(session: Session, table: type[T], row_id: int | str, what: str) -> T:
    """The row of ``table`` with this id, or a 404 naming ``what`` is missing."""
    row = session.get(table, row_id)
    if row is None:
        raise not_found(what)
    return row


def current_key(
    session: Session, key_id: str, kind: KeyKind, org_ids: Collection[int | None]
) -> OrgKey | None:
    """The key ``key_id`` if it is an unrevoked ``kind`` key of one of ``org_ids``."""
    key = session.get(OrgKey, key_id)
    if key is None or key.kind != kind or key.revoked_at is not None or key.org_id not in org_ids:
        return None
    return key


def org_by_slug(session: Session, slug: str) -> Organisation:
    org = session.scalar(select(Organisation).where(Organisation.slug == slug))
    if org is None:
        raise not_found("organisation")
    return org


def org_resource(org: Organisation) -> Resource:
    return Resource(kind="organisation", id=org.id, owner_org_id=org.id, public=True)


def slugs(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.execute(
        select(Organisation.id, Organisation.slug).where(Organisation.id.in_(ids))
    )
    return {row.id: row.slug for row in rows}


def slug_of(session: Session, org_id: int) -> str:
    """The slug of organisation ``org_id``."""
    return slugs(session, {org_id})[org_id]


def _testers_of_versions(session: Session, version_ids: list[int]) -> frozenset[int]:
    if not version_ids:
        return frozenset()
    return frozenset(
        session.scalars(
            select(Engagement.tester_org_id).where(Engagement.version_id.in_(version_ids))
        )
    )


def version_resource(session: Session, version: ModelVersion, model: Model) -> Resource:
    return Resource(
        kind="model version",
        id=version.id,
        owner_org_id=model.org_id,
        parties=_testers_of_versions(session, [version.id]),
        public=version.release_status != ReleaseStatus.INTERNAL,
        authorities_read=True,
    )


def model_resource(session: Session, model: Model) -> Resource:
    versions = list(session.scalars(select(ModelVersion).where(ModelVersion.model_id == model.id)))
    return Resource(
        kind="model",
        id=model.id,
        owner_org_id=model.org_id,
        parties=_testers_of_versions(session, [v.id for v in versions]),
        public=any(v.release_status != ReleaseStatus.INTERNAL for v in versions),
        authorities_read=True,
    )


def load_model(session: Session, model_id: int) -> Model:
    return get_or_404(session, Model, model_id, "model")


def load_version(session: Session, version_id: int) -> tuple[ModelVersion, Model]:
    version = get_or_404(session, ModelVersion, version_id, "model version")
    model = session.get(Model, version.model_id)
    assert model is not None
    return version, model


def document_resource(
    session: Session, document: Document, version: ModelVersion, model: Model
) -> Resource:
    of_version = version_resource(session, version, model)
    return Resource(
        kind="document",
        id=document.id,
        owner_org_id=model.org_id,
        parties=of_version.parties,
        public=of_version.public and document.visibility == Visibility.PUBLIC,
    )


def service_resource(service: Service) -> Resource:
    return Resource(kind="service", id=service.id, owner_org_id=service.org_id, public=True)


def load_service(session: Session, service_id: int) -> Service:
    return get_or_404(session, Service, service_id, "service")


@dataclass(frozen=True)
class EngagementView:
    row: Engagement
    resource: Resource
    parties: Parties


def engagement_resource(engagement: Engagement) -> Resource:
    return Resource(
        kind="engagement",
        id=engagement.id,
        parties=frozenset({engagement.developer_org_id, engagement.tester_org_id}),
    )


def load_engagement(session: Session, engagement_id: int) -> EngagementView:
    row = get_or_404(session, Engagement, engagement_id, "engagement")
    return EngagementView(
        row, engagement_resource(row), Parties(row.developer_org_id, row.tester_org_id)
    )


def submission_resource(submission: Submission, engagement: Engagement) -> Resource:
    return Resource(
        kind="submission",
        id=submission.id,
        owner_org_id=submission.org_id,
        parties=frozenset({engagement.developer_org_id, engagement.tester_org_id}),
        public=submission.visibility == Visibility.PUBLIC,
        authorities_read=True,
    )


@dataclass(frozen=True)
class SubmissionView:
    row: Submission
    engagement: Engagement
    resource: Resource
    parties: Parties


def load_submission(session: Session, submission_id: int) -> SubmissionView:
    row = get_or_404(session, Submission, submission_id, "submission")
    engagement = session.get(Engagement, row.engagement_id)
    assert engagement is not None
    return SubmissionView(
        row,
        engagement,
        submission_resource(row, engagement),
        Parties(engagement.developer_org_id, engagement.tester_org_id),
    )


def finding_resource(finding: Finding) -> Resource:
    """A finding: its parties (the testing organisation, the developer, the notified
    authorities) see it in full; everyone sees its public summary once published."""
    return Resource(
        kind="finding",
        id=finding.id,
        owner_org_id=finding.tester_org_id,
        parties=frozenset(
            {finding.developer_org_id, finding.tester_org_id, *finding.authority_org_ids}
        ),
        summary_public=finding.published_at is not None,
    )


def reproduction_resource(finding: Finding, recipient_org_id: int | None) -> Resource:
    """Reproduction material: a sealed box is seen by its recipient only (not even
    the operator can open it); released material by everyone."""
    released = finding.released_at is not None
    return Resource(
        kind="reproduction material",
        id=finding.id,
        parties=frozenset({recipient_org_id}) if recipient_org_id is not None else frozenset(),
        public=released,
    )


@dataclass(frozen=True)
class FindingView:
    row: Finding
    resource: Resource
    parties: Parties


def load_finding(session: Session, finding_id: int) -> FindingView:
    row = get_or_404(session, Finding, finding_id, "finding")
    return FindingView(row, finding_resource(row), Parties(row.developer_org_id, row.tester_org_id))
