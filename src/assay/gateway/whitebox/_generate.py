"""Generation with interventions (``POST /v1/whitebox/generate``): add a steering
vector or ablate a direction at chosen hook points while the model generates. The row
shares batches with other requests; its interventions apply to it alone."""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from assay.gateway._errors import bad_request
from assay.gateway._protocol import SEED_MAX, SEED_MIN
from assay.gateway.whitebox._operation import Call, ModelRequest, Runtime, WhiteboxOperation
from assay.gateway.whitebox._protocol import TextInput, WhiteboxRequest

# The largest |scale * vector[i]| an intervention may add: far above real activations
# (SmolLM2's residual stream stays within a few hundred), far below float32 overflow.
MAX_STEERING_MAGNITUDE = 1e4
_FLOAT32_MAX = 3.4028234663852886e38


class Intervention(WhiteboxRequest):
    """Add ``scale * vector`` at a hook point, or ablate ``scale`` times the component
    along ``vector`` (``scale = 1`` projects it out)."""

    hook_point: str
    op: Literal["add", "ablate"]
    vector: list[float] = Field(min_length=1)
    scale: float = Field(default=1.0, ge=-1000.0, le=1000.0)
    positions: Literal["all", "prompt", "generated"] = "all"

    @model_validator(mode="after")
    def _no_overflow(self) -> Intervention:
        if not all(math.isfinite(v) and abs(v) <= _FLOAT32_MAX for v in self.vector):
            raise ValueError("vector values must be finite float32 numbers")
        if self.op == "add":
            largest = abs(self.scale) * max(abs(v) for v in self.vector)
            if largest > MAX_STEERING_MAGNITUDE:
                raise ValueError(
                    f"scale * vector reaches {largest:.3g}; the limit is "
                    f"{MAX_STEERING_MAGNITUDE:g} per value (larger additions overflow the model)"
                )
        elif math.fsum(v * v for v in self.vector) == 0.0:
            raise ValueError("cannot ablate a zero direction")
        return self


class InterventionGenerateRequest(ModelRequest):
    """Generation with interventions; the prompt is raw text or chat messages."""

    input: TextInput
    interventions: list[Intervention] = Field(default_factory=list, max_length=64)
    max_tokens: int = Field(default=64, ge=1)
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    seed: int | None = Field(default=None, ge=SEED_MIN, le=SEED_MAX)
    stop: list[str] = Field(default_factory=list, max_length=4)
    logprobs: int | None = Field(default=None, ge=0, le=20)


class TopToken(BaseModel):
    token: str
    logprob: float


class GeneratedToken(BaseModel):
    token: str
    logprob: float
    top_logprobs: list[TopToken] = Field(
        default_factory=list, description="the `logprobs` most likely tokens at this position"
    )


class InterventionGenerateResponse(BaseModel):
    object: Literal["whitebox.generation"] = "whitebox.generation"
    model: str
    text: str
    finish_reason: Literal["stop", "length"]
    prompt_tokens: int
    completion_tokens: int
    tokens: list[GeneratedToken] | None = None
    floats: int


async def generate(
    rt: Runtime, request: InterventionGenerateRequest, call: Call
) -> InterventionGenerateResponse:
    import torch

    from assay.gateway.backends._engine import GenerationRequest, count_floats
    from assay.gateway.whitebox._interventions import RowIntervention

    width = rt.layout.hidden_size
    interventions = []
    for spec in request.interventions:
        rt.check_point(spec.hook_point)
        if len(spec.vector) != width:
            raise bad_request(
                f"intervention vectors need {width} values (the model width), got {len(spec.vector)}",
                param="interventions",
            )
        # finite, non-zero for ablation, no overflow once scaled: checked at the edge
        vector = torch.tensor(spec.vector, dtype=torch.float32)
        interventions.append(
            RowIntervention(spec.hook_point, spec.op, vector, spec.scale, spec.positions)
        )
    prompt = rt.input_ids(request.input)
    max_new = rt.budget(prompt, request.max_tokens, "max_tokens")
    k = request.logprobs
    call.meter.reserve(
        tokens=len(prompt) + max_new, floats=max_new * (1 + k) if k is not None else 0
    )
    row = GenerationRequest(
        prompt_ids=prompt,
        max_new_tokens=max_new,
        temperature=request.temperature,
        top_p=request.top_p,
        seed=request.seed,
        stop=request.stop,
        logprobs=k,
        interventions=tuple(interventions),
        adapter=call.adapter,
    )
    result = (await rt.generate([row], call.engagement))[0]
    floats = count_floats(result)
    call.meter.record(
        prompt_tokens=len(prompt), completion_tokens=len(result.output_ids), floats=floats
    )
    texts = rt.token_texts
    tokens = None
    if k is not None:
        tokens = [
            GeneratedToken(
                token=texts.text_of(p.token_id),
                logprob=p.logprob,
                top_logprobs=[
                    TopToken(token=texts.text_of(t.token_id), logprob=t.logprob) for t in p.top
                ],
            )
            for p in result.output_logprobs or []
        ]
    return InterventionGenerateResponse(
        model=request.model,
        text=result.text,
        finish_reason=result.finish_reason,
        prompt_tokens=len(prompt),
        completion_tokens=len(result.output_ids),
        tokens=tokens,
        floats=floats,
    )


GENERATE = WhiteboxOperation(
    path="/v1/whitebox/generate",
    what="generation with interventions",
    request=InterventionGenerateRequest,
    response=InterventionGenerateResponse,
    run=generate,
)
