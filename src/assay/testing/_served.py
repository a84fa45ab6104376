"""A built-in model (plain or reference) behind a real gateway on loopback, with a
white-tier token and fine-tuning enabled: what the known-answer tests and the
detection benchmark run techniques against."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from assay.gateway import BackgroundServer, Tier, TokenStore, create_app
from assay.gateway.backends import LocalBackend
from assay.models import load_target_model, parse_target
from assay.techniques import WhiteboxClient


@dataclass
class ServedModel:
    """A served model: its name at the gateway, a white-tier client, the base URL and
    the token (for a second client, e.g. an audit through ``gateway:``)."""

    model: str
    client: WhiteboxClient
    base_url: str
    token: str
    backend: LocalBackend


@contextmanager
def serve_builtin(
    name: str, *, adapters_dir: Path | None = None, engagement: str = "known-answers"
) -> Iterator[ServedModel]:
    """Serve ``builtin:NAME`` (e.g. ``smollm2-guarded``) until the block ends."""
    local = load_target_model(parse_target(f"builtin:{name}"), show_progress=False)
    tokens = TokenStore.in_memory()
    _, white = tokens.issue(tier=Tier.WHITE, engagement=engagement)
    backend = LocalBackend(local)
    with tempfile.TemporaryDirectory(prefix="assay-adapters-") as scratch:
        backend.enable_fine_tuning(tokens.engine, adapters_dir or Path(scratch))
        with (
            BackgroundServer(create_app(backend, tokens)) as server,
            WhiteboxClient(server.base_url, white) as client,
        ):
            yield ServedModel(local.name, client, server.base_url, white, backend)
