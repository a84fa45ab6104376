"""What the gateway's routes need from a model backend, one protocol per family.

Every backend serves the OpenAI-compatible black and grey operations (:class:`Backend`).
A backend that also implements :class:`WhiteboxBackend` serves the white-box operations,
and one that implements :class:`FineTuningBackend` LoRA fine-tuning jobs; routes reach
them only through these protocols.
"""

from __future__ import annotations

from typing import Any, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel

from assay.gateway._metering import Meter
from assay.gateway._protocol import (
    ChatCompletionRequest,
    ChatCompletionResponse,
    CompletionRequest,
    CompletionResponse,
    DetokenizeRequest,
    DetokenizeResponse,
    ModelCard,
    TokenizeRequest,
    TokenizeResponse,
)
from assay.gateway._tokens import TokenInfo
from assay.gateway.finetuning import FineTuneJob, FineTuneRequest
from assay.gateway.whitebox import Call, HookPoints, WhiteboxOperation
from assay.tiers import Tier

Resp = TypeVar("Resp", bound=BaseModel)


class Backend(Protocol):
    """What the app needs from a model backend (black and grey operations)."""

    kind: str
    max_tier: Tier

    def model_cards(self, token: TokenInfo | None = None) -> list[ModelCard]: ...
    def serves(self, model: str) -> bool: ...
    def resolve(self, model: str, token: TokenInfo) -> str | None: ...
    async def chat(
        self, request: ChatCompletionRequest, meter: Meter, adapter: str | None = None
    ) -> ChatCompletionResponse: ...
    async def complete(
        self, request: CompletionRequest, meter: Meter, adapter: str | None = None
    ) -> CompletionResponse: ...
    def tokenize(self, request: TokenizeRequest) -> TokenizeResponse: ...
    def detokenize(self, request: DetokenizeRequest) -> DetokenizeResponse: ...
    async def startup(self) -> None: ...
    async def aclose(self) -> None: ...


@runtime_checkable
class WhiteboxBackend(Protocol):
    """A backend that serves the white-box operations (its ``max_tier`` is white).

    :meth:`run_whitebox` runs any :class:`~assay.gateway.whitebox.WhiteboxOperation`:
    a local backend calls the operation's implementation on itself; a backend in front
    of another server could forward the request to ``operation.path`` instead.
    """

    def hook_points(self) -> HookPoints: ...
    async def run_whitebox(
        self, operation: WhiteboxOperation[Any, Resp], request: Any, call: Call
    ) -> Resp: ...


@runtime_checkable
class FineTuningBackend(Protocol):
    """A backend that runs LoRA fine-tuning jobs and serves their adapters."""

    async def create_fine_tune(
        self, request: FineTuneRequest, meter: Meter, token: TokenInfo
    ) -> FineTuneJob: ...
    def fine_tune_jobs(self, token: TokenInfo) -> list[FineTuneJob]: ...
