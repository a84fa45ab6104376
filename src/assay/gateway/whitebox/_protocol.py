"""Request and response models of the white-box operations (all declarative JSON)."""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from assay.gateway._protocol import SEED_MAX, SEED_MIN, ChatMessage

# The largest |scale * vector[i]| an intervention may add: far above real activations
# (SmolLM2's residual stream stays within a few hundred), far below float32 overflow.
MAX_STEERING_MAGNITUDE = 1e4
_FLOAT32_MAX = 3.4028234663852886e38

Encoding = Literal["float", "base64"]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TextInput(BaseModel):
    """A raw text, or chat messages rendered with the model's chat template."""

    model_config = ConfigDict(extra="forbid")
    text: str | None = None
    messages: list[ChatMessage] | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _one_of(self) -> TextInput:
        if (self.text is None) == (self.messages is None):
            raise ValueError("give exactly one of 'text' or 'messages'")
        return self


class HookPoints(BaseModel):
    """The hook points a model offers for reading and intervening."""

    model: str
    num_layers: int
    hidden_size: int
    hook_points: list[str]


class ActivationsRequest(_Request):
    model: str
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


class InterventionSpec(_Request):
    hook_point: str
    op: Literal["add", "ablate"]
    vector: list[float] = Field(min_length=1)
    scale: float = Field(default=1.0, ge=-1000.0, le=1000.0)
    positions: Literal["all", "prompt", "generated"] = "all"

    @model_validator(mode="after")
    def _no_overflow(self) -> InterventionSpec:
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


class InterventionGenerateRequest(_Request):
    """Generation with interventions; the prompt is raw text or chat messages."""

    model: str
    input: TextInput
    interventions: list[InterventionSpec] = Field(default_factory=list, max_length=64)
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


class GradientRequest(_Request):
    """Gradient of ``log p(target | input)`` with respect to the input embeddings."""

    model: str
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


class ProbeExample(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str
    label: int = Field(ge=0, le=1)


class ProbeTrainRequest(_Request):
    model: str
    hook_point: str
    position: Literal["last", "mean"] = "mean"
    train: list[ProbeExample] = Field(min_length=4, max_length=4096)
    test: list[ProbeExample] = Field(default_factory=list, max_length=4096)
    l2: float = Field(default=1e-3, ge=0.0, le=100.0)
    max_iter: int = Field(default=200, ge=1, le=2000)
    return_weights: bool = True


class ProbeResponse(BaseModel):
    object: Literal["whitebox.probe"] = "whitebox.probe"
    id: str
    model: str
    hook_point: str
    position: str
    train_accuracy: float
    test_accuracy: float | None
    test_scores: list[float]
    weights: list[float] | None
    bias: float | None
    floats: int


class ProbeScoreRequest(_Request):
    texts: list[str] = Field(min_length=1, max_length=4096)


class ProbeScoreResponse(BaseModel):
    object: Literal["whitebox.probe_scores"] = "whitebox.probe_scores"
    id: str
    scores: list[float]
    floats: int


class FineTuneExample(BaseModel):
    """A chat to imitate (loss on assistant turns) or a prompt/completion pair."""

    model_config = ConfigDict(extra="forbid")
    messages: list[ChatMessage] | None = Field(default=None, min_length=1)
    prompt: str | None = None
    completion: str | None = None

    @model_validator(mode="after")
    def _shape(self) -> FineTuneExample:
        if self.messages is None and (self.prompt is None or self.completion is None):
            raise ValueError("give 'messages', or both 'prompt' and 'completion'")
        if self.messages is not None and not any(m.role == "assistant" for m in self.messages):
            raise ValueError("'messages' needs at least one assistant turn to learn from")
        return self


class FineTuneHyperparameters(BaseModel):
    model_config = ConfigDict(extra="forbid")
    learning_rate: float = Field(default=2e-4, gt=0.0, le=1.0)
    steps: int = Field(default=20, ge=1, le=10000)
    batch_size: int = Field(default=4, ge=1, le=64)
    lora_r: int = Field(default=8, ge=1, le=256)
    lora_alpha: int = Field(default=16, ge=1, le=1024)
    target_modules: list[str] = Field(default_factory=lambda: ["q_proj", "v_proj"], min_length=1)
    max_length: int = Field(default=256, ge=8, le=4096)
    seed: int = Field(default=0, ge=0, le=2**63 - 1)


class FineTuneRequest(_Request):
    model: str
    training_data: list[FineTuneExample] = Field(min_length=1)
    hyperparameters: FineTuneHyperparameters = Field(default_factory=FineTuneHyperparameters)
    suffix: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,40}$")


class LossPoint(BaseModel):
    step: int
    loss: float


class FineTuneJob(BaseModel):
    object: Literal["fine_tuning.job"] = "fine_tuning.job"
    id: str
    model: str
    fine_tuned_model: str
    status: Literal["queued", "running", "succeeded", "failed"]
    created_at: int
    updated_at: int
    hyperparameters: FineTuneHyperparameters
    training_examples: int
    steps_done: int
    losses: list[LossPoint]
    seconds: float | None = None
    error: str | None = None


class FineTuneJobList(BaseModel):
    object: Literal["list"] = "list"
    data: list[FineTuneJob]
