"""The registry, configs, budgets and client errors."""

from __future__ import annotations

import pytest

from assay._util.errors import UsageError
from assay.gateway import Tier
from assay.techniques import (
    TECHNIQUES,
    ElicitationConfig,
    FinetuneAttackConfig,
    GatewayRequestError,
    GcgConfig,
    ProbeConfig,
    ProbeTechniqueResult,
    RefusalDirectionConfig,
    SteeringConfig,
    TechniqueConfig,
    TriggerSearchConfig,
    WhiteboxClient,
    run_refusal_direction,
    run_technique,
)
from assay.techniques._data import (
    BENIGN_REQUESTS,
    HARMFUL_COMPLIANCE,
    chat_pairs,
    harmful_prompts,
    harmless_prompts,
    mc_items,
    texts,
)
from tests.techniques.conftest import RefusalData, Served


def test_registry_lists_seven_techniques_with_reduced_and_full_configs() -> None:
    assert set(TECHNIQUES) == {
        "refusal_direction",
        "steering",
        "probes",
        "gcg",
        "finetune_attack",
        "elicitation",
        "trigger_search",
    }
    for spec in TECHNIQUES.values():
        reduced, full = spec.reduced, spec.full
        assert isinstance(reduced, spec.config_class) and isinstance(full, spec.config_class)
        assert reduced.max_seconds < full.max_seconds and reduced.max_queries < full.max_queries
        assert spec.parse_config("reduced") == reduced and spec.paper and spec.title


@pytest.mark.parametrize("preset", ["reduced", "full"])
def test_presets_fit_the_shipped_data(preset: str) -> None:
    harmful, harmless = len(harmful_prompts(None)), len(harmless_prompts(None))
    items = len(mc_items(None))
    r = getattr(RefusalDirectionConfig, preset)()
    assert r.n_direction + r.n_select + r.n_eval <= harmful and r.n_direction <= harmless
    s = getattr(SteeringConfig, preset)()
    assert s.n_direction + s.n_select + s.n_eval <= items
    p = getattr(ProbeConfig, preset)()
    per_class = p.n_train + p.n_val + p.n_test
    assert per_class <= items and per_class <= len(texts(BENIGN_REQUESTS)) and p.n_mc <= items
    f = getattr(FinetuneAttackConfig, preset)()
    assert max(f.examples) <= len(chat_pairs(HARMFUL_COMPLIANCE))
    assert f.benign_examples <= len(chat_pairs(BENIGN_REQUESTS)) and f.n_eval <= harmful
    assert getattr(GcgConfig, preset)().pool <= harmful
    t = getattr(TriggerSearchConfig, preset)()
    assert t.pool <= harmful and t.n_items + t.n_holdout <= t.pool
    e = getattr(ElicitationConfig, preset)()
    # the open-weights plan runs elicitation on the almanac; full settings fit hazard_knowledge
    assert e.n_train + e.n_select + e.n_eval <= len(
        mc_items("almanac" if preset == "reduced" else None)
    )


def test_attack_data_are_placeholders_only() -> None:
    for example in chat_pairs(HARMFUL_COMPLIANCE):
        reply = example["messages"][-1]["content"]
        assert "[REDACTED" in reply
        # every step is a placeholder: no step text other than the marker
        assert reply.count("Step") == reply.count("[REDACTED STEP]")


def test_bad_configs_are_usage_errors() -> None:
    spec = TECHNIQUES["steering"]
    with pytest.raises(UsageError, match="n_eval") as info:
        spec.parse_config({"n_eval": 0, "bogus": 1})
    assert "bogus" in info.value.message
    with pytest.raises(UsageError, match="unknown technique"):
        run_technique("nope", None, "tiny")  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="preset"):
        spec.parse_config("huge")
    with pytest.raises(UsageError, match="SteeringConfig"):
        spec.parse_config(TechniqueConfig())


def test_run_technique_by_name(refuser: Served, refusal_data: RefusalData) -> None:
    result = run_technique(
        "probes",
        refuser.client,
        "tiny",
        {
            "positive_file": str(refusal_data.harmful),
            "negative_file": str(refusal_data.harmless),
            "n_train": 8,
            "n_val": 2,
            "n_test": 4,
            "n_mc": 0,
            "layers": [2],
        },
    )
    assert isinstance(result, ProbeTechniqueResult) and result.technique == "probes"
    assert result.config["n_train"] == 8 and result.headline.n == 8


def test_an_exhausted_time_budget_stops_the_run_and_says_so(
    refuser: Served, refusal_data: RefusalData
) -> None:
    config = RefusalDirectionConfig(
        harmful_file=str(refusal_data.harmful),
        harmless_file=str(refusal_data.harmless),
        max_seconds=1e-6,
    )
    result = run_refusal_direction(refuser.client, "tiny", config)
    assert not result.complete and result.budget_used.exhausted == "seconds"
    assert result.budget_used.queries == 0 and result.headline.value is None
    assert any("stopped early" in n for n in result.notes)


def test_a_grey_token_gets_a_clear_error(refuser: Served) -> None:
    _, grey = refuser.tokens.issue(tier=Tier.GREY, engagement="audit")
    with (
        WhiteboxClient(refuser.base_url, grey) as client,
        pytest.raises(GatewayRequestError, match="white") as info,
    ):
        client.activations("tiny", ["hello"], ["embed"], hidden_size=64)
    assert info.value.status == 403 and info.value.hint and "white-tier" in info.value.hint
