"""Input-gradient attributions (``POST /v1/whitebox/gradients``): the gradient of
``log p(target | input)`` (teacher-forced) with respect to the input embeddings."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field

from assay.gateway._errors import bad_request
from assay.gateway.whitebox._operation import Call, ModelRequest, Runtime, WhiteboxOperation
from assay.gateway.whitebox._protocol import Encoding, TextInput

if TYPE_CHECKING:
    from assay.gateway.whitebox._compute import GradientResult


class GradientRequest(ModelRequest):
    """Gradient of ``log p(target | input)`` with respect to the input embeddings."""

    input: TextInput
    target: str = Field(
        min_length=1, description="text whose tokens follow the input (teacher-forced)"
    )
    positions: list[int] | None = Field(
        default=None, description="input positions to return (default all)"
    )
    output: Literal["embedding_grad", "norm", "token_candidates"] = "norm"
    top_k: int = Field(
        default=16, ge=1, le=256, description="candidates per position (token_candidates)"
    )
    encoding: Encoding = "float"


class GradientResponse(BaseModel):
    object: Literal["whitebox.gradient"] = "whitebox.gradient"
    model: str
    input_tokens: list[int]
    target_tokens: list[int]
    target_logprob: float
    positions: list[int]
    shape: list[int] | None = None
    values: list[float] | str | None = None
    candidates: list[list[int]] | None = Field(
        default=None,
        description="per position: token ids whose substitution most decreases the loss",
    )
    floats: int


async def gradients(rt: Runtime, request: GradientRequest, call: Call) -> GradientResponse:
    """The gradient itself, its norm per position, or GCG's candidate tokens."""
    from assay.gateway.whitebox import _compute as compute
    from assay.gateway.whitebox._hooks import adapter_scope

    layout = rt.layout
    input_ids = rt.input_ids(request.input)
    target_ids = list(rt.tokenizer(request.target, add_special_tokens=False)["input_ids"])
    if not target_ids:
        raise bad_request("the target encodes to zero tokens", param="target")
    rt.budget(input_ids + target_ids, 0, "target", allow_zero=True)
    positions = request.positions if request.positions is not None else list(range(len(input_ids)))
    if any(not 0 <= p < len(input_ids) for p in positions) or not positions:
        raise bad_request(f"positions must lie in 0..{len(input_ids) - 1}", param="positions")
    per_position = {"embedding_grad": layout.hidden_size, "norm": 1, "token_candidates": 0}[
        request.output
    ]
    bound = 1 + len(positions) * per_position
    rt.check_floats(bound, "positions")
    call.meter.reserve(tokens=len(input_ids) + len(target_ids), floats=bound)

    def work() -> tuple[GradientResult, list[list[int]] | None]:
        with adapter_scope(rt.model, call.adapter):
            result = compute.input_gradient(rt.model, layout, input_ids, target_ids, positions)
        candidates = (
            compute.token_candidates(result, request.top_k)
            if request.output == "token_candidates"
            else None
        )
        return result, candidates

    result, candidates = await rt.run_on_model(work)
    values: list[float] | str | None = None
    shape: list[int] | None = None
    if request.output == "embedding_grad":
        values, shape = compute.encode(result.grad, request.encoding), list(result.grad.shape)
    elif request.output == "norm":
        norms = result.grad.norm(dim=-1)
        values, shape = compute.encode(norms, request.encoding), list(norms.shape)
    call.meter.record(prompt_tokens=len(input_ids) + len(target_ids), floats=bound)
    return GradientResponse(
        model=request.model,
        input_tokens=input_ids,
        target_tokens=target_ids,
        target_logprob=result.target_logprob,
        positions=positions,
        shape=shape,
        values=values,
        candidates=candidates,
        floats=bound,
    )


GRADIENTS = WhiteboxOperation(
    path="/v1/whitebox/gradients",
    what="gradients",
    request=GradientRequest,
    response=GradientResponse,
    run=gradients,
)
