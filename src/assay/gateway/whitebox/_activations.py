"""Activations at hook points (``POST /v1/whitebox/activations``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field

from assay.gateway.whitebox._operation import Call, ModelRequest, Runtime, WhiteboxOperation
from assay.gateway.whitebox._protocol import Encoding, TextInput

if TYPE_CHECKING:
    import torch


class ActivationsRequest(ModelRequest):
    inputs: list[TextInput] = Field(min_length=1, max_length=256)
    hook_points: list[str] = Field(min_length=1, max_length=64)
    positions: Literal["last", "mean", "all"] = "last"
    encoding: Encoding = "float"


class ActivationBlock(BaseModel):
    input_index: int
    hook_point: str
    shape: list[int]
    values: list[float] | str = Field(
        description="row-major floats, or base64 little-endian float32"
    )


class ActivationsResponse(BaseModel):
    object: Literal["whitebox.activations"] = "whitebox.activations"
    model: str
    hidden_size: int
    data: list[ActivationBlock]
    floats: int


async def activations(rt: Runtime, request: ActivationsRequest, call: Call) -> ActivationsResponse:
    """One block per input and hook point: the last or mean position, or all of them."""
    from assay.gateway.whitebox import _compute as compute
    from assay.gateway.whitebox._hooks import adapter_scope

    for name in request.hook_points:
        rt.check_point(name, readable=True)
    prompts = [rt.input_ids(i) for i in request.inputs]
    width = rt.layout.hidden_size
    per = [len(p) if request.positions == "all" else 1 for p in prompts]
    bound = sum(per) * len(request.hook_points) * width
    rt.check_floats(bound, "inputs")
    call.meter.reserve(tokens=sum(len(p) for p in prompts), floats=bound)

    def work() -> list[dict[str, torch.Tensor]]:
        with adapter_scope(rt.model, call.adapter):
            return compute.capture(
                rt.model, rt.layout, prompts, request.hook_points, request.positions, rt.pad_id
            )

    captured = await rt.run_on_model(work)
    blocks = []
    floats = 0
    for index, row in enumerate(captured):
        for name in request.hook_points:
            tensor = row[name]
            floats += tensor.numel()
            blocks.append(
                ActivationBlock(
                    input_index=index,
                    hook_point=name,
                    shape=list(tensor.shape),
                    values=compute.encode(tensor, request.encoding),
                )
            )
    call.meter.record(prompt_tokens=sum(len(p) for p in prompts), floats=floats)
    return ActivationsResponse(model=request.model, hidden_size=width, data=blocks, floats=floats)


ACTIVATIONS = WhiteboxOperation(
    path="/v1/whitebox/activations",
    what="activations",
    request=ActivationsRequest,
    response=ActivationsResponse,
    run=activations,
)
