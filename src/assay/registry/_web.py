"""What every web page shares: the templates, the page frame (who is signed in, the
CSRF token of their session), cookies, and a few words for times and states."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from assay._util.db import aware
from assay.registry._auth import SESSION_COOKIE
from assay.registry._visibility import Principal

if TYPE_CHECKING:
    from assay.registry._app import RegistryState

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
LOGIN_CSRF_COOKIE = "assay_login_csrf"

STATE_WORDS = {
    "filed": "filed",
    "acknowledged": "acknowledged",
    "disputed": "disputed",
    "fix_claimed": "fix claimed",
    "fix_confirmed": "fix confirmed",
    "extended": "embargo extended",
    "published": "published",
}
ACTION_WORDS = {
    "acknowledge": "Acknowledge",
    "dispute": "Dispute",
    "claim-fix": "Claim a fix",
    "confirm-fix": "Confirm the fix",
    "reject-fix": "Reject the fix",
    "propose-extension": "Propose an extension",
    "agree-extension": "Agree to the extension",
    "attach-reproduction": "Attach reproduction material",
    "release-reproduction": "Release the reproduction material",
}


def when(moment: datetime | None) -> str:
    if moment is None:
        return "—"
    return aware(moment).strftime("%Y-%m-%d %H:%M UTC")


def day(moment: datetime | None) -> str:
    return aware(moment).strftime("%Y-%m-%d") if moment is not None else "—"


def remaining(moment: datetime | None, now: datetime) -> str:
    """'in 3 days, 4 hours' / 'overdue by 2 hours' for an embargo timer."""
    if moment is None:
        return ""
    delta = aware(moment) - now
    late = delta < timedelta(0)
    delta = abs(delta)
    days, hours = delta.days, delta.seconds // 3600
    if days:
        text = f"{days} day{'s' * (days != 1)}" + (f", {hours} h" if hours and days < 7 else "")
    elif hours:
        text = f"{hours} hour{'s' * (hours != 1)}"
    else:
        text = f"{max(1, delta.seconds // 60)} min"
    return f"overdue by {text}" if late else f"in {text}"


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "j2", "xml"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = when
    env.filters["day"] = day
    env.filters["state_words"] = lambda s: STATE_WORDS.get(str(s), str(s))
    env.filters["action_words"] = lambda a: ACTION_WORDS.get(str(a), str(a))
    env.filters["urlquote"] = lambda s: quote(str(s), safe="")
    return env


ENV = _environment()


def registry(request: Request) -> RegistryState:
    state: RegistryState = request.app.state.registry
    return state


def secure_cookies(request: Request) -> bool:
    """Cookies are Secure when the registry is reached over TLS: its public URL says
    https (behind a proxy), or the request came in over it."""
    public = registry(request).public_url or ""
    return public.startswith("https://") or request.url.scheme == "https"


def render(
    request: Request,
    principal: Principal,
    template: str,
    *,
    status: int = 200,
    title: str,
    **context: Any,
) -> HTMLResponse:
    """A page: the template with the frame's context (who is signed in, CSRF token)."""
    csrf = getattr(request.state, "csrf_token", None) if principal.session_id else None
    html = ENV.get_template(template).render(
        request=request,
        me=principal,
        csrf=csrf,
        title=title,
        now=registry(request).clock.now(),
        remaining=remaining,
        **context,
    )
    return HTMLResponse(
        html,
        status_code=status,
        headers={
            "Cache-Control": "no-store" if not principal.anonymous else "no-cache",
            "Vary": "Authorization, Cookie",
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin",
            "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
            "style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; form-action 'self'",
        },
    )


def set_session_cookie(request: Request, response: Response, value: str, max_age: int) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request),
    )


def login_csrf(request: Request) -> str:
    """The log-in form's CSRF token (a double-submit cookie: there is no session yet)."""
    return request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)


def set_login_csrf(request: Request, response: Response, value: str) -> None:
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        value,
        max_age=3600,
        path="/login",
        httponly=True,
        samesite="strict",
        secure=secure_cookies(request),
    )


def local_path(target: str | None) -> str:
    """A redirect target that stays on this site."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/inbox"
    return target
