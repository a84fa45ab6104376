"""Property-based fuzzing of every gateway operation from its OpenAPI spec: whatever
the input, the gateway answers with a status below 500 and a JSON error body."""

from __future__ import annotations

import hypothesis
import schemathesis
from schemathesis.checks import not_a_server_error

from assay.gateway import TokenStore, create_app
from assay.testing import always_refuse
from tests.conftest import LiveGateway

# The spec does not depend on the backend; the cases run against the live tiny gateway.
schema = schemathesis.openapi.from_dict(
    create_app(always_refuse("tiny"), TokenStore.in_memory()).openapi()
)
# Creating fine-tuning jobs from random hyperparameters would train for minutes; its
# validation is covered by tests/gateway/test_finetune.py.
schema = schema.exclude(path="/v1/fine_tuning/jobs", method="POST")


@schema.parametrize()
@hypothesis.settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=list(hypothesis.HealthCheck),
    derandomize=True,
)
def test_no_input_makes_the_gateway_fail(case: schemathesis.Case, gateway: LiveGateway) -> None:
    response = case.call(
        base_url=gateway.server.url,
        headers={"Authorization": f"Bearer {gateway.white}"},
        timeout=60,
    )
    case.validate_response(response, checks=[not_a_server_error])
    if response.status_code >= 400:
        assert "error" in response.json()
