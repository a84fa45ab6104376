"""Named hook points inside a decoder-only transformer, and how to read or change them.

Hook points (``i`` from 0 to the number of layers minus 1):

===========================  ==========================================================
``embed``                    token embeddings (the input of layer 0)
``layers.{i}.residual_pre``  the residual stream entering layer ``i``
``layers.{i}.attn_out``      the attention block's output, before it joins the residual
``layers.{i}.mlp_out``       the MLP block's output, before it joins the residual
``layers.{i}.residual_post`` the residual stream leaving layer ``i``
``final_norm``               the normalised stream the unembedding reads
===========================  ==========================================================

Works for Llama-style models (Llama, Mistral, Qwen2, SmolLM, ...): a decoder with
``embed_tokens``, ``layers[i].self_attn``, ``layers[i].mlp`` and ``norm``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch

from assay.gateway._errors import bad_request

_POINT = re.compile(
    r"(?:embed|final_norm|layers\.(0|[1-9][0-9]{0,3})\.(residual_pre|residual_post|attn_out|mlp_out))"
)

# Hook points whose values are parameters, or give parameters back from a few floats:
# ``embed`` and ``layers.0.residual_pre`` are rows of the embedding matrix (bit for bit);
# ``layers.0.attn_out`` and ``layers.0.mlp_out`` with ``layers.0.residual_post`` give them
# back by subtraction; ``final_norm`` divided by the normalised ``residual_post`` of the
# last layer is the final norm's weight. Not offered unless a deployment opts in.
PARAMETER_LOOKUPS = ("embed", "layers.0.residual_pre", "layers.0.attn_out", "layers.0.mlp_out")
PARAMETER_LOOKUP_POINTS = frozenset({*PARAMETER_LOOKUPS, "final_norm"})

# edit(name, tensor) -> tensor: sees [batch, seq, hidden] and returns the (possibly changed) tensor
Edit = Callable[[str, torch.Tensor], torch.Tensor]


def is_peft(model: Any) -> bool:
    """A peft wrapper (LoRA adapters loaded) around the served model."""
    return hasattr(model, "peft_config") and hasattr(model, "get_base_model")


@contextmanager
def adapter_scope(model: Any, adapter: str | None) -> Iterator[None]:
    """Run forward passes on the base model (``None``) or on one adapter."""
    if not is_peft(model):
        yield
        return
    if adapter is None:
        with model.disable_adapter():
            yield
        return
    model.set_adapter(adapter)
    yield


@dataclass(frozen=True)
class ModelLayout:
    """Where the hookable modules of one model are."""

    embed: torch.nn.Module
    layers: list[torch.nn.Module]
    norm: torch.nn.Module
    hidden_size: int

    @property
    def num_layers(self) -> int:
        return len(self.layers)

    def points(self, *, parameter_lookups: bool = False) -> list[str]:
        """Every hook point, or (by default) those that are not parameter lookups."""
        names = ["embed"]
        for i in range(self.num_layers):
            names += [
                f"layers.{i}.{k}" for k in ("residual_pre", "attn_out", "mlp_out", "residual_post")
            ]
        names.append("final_norm")
        if parameter_lookups:
            return names
        return [n for n in names if n not in PARAMETER_LOOKUP_POINTS]


def layout_of(model: Any) -> ModelLayout:
    """Find the decoder's modules (through a peft wrapper if there is one)."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    decoder = base.get_decoder() if hasattr(base, "get_decoder") else getattr(base, "model", None)
    layers = getattr(decoder, "layers", None)
    embed = getattr(decoder, "embed_tokens", None)
    norm = getattr(decoder, "norm", None)
    if layers is None or embed is None or norm is None:
        raise bad_request(
            f"white-box operations support Llama-style decoders; {type(base).__name__} is not one",
            code="unsupported_architecture",
        )
    return ModelLayout(
        embed=embed, layers=list(layers), norm=norm, hidden_size=int(base.config.hidden_size)
    )


def check_point(
    layout: ModelLayout, name: str, *, readable: bool = False, parameter_lookups: bool = False
) -> None:
    """Raise a 400 naming the valid points when ``name`` is not one. With ``readable``
    (the caller returns values read there), a parameter lookup is refused too unless
    the deployment offers them (``parameter_lookups``)."""
    match = _POINT.fullmatch(name)
    if not match:
        raise bad_request(
            f"unknown hook point {name!r}; use embed, final_norm or layers.<i>.(residual_pre|attn_out|mlp_out|residual_post)",
            param="hook_points",
            code="unknown_hook_point",
        )
    if match.group(1) is not None and int(match.group(1)) >= layout.num_layers:
        raise bad_request(
            f"hook point {name!r}: this model has layers 0..{layout.num_layers - 1}",
            param="hook_points",
            code="unknown_hook_point",
        )
    if readable and not parameter_lookups and name in PARAMETER_LOOKUP_POINTS:
        raise bad_request(
            f"hook point {name!r} is not offered: its values are model parameters or give them "
            "back (the embedding matrix, the final norm's weight); read a later layer, or ask "
            "the developer to enable [whitebox] parameter_lookups",
            param="hook_points",
            code="hook_point_not_offered",
        )


def _module_for(layout: ModelLayout, name: str) -> tuple[torch.nn.Module, bool]:
    """The module to hook and whether the hook is a pre-hook (on its input)."""
    if name == "embed":
        return layout.embed, False
    if name == "final_norm":
        return layout.norm, False
    match = _POINT.fullmatch(name)
    assert match is not None and match.group(1) is not None
    layer = layout.layers[int(match.group(1))]
    kind = match.group(2)
    if kind == "residual_pre":
        return layer, True
    if kind == "residual_post":
        return layer, False
    if kind == "attn_out":
        return layer.self_attn, False  # type: ignore[return-value]
    return layer.mlp, False  # type: ignore[return-value]


@contextmanager
def hooked(layout: ModelLayout, names: list[str], edit: Edit) -> Iterator[None]:
    """Run ``edit`` on the activations at ``names`` during the forward passes inside."""
    handles = []
    for name in dict.fromkeys(names):
        check_point(layout, name)
        module, pre = _module_for(layout, name)
        if pre:
            handles.append(
                module.register_forward_pre_hook(_pre_hook(name, edit), with_kwargs=True)
            )
        else:
            handles.append(module.register_forward_hook(_post_hook(name, edit)))
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def _post_hook(name: str, edit: Edit) -> Callable[..., Any]:
    def hook(_module: torch.nn.Module, _inputs: Any, output: Any) -> Any:
        if isinstance(output, tuple):
            return (edit(name, output[0]), *output[1:])
        return edit(name, output)

    return hook


def _pre_hook(name: str, edit: Edit) -> Callable[..., Any]:
    def hook(_module: torch.nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if args:
            return (edit(name, args[0]), *args[1:]), kwargs
        kwargs = dict(kwargs)
        kwargs["hidden_states"] = edit(name, kwargs["hidden_states"])
        return args, kwargs

    return hook
