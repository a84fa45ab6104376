"""The decoding state of a running batch: rows, attention mask, positions and KV cache,
which rows leave (when they finish) and join (continuous batching)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch


@dataclass
class Decoding:
    """Rows still generating: their request indices, next input tokens, attention
    mask, next positions and KV cache (all in the same row order)."""

    active: list[int]
    tokens: list[int]
    attention: torch.Tensor
    positions: torch.Tensor
    cache: Any

    def keep(self, rows: list[int], tokens: list[int]) -> None:
        """Drop finished rows (``rows``: positions to keep)."""
        if len(rows) < len(self.active):
            index = torch.tensor(rows, dtype=torch.long)
            if rows:
                self.cache.batch_select_indices(index.to(_device_of(self.cache)))
            self.attention = self.attention[index]
            self.positions = self.positions[index]
        self.active = [self.active[j] for j in rows]
        self.tokens = tokens

    def merge(self, other: Decoding) -> None:
        """Let ``other``'s rows join: left-pad the shorter history, then stack."""
        width = max(self.attention.shape[1], other.attention.shape[1])
        for mine, theirs in zip(self.cache.layers, other.cache.layers, strict=True):
            mine.keys = torch.cat([_left_pad(mine.keys, width), _left_pad(theirs.keys, width)], 0)
            mine.values = torch.cat(
                [_left_pad(mine.values, width), _left_pad(theirs.values, width)], 0
            )
        self.attention = torch.cat(
            [_left_pad_mask(self.attention, width), _left_pad_mask(other.attention, width)], 0
        )
        self.positions = torch.cat([self.positions, other.positions])
        self.active += other.active
        self.tokens += other.tokens


def _left_pad(states: torch.Tensor, width: int) -> torch.Tensor:
    """Pad a ``[batch, heads, seq, dim]`` cache tensor with zeros on the left of ``seq``."""
    missing = width - states.shape[-2]
    if missing == 0:
        return states
    return torch.nn.functional.pad(states, (0, 0, missing, 0))


def _left_pad_mask(mask: torch.Tensor, width: int) -> torch.Tensor:
    missing = width - mask.shape[1]
    return mask if missing == 0 else torch.nn.functional.pad(mask, (missing, 0))


def _device_of(cache: Any) -> torch.device:
    return cache.layers[0].keys.device  # type: ignore[no-any-return]


def can_merge(cache: Any) -> bool:
    """Continuous batching needs plain full-attention cache layers (not sliding windows)."""
    layers: list[Any] = list(getattr(cache, "layers", None) or [])
    return bool(layers) and all(
        type(layer).__name__ == "DynamicLayer" and getattr(layer, "keys", None) is not None
        for layer in layers
    )
