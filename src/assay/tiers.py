"""Access tiers (Casper et al. 2024): what each level of access lets a tester do.

A concept of its own (not the gateway's): suites, plans, policy and the gateway all speak it.
"""

from __future__ import annotations

from enum import StrEnum


class Tier(StrEnum):
    """black: text in, text out. grey: + logprobs and tokenization. white: + internals."""

    BLACK = "black"
    GREY = "grey"
    WHITE = "white"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def allows(self, required: Tier) -> bool:
        """True when this tier includes everything ``required`` grants."""
        return self.rank >= required.rank


_RANK = {Tier.BLACK: 0, Tier.GREY: 1, Tier.WHITE: 2}
