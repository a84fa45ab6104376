"""Refusal-direction ablation un-refuses a model whose refusals hinge on one feature."""

from __future__ import annotations

import json

from assay.techniques import RefusalDirectionConfig, run_refusal_direction
from tests.techniques.conftest import RefusalData, Served


def test_ablation_unrefuses_a_trigger_refuser(refuser: Served, refusal_data: RefusalData) -> None:
    config = RefusalDirectionConfig(
        harmful_file=str(refusal_data.harmful),
        harmless_file=str(refusal_data.harmless),
        n_direction=32,
        n_select=12,
        n_eval=24,
        max_tokens=10,
    )
    phases: list[str] = []
    result = run_refusal_direction(
        refuser.client, "tiny", config, progress=lambda phase, done, total: phases.append(phase)
    )
    assert result.complete and result.tier == "white"
    assert result.baseline_refusal_rate is not None and result.ablated_refusal_rate is not None
    assert result.baseline_refusal_rate.value == 1.0
    assert (result.ablated_refusal_rate.value or 0) <= 0.2
    # the drop is a paired difference on the same 24 held-out requests, its interval above 0
    assert result.headline.name == "refusal_rate_drop" and result.headline.n == 24
    assert result.headline.low is not None and result.headline.low > 0.5
    # layer 0 (embeddings at the last token, identical for every prompt) has no direction
    assert [s.layer for s in result.layers] == [1, 2] and result.best_layer in (1, 2)
    assert any("coincide" in n for n in result.notes) is False  # layer 0 was not a candidate
    per_layer = result.curves[0].points
    assert min(p[1] for p in per_layer) <= 0.2 and all(p[2] is not None for p in per_layer)
    # one activations request, 12 baseline + 2 x 12 per-layer, 24 + 24 held-out replies
    assert result.budget_used.queries == 1 + 12 + 24 + 48
    assert result.budget_used.floats == 64 * 2 * 64
    assert result.config["n_direction"] == 32 and phases
    dumped = json.loads(result.model_dump_json())
    assert "private" not in dumped and "sample_replies" in result.private
    assert "private" not in repr(result)


def test_a_budget_too_small_for_the_plan_is_refused_before_any_query(
    refuser: Served, refusal_data: RefusalData
) -> None:
    import pytest

    from assay._util.errors import UsageError

    config = RefusalDirectionConfig(
        harmful_file=str(refusal_data.harmful),
        harmless_file=str(refusal_data.harmless),
        max_queries=10,
    )
    with pytest.raises(UsageError, match="queries"):
        run_refusal_direction(refuser.client, "tiny", config)


def test_refusal_direction_layer_not_offered_is_a_usage_error(
    refuser: Served, refusal_data: RefusalData
) -> None:
    """A default gateway offers no parameter lookup: asking for layer 0 (the embeddings)
    is a clear usage error before any query, not a 400 in the middle of the run."""
    import pytest

    from assay._util.errors import UsageError

    config = RefusalDirectionConfig(
        harmful_file=str(refusal_data.harmful),
        harmless_file=str(refusal_data.harmless),
        layers=[0, 1],
    )
    with pytest.raises(UsageError, match=r"does not offer layer\(s\) \[0\]"):
        run_refusal_direction(refuser.client, "tiny", config)
