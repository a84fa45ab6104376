"""Merkle trees after RFC 9162 (Certificate Transparency 2.0), section 2.1.

Leaf hash ``SHA-256(0x00 || data)``, interior node ``SHA-256(0x01 || left || right)``,
the root of the empty tree ``SHA-256("")``, and a tree of n > 1 leaves split at the
largest power of two smaller than n. Proofs and their verification follow sections
2.1.3 and 2.1.4. Hashes are raw 32-byte ``bytes`` here; files carry lowercase hex.

Only *complete* subtrees (2**level leaves starting at a multiple of 2**level) are ever
stored; any other subtree is a right edge and is rebuilt from them in O(log n).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Protocol

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
MAX_PROOF_LENGTH = 64  # a tree of 2**64 leaves is out of reach; longer proofs are forged

_sha256 = hashlib.sha256


def leaf_hash(data: bytes) -> bytes:
    """``MTH({d}) = SHA-256(0x00 || d)``."""
    return _sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """An interior node: ``SHA-256(0x01 || left || right)``."""
    return _sha256(b"\x01" + left + right).digest()


def split_point(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


class NodeSource(Protocol):
    """Where complete subtree hashes come from (memory or a database)."""

    def node(self, level: int, index: int) -> bytes:
        """The hash of leaves ``[index * 2**level, (index + 1) * 2**level)``."""
        ...


def subtree_hash(src: NodeSource, lo: int, hi: int) -> bytes:
    """``MTH(D[lo:hi])`` for ``lo < hi`` where the range is a node of some tree."""
    width = hi - lo
    if width & (width - 1) == 0 and lo % width == 0:
        return src.node(width.bit_length() - 1, lo // width)
    k = split_point(width)
    return node_hash(subtree_hash(src, lo, lo + k), subtree_hash(src, lo + k, hi))


def root_hash(src: NodeSource, size: int) -> bytes:
    return EMPTY_ROOT if size == 0 else subtree_hash(src, 0, size)


def inclusion_path(src: NodeSource, index: int, size: int) -> list[bytes]:
    """``PATH(index, D[0:size])``, ordered from the leaf's sibling up to the root."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of size {size}")
    path: list[bytes] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = split_point(hi - lo)
        if index < lo + k:
            path.append(subtree_hash(src, lo + k, hi))
            hi = lo + k
        else:
            path.append(subtree_hash(src, lo, lo + k))
            lo += k
    path.reverse()
    return path


def consistency_path(src: NodeSource, old_size: int, new_size: int) -> list[bytes]:
    """``PROOF(old_size, D[0:new_size])`` (empty when the sizes are equal or old is 0)."""
    if not 0 <= old_size <= new_size:
        raise ValueError(f"no consistency proof from size {old_size} to {new_size}")
    if old_size in (0, new_size):
        return []
    path: list[bytes] = []
    lo, hi, m, complete = 0, new_size, old_size, True
    # SUBPROOF(m, D[lo:hi], complete), unrolled; the recursion only ever goes one way.
    while True:
        n = hi - lo
        if m == n:
            if not complete:
                path.append(subtree_hash(src, lo, hi))
            break
        k = split_point(n)
        if m <= k:
            path.append(subtree_hash(src, lo + k, hi))
            hi = lo + k
        else:
            path.append(subtree_hash(src, lo, lo + k))
            lo, m, complete = lo + k, m - k, False
    path.reverse()
    return path


class MerkleTree:
    """An in-memory tree over leaf hashes, keeping every complete subtree."""

    def __init__(self, leaf_hashes: Sequence[bytes]) -> None:
        level = list(leaf_hashes)
        self._levels = [level]
        while len(level) > 1:
            level = [node_hash(a, b) for a, b in zip(level[0::2], level[1::2], strict=False)]
            self._levels.append(level)

    @classmethod
    def from_data(cls, leaves: Iterable[bytes]) -> MerkleTree:
        return cls([leaf_hash(d) for d in leaves])

    @property
    def size(self) -> int:
        return len(self._levels[0])

    def node(self, level: int, index: int) -> bytes:
        return self._levels[level][index]

    def root(self, size: int | None = None) -> bytes:
        return root_hash(self, self.size if size is None else self._check_size(size))

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        return inclusion_path(self, index, self.size if size is None else self._check_size(size))

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        new = self.size if new_size is None else self._check_size(new_size)
        return consistency_path(self, old_size, new)

    def _check_size(self, size: int) -> int:
        if not 0 <= size <= self.size:
            raise ValueError(f"the tree has {self.size} leaves, not {size}")
        return size


def merkle_root(leaves: Iterable[bytes]) -> tuple[bytes, int]:
    """Root and size of the tree over raw leaf data, computed level by level.

    Carrying an unpaired last node up unchanged gives exactly RFC 9162's split tree.
    """
    sha = _sha256
    level = [sha(b"\x00" + d).digest() for d in leaves]
    size = len(level)
    if size == 0:
        return EMPTY_ROOT, 0
    while len(level) > 1:
        odd = level[-1] if len(level) & 1 else None
        level = [
            sha(b"\x01" + a + b).digest() for a, b in zip(level[0::2], level[1::2], strict=False)
        ]
        if odd is not None:
            level.append(odd)
    return level[0], size


def _is_hash(value: object) -> bool:
    return isinstance(value, bytes) and len(value) == HASH_SIZE


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """RFC 9162 2.1.3.2: does ``proof`` place the leaf hash ``leaf`` at ``index`` under ``root``?"""
    if not (_is_hash(leaf) and _is_hash(root)) or not all(_is_hash(p) for p in proof):
        return False
    if type(index) is not int or type(size) is not int or not 0 <= index < size:
        return False
    if len(proof) > MAX_PROOF_LENGTH:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    old_size: int, old_root: bytes, new_size: int, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 2.1.4.2: is the tree ``(new_size, new_root)`` an extension of the old one?"""
    if not (_is_hash(old_root) and _is_hash(new_root)) or not all(_is_hash(p) for p in proof):
        return False
    if type(old_size) is not int or type(new_size) is not int:
        return False
    if not 0 <= old_size <= new_size or len(proof) > MAX_PROOF_LENGTH:
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if old_size == 0:
        return not proof and old_root == EMPTY_ROOT
    if not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == old_root and sr == new_root and sn == 0
