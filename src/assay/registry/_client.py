"""A client of a registry's API, used by ``assay registry ...``, ``assay audit
--engagement`` and ``assay verify --registry``."""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from typing import Any

import httpx

from assay._util.errors import AssayError, UsageError
from assay.registry._auth import TOKEN_ENV
from assay.registry._sealed import SealingKey

URL_ENV = "ASSAY_REGISTRY_URL"
_TIMEOUT = 60.0


class RegistryClient:
    """JSON over HTTP with the token from ``$ASSAY_REGISTRY_TOKEN`` (or none: public)."""

    def __init__(self, url: str | None, token: str | None = None, *, anonymous: bool = False):
        base = url or os.environ.get(URL_ENV)
        if not base:
            raise UsageError("no registry given", hint=f"pass --registry URL or set {URL_ENV}")
        if not base.startswith(("http://", "https://")):
            raise UsageError(f"the registry URL must start with http:// or https://: {base}")
        self.url = base.rstrip("/")
        secret = None if anonymous else (token or os.environ.get(TOKEN_ENV))
        headers = {"Authorization": f"Bearer {secret}"} if secret else {}
        self._http = httpx.Client(base_url=self.url, headers=headers, timeout=_TIMEOUT)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise AssayError(f"cannot reach the registry at {self.url}: {exc}") from None
        if response.status_code >= 400:
            try:
                message = response.json()["error"]["message"]
            except (ValueError, KeyError, TypeError):
                message = response.text[:200]
            raise AssayError(f"the registry answered {response.status_code}: {message}")
        if response.headers.get("content-type", "").startswith("application/json"):
            return response.json()
        return response.content

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params={k: v for k, v in params.items() if v is not None})

    def post(self, path: str, body: Any = None) -> Any:
        return self.request("POST", path, json=body if body is not None else {})

    def all_pages(self, path: str, **params: Any) -> list[Any]:
        items: list[Any] = []
        cursor = None
        while True:
            page = self.get(path, cursor=cursor, **params)
            items += page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                return items


@dataclass(frozen=True)
class GatewayAccess:
    """What an engagement's tester needs to audit: the gateway and the opened token."""

    engagement_id: int
    gateway_url: str
    token: str
    tier: str
    state: str


def engagement_access(
    client: RegistryClient, engagement_id: int, key: SealingKey, *, start: bool = True
) -> GatewayAccess:
    """Fetch the engagement's gateway access and open its sealed token with ``key``;
    with ``start``, move an engagement with fresh access to testing."""
    engagement = client.get(f"/v1/engagements/{engagement_id}")
    grant = client.get(f"/v1/engagements/{engagement_id}/access")
    if grant["recipient_key_id"] != key.key_id:
        raise AssayError(
            f"the gateway token of engagement {engagement_id} is sealed to "
            f"{grant['recipient_key_id']}, not to your key {key.key_id}",
            hint="ask the developer to grant access again to your current sealing key",
        )
    token = key.open(base64.b64decode(grant["sealed_token_b64"])).decode()
    state = engagement["state"]
    if start and state == "access_granted":
        state = client.post(f"/v1/engagements/{engagement_id}/start", {"reason": "assay audit"})[
            "state"
        ]
    return GatewayAccess(
        engagement_id=engagement_id,
        gateway_url=grant["gateway_url"],
        token=token,
        tier=grant["tier"],
        state=state,
    )
