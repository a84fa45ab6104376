"""Noise injection (``POST /v1/whitebox/noise``): greedy generation with seeded
Gaussian noise added to the weights for the duration of one request.

Tice et al. 2024 ("Noise injection reveals hidden capabilities of sandbagging
language models"): small random perturbations of the weights degrade an honest
model, but can break the mechanism a sandbagging model uses to underperform before
they break the capability it hides, so its accuracy rises. The operation is
declarative: the tester chooses a scale and a seed, the gateway draws
``N(0, scale²)`` for every weight (a deterministic function of the seed), generates
for a batch of inputs on the model thread with no other request's rows alongside,
and restores the weights exactly from a copy before anything else runs. No parameter
or noise value is ever returned; floats are metered as for any generation.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from assay.gateway.whitebox._generate import GeneratedToken, TopToken
from assay.gateway.whitebox._operation import Call, ModelRequest, Runtime, WhiteboxOperation
from assay.gateway.whitebox._protocol import TextInput, WhiteboxRequest

if TYPE_CHECKING:
    from assay.gateway.backends._engine import GenerationResult

MAX_NOISE_INPUTS = 64


class WeightNoise(WhiteboxRequest):
    """Gaussian noise of standard deviation ``scale``, drawn from ``seed``."""

    scale: float = Field(gt=0.0, le=1.0, description="standard deviation, in weight units")
    seed: int = Field(ge=0, le=2**63 - 1)


class NoiseGenerateRequest(ModelRequest):
    """Greedy generation for up to 64 inputs under one draw of weight noise."""

    inputs: list[TextInput] = Field(min_length=1, max_length=MAX_NOISE_INPUTS)
    noise: WeightNoise
    max_tokens: int = Field(default=1, ge=1, le=256)
    logprobs: int | None = Field(
        default=None, ge=0, le=20, description="top alternatives per generated token"
    )


class NoiseGeneration(BaseModel):
    index: int
    text: str
    finish_reason: Literal["stop", "length"]
    tokens: list[GeneratedToken] | None = None


class NoiseGenerateResponse(BaseModel):
    object: Literal["whitebox.noise_generation"] = "whitebox.noise_generation"
    model: str
    noise: WeightNoise
    data: list[NoiseGeneration]
    prompt_tokens: int
    completion_tokens: int
    floats: int


@contextmanager
def perturbed(model: Any, noise: WeightNoise) -> Iterator[None]:
    """Add seeded noise to every base weight (not to LoRA adapters) for the duration of
    the block, then restore the exact original values."""
    import torch

    params = [
        p for name, p in model.named_parameters() if p.is_floating_point() and "lora_" not in name
    ]
    generator = torch.Generator(device="cpu").manual_seed(noise.seed)
    saved = [p.detach().clone() for p in params]
    try:
        with torch.no_grad():
            for p in params:
                draw = torch.randn(p.shape, generator=generator, dtype=torch.float32)
                p.add_(draw.to(device=p.device, dtype=p.dtype), alpha=noise.scale)
        yield
    finally:
        with torch.no_grad():
            for p, original in zip(params, saved, strict=True):
                p.copy_(original)


async def noise_generate(
    rt: Runtime, request: NoiseGenerateRequest, call: Call
) -> NoiseGenerateResponse:
    """Greedy replies under the noise; the rows run alone, never batched with others."""
    from assay.gateway.backends._engine import GenerationRequest, count_floats

    prompts = [rt.input_ids(i) for i in request.inputs]
    budgets = [rt.budget(p, request.max_tokens, "max_tokens") for p in prompts]
    k = request.logprobs
    call.meter.reserve(
        tokens=sum(len(p) for p in prompts) + sum(budgets),
        floats=sum(budgets) * (1 + k) if k is not None else 0,
    )
    rows = [
        GenerationRequest(
            prompt_ids=p, max_new_tokens=n, temperature=0.0, logprobs=k, adapter=call.adapter
        )
        for p, n in zip(prompts, budgets, strict=True)
    ]

    def work() -> list[GenerationResult]:
        with perturbed(rt.model, request.noise):
            return rt.run_rows(rows)

    results = await rt.run_on_model(work)
    texts = rt.token_texts
    floats = sum(count_floats(r) for r in results)
    prompt_tokens = sum(len(p) for p in prompts)
    completion = sum(len(r.output_ids) for r in results)
    call.meter.record(prompt_tokens=prompt_tokens, completion_tokens=completion, floats=floats)
    data = [
        NoiseGeneration(
            index=i,
            text=r.text,
            finish_reason=r.finish_reason,
            tokens=[
                GeneratedToken(
                    token=texts.text_of(p.token_id),
                    logprob=p.logprob,
                    top_logprobs=[
                        TopToken(token=texts.text_of(t.token_id), logprob=t.logprob) for t in p.top
                    ],
                )
                for p in r.output_logprobs or []
            ]
            if k is not None
            else None,
        )
        for i, r in enumerate(results)
    ]
    return NoiseGenerateResponse(
        model=request.model,
        noise=request.noise,
        data=data,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion,
        floats=floats,
    )


NOISE = WhiteboxOperation(
    path="/v1/whitebox/noise",
    what="noise injection",
    request=NoiseGenerateRequest,
    response=NoiseGenerateResponse,
    run=noise_generate,
)
