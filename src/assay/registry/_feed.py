"""An Atom feed (RFC 4287) of published findings: what the public may read of each,
decided by the same visibility function as the API and the pages."""

from __future__ import annotations

from datetime import UTC, datetime
from xml.etree import ElementTree as ET

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select

from assay._util.db import aware
from assay.registry._clock import utc
from assay.registry._db import Finding
from assay.registry._deps import Caller, Db
from assay.registry._policy import Action, authorize
from assay.registry._resources import finding_resource
from assay.registry._visibility import PUBLIC, Sight, sight

router = APIRouter(include_in_schema=False)
ATOM = "http://www.w3.org/2005/Atom"
FEED_SIZE = 50
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


def base_url(request: Request) -> str:
    public = request.app.state.registry.public_url
    return (public or str(request.base_url)).rstrip("/")


def _iso(moment: datetime) -> str:
    return utc(moment).isoformat().replace("+00:00", "Z")


def _tag(base: str, what: str) -> str:
    host = base.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0] or "localhost"
    return f"tag:{host},2026:{what}"


def _text(parent: ET.Element, tag: str, text: str, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
    element.text = text
    return element


@router.get("/feed.atom")
def feed(request: Request, caller: Caller, db: Db) -> Response:
    """Published findings, newest first: their public summary and a link to each."""
    authorize(caller, Action.READ_PUBLIC)
    base = base_url(request)
    rows = [
        f
        for f in db.scalars(
            select(Finding)
            .where(Finding.published_at.is_not(None))
            .order_by(Finding.published_at.desc(), Finding.id.desc())
            .limit(FEED_SIZE)
        )
        # the public's view, whoever asks: the feed is one document for everyone
        if sight(PUBLIC, finding_resource(f)) is Sight.SUMMARY
    ]
    ET.register_namespace("", ATOM)
    root = ET.Element(f"{{{ATOM}}}feed")
    _text(root, "id", _tag(base, "findings"))
    _text(root, "title", "Published findings")
    _text(root, "subtitle", "Findings published by the registry after coordinated disclosure")
    updated = max((aware(f.published_at) for f in rows if f.published_at), default=EPOCH)
    _text(root, "updated", _iso(updated))
    ET.SubElement(root, f"{{{ATOM}}}link", {"rel": "self", "href": f"{base}/feed.atom"})
    ET.SubElement(root, f"{{{ATOM}}}link", {"rel": "alternate", "href": f"{base}/findings"})
    for f in rows:
        assert f.published_at is not None and f.public_record is not None
        record = f.public_record
        entry = ET.SubElement(root, f"{{{ATOM}}}entry")
        _text(entry, "id", _tag(base, f"finding/{f.id}"))
        _text(entry, "title", record["title"])
        _text(entry, "published", _iso(f.published_at))
        _text(entry, "updated", _iso(f.published_at))
        author = ET.SubElement(entry, f"{{{ATOM}}}author")
        _text(author, "name", record["reporter"])
        ET.SubElement(
            entry, f"{{{ATOM}}}link", {"rel": "alternate", "href": f"{base}/findings/{f.id}"}
        )
        ET.SubElement(entry, f"{{{ATOM}}}category", {"term": record["risk_area"]})
        ET.SubElement(entry, f"{{{ATOM}}}category", {"term": f"severity:{record['severity']}"})
        if record["national_security"]:
            ET.SubElement(entry, f"{{{ATOM}}}category", {"term": "national-security"})
        _text(
            entry,
            "summary",
            f"{record['system']} {record['system_version']} ({record['developer']}): "
            f"{record['summary']}",
        )
    body = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return Response(
        body,
        media_type="application/atom+xml; charset=utf-8",
        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
    )
