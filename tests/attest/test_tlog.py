"""The transparency log: persistence, append-only storage, checkpoints and proofs."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assay.attest import (
    EMPTY_ROOT,
    Checkpoint,
    LogError,
    MerkleTree,
    TransparencyLog,
    check_consistency,
    leaf_hash,
    load_or_create_key,
    open_checkpoint,
    verify_checkpoint,
    verify_consistency,
    verify_inclusion,
    verify_log_proof,
)

ENTRIES = [f"entry {i}".encode() for i in range(70)]


@pytest.mark.slow
def test_proofs_match_the_in_memory_tree_for_every_size(tmp_path: Path) -> None:
    log = TransparencyLog(tmp_path / "log.sqlite")
    assert log.size == 0 and log.root() == EMPTY_ROOT
    for i, data in enumerate(ENTRIES):
        assert log.append(data) == i
    tree = MerkleTree.from_data(ENTRIES)
    for n in range(1, len(ENTRIES) + 1):
        assert log.root(n) == tree.root(n)
        for m in range(n):
            assert log.inclusion_proof(m, n) == tree.inclusion_proof(m, n)
        for m in range(n + 1):
            assert log.consistency_proof(m, n) == tree.consistency_proof(m, n)
    log.verify_integrity()


def test_the_log_persists_and_batches_are_appended_in_order(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite"
    with TransparencyLog(path, origin="example.org/log") as log:
        assert log.append_many(ENTRIES[:10]) == 0
        root = log.root()
    with TransparencyLog(path, origin="ignored/for/an/existing/log") as log:
        assert log.origin == "example.org/log"
        assert log.size == 10 and log.root() == root
        assert log.append_many(ENTRIES[10:13]) == 10
        assert log.entry(11) == ENTRIES[11]
        assert log.find(ENTRIES[12]) == 12 and log.find(b"absent") is None
        assert log.root() == MerkleTree.from_data(ENTRIES[:13]).root()


def test_a_failed_batch_leaves_the_log_unchanged(tmp_path: Path) -> None:
    log = TransparencyLog(tmp_path / "log.sqlite")
    log.append_many(ENTRIES[:3])
    with pytest.raises(TypeError):
        log.append_many([b"ok", "not bytes"])  # type: ignore[list-item]
    assert log.size == 3
    log.verify_integrity()


def test_the_database_refuses_updates_and_deletes(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite"
    TransparencyLog(path).append_many(ENTRIES[:4])
    db = sqlite3.connect(path)
    for statement in (
        "UPDATE tlog_leaves SET data = x'00' WHERE idx = 1",
        "DELETE FROM tlog_leaves WHERE idx = 3",
        "UPDATE tlog_nodes SET hash = x'00' WHERE level = 1",
        "DELETE FROM tlog_nodes",
    ):
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute(statement)


def test_integrity_check_finds_edits_made_behind_the_triggers(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite"
    TransparencyLog(path).append_many(ENTRIES[:8])
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("DROP TRIGGER tlog_leaves_no_update")
    db.execute("UPDATE tlog_leaves SET data = x'00' WHERE idx = 5")
    db.close()
    with TransparencyLog(path) as log, pytest.raises(LogError, match="entry 5"):
        log.verify_integrity()


def test_checkpoint_text_is_c2sp_tlog_checkpoint() -> None:
    cp = Checkpoint("example.org/log", 5, b"\xab" * 32)
    assert cp.text() == "example.org/log\n5\nq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=\n"


def test_checkpoints_are_signed_and_checked_paranoidly(tmp_path: Path) -> None:
    key, other = load_or_create_key("log"), load_or_create_key("other")
    log = TransparencyLog(tmp_path / "log.sqlite", origin="example.org/log")
    log.append_many(ENTRIES[:9])
    signed = log.checkpoint().sign([key, other])
    cp, signers = verify_checkpoint(signed, [key.public_key])
    assert cp.tree_size == 9 and cp.root_hash == log.root() and signers == (key.key_id,)
    text, sigs = signed.split("\n\n")
    lines = text.split("\n")
    bad = [
        signed.replace("\n9\n", "\n10\n"),
        signed.replace("\n9\n", "\n09\n"),
        signed.replace("example.org/log\n", "other.org/log\n", 1),
        "\n".join([lines[0], lines[1], lines[2].lower()]) + "\n\n" + sigs,
        text + "\n\n",
        text + "\n\n" + sigs.split("\n")[1] + "\n",  # only an untrusted signer
        signed.replace("\u2014", "-"),
        signed.replace("\n", "\r\n"),
    ]
    for doc in bad:
        with pytest.raises(LogError):
            open_checkpoint(doc, {key.key_id: key.public_key})


def test_consistency_between_checkpoints(tmp_path: Path) -> None:
    log = TransparencyLog(tmp_path / "log.sqlite")
    log.append_many(ENTRIES[:10])
    old = log.checkpoint()
    log.append_many(ENTRIES[10:25])
    new = log.checkpoint()
    proof = log.consistency_proof(10)
    check_consistency(old, new, proof)
    check_consistency(new, new, [])
    with pytest.raises(LogError, match="older"):
        check_consistency(new, old, proof)
    with pytest.raises(LogError, match="different logs"):
        check_consistency(old, Checkpoint("x", 25, new.root_hash), proof)
    rewritten = MerkleTree.from_data([*ENTRIES[:9], b"changed", *ENTRIES[10:25]])
    with pytest.raises(LogError, match="forked"):
        check_consistency(old, Checkpoint(new.origin, 25, rewritten.root()), proof)


def test_proof_bundles_verify_and_bind_the_entry(tmp_path: Path) -> None:
    key = load_or_create_key("log")
    trusted = {key.key_id: key.public_key}
    log = TransparencyLog(tmp_path / "log.sqlite")
    log.append_many(ENTRIES[:20])
    bundle = log.proof_bundle(7, [key], old_size=4)
    proof = verify_log_proof(json.loads(json.dumps(bundle)), ENTRIES[7], trusted)
    assert proof.leaf_index == 7 and proof.checkpoint.tree_size == 20
    assert proof.consistency == (4, log.consistency_proof(4, 20))
    with pytest.raises(LogError, match="not at index 7"):
        verify_log_proof(bundle, ENTRIES[8], trusted)
    with pytest.raises(LogError):
        verify_log_proof({**bundle, "tree_size": 19}, ENTRIES[7], trusted)
    with pytest.raises(LogError):
        verify_log_proof({**bundle, "leaf_index": 8}, ENTRIES[7], trusted)
    with pytest.raises(LogError):
        verify_log_proof({**bundle, "hashes": bundle["hashes"][:-1]}, ENTRIES[7], trusted)
    with pytest.raises(LogError):
        verify_log_proof({**bundle, "consistency": {"old_size": 4}}, ENTRIES[7], trusted)
    with pytest.raises(LogError):
        log.proof_bundle(20, [key])


@pytest.mark.slow
@settings(max_examples=60, deadline=None)
@given(sizes=st.lists(st.integers(1, 9), min_size=1, max_size=8))
def test_every_checkpoint_is_consistent_with_every_later_one(
    tmp_path_factory: pytest.TempPathFactory, sizes: list[int]
) -> None:
    log = TransparencyLog(tmp_path_factory.mktemp("log") / "log.sqlite")
    heads = []
    for batch, size in enumerate(sizes):
        log.append_many([f"{batch}/{i}".encode() for i in range(size)])
        heads.append((log.size, log.root()))
    for i, (m, old_root) in enumerate(heads):
        for n, new_root in heads[i:]:
            assert verify_consistency(m, old_root, n, new_root, log.consistency_proof(m, n))
    n = log.size
    for index in range(n):
        assert verify_inclusion(
            leaf_hash(log.entry(index)), index, n, log.inclusion_proof(index), log.root()
        )
    log.close()
