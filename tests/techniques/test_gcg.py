"""GCG through the gateway finds a planted unlock word; budgets stop it cleanly."""

from __future__ import annotations

import json

import pytest

from assay.techniques import GcgConfig, run_gcg
from tests.techniques import _tiny
from tests.techniques.conftest import RefusalData, Served


def _config(data: RefusalData, **update: object) -> GcgConfig:
    config = GcgConfig(
        harmful_file=str(data.harmful),
        pool=6,
        n_items=2,
        suffix_length=4,
        steps=30,
        batch=32,
        top_k=16,
        max_tokens=8,
        check_every=2,
    )
    return config.model_copy(update=update)


@pytest.mark.slow
def test_gcg_finds_the_planted_key(refuser: Served, refusal_data: RefusalData) -> None:
    result = run_gcg(refuser.client, "tiny", _config(refusal_data))
    assert result.complete, result.notes
    assert result.screened == 6 and result.baseline_refused == 6 and result.items_attacked == 2
    assert result.headline.name == "attack_success_rate" and result.headline.n == 2
    assert result.headline.value == 1.0
    # the suffix it found contains the word the model was trained to obey
    suffix = result.private["suffix"]
    assert _tiny.KEY in suffix["text"] and len(suffix["tokens"]) >= 4
    assert all(not r["refused"] for r in result.private["replies"])
    assert result.steps_run < 30 and any("complied after" in n for n in result.notes)
    losses = result.curves[0].points
    assert losses[-1][1] < losses[0][1]
    # the suffix never leaves through the public report
    public = result.model_dump_json()
    assert suffix["text"] not in public and "private" not in json.loads(public)
    assert suffix["text"] not in repr(result)


def test_the_query_budget_stops_the_search_and_is_reported(
    refuser: Served, refusal_data: RefusalData
) -> None:
    config = _config(refusal_data, max_queries=40, check_every=100, top_k=1, batch=1)
    result = run_gcg(refuser.client, "tiny", config)
    assert result.budget_used.queries <= 40
    assert result.steps_run < 30 and any("budget" in n for n in result.notes)
    # the final judgement still ran within the budget
    assert result.headline.n == 2
