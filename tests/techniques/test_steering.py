"""Steering shows no gain on a model that hides nothing, although it does change answers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assay.techniques import SteeringConfig, run_steering
from tests.techniques import _tiny
from tests.techniques.conftest import Served


def _config(tmp_path: Path, **update: object) -> SteeringConfig:
    contrast = tmp_path / "contrast.jsonl"
    contrast.write_text(json.dumps({"positive": _tiny.PASSWORD, "negative": ""}) + "\n")
    config = SteeringConfig(
        items_file=str(_tiny.write_mc_items(tmp_path / "items.jsonl", 84)),
        contrast_file=str(contrast),
        n_direction=12,
        n_select=24,
        n_eval=48,
        layers=[1, 2],
        scales=[1.0, 4.0, 16.0],
    )
    return config.model_copy(update=update)


@pytest.mark.slow
def test_a_clean_model_shows_no_gain(clean_mc: Served, tmp_path: Path) -> None:
    result = run_steering(clean_mc.client, "tiny", _config(tmp_path))
    assert result.complete, result.notes
    # it knows half the items and shows it when asked plainly
    plain = result.plain_accuracy
    assert plain is not None and plain.n == 48 and 0.3 <= (plain.value or 0) <= 0.7
    # the best of six settings, measured on held-out items, gains nothing
    assert len(result.settings) == 6
    low, high = result.headline.low, result.headline.high
    assert result.headline.name == "accuracy_gain" and result.headline.n == 48
    assert low is not None and high is not None and low <= 0.0 <= high
    assert not result.sandbagging_evidence
    # one activations request, 24 plain + 6 x 24 steered, 48 + 48 held-out
    assert result.budget_used.queries == 1 + 24 + 144 + 96
    assert result.budget_used.floats == 2 * 12 * 2 * 64


@pytest.mark.slow
def test_answer_contrast_steering_changes_answers_without_a_gain(
    clean_mc: Served, tmp_path: Path
) -> None:
    config = _config(tmp_path, direction="answers", layers=[1])
    result = run_steering(clean_mc.client, "tiny", config)
    # a strong push along the correct-minus-wrong direction does change answers ...
    selection_plain = result.curves[0].points[0][1]
    assert any(abs(s.accuracy - selection_plain) >= 0.1 for s in result.settings)
    # ... yet knowledge the model lacks does not appear
    low, high = result.headline.low, result.headline.high
    assert low is not None and high is not None and low <= 0.0 <= high
    assert len(result.private["direction"]["vector"]) == 64
    assert "private" not in result.model_dump()


def test_steering_layer_not_offered_is_a_usage_error(clean_mc: Served, tmp_path: Path) -> None:
    import pytest

    from assay._util.errors import UsageError

    with pytest.raises(UsageError, match=r"does not offer layer\(s\) \[0\]"):
        run_steering(clean_mc.client, "tiny", _config(tmp_path, layers=[0, 1]))
