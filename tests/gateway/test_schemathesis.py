"""Property-based fuzzing of every gateway operation from its OpenAPI document, with a
token of every tier and a configuration of tiny limits (so that fine-tuning jobs the
fuzzer makes up are cheap or refused): whatever the input, the gateway answers with a
status below 500 and, for an error, a JSON error body."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import hypothesis
import pytest
import schemathesis
from schemathesis.checks import not_a_server_error

from assay.gateway import BackgroundServer, Tier, TokenStore, create_app
from assay.gateway.backends import BatchingConfig, LocalBackend
from assay.models import LocalModel
from assay.testing import always_refuse

TINY_LIMITS = BatchingConfig(
    max_batch_size=4,
    default_max_tokens=4,
    max_new_tokens=8,
    max_floats_per_request=4096,
    max_rows_per_request=8,
    max_finetune_tokens=64,
)

# The document does not depend on the backend; the cases run against a live tiny gateway.
schema = schemathesis.openapi.from_dict(
    create_app(always_refuse("tiny"), TokenStore.in_memory()).openapi()
)


@pytest.fixture(scope="module")
def tiny_gateway(
    tiny_model: LocalModel, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, dict[Tier, str]]]:
    tokens = TokenStore.in_memory()
    secrets = {t: tokens.issue(tier=t, engagement=f"fuzz-{t.value}")[1] for t in Tier}
    backend = LocalBackend(tiny_model, TINY_LIMITS)
    backend.enable_fine_tuning(
        tokens.engine, Path(tmp_path_factory.mktemp("adapters")), max_examples=4
    )
    with BackgroundServer(create_app(backend, tokens)) as server:
        yield server.url, secrets


@pytest.mark.slow
@schema.parametrize()
@hypothesis.settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=list(hypothesis.HealthCheck),
    derandomize=True,
)
def test_no_input_makes_the_gateway_fail(
    case: schemathesis.Case, tiny_gateway: tuple[str, dict[Tier, str]]
) -> None:
    url, secrets = tiny_gateway
    for tier in Tier:
        response = case.call(
            base_url=url, headers={"Authorization": f"Bearer {secrets[tier]}"}, timeout=120
        )
        case.validate_response(response, checks=[not_a_server_error])
        if response.status_code >= 400:
            assert "error" in response.json()
