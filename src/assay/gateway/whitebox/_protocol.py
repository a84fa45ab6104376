"""Wire models shared by the white-box operations (each operation's own request and
response models live in its module). Pydantic only: clients import these without torch."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from assay.gateway._protocol import ChatMessage

Encoding = Literal["float", "base64"]


class WhiteboxRequest(BaseModel):
    """Base of white-box requests: unknown fields are refused (nothing is ignored)."""

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
