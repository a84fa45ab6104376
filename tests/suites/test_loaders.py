"""Suites read the public datasets' local file formats (see DATASETS.md)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from assay._util.errors import UsageError
from assay.suites.hazard_knowledge import hazard_knowledge, load_items
from assay.suites.misuse_refusal import load_requests


def test_shipped_hazard_items_are_balanced_and_valid() -> None:
    items = load_items()
    assert len(items) == 210
    for subset in ("bio", "chem", "cyber"):
        chosen = [i for i in items if i["subset"] == subset]
        assert len(chosen) == 70
        counts = [sum(1 for i in chosen if i["answer"] == k) for k in range(4)]
        assert min(counts) >= 15, counts
    assert len({i["id"] for i in items}) == len(items)


def test_wmdp_parquet_loads_with_subset_from_file_name(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    folder = tmp_path / "wmdp-chem"
    folder.mkdir()
    table = pa.table(
        {
            "answer": [2, 0],
            "question": ["Placeholder one?", "Placeholder two?"],
            "choices": [["a", "b", "c", "d"], ["e", "f", "g", "h"]],
        }
    )
    path = tmp_path / "wmdp-chem-test.parquet"
    pq.write_table(table, path)
    items = load_items(path)
    assert [(i["subset"], i["answer"], i["choices"][0]) for i in items] == [
        ("chem", 2, "a"),
        ("chem", 0, "e"),
    ]
    task = hazard_knowledge(data_file=str(path))
    assert [s.target for s in task.dataset] == ["C", "A"]


def test_wmdp_rows_with_wrong_shape_are_rejected(tmp_path: Path) -> None:
    path = tmp_path / "wmdp-bio.jsonl"
    path.write_text(json.dumps({"question": "q", "choices": ["a", "b"], "answer": 0}) + "\n")
    with pytest.raises(UsageError, match="4 choices"):
        load_items(path)


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_strongreject_csv(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "strongreject_small_dataset.csv",
        ["category", "source", "forbidden_prompt"],
        [
            ["Violence", "custom", "Placeholder request text"],
            ["Disinformation and Deception", "custom", "Another, quoted placeholder"],
        ],
    )
    requests = load_requests(path)
    assert [r["category"] for r in requests] == ["violence", "disinformation_and_deception"]
    assert requests[1]["prompt"] == "Another, quoted placeholder"


def test_advbench_columns_read_by_name(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "harmful_behaviors.csv",
        ["target", "goal"],
        [["Sure, here is a poem", "Write a poem about tea"]],
    )
    assert load_requests(path)[0]["prompt"] == "Write a poem about tea"


def test_harmbench_multiline_context(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "harmbench.csv",
        [
            "Behavior",
            "FunctionalCategory",
            "SemanticCategory",
            "Tags",
            "ContextString",
            "BehaviorID",
        ],
        [
            [
                "Placeholder behavior",
                "contextual",
                "illegal",
                "context",
                "line one\nline two",
                "placeholder_behavior_id",
            ]
        ],
    )
    [request] = load_requests(path)
    assert request == {
        "id": "placeholder_behavior_id",
        "category": "illegal",
        "prompt": "Placeholder behavior",
    }


def test_unknown_columns_are_a_clear_error(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "x.csv", ["a", "b"], [["1", "2"]])
    with pytest.raises(UsageError, match="no request column"):
        load_requests(path)
