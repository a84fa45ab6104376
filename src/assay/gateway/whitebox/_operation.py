"""What a white-box operation is, and what it may use of the model behind the gateway.

An operation is one module: its request and response models (pydantic, the wire
format clients share) and an async function that runs it against a :class:`Runtime`,
the narrow view of a local model that operations get (tokenization and limits, the
model thread, the batcher, hook points). The gateway serves it from one router entry
(``assay.gateway._routes._whitebox``); a backend runs it through
:meth:`~assay.gateway.WhiteboxBackend.run_whitebox`.

Operations import torch inside their functions (through
:mod:`assay.gateway.whitebox._compute`), so that clients can import the wire models
of every operation without it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from pydantic import BaseModel

from assay.gateway._metering import Meter
from assay.gateway._tokens import TokenInfo
from assay.gateway.whitebox._protocol import TextInput, WhiteboxRequest

if TYPE_CHECKING:
    from assay.gateway.backends._engine import GenerationRequest, GenerationResult, TokenTexts
    from assay.gateway.whitebox._hooks import ModelLayout

T = TypeVar("T")
S = TypeVar("S")


class ModelRequest(WhiteboxRequest):
    """A white-box request about one served model (``MODEL`` or ``MODEL@SUFFIX``)."""

    model: str


Req = TypeVar("Req", bound=WhiteboxRequest)
Resp = TypeVar("Resp", bound=BaseModel)


@dataclass(frozen=True)
class Call:
    """Who asks, and what it may spend: everything an operation gets besides its request.

    ``adapter`` is the LoRA adapter behind ``MODEL@SUFFIX`` (``None``: the base model);
    the route has already checked the token's tier and model scope.
    """

    token: TokenInfo
    meter: Meter
    adapter: str | None = None

    @property
    def engagement(self) -> str:
        return self.token.engagement


class Runtime(Protocol):
    """The model behind a local backend, as white-box operations may use it."""

    name: str

    @property
    def model(self) -> Any:
        """The served module (a peft wrapper once adapters are loaded)."""

    @property
    def tokenizer(self) -> Any: ...

    @property
    def layout(self) -> ModelLayout: ...

    @property
    def pad_id(self) -> int: ...

    @property
    def token_texts(self) -> TokenTexts: ...

    def input_ids(self, item: TextInput) -> list[int]:
        """Token ids of a text or chat input (400 when empty or too long)."""

    def budget(
        self, prompt_ids: list[int], requested: int | None, param: str, *, allow_zero: bool = False
    ) -> int:
        """New tokens a prompt may have (400 when it does not fit)."""

    def check_floats(self, bound: int, param: str) -> None:
        """400 when a request could return more floats than one request may."""

    def check_point(self, name: str, *, readable: bool = False) -> None:
        """400 for an unknown hook point, or (``readable``) one not offered for reading."""

    async def run_on_model(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the model thread between batches, never alongside one."""

    async def generate(
        self, rows: Sequence[GenerationRequest], engagement: str
    ) -> list[GenerationResult]:
        """Run rows through the batcher (sharing forward passes with other requests)."""

    def run_rows(self, rows: Sequence[GenerationRequest]) -> list[GenerationResult]:
        """Run rows as one batch of their own, directly on the engine: only inside
        :meth:`run_on_model`, for an operation that changes the model for its own rows
        (400 for a row the engine cannot finish)."""

    def state(self, kind: Callable[[], S]) -> S:
        """This backend's instance of ``kind`` (made on first use): where an operation
        keeps what outlives a request, such as trained probes."""


@dataclass(frozen=True)
class WhiteboxOperation(Generic[Req, Resp]):
    """One white-box operation: its route, wire models and implementation."""

    path: str
    what: str  # names it in errors: "<what> requires white-tier access"
    request: type[Req]
    response: type[Resp]
    run: Callable[[Runtime, Req, Call], Awaitable[Resp]]
