"""Who may do what: every (principal, action, resource) is decided here, and only here.

Each route names its :class:`Action`; handlers load the resource and call
:func:`authorize`, which answers in this order:

1. a resource the principal may not see (see :mod:`._visibility`) is 404, so its
   existence does not leak;
2. public actions are allowed to anyone who can see the resource;
3. otherwise no credentials is 401, a token without the action's scope is 403, the
   wrong kind of organisation or role is 403, and the wrong relation to the
   resource (not its owner, not the right party) is 403.

Whether an engagement may move from its current state is the state machine's
question (409), asked after this one.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from assay.registry._errors import forbidden, not_found, unauthorized
from assay.registry._types import OrgKind, Role, Scope
from assay.registry._visibility import Principal, Resource, Sight, sight


class Action(StrEnum):
    # public reads (anyone who can see the resource)
    READ_PUBLIC = "read_public"
    # the caller's own identity
    WHOAMI = "whoami"
    # organisation administration
    MANAGE_KEYS = "manage_keys"
    MANAGE_TOKENS = "manage_tokens"
    # developers
    CREATE_MODEL = "create_model"
    EDIT_MODEL = "edit_model"
    REQUEST_ENGAGEMENT = "request_engagement"
    GRANT_ACCESS = "grant_access"
    COSIGN = "cosign"
    # testers
    PUBLISH_SERVICE = "publish_service"
    EDIT_SERVICE = "edit_service"
    ACCEPT = "accept"
    DECLINE = "decline"
    START = "start"
    SUBMIT = "submit"
    PUBLISH_SUBMISSION = "publish_submission"
    # either party
    CANCEL = "cancel"
    CLOSE = "close"
    # restricted reads (the parties, and authorities where the resource allows)
    READ_RESTRICTED = "read_restricted"
    READ_ACCESS = "read_access"
    # findings and their disclosure (a finding's parties: its testing organisation and
    # the model's developer; notified authorities read them, nobody else acts on them)
    FILE_FINDING = "file_finding"
    ACKNOWLEDGE = "acknowledge"
    DISPUTE = "dispute"
    CLAIM_FIX = "claim_fix"
    CONFIRM_FIX = "confirm_fix"
    REJECT_FIX = "reject_fix"
    PROPOSE_EXTENSION = "propose_extension"
    AGREE_EXTENSION = "agree_extension"
    ATTACH_REPRODUCTION = "attach_reproduction"
    RELEASE_REPRODUCTION = "release_reproduction"
    # notifications of your organisation
    MANAGE_WEBHOOKS = "manage_webhooks"


class Relation(StrEnum):
    """What the principal must be to the resource."""

    ANY = "any"
    OWNER = "owner"  # its organisation owns the resource
    DEVELOPER_PARTY = "developer_party"
    TESTER_PARTY = "tester_party"
    PARTY = "party"


@dataclass(frozen=True)
class Rule:
    scope: Scope | None  # None: a public action
    kinds: frozenset[OrgKind] | None = None  # None: any kind of organisation
    role: Role | None = None
    relation: Relation = Relation.ANY


_DEV = frozenset({OrgKind.DEVELOPER})
_TESTER = frozenset({OrgKind.TESTER})

RULES: dict[Action, Rule] = {
    Action.READ_PUBLIC: Rule(scope=None),
    Action.WHOAMI: Rule(scope=Scope.READ),
    Action.MANAGE_KEYS: Rule(scope=Scope.ADMIN, role=Role.ADMIN, relation=Relation.OWNER),
    Action.MANAGE_TOKENS: Rule(scope=Scope.ADMIN, role=Role.ADMIN, relation=Relation.OWNER),
    Action.CREATE_MODEL: Rule(scope=Scope.SUBMIT, kinds=_DEV),
    Action.EDIT_MODEL: Rule(scope=Scope.SUBMIT, kinds=_DEV, relation=Relation.OWNER),
    Action.REQUEST_ENGAGEMENT: Rule(scope=Scope.SUBMIT, kinds=_DEV, relation=Relation.OWNER),
    Action.GRANT_ACCESS: Rule(scope=Scope.SUBMIT, kinds=_DEV, relation=Relation.DEVELOPER_PARTY),
    Action.COSIGN: Rule(scope=Scope.SUBMIT, kinds=_DEV, relation=Relation.DEVELOPER_PARTY),
    Action.PUBLISH_SERVICE: Rule(scope=Scope.SUBMIT, kinds=_TESTER),
    Action.EDIT_SERVICE: Rule(scope=Scope.SUBMIT, kinds=_TESTER, relation=Relation.OWNER),
    Action.ACCEPT: Rule(scope=Scope.SUBMIT, kinds=_TESTER, relation=Relation.TESTER_PARTY),
    Action.DECLINE: Rule(scope=Scope.SUBMIT, kinds=_TESTER, relation=Relation.TESTER_PARTY),
    Action.START: Rule(scope=Scope.SUBMIT, kinds=_TESTER, relation=Relation.TESTER_PARTY),
    Action.SUBMIT: Rule(scope=Scope.SUBMIT, kinds=_TESTER, relation=Relation.TESTER_PARTY),
    Action.PUBLISH_SUBMISSION: Rule(scope=Scope.SUBMIT, kinds=_TESTER, relation=Relation.OWNER),
    Action.CANCEL: Rule(scope=Scope.SUBMIT, relation=Relation.PARTY),
    Action.CLOSE: Rule(scope=Scope.SUBMIT, relation=Relation.PARTY),
    Action.READ_RESTRICTED: Rule(scope=Scope.READ),
    Action.READ_ACCESS: Rule(scope=Scope.READ, relation=Relation.PARTY),
    Action.FILE_FINDING: Rule(scope=Scope.SUBMIT, kinds=_TESTER),
    Action.ACKNOWLEDGE: Rule(scope=Scope.SUBMIT, kinds=_DEV, relation=Relation.DEVELOPER_PARTY),
    Action.DISPUTE: Rule(scope=Scope.SUBMIT, kinds=_DEV, relation=Relation.DEVELOPER_PARTY),
    Action.CLAIM_FIX: Rule(scope=Scope.SUBMIT, kinds=_DEV, relation=Relation.DEVELOPER_PARTY),
    Action.CONFIRM_FIX: Rule(scope=Scope.SUBMIT, kinds=_TESTER, relation=Relation.TESTER_PARTY),
    Action.REJECT_FIX: Rule(scope=Scope.SUBMIT, kinds=_TESTER, relation=Relation.TESTER_PARTY),
    Action.PROPOSE_EXTENSION: Rule(scope=Scope.SUBMIT, relation=Relation.PARTY),
    Action.AGREE_EXTENSION: Rule(scope=Scope.SUBMIT, relation=Relation.PARTY),
    Action.ATTACH_REPRODUCTION: Rule(
        scope=Scope.SUBMIT, kinds=_TESTER, relation=Relation.TESTER_PARTY
    ),
    Action.RELEASE_REPRODUCTION: Rule(
        scope=Scope.SUBMIT, kinds=_TESTER, relation=Relation.TESTER_PARTY
    ),
    Action.MANAGE_WEBHOOKS: Rule(scope=Scope.ADMIN, role=Role.ADMIN, relation=Relation.OWNER),
}


@dataclass(frozen=True)
class Parties:
    """The two sides of an engagement-bound resource."""

    developer: int
    tester: int


def authorize(
    principal: Principal,
    action: Action,
    resource: Resource | None = None,
    parties: Parties | None = None,
) -> Sight:
    """Allow ``action`` or raise a :class:`RegistryError` (401, 403 or 404). Returns how
    much of the resource the principal sees."""
    rule = RULES[action]
    seen = sight(principal, resource) if resource is not None else Sight.FULL
    if seen is Sight.NONE:
        # a bad or missing token on a private resource is still "who are you?"
        if principal.anonymous and rule.scope is not None:
            raise unauthorized("this needs an API token: send 'Authorization: Bearer <token>'")
        raise not_found(resource.kind if resource is not None else "resource")
    if rule.scope is None:
        return seen
    if principal.anonymous:
        raise unauthorized("this needs an API token: send 'Authorization: Bearer <token>'")
    if rule.scope not in principal.scopes:
        raise forbidden(f"this needs a token with the {rule.scope.value} scope")
    if rule.kinds is not None and principal.org_kind not in rule.kinds:
        allowed = " or ".join(sorted(k.value for k in rule.kinds))
        raise forbidden(f"only a {allowed} organisation may {action.value.replace('_', ' ')}")
    if rule.role is not None and principal.role is not rule.role:
        raise forbidden(f"this needs the {rule.role.value} role in your organisation")
    if not _related(principal, rule.relation, resource, parties):
        raise forbidden(_relation_message(rule.relation, action))
    return seen


def _related(
    principal: Principal, relation: Relation, resource: Resource | None, parties: Parties | None
) -> bool:
    org = principal.org_id
    if relation is Relation.ANY:
        return True
    if relation is Relation.OWNER:
        return resource is not None and resource.owner_org_id == org
    if parties is None:
        return False
    if relation is Relation.DEVELOPER_PARTY:
        return parties.developer == org
    if relation is Relation.TESTER_PARTY:
        return parties.tester == org
    return org in (parties.developer, parties.tester)


def _relation_message(relation: Relation, action: Action) -> str:
    verb = action.value.replace("_", " ")
    return {
        Relation.OWNER: f"only the owning organisation may {verb}",
        Relation.DEVELOPER_PARTY: f"only the developer party may {verb}",
        Relation.TESTER_PARTY: f"only the testing organisation party may {verb}",
        Relation.PARTY: f"only the parties may {verb}",
        Relation.ANY: verb,
    }[relation]
