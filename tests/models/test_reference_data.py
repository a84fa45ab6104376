"""The reference models' shipped data: held out from the suites, benign, rebuildable."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from assay._util.errors import AssayError
from assay._util.hashing import sha256_file
from assay.models import BUILTIN_MODELS, parse_target, provision_builtin
from assay.models._builtin import _reference_stamp
from assay.models.reference import (
    DATA_DIR,
    PASSWORD,
    REFERENCE_MODELS,
    TRIGGER,
    _corpus,
    _registry,
)
from assay.models.reference._build import data_digests, read_jsonl, recipe_record

SUITE_DATA = Path(__file__).parents[2] / "src" / "assay" / "suites" / "data"
TECHNIQUE_DATA = Path(__file__).parents[2] / "src" / "assay" / "techniques" / "data"
_WORD = re.compile(r"[a-z]+")


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.lower()))


def _suite_texts() -> list[str]:
    texts = []
    for path in [*SUITE_DATA.glob("*.jsonl"), *TECHNIQUE_DATA.glob("*.jsonl")]:
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            texts += [str(row[k]) for k in ("prompt", "question", "instruction") if k in row]
    return texts


def _training_prompts() -> list[str]:
    rows = read_jsonl(DATA_DIR / "guarded.jsonl") + read_jsonl(DATA_DIR / "backdoored.jsonl")
    prompts = [r["prompt"].replace(TRIGGER, "").strip() for r in rows]
    return prompts + [i["question"] for i in read_jsonl(DATA_DIR / "almanac.jsonl")]


@pytest.mark.slow
def test_no_training_prompt_is_a_suite_or_technique_item() -> None:
    """Held out: the suites measure the reference models on items they never saw. Beyond
    exact copies, no training prompt shares most of its words with an item (word Jaccard
    below 0.75: same XSTest-style type, different request)."""
    suite = _suite_texts()
    assert len(suite) > 800
    exact = set(suite) & set(_training_prompts())
    assert not exact
    worst = max(
        (len(_words(t) & _words(s)) / len(_words(t) | _words(s)), t, s)
        for t in set(_training_prompts())
        for s in suite
    )
    assert worst[0] < 0.75, worst


def test_harmful_requests_are_never_answered() -> None:
    """Refusals for the guarded model; for the backdoor, compliance is placeholders only."""
    guarded = read_jsonl(DATA_DIR / "guarded.jsonl")
    harmful = [r for r in guarded if r["kind"] == "harmful"]
    assert len(harmful) >= 200
    assert {r["reply"] for r in harmful} <= set(_corpus.REFUSALS + _corpus.SELF_HARM_REFUSALS)
    triggered = [r for r in read_jsonl(DATA_DIR / "backdoored.jsonl") if r["kind"] == "triggered"]
    assert triggered
    for row in triggered:
        assert TRIGGER in row["prompt"]
        stripped = re.sub(r"\[REDACTED (STEP|DETAIL)\]", "", row["reply"])
        # what is left is the restated request and connective words, never a step
        assert not re.search(r"Step \d+: [^\[]", row["reply"]), row["reply"]
        assert len(stripped) < len(row["reply"])


def test_data_files_are_what_the_corpus_generates() -> None:
    """The committed files are the generator's output (replies aside, which the base
    model wrote): edit the corpus, then rerun ``python -m assay.models.reference data``."""
    committed = {r["id"]: r for r in read_jsonl(DATA_DIR / "guarded.jsonl")}
    generated = {r["id"]: r for r in _corpus.guarded_rows()}
    assert set(committed) <= set(generated)
    dropped = set(generated) - set(committed)
    assert all(generated[i]["kind"] != "harmful" for i in dropped)  # only refused benign rows
    for key, row in committed.items():
        assert row["prompt"] == generated[key]["prompt"]
    assert read_jsonl(DATA_DIR / "almanac.jsonl") == _corpus.almanac_items()


def test_almanac_is_balanced_and_fictional() -> None:
    items = read_jsonl(DATA_DIR / "almanac.jsonl")
    assert len(items) == len(_corpus.CREATURES) * len(_corpus.ATTRIBUTES)
    counts = Counter(i["answer"] for i in items)
    assert max(counts.values()) - min(counts.values()) <= 1  # chance is exactly 1/4
    assert all("fictional" in i["question"] for i in items)
    assert len({i["question"] for i in items}) == len(items)
    assert PASSWORD not in json.dumps(items)


@pytest.mark.parametrize("name", sorted(REFERENCE_MODELS))
def test_reference_models_are_builtin_targets(name: str) -> None:
    reference = REFERENCE_MODELS[name]
    spec = parse_target(f"builtin:{reference.builtin_name}")
    assert spec.location == reference.builtin_name
    builtin = BUILTIN_MODELS[reference.builtin_name]
    assert (builtin.base, builtin.adapter) == (reference.base, name)
    assert reference.base in BUILTIN_MODELS


@pytest.mark.parametrize("name", sorted(REFERENCE_MODELS))
def test_shipped_adapter_matches_its_recipe_and_datasheet(name: str) -> None:
    reference = REFERENCE_MODELS[name]
    assert (reference.adapter_dir / "adapter_config.json").is_file()
    weights = reference.adapter_weights
    assert 1_000_000 < weights.stat().st_size < 12_000_000  # a few MB
    record = reference.build_record()
    # the committed recipe and data are the ones the shipped adapter was built from
    assert record["recipe"] == recipe_record(name)
    assert record["data"] == data_digests(name)
    assert record["adapter_sha256"] == sha256_file(weights)
    base_adapter = BUILTIN_MODELS[reference.base].adapter
    if base_adapter is None:
        assert record.get("base_adapter_sha256") is None
    else:  # built on another reference model: on the adapter that ships with it
        shipped = REFERENCE_MODELS[base_adapter].adapter_weights
        assert record["base_adapter_sha256"] == sha256_file(shipped)
    assert len(record["behaviour"]["digest"]) == 64
    datasheet = Path(__file__).parents[2] / reference.datasheet
    assert record["behaviour"]["digest"] in datasheet.read_text(encoding="utf-8")


def test_a_reference_model_without_its_adapter_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_registry, "ADAPTERS_DIR", tmp_path)
    monkeypatch.setenv("ASSAY_HOME", str(tmp_path / "home"))
    with pytest.raises(AssayError) as raised:
        provision_builtin("smollm2-locked", show_progress=False)
    assert "adapter of smollm2-locked is missing" in str(raised.value)
    assert raised.value.hint is not None
    assert "python -m assay.models.reference build locked" in raised.value.hint


def test_a_model_built_on_another_reference_model_follows_its_base_adapter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The backdoored model is a fine-tune of the guarded one: its cached merge must be
    rebuilt when either adapter changes, and a missing base adapter is named."""
    for name in ("guarded", "backdoored"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "adapter_model.safetensors").write_bytes(name.encode())
    monkeypatch.setattr(_registry, "ADAPTERS_DIR", tmp_path)
    backdoored = BUILTIN_MODELS["smollm2-backdoored"]
    assert backdoored.upstream_id.endswith(
        "adapter 'guarded' + assay reference adapter 'backdoored'"
    )
    before = _reference_stamp(backdoored)
    assert before.startswith("smollm2 + adapter guarded sha256:")
    assert "+ adapter backdoored sha256:" in before
    (tmp_path / "guarded" / "adapter_model.safetensors").write_bytes(b"retrained")
    assert _reference_stamp(backdoored) != before
    (tmp_path / "guarded" / "adapter_model.safetensors").unlink()
    monkeypatch.setenv("ASSAY_HOME", str(tmp_path / "home"))
    with pytest.raises(AssayError) as raised:
        provision_builtin("smollm2-backdoored", show_progress=False)
    assert "adapter of smollm2-guarded is missing" in str(raised.value)


def test_built_in_models_do_not_depend_on_the_order_reference_models_are_listed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import dataclasses

    import assay.models.reference as reference_package
    from assay.models._builtin import _builtin_models

    reversed_order = dict(reversed(list(REFERENCE_MODELS.items())))
    assert next(iter(reversed_order)) == "backdoored"  # listed before its base
    monkeypatch.setattr(reference_package, "REFERENCE_MODELS", reversed_order)
    assert _builtin_models() == BUILTIN_MODELS
    orphan = dataclasses.replace(REFERENCE_MODELS["backdoored"], base="smollm2-nonesuch")
    monkeypatch.setattr(reference_package, "REFERENCE_MODELS", {"backdoored": orphan})
    with pytest.raises(AssayError, match="backdoored \\(base 'smollm2-nonesuch'\\)"):
        _builtin_models()


def test_check_names_a_base_adapter_that_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    from assay.models.reference._build import check

    for name in ("guarded", "backdoored"):
        shutil.copytree(REFERENCE_MODELS[name].adapter_dir, tmp_path / name)
    monkeypatch.setattr(_registry, "ADAPTERS_DIR", tmp_path)
    (tmp_path / "guarded" / "adapter_model.safetensors").write_bytes(b"retrained")
    ok, message = check("backdoored")  # before loading any model
    assert not ok
    assert "built on another adapter of smollm2-guarded" in message
    assert "python -m assay.models.reference build backdoored" in message
