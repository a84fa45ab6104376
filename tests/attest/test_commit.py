"""Commitments to secret test sets: hiding, binding, selective opening."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assay.attest import (
    CommitmentError,
    check_all_items,
    commit_items,
    find_items,
    open_items,
    parse_commitment,
    parse_salts,
    read_items,
    verify_opening,
    write_private,
)

ITEMS: list[Any] = [
    {"id": f"q{i}", "question": f"secret question {i}", "answer": "ABCD"[i % 4]} for i in range(25)
]


def committed() -> tuple[Any, list[bytes]]:
    public, private = commit_items(ITEMS, label="secret-set")
    commitment = parse_commitment(json.loads(json.dumps(public)))
    return commitment, parse_salts(private, commitment)


def test_commit_reveal_and_verify() -> None:
    commitment, salts = committed()
    assert commitment.size == 25 and commitment.label == "secret-set"
    check_all_items(commitment, ITEMS, salts)
    opening = open_items(commitment, ITEMS, salts, find_items(ITEMS, ["q3", "q20"]))
    opened = verify_opening(commitment, json.loads(json.dumps(opening)))
    assert opened == [(3, ITEMS[3]), (20, ITEMS[20])]


def test_the_commitment_hides_the_items() -> None:
    public_a, _ = commit_items(ITEMS, label="x")
    public_b, _ = commit_items(ITEMS, label="x")
    assert public_a["root"] != public_b["root"]  # fresh salts: nothing to guess against
    assert "question" not in json.dumps(public_a)


def test_changed_reordered_or_extra_items_are_detected() -> None:
    commitment, salts = committed()
    changed = [dict(item) for item in ITEMS]
    changed[7]["answer"] = "Z"
    for items, salt_list in (
        (changed, salts),
        ([ITEMS[1], ITEMS[0], *ITEMS[2:]], [salts[1], salts[0], *salts[2:]]),
        (ITEMS[:-1], salts[:-1]),
    ):
        with pytest.raises(CommitmentError):
            check_all_items(commitment, items, salt_list)


def test_an_item_outside_the_set_cannot_be_opened() -> None:
    commitment, salts = committed()
    opening = open_items(commitment, ITEMS, salts, [4])
    entry = opening["items"][0]
    entry["item"] = {"id": "q4", "question": "a question added later", "answer": "A"}
    with pytest.raises(CommitmentError, match="not in the committed set"):
        verify_opening(commitment, opening)


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_any_changed_byte_of_an_opening_fails(data: st.DataObject) -> None:
    commitment, salts = committed()
    original = json.dumps(open_items(commitment, ITEMS, salts, [2, 11])).encode()
    raw = bytearray(original)
    position = data.draw(st.integers(0, len(raw) - 1))
    raw[position] = data.draw(st.integers(0, 255).filter(lambda v: v != raw[position]))
    try:
        doc = json.loads(bytes(raw))
    except ValueError:
        return  # not JSON any more: nothing to verify
    if doc == json.loads(original):
        return  # whitespace only
    with pytest.raises(CommitmentError):
        verify_opening(commitment, doc)


def test_salts_must_belong_to_the_commitment() -> None:
    commitment, _ = committed()
    _, other_private = commit_items(ITEMS, label="other")
    with pytest.raises(CommitmentError, match="another commitment"):
        parse_salts(other_private, commitment)


def test_private_files_are_0600_and_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "salts.json"
    write_private(path, {"a": 1})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with pytest.raises(FileExistsError):
        write_private(path, {"a": 2})
    assert json.loads(path.read_text()) == {"a": 1}


def test_items_file_parsing(tmp_path: Path) -> None:
    path = tmp_path / "items.jsonl"
    path.write_text('{"id": "a"}\n\n"plain string"\n')
    assert read_items(path) == [{"id": "a"}, "plain string"]
    path.write_text('{"id": "a", "id": "b"}\n')
    with pytest.raises(CommitmentError, match="line 1"):
        read_items(path)
    path.write_text("\n")
    with pytest.raises(CommitmentError, match="no items"):
        read_items(path)
