"""The torch computations behind the white-box operations. Each runs on the model
thread, takes token ids and names, and returns activations, gradients or probe
results: never parameters, never code from the caller."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch

from assay.gateway.whitebox._hooks import ModelLayout, hooked

CAPTURE_BATCH = 16


def encode(values: torch.Tensor, encoding: str) -> list[float] | str:
    """Floats as a JSON list, or as base64 little-endian float32 (much smaller)."""
    flat = values.detach().float().cpu().reshape(-1)
    if encoding == "base64":
        return base64.b64encode(flat.numpy().astype("<f4").tobytes()).decode()
    return [float(x) for x in flat.tolist()]


def capture(
    model: Any,
    layout: ModelLayout,
    prompts: Sequence[list[int]],
    hook_points: Sequence[str],
    positions: Literal["last", "mean", "all"],
    pad_id: int,
) -> list[dict[str, torch.Tensor]]:
    """Activations at ``hook_points`` for each prompt: ``[hidden]`` (last, mean) or
    ``[tokens, hidden]`` (all), with padding removed."""
    results: list[dict[str, torch.Tensor]] = []
    device = next(model.parameters()).device
    for start in range(0, len(prompts), CAPTURE_BATCH):
        chunk = prompts[start : start + CAPTURE_BATCH]
        lengths = [len(p) for p in chunk]
        width = max(lengths)
        ids = torch.full((len(chunk), width), pad_id, dtype=torch.long)
        mask = torch.zeros((len(chunk), width), dtype=torch.long)
        for i, p in enumerate(chunk):
            ids[i, width - len(p) :] = torch.tensor(p)
            mask[i, width - len(p) :] = 1
        seen: dict[str, torch.Tensor] = {}

        def keep(
            name: str, hidden: torch.Tensor, seen: dict[str, torch.Tensor] = seen
        ) -> torch.Tensor:
            seen[name] = hidden.detach().float().cpu()
            return hidden

        with torch.inference_mode(), hooked(layout, list(hook_points), keep):
            model(
                input_ids=ids.to(device),
                attention_mask=mask.to(device),
                position_ids=(mask.cumsum(-1) - 1).clamp(min=0).to(device),
                logits_to_keep=1,
            )
        for i, n in enumerate(lengths):
            row: dict[str, torch.Tensor] = {}
            for name in hook_points:
                real = seen[name][i, width - n :]
                if positions == "last":
                    row[name] = real[-1]
                elif positions == "mean":
                    row[name] = real.mean(dim=0)
                else:
                    row[name] = real
            results.append(row)
    return results


@dataclass
class GradientResult:
    target_logprob: float
    positions: list[int]
    grad: torch.Tensor  # [positions, hidden]
    embedding_matrix: torch.Tensor


def input_gradient(
    model: Any,
    layout: ModelLayout,
    input_ids: list[int],
    target_ids: list[int],
    positions: list[int],
) -> GradientResult:
    """d log p(target | input) / d input embeddings, by teacher forcing the target."""
    device = next(model.parameters()).device
    ids = torch.tensor([input_ids + target_ids], device=device)
    embed: Any = layout.embed
    weight: torch.Tensor = embed.weight
    with torch.enable_grad():
        embeds = embed(ids).detach().requires_grad_(True)
        logits = model(inputs_embeds=embeds).logits[0].float()
        logprobs = torch.log_softmax(logits, dim=-1)
        start = len(input_ids) - 1
        target = torch.tensor(target_ids, device=device)
        total = logprobs[start : start + len(target_ids)].gather(1, target[:, None]).sum()
        (grad,) = torch.autograd.grad(total, embeds)
    model.zero_grad(set_to_none=True)
    return GradientResult(
        target_logprob=float(total.detach()),
        positions=positions,
        grad=grad[0, positions].detach().float().cpu(),
        embedding_matrix=weight.detach(),
    )


def token_candidates(result: GradientResult, top_k: int) -> list[list[int]]:
    """Per position, the tokens whose one-hot substitution most increases log p(target)
    to first order (GCG's candidate set): the largest ``grad . e_v``."""
    scores = result.grad @ result.embedding_matrix.float().cpu().T
    return [row.tolist() for row in torch.topk(scores, top_k, dim=-1).indices]


@dataclass
class Probe:
    id: str
    engagement: str
    model: str
    hook_point: str
    position: Literal["last", "mean"]
    weights: torch.Tensor
    bias: float

    def scores(self, features: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(features @ self.weights + self.bias)


def train_probe(
    features: torch.Tensor, labels: torch.Tensor, l2: float, max_iter: int
) -> tuple[torch.Tensor, float]:
    """L2-regularised logistic regression (LBFGS on standardised features); weights are
    returned in the original activation space."""
    x = features.double()
    y = labels.double()
    mean = x.mean(dim=0)
    std = x.std(dim=0).clamp_min(1e-6)
    z = (x - mean) / std
    w = torch.zeros(z.shape[1], dtype=torch.float64, requires_grad=True)
    b = torch.zeros((), dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([w, b], max_iter=max_iter, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = (
            torch.nn.functional.binary_cross_entropy_with_logits(z @ w + b, y) + l2 * (w * w).sum()
        )
        loss.backward()  # type: ignore[no-untyped-call]
        return loss

    with torch.enable_grad():
        optimizer.step(closure)  # type: ignore[no-untyped-call]
    weights = (w.detach() / std).float()
    bias = float(b.detach() - (w.detach() * mean / std).sum())
    return weights, bias


def new_probe_id() -> str:
    return "probe-" + secrets.token_hex(8)


def accuracy(scores: torch.Tensor, labels: torch.Tensor) -> float:
    return (
        float(((scores >= 0.5).long() == labels.long()).float().mean())
        if len(labels)
        else float("nan")
    )


def as_array(values: list[float] | str) -> np.ndarray[Any, Any]:
    """Inverse of :func:`encode` (for clients and tests)."""
    if isinstance(values, str):
        return np.frombuffer(base64.b64decode(values), dtype="<f4")
    return np.asarray(values, dtype=np.float32)
