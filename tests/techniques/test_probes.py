"""Server-side probes find a feature a model was trained to compute."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from assay._util.errors import UsageError
from assay.techniques import ProbeConfig, run_probes
from tests.techniques import _tiny
from tests.techniques.conftest import Served


def test_probe_finds_the_planted_hazard_word_feature(
    refuser_with_lookups: Served, tmp_path: Path
) -> None:
    rng = random.Random(21)
    positives = _tiny.write_requests(
        tmp_path / "pos.jsonl", [_tiny.request(rng, hazard=True) for _ in range(48)]
    )
    negatives = _tiny.write_requests(
        tmp_path / "neg.jsonl", [_tiny.request(rng, hazard=False) for _ in range(48)]
    )
    items = _tiny.write_mc_items(tmp_path / "mc.jsonl", 20)
    config = ProbeConfig(
        positive_file=str(positives),
        negative_file=str(negatives),
        mc_file=str(items),
        n_train=24,
        n_val=8,
        n_test=16,
        n_mc=20,
    )
    result = run_probes(refuser_with_lookups.client, "tiny", config)
    assert result.complete, result.notes
    by_layer = {p.layer: p for p in result.layers}
    assert sorted(by_layer) == [0, 1, 2]
    # at the last chat token, the embeddings cannot know whether a hazard word came
    # earlier; the layers after attention must (the model refuses on it)
    assert by_layer[0].test_accuracy <= 0.7
    assert by_layer[2].test_accuracy >= 0.95 and by_layer[2].test_low > 0.75
    assert result.best_layer in (1, 2) and result.headline.value is not None
    assert result.headline.value >= 0.95 and result.headline.n == 32
    # the model never learnt multiple choice: its accuracy is reported, with an interval
    assert result.mc_accuracy is not None and result.mc_accuracy.n == 20
    assert [c.name for c in result.curves][1].startswith("multiple-choice")
    # one probe request per layer, tokenize + detokenize for the chat frame, one MC request
    assert result.budget_used.queries == 3 + 2 + 1


def test_mean_position_without_chat_sees_the_words_themselves(
    refuser_with_lookups: Served, tmp_path: Path
) -> None:
    rng = random.Random(22)
    positives = _tiny.write_requests(
        tmp_path / "pos.jsonl", [_tiny.request(rng, hazard=True) for _ in range(40)]
    )
    negatives = _tiny.write_requests(
        tmp_path / "neg.jsonl", [_tiny.request(rng, hazard=False) for _ in range(40)]
    )
    config = ProbeConfig(
        positive_file=str(positives),
        negative_file=str(negatives),
        chat=False,
        position="mean",
        n_train=24,
        n_val=4,
        n_test=12,
        n_mc=0,
        layers=[0],
    )
    result = run_probes(refuser_with_lookups.client, "tiny", config)
    # averaged embeddings already carry the hazard words: the control the docs describe
    assert result.layers[0].test_accuracy >= 0.9
    assert result.mc_accuracy is None and result.budget_used.queries == 1


def test_probes_on_a_default_gateway_read_only_the_layers_it_offers(
    refuser: Served, tmp_path: Path
) -> None:
    """Layer 0 (the embeddings) is a parameter lookup a default gateway refuses: the
    probes skip it and say so, and asking for it is a usage error, not a 400 mid-run."""
    rng = random.Random(23)
    positives = _tiny.write_requests(
        tmp_path / "pos.jsonl", [_tiny.request(rng, hazard=True) for _ in range(30)]
    )
    negatives = _tiny.write_requests(
        tmp_path / "neg.jsonl", [_tiny.request(rng, hazard=False) for _ in range(30)]
    )
    config = ProbeConfig(
        positive_file=str(positives),
        negative_file=str(negatives),
        n_train=16,
        n_val=4,
        n_test=8,
        n_mc=0,
    )
    result = run_probes(refuser.client, "tiny", config)
    assert result.complete, result.notes
    assert sorted(p.layer for p in result.layers) == [1, 2]
    assert any("does not offer the embedding-level control" in n for n in result.notes)
    with pytest.raises(UsageError, match=r"does not offer layer\(s\) \[0\]"):
        run_probes(refuser.client, "tiny", config.model_copy(update={"layers": [0, 1]}))
