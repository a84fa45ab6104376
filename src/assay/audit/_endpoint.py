"""From a target spec to an OpenAI-compatible endpoint the suites can query.

Local weights (``builtin:``, ``hf:``) are served by an in-process gateway on a
free loopback port with a token of the audit's tier, so the default path runs
through the same gateway a developer would deploy. ``openai:`` and ``gateway:``
targets are queried directly. Either way the endpoint is probed once for what
it supports (completions, logprobs), and the audit records what it found.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from pydantic import BaseModel

from assay._util.errors import AssayError, UsageError
from assay._util.hashing import sha256_json
from assay.models import (
    ModelFingerprint,
    TargetKind,
    TargetSpec,
    fingerprint_endpoint,
    load_target_model,
)
from assay.tiers import Tier

if TYPE_CHECKING:
    from assay.gateway import RequestLog

OPENAI_KEY_VARS = ("ASSAY_OPENAI_API_KEY", "OPENAI_API_KEY")
GATEWAY_TOKEN_VAR = "ASSAY_GATEWAY_TOKEN"
_PROBE_TIMEOUT = 120.0


class Capabilities(BaseModel):
    """What the endpoint answered to one probe request of each kind."""

    chat: bool = False
    chat_logprobs: bool = False
    completions: bool = False
    completion_logprobs: bool = False
    native_tools: bool = False
    granted_tier: Tier | None = None  # reported by assay gateways only


@dataclass
class Endpoint:
    """A live OpenAI-compatible endpoint serving the target model."""

    spec: TargetSpec
    base_url: str
    api_key: str
    model: str
    fingerprint: ModelFingerprint
    capabilities: Capabilities = field(default_factory=Capabilities)
    in_process: bool = False
    notes: list[str] = field(default_factory=list)
    # in-process gateways only: their request log and the audit's engagement in it
    request_log: RequestLog | None = None
    engagement: str | None = None

    def usable_tier(self, requested: Tier) -> Tier:
        """The tier the endpoint can actually serve, not above ``requested``."""
        caps = self.capabilities
        tier = requested
        if caps.granted_tier is not None and not caps.granted_tier.allows(tier):
            tier = caps.granted_tier
        if tier.allows(Tier.GREY) and not (caps.completion_logprobs or caps.chat_logprobs):
            tier = Tier.BLACK
        return tier


@contextmanager
def open_endpoint(
    spec: TargetSpec,
    *,
    tier: Tier,
    model: str | None = None,
    api_key_env: str | None = None,
    show_progress: bool = True,
    gateway_db: Path | None = None,
    on_phase: Callable[[str], None] = lambda _phase: None,
    fingerprint_behaviour: bool = True,
) -> Iterator[Endpoint]:
    """Yield a probed endpoint for ``spec``; in-process gateways stop on exit. An
    in-process gateway keeps its tokens and request log in ``gateway_db`` (so a resumed
    audit's log covers every run), or in memory. ``on_phase`` hears what is happening
    (loading the model, probing the endpoint) before the first result arrives.
    ``fingerprint_behaviour=False`` skips the six replies that fingerprint an API model
    (a dry run asks only what the endpoint supports)."""
    if spec.is_local:
        # the gateway's web app loads only when a local model is served
        from assay.gateway import BackgroundServer, RequestLog, TokenStore, create_app

        _check_local_folder(spec)
        on_phase(f"loading {spec}")
        local = load_target_model(spec, show_progress=show_progress)
        tokens = TokenStore.at_path(gateway_db) if gateway_db else TokenStore.in_memory()
        engagement = "assay-audit (in-process)"
        _, secret = tokens.issue(tier=tier, engagement=engagement, label="self-issued")
        from assay.gateway.backends import BatchingConfig, LocalBackend  # imports torch

        # the tester's own copy of the weights: no parameter-lookup or float-cap defaults
        backend = LocalBackend(
            local, BatchingConfig(parameter_lookups=True, max_floats_per_request=50_000_000)
        )
        if tier is Tier.WHITE and gateway_db is not None:
            # white-box audits may run fine-tuning attacks; adapters stay with the audit
            backend.enable_fine_tuning(tokens.engine, gateway_db.parent / "adapters")
        from assay.attest import load_or_create_key

        log = RequestLog(tokens.engine, load_or_create_key("gateway"))
        server = BackgroundServer(create_app(backend, tokens, log=log)).start()
        try:
            endpoint = Endpoint(
                spec=spec,
                base_url=server.base_url,
                api_key=secret,
                model=local.name,
                fingerprint=local.fingerprint,
                in_process=True,
                request_log=log,
                engagement=engagement,
            )
            on_phase("probing the in-process gateway (chat, completions, logprobs)")
            endpoint.capabilities = probe(endpoint)
            yield endpoint
        except BaseException:
            # interrupted or failed: do not wait for generations nobody will read
            server.stop(timeout=1.0)
            raise
        server.stop()
        return

    base_url = spec.location if spec.location.endswith("/v1") else spec.location + "/v1"
    if spec.kind is TargetKind.GATEWAY:
        api_key = os.environ.get(api_key_env or GATEWAY_TOKEN_VAR, "")
        if not api_key:
            raise UsageError(
                f"no gateway token: set {api_key_env or GATEWAY_TOKEN_VAR}",
                hint="the developer issues one with `assay gateway token issue`",
            )
    else:
        names = (api_key_env,) if api_key_env else OPENAI_KEY_VARS
        api_key = next((os.environ[n] for n in names if n and os.environ.get(n)), "")
    endpoint = Endpoint(
        spec=spec,
        base_url=base_url,
        api_key=api_key or "no-key",
        model="",
        fingerprint=fingerprint_endpoint(base_url, ""),
    )
    if not api_key:
        endpoint.notes.append(
            f"no API key found in {' or '.join(n for n in names if n)}; sent none"
        )
    on_phase(f"probing {base_url} (models, chat, completions, logprobs)")
    endpoint.model = model or _discover_model(endpoint)
    endpoint.fingerprint = fingerprint_endpoint(base_url, endpoint.model)
    endpoint.capabilities = probe(endpoint)
    if endpoint.capabilities.chat and fingerprint_behaviour:
        on_phase("fingerprinting the model behind the API (six short replies)")
        endpoint.fingerprint.behaviour = behavioural_fingerprint(endpoint)
    yield endpoint


def keep_receipt(endpoint: Endpoint, path: Path) -> bool:
    """Ask an assay gateway for a receipt of this engagement's requests (a signed
    checkpoint of its request log and the leaf hashes of our entries) and append it to
    ``path`` (JSON lines); False when the endpoint is not an assay gateway."""
    if endpoint.spec.kind is not TargetKind.GATEWAY and not endpoint.in_process:
        return False
    with _client(endpoint) as client:
        response = _post_or_get(client, "GET", "/assay/log/receipt", None)
    if response is None or response.status_code != 200:
        return False
    try:
        receipt = response.json()
    except ValueError:
        return False
    with path.open("a", encoding="utf-8") as f:
        f.write(json.dumps(receipt, sort_keys=True) + "\n")
    return True


def _check_local_folder(spec: TargetSpec) -> None:
    """Refuse an ``hf:`` path that cannot hold a model before spending time loading it."""
    if spec.kind is not TargetKind.HF:
        return
    location = spec.location
    path = Path(location).expanduser()
    looks_like_path = location.startswith(("/", "./", "../", "~")) or path.exists()
    if looks_like_path and not path.exists():
        raise UsageError(
            f"no model folder at {location}",
            hint="hf: takes a folder saved by transformers (config.json, weights, tokenizer) "
            "or a hub id already in the local cache",
        )
    if path.is_dir() and not (path / "config.json").is_file():
        raise UsageError(
            f"{location} is not a model folder: it has no config.json",
            hint="point hf: at a folder written by transformers' save_pretrained, with "
            "config.json, the weights and the tokenizer files",
        )


def _client(endpoint: Endpoint) -> httpx.Client:
    return httpx.Client(
        base_url=endpoint.base_url,
        headers={"Authorization": f"Bearer {endpoint.api_key}"},
        timeout=_PROBE_TIMEOUT,
    )


def _discover_model(endpoint: Endpoint) -> str:
    try:
        with _client(endpoint) as client:
            response = client.get("/models")
    except httpx.HTTPError as exc:
        raise AssayError(f"cannot reach {endpoint.base_url}: {exc}") from None
    if response.status_code in (401, 403):
        raise AssayError(
            f"{endpoint.base_url} rejected the credentials ({response.status_code}): {_error_text(response)}"
        )
    if response.status_code != 200:
        raise AssayError(
            f"{endpoint.base_url}/models answered {response.status_code}",
            hint="name the model with --model",
        )
    models: list[str] = [
        m["id"]
        for m in response.json().get("data", [])
        if isinstance(m, dict) and isinstance(m.get("id"), str)
    ]
    if len(models) != 1:
        listing = ", ".join(models[:10]) or "none"
        raise UsageError(
            f"{endpoint.base_url} serves {len(models)} models ({listing})",
            hint="choose one with --model NAME",
        )
    return models[0]


# Fixed prompts whose greedy replies identify which model is answering behind an API.
BEHAVIOUR_PROMPTS = (
    "Complete the sequence: 2, 3, 5, 7, 11,",
    "Translate to French: The library opens at nine.",
    "Name three colours of the rainbow.",
    "Write one sentence about the sea.",
    "What is 17 times 23?",
    "Continue the story: The lighthouse keeper opened the door and",
)


def behavioural_fingerprint(endpoint: Endpoint) -> str | None:
    """sha256 over the greedy replies to :data:`BEHAVIOUR_PROMPTS` (assay-behaviour-v1),
    or None when any request fails. Identical for one model behind one serving stack; an
    API that samples even at temperature 0 gives different digests run to run, which is
    itself worth knowing."""
    replies = []
    with _client(endpoint) as client:
        for prompt in BEHAVIOUR_PROMPTS:
            response = _post_or_get(
                client,
                "POST",
                "/chat/completions",
                {
                    "model": endpoint.model,
                    "messages": [{"role": "user", "content": prompt}],
                    "max_tokens": 24,
                    "temperature": 0,
                    "seed": 0,
                },
            )
            if response is None or response.status_code != 200:
                return None
            try:
                replies.append(str(response.json()["choices"][0]["message"]["content"]))
            except (ValueError, KeyError, IndexError, TypeError):
                return None
    return sha256_json({"version": "assay-behaviour-v1", "replies": replies})


def probe(endpoint: Endpoint) -> Capabilities:
    """Ask once for a chat reply and a completion, each with logprobs."""
    caps = Capabilities()
    with _client(endpoint) as client:
        if endpoint.spec.kind is TargetKind.GATEWAY or endpoint.in_process:
            who = _post_or_get(client, "GET", "/assay/whoami", None)
            if who is not None and who.status_code == 200:
                caps.granted_tier = Tier(who.json()["tier"])
        chat = _post_or_get(
            client,
            "POST",
            "/chat/completions",
            {
                "model": endpoint.model,
                "messages": [{"role": "user", "content": "Say OK."}],
                "max_tokens": 1,
                "temperature": 0,
            },
        )
        if chat is not None and chat.status_code in (401,):
            raise AssayError(f"{endpoint.base_url} rejected the credentials: {_error_text(chat)}")
        caps.chat = chat is not None and chat.status_code == 200
        if caps.granted_tier is None or caps.granted_tier.allows(Tier.GREY):
            chat_lp = _post_or_get(
                client,
                "POST",
                "/chat/completions",
                {
                    "model": endpoint.model,
                    "messages": [{"role": "user", "content": "Say OK."}],
                    "max_tokens": 1,
                    "temperature": 0,
                    "logprobs": True,
                    "top_logprobs": 5,
                },
            )
            caps.chat_logprobs = _has(
                chat_lp, lambda body: body["choices"][0]["logprobs"]["content"][0]["top_logprobs"]
            )
        plain = {"model": endpoint.model, "prompt": "Hello", "max_tokens": 1, "temperature": 0}
        completion = None
        if caps.granted_tier is None or caps.granted_tier.allows(Tier.GREY):
            completion = _post_or_get(client, "POST", "/completions", plain | {"logprobs": 5})
            caps.completion_logprobs = _has(
                completion, lambda body: body["choices"][0]["logprobs"]["top_logprobs"][0]
            )
        if completion is None or completion.status_code != 200:
            # a refusal of logprobs (a black-tier token behind an openai: target, an API
            # without them) says nothing about plain completions: ask for those alone
            completion = _post_or_get(client, "POST", "/completions", plain)
        caps.completions = completion is not None and completion.status_code == 200
    if not caps.chat and not caps.completions:
        raise AssayError(
            f"{endpoint.base_url} answered neither /chat/completions nor /completions for model {endpoint.model!r}"
        )
    return caps


def _post_or_get(
    client: httpx.Client, method: str, path: str, body: dict[str, Any] | None
) -> httpx.Response | None:
    try:
        return client.request(method, path, json=body)
    except httpx.HTTPError:
        return None


def _has(response: httpx.Response | None, getter: Any) -> bool:
    if response is None or response.status_code != 200:
        return False
    try:
        return bool(getter(response.json()))
    except (KeyError, IndexError, TypeError, ValueError):
        return False


def _error_text(response: httpx.Response) -> str:
    try:
        body = response.json()
        return str(body.get("error", {}).get("message") or body)[:200]
    except ValueError:
        return response.text[:200]
