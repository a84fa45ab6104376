"""``assay registry org|user|token``: bootstrapping, for the registry's operator, on the
database directly."""

from __future__ import annotations

from datetime import timedelta

import typer

from assay._util.errors import UsageError
from assay.cli._registry_common import DB as _DB
from assay.cli._registry_common import now as _now
from assay.cli._registry_common import sessions as _sessions

org_app = typer.Typer(help="Organisations (operator, on the database).", no_args_is_help=True)
user_app = typer.Typer(help="Users (operator, on the database).", no_args_is_help=True)
token_app = typer.Typer(help="API tokens (operator, on the database).", no_args_is_help=True)


@org_app.command("create")
def org_create(
    slug: str = typer.Argument(..., help="Short name: lowercase letters, digits, '-'."),
    kind: str = typer.Option(..., "--kind", help="developer, tester or authority."),
    name: str | None = typer.Option(None, "--name", help="Display name."),
    jurisdiction: str | None = typer.Option(None, "--jurisdiction", help="E.g. EU, UK, US-CA."),
    db: str | None = _DB,
) -> None:
    """Create an organisation."""
    from assay.registry import OrgKind
    from assay.registry._auth import create_org

    try:
        org_kind = OrgKind(kind)
    except ValueError:
        raise UsageError(
            f"unknown kind {kind!r}", hint="use developer, tester or authority"
        ) from None
    with _sessions(db)() as session:
        org = create_org(
            session, slug, kind=org_kind, name=name, jurisdiction=jurisdiction, now=_now()
        )
        session.commit()
        typer.echo(f"created {org.kind} organisation {org.slug}")


@org_app.command("list")
def org_list(db: str | None = _DB) -> None:
    """List organisations."""
    from sqlalchemy import select

    from assay.registry._db import Organisation

    with _sessions(db)() as session:
        for org in session.scalars(select(Organisation).order_by(Organisation.id)):
            typer.echo(f"{org.slug:<24} {org.kind:<10} {org.name}")


@user_app.command("add")
def user_add(
    org: str = typer.Argument(..., help="The user's organisation."),
    name: str = typer.Argument(..., help="User name (e.g. an email address)."),
    role: str = typer.Option("member", "--role", help="admin or member."),
    db: str | None = _DB,
) -> None:
    """Add a user to an organisation."""
    from assay.registry import Role
    from assay.registry._auth import add_user

    try:
        user_role = Role(role)
    except ValueError:
        raise UsageError(f"unknown role {role!r}", hint="use admin or member") from None
    with _sessions(db)() as session:
        user = add_user(session, org, name, role=user_role, now=_now())
        session.commit()
        typer.echo(f"added {user.name} to {org} as {user.role}")


@user_app.command("password")
def user_password(
    name: str = typer.Argument(..., help="The user."),
    stdin: bool = typer.Option(
        False, "--stdin", help="Read the password from standard input (one line)."
    ),
    db: str | None = _DB,
) -> None:
    """Set a user's password for signing in to the web pages (argon2id)."""
    import sys

    from assay.registry._auth import set_password

    if stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    with _sessions(db)() as session:
        set_password(session, name, password)
        session.commit()
    typer.echo(f"password set for {name}")


def _duration(text: str) -> timedelta | None:
    from assay.cli._gateway import parse_duration

    return parse_duration(text)


@token_app.command("issue")
def token_issue(
    user: str = typer.Option(..., "--user", "-u", help="The user the token acts for."),
    scope: list[str] = typer.Option(
        ["read"], "--scope", "-s", help="read, submit, admin (repeatable; read is always in)."
    ),
    expires: str = typer.Option("90d", "--expires", help="30d, 12h, ... or never."),
    label: str | None = typer.Option(None, "--label", help="What the token is for."),
    db: str | None = _DB,
) -> None:
    """Issue an API token; the token is printed alone on the last line, once."""
    from sqlalchemy import select

    from assay.registry._auth import issue_token
    from assay.registry._db import User

    with _sessions(db)() as session:
        row = session.scalar(select(User).where(User.name == user))
        if row is None:
            raise UsageError(
                f"no user named {user!r}", hint="add one with `assay registry user add`"
            )
        try:
            issued = issue_token(
                session, row, scopes=scope, expires_in=_duration(expires), label=label, now=_now()
            )
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        session.commit()
    expiry = issued.expires_at.isoformat() if issued.expires_at else "never"
    typer.echo(f"token {issued.id} for {user}: scopes {','.join(issued.scopes)}, expires {expiry}")
    typer.echo(issued.secret)


@token_app.command("revoke")
def token_revoke(token_id: str = typer.Argument(...), db: str | None = _DB) -> None:
    """Revoke a token at once."""
    from assay.registry._db import ApiToken

    with _sessions(db)() as session:
        row = session.get(ApiToken, token_id)
        if row is None:
            raise UsageError(f"no token with id {token_id!r}")
        if row.revoked_at is None:
            row.revoked_at = _now()
            session.commit()
    typer.echo(f"revoked {token_id}")
