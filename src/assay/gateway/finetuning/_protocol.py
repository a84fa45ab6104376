"""Wire models of LoRA fine-tuning jobs (``/v1/fine_tuning/jobs``), shared by the
gateway, its clients and the tests. Pydantic only: no torch."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from assay.gateway._protocol import ChatMessage

JobStatus = Literal["queued", "running", "succeeded", "failed"]


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


class FineTuneRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
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
    status: JobStatus
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
