"""The endpoint probe records what a token can actually use."""

from __future__ import annotations

from assay.audit._endpoint import Endpoint, probe
from assay.models import fingerprint_endpoint, parse_target
from tests.conftest import LiveGateway


def _endpoint(gateway: LiveGateway, key: str) -> Endpoint:
    return Endpoint(
        spec=parse_target(f"openai:{gateway.base_url}"),
        base_url=gateway.base_url,
        api_key=key,
        model="tiny",
        fingerprint=fingerprint_endpoint(gateway.base_url, "tiny"),
    )


def test_probe_records_completions_for_a_black_token(gateway: LiveGateway) -> None:
    """Behind an openai: target the probe asked /v1/completions for logprobs only; a
    black token is refused those, and completions were recorded as unavailable."""
    caps = probe(_endpoint(gateway, gateway.black))
    assert caps.chat and caps.completions
    assert not caps.completion_logprobs and not caps.chat_logprobs


def test_probe_records_logprobs_for_a_grey_token(gateway: LiveGateway) -> None:
    caps = probe(_endpoint(gateway, gateway.grey))
    assert caps.chat and caps.completions and caps.completion_logprobs and caps.chat_logprobs
