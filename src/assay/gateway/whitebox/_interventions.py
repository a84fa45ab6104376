"""Interventions on activations during a forward pass: add a vector, ablate a direction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

Positions = Literal["all", "prompt", "generated"]


@dataclass(frozen=True)
class RowIntervention:
    """Change the activation at ``hook`` for one row of a batch (the engine's form of
    an :class:`~assay.gateway.whitebox.Intervention`).

    ``add``: ``h + scale * vector``. ``ablate``: remove ``scale`` times the component of
    ``h`` along ``vector`` (``scale=1`` removes it entirely, as in refusal-direction
    ablation). ``positions`` limits it to the prompt or to generated tokens.
    """

    hook: str
    op: Literal["add", "ablate"]
    vector: torch.Tensor
    scale: float = 1.0
    positions: Positions = "all"

    def applies(self, phase: Literal["prefill", "decode"]) -> bool:
        if self.positions == "all":
            return True
        return (self.positions == "prompt") == (phase == "prefill")

    def apply(self, h: torch.Tensor) -> torch.Tensor:
        """``h``: ``[seq, hidden]`` activations of one row."""
        vector = self.vector.to(dtype=h.dtype, device=h.device)
        if self.op == "add":
            added: torch.Tensor = h + self.scale * vector
            return added
        unit = vector / vector.norm().clamp_min(1e-12)
        ablated: torch.Tensor = h - self.scale * (h @ unit)[..., None] * unit
        return ablated
