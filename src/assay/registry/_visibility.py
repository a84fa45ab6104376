"""What a principal may see of a resource: one function, used by every reader (the
API, the web pages, the Atom feed, and the choice of who is sent a notification), so
no page, feed or webhook can show what the API would hide.

A resource is described by :class:`Resource`, built by the loaders from rows: who owns
it, which organisations are parties to it, whether it is public, whether its summary
is, whether authorities may read it. :func:`sight` turns that into how much the
principal sees. Findings are the case with three levels: their parties (the testing
organisation, the developer, the authorities notified) see everything, everyone else
sees nothing until publication and the public summary after it; their reproduction
material is a resource of its own, seen by each box's recipient only, and by everyone
only when the tester releases it after publication.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

from assay.registry._types import OrgKind, Role, Scope


@dataclass(frozen=True)
class Principal:
    """Who is asking: an organisation's user through an API token, or the public."""

    org_id: int | None = None
    org_slug: str | None = None
    org_kind: OrgKind | None = None
    user_id: int | None = None
    role: Role | None = None
    scopes: frozenset[Scope] = frozenset()
    token_id: str | None = None
    session_id: str | None = None  # signed in through the browser, not a token

    @property
    def anonymous(self) -> bool:
        return self.org_id is None


PUBLIC = Principal()


def org_principal(org_id: int, org_slug: str, org_kind: OrgKind) -> Principal:
    """An organisation as a reader (what it may be told, e.g. in a webhook)."""
    return Principal(
        org_id=org_id, org_slug=org_slug, org_kind=org_kind, scopes=frozenset({Scope.READ})
    )


class Sight(IntEnum):
    """How much of a resource a principal sees. Ordered: more is greater."""

    NONE = 0  # not even that it exists (answered as 404)
    SUMMARY = 1  # its public face (findings: the published summary)
    FULL = 2  # everything the registry holds in clear


@dataclass(frozen=True)
class Resource:
    """The facts visibility depends on."""

    kind: str
    id: int | str | None = None
    owner_org_id: int | None = None
    parties: frozenset[int] = field(default_factory=frozenset)
    public: bool = False
    summary_public: bool = False  # everyone sees SUMMARY (a published finding)
    authorities_read: bool = False


def sight(principal: Principal, resource: Resource) -> Sight:
    """How much ``principal`` may see of ``resource``.

    Public resources are seen in full by everyone. Otherwise the owner and the parties
    see everything; authorities see what is marked readable by them; anyone else sees
    the summary when it is public (a published finding), or nothing, not even that it
    exists. A principal without the read scope sees only what the public sees.
    """
    if resource.public:
        return Sight.FULL
    otherwise = Sight.SUMMARY if resource.summary_public else Sight.NONE
    if principal.anonymous or Scope.READ not in principal.scopes:
        return otherwise
    if principal.org_id == resource.owner_org_id or principal.org_id in resource.parties:
        return Sight.FULL
    if resource.authorities_read and principal.org_kind is OrgKind.AUTHORITY:
        return Sight.FULL
    return otherwise
