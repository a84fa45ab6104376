"""Our Merkle code against a deliberately naive RFC 9162 (section 2.1) implementation."""

from __future__ import annotations

import functools
import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assay.attest import MerkleTree, leaf_hash, merkle_root, verify_consistency, verify_inclusion

MAX_N = 300
DATA = [f"leaf {i}".encode() * (i % 4 + 1) for i in range(MAX_N)]


# --- the RFC's definitions, transcribed literally (D[a:b] is DATA[a:b]) -------------


def _k(n: int) -> int:
    """The largest power of two smaller than n."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


@functools.cache
def mth(a: int, b: int) -> bytes:
    """MTH(D[a:b])."""
    n = b - a
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + DATA[a]).digest()
    k = _k(n)
    return hashlib.sha256(b"\x01" + mth(a, a + k) + mth(a + k, b)).digest()


def path(m: int, a: int, b: int) -> list[bytes]:
    """PATH(m, D[a:b]) for 0 <= m < b - a."""
    n = b - a
    if n == 1:
        return []
    k = _k(n)
    if m < k:
        return [*path(m, a, a + k), mth(a + k, b)]
    return [*path(m - k, a + k, b), mth(a, a + k)]


def subproof(m: int, a: int, b: int, complete: bool) -> list[bytes]:
    """SUBPROOF(m, D[a:b], b)."""
    n = b - a
    if m == n:
        return [] if complete else [mth(a, b)]
    k = _k(n)
    if m <= k:
        return [*subproof(m, a, a + k, complete), mth(a + k, b)]
    return [*subproof(m - k, a + k, b, False), mth(a, a + k)]


def proof(m: int, n: int) -> list[bytes]:
    """PROOF(m, D[0:n])."""
    return subproof(m, 0, n, True)


# -------------------------------------------------------------------------------------


@functools.cache
def tree(n: int) -> MerkleTree:
    return MerkleTree.from_data(DATA[:n])


def test_roots_agree_for_every_size() -> None:
    assert merkle_root([]) == (hashlib.sha256(b"").digest(), 0)
    assert MerkleTree([]).root() == mth(0, 0)
    for n in range(1, MAX_N + 1):
        assert tree(n).root() == mth(0, n), n
        assert merkle_root(DATA[:n]) == (mth(0, n), n), n
        assert tree(MAX_N).root(n) == mth(0, n), n


def test_inclusion_proofs_agree_and_verify_for_every_size_and_leaf() -> None:
    for n in range(1, MAX_N + 1):
        root = mth(0, n)
        for m in range(n):
            ours = tree(n).inclusion_proof(m)
            assert ours == path(m, 0, n), (m, n)
            assert tree(MAX_N).inclusion_proof(m, n) == ours
            assert verify_inclusion(leaf_hash(DATA[m]), m, n, ours, root), (m, n)


def test_consistency_proofs_agree_and_verify_for_every_pair() -> None:
    for n in range(1, MAX_N + 1):
        new_root = mth(0, n)
        for m in range(1, n + 1):
            ours = tree(n).consistency_proof(m)
            assert ours == proof(m, n), (m, n)
            assert tree(MAX_N).consistency_proof(m, n) == ours
            assert verify_consistency(m, mth(0, m), n, new_root, ours), (m, n)


def test_consistency_from_the_empty_tree() -> None:
    assert tree(5).consistency_proof(0) == []
    assert verify_consistency(0, mth(0, 0), 5, mth(0, 5), [])
    assert not verify_consistency(0, mth(0, 1), 5, mth(0, 5), [])


sizes = st.integers(min_value=1, max_value=MAX_N)


@settings(max_examples=300, deadline=None)
@given(data=st.data(), n=sizes)
def test_inclusion_rejects_any_other_leaf_index_size_or_root(data: st.DataObject, n: int) -> None:
    m = data.draw(st.integers(0, n - 1))
    good = path(m, 0, n)
    leaf, root = leaf_hash(DATA[m]), mth(0, n)
    other = data.draw(st.integers(0, MAX_N + 5))
    if other != m:
        assert not verify_inclusion(leaf, other, n, good, root)
    # The proof alone does not bind the tree size (leaf 0 of 129 and of 130 leaves take
    # the same turns), which is why the size is always signed together with the root.
    size = data.draw(st.integers(0, m))
    assert not verify_inclusion(leaf, m, size, good, root)
    assert not verify_inclusion(leaf_hash(DATA[m] + b"x"), m, n, good, root)
    assert not verify_inclusion(leaf, m, n, good, mth(0, n - 1) if n > 1 else mth(0, 2))
    assert not verify_inclusion(leaf, m, n, [*good, good[0] if good else root], root)
    if good:
        assert not verify_inclusion(leaf, m, n, good[:-1], root)


@settings(max_examples=300, deadline=None)
@given(data=st.data(), n=sizes)
def test_any_flipped_bit_in_a_proof_fails(data: st.DataObject, n: int) -> None:
    m = data.draw(st.integers(0, n - 1))
    inclusion = path(m, 0, n)
    old = data.draw(st.integers(1, n))
    consistency = proof(old, n)
    if inclusion:
        i = data.draw(st.integers(0, len(inclusion) - 1))
        byte, bit = data.draw(st.integers(0, 31)), data.draw(st.integers(0, 7))
        bad = [bytearray(h) for h in inclusion]
        bad[i][byte] ^= 1 << bit
        assert not verify_inclusion(leaf_hash(DATA[m]), m, n, [bytes(h) for h in bad], mth(0, n))
    if consistency:
        i = data.draw(st.integers(0, len(consistency) - 1))
        byte, bit = data.draw(st.integers(0, 31)), data.draw(st.integers(0, 7))
        bad = [bytearray(h) for h in consistency]
        bad[i][byte] ^= 1 << bit
        assert not verify_consistency(old, mth(0, old), n, mth(0, n), [bytes(h) for h in bad])


@settings(max_examples=300, deadline=None)
@given(data=st.data(), n=st.integers(2, MAX_N))
def test_consistency_rejects_other_sizes_roots_and_truncation(data: st.DataObject, n: int) -> None:
    m = data.draw(st.integers(1, n - 1))
    good = proof(m, n)
    assert verify_consistency(m, mth(0, m), n, mth(0, n), good)
    assert not verify_consistency(m, mth(0, m), n, mth(0, n), good[:-1])
    assert not verify_consistency(m, mth(0, m), n, mth(0, n), [*good, good[0]])
    assert not verify_consistency(m, mth(1, m + 1), n, mth(0, n), good)
    assert not verify_consistency(m, mth(0, m), n, mth(1, n), good)
    assert not verify_consistency(n, mth(0, n), m, mth(0, m), good)  # backwards
    other = data.draw(st.integers(1, n))
    if other != m:
        assert verify_consistency(other, mth(0, m), n, mth(0, n), good) == (
            proof(other, n) == good and mth(0, other) == mth(0, m)
        )


@pytest.mark.parametrize(
    "args",
    [
        (b"\x00" * 31, 0, 1, [], b"\x00" * 32),  # short leaf hash
        (b"\x00" * 32, -1, 1, [], b"\x00" * 32),
        (b"\x00" * 32, 0, 0, [], b"\x00" * 32),
        (b"\x00" * 32, True, 2, [b"\x00" * 32], b"\x00" * 32),  # bool is not an index
        (b"\x00" * 32, 0, 2, ["00" * 32], b"\x00" * 32),  # hex, not bytes
        (b"\x00" * 32, 0, 2, [b"\x00" * 32] * 65, b"\x00" * 32),  # longer than any tree
    ],
)
def test_malformed_inclusion_inputs_are_rejected(args: tuple[object, ...]) -> None:
    assert verify_inclusion(*args) is False  # type: ignore[arg-type]


def test_a_single_leaf_tree_has_an_empty_proof() -> None:
    assert tree(1).inclusion_proof(0) == []
    assert verify_inclusion(leaf_hash(DATA[0]), 0, 1, [], mth(0, 1))
    with pytest.raises(ValueError):
        tree(3).inclusion_proof(3)
    with pytest.raises(ValueError):
        tree(3).consistency_proof(4)
