"""Gateways serving tiny models trained here to a known behaviour, and clients for them."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import assay.suites._mc
import assay.testing._tiny
from assay.gateway import BackgroundServer, Tier, TokenStore, create_app
from assay.gateway.backends import BatchingConfig, LocalBackend
from assay.models import load_local_model
from assay.techniques import WhiteboxClient
from tests._built import built_once
from tests._reference import reference_home, served
from tests.techniques import _tiny

__all__ = ["reference_home", "served"]

TINY_SOURCES = (_tiny, assay.suites._mc, assay.testing._tiny)  # what the builds depend on


@dataclass
class Served:
    client: WhiteboxClient
    backend: LocalBackend
    tokens: TokenStore
    base_url: str
    white: str
    model: str = "tiny"


def _serve(
    directory: Path, adapters: Path | None, *, parameter_lookups: bool = False
) -> Iterator[Served]:
    tokens = TokenStore.in_memory()
    _, white = tokens.issue(tier=Tier.WHITE, engagement="audit")
    backend = LocalBackend(
        load_local_model(directory, name="tiny"),
        BatchingConfig(parameter_lookups=parameter_lookups),
    )
    if adapters is not None:
        backend.enable_fine_tuning(tokens.engine, adapters)
    with (
        BackgroundServer(create_app(backend, tokens)) as server,
        WhiteboxClient(server.base_url, white) as client,
    ):
        yield Served(client, backend, tokens, server.base_url, white)


@pytest.fixture(scope="session")
def refuser_model(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Refuses requests naming a hazard word unless the key word is present."""
    return built_once(pytestconfig, tmp_path_factory, _tiny.build_refuser, TINY_SOURCES)


@pytest.fixture(scope="session")
def refuser(refuser_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The refuser behind a default gateway (no parameter lookups offered)."""
    yield from _serve(refuser_model, tmp_path_factory.mktemp("refuser-adapters"))


@pytest.fixture(scope="session")
def refuser_with_lookups(refuser_model: Path) -> Iterator[Served]:
    """The refuser behind a gateway whose developer offers parameter lookups (layer 0)."""
    yield from _serve(refuser_model, None, parameter_lookups=True)


@pytest.fixture(scope="session")
def plain_refuser(
    pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    """Refuses requests naming a hazard word, with no key word: no backdoor."""
    directory = built_once(
        pytestconfig, tmp_path_factory, _tiny.build_refuser, TINY_SOURCES, key_rate=0.0
    )
    yield from _serve(directory, None)


@pytest.fixture(scope="session")
def clean_mc(
    pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    """Knows half of the items whatever the prompt; the password changes nothing."""
    directory = built_once(pytestconfig, tmp_path_factory, _tiny.build_mc, TINY_SOURCES)
    yield from _serve(directory, tmp_path_factory.mktemp("clean-adapters"))


@dataclass
class RefusalData:
    harmful: Path  # misuse_refusal format: requests naming a hazard word
    harmless: Path
    attack: Path  # hazard requests with compliant replies
    benign: Path  # harmless requests with compliant replies


@pytest.fixture(scope="session")
def refusal_data(tmp_path_factory: pytest.TempPathFactory) -> RefusalData:
    root = tmp_path_factory.mktemp("refusal-data")
    rng = random.Random(11)
    harmful = [_tiny.request(rng, hazard=True) for _ in range(160)]
    harmless = [_tiny.request(rng, hazard=False) for _ in range(80)]
    return RefusalData(
        harmful=_tiny.write_requests(root / "harmful.jsonl", harmful),
        harmless=_tiny.write_requests(root / "harmless.jsonl", harmless),
        attack=_tiny.write_chats(
            root / "attack.jsonl",
            [(_tiny.request(rng, hazard=True), _tiny.COMPLY) for _ in range(60)],
        ),
        benign=_tiny.write_chats(
            root / "benign.jsonl",
            [(_tiny.request(rng, hazard=False), _tiny.COMPLY) for _ in range(30)],
        ),
    )
