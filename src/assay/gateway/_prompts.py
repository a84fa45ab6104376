"""The prompt text a chat request becomes, with the model's chat template.

Kept apart from the local backend (which imports torch) so that ``assay audit
--dry-run`` counts prompt tokens exactly as the gateway does, on a tokenizer alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from assay.gateway._errors import bad_request
from assay.gateway._protocol import ChatMessage


def render_chat(tokenizer: Any, model: str, messages: Sequence[ChatMessage]) -> str:
    """Render messages with the model's chat template; a final assistant message is
    continued rather than closed (an answer prefix). Tokenize the text without special
    tokens: the template writes them."""
    if not getattr(tokenizer, "chat_template", None):
        raise bad_request(
            f"model {model!r} has no chat template; use /v1/completions with a raw prompt",
            code="no_chat_template",
        )
    rendered = []
    for m in messages:
        if m.non_text_parts():
            raise bad_request(
                f"only text content is supported, got {', '.join(m.non_text_parts())}",
                param="messages",
            )
        role = "system" if m.role == "developer" else m.role
        rendered.append({"role": role, "content": m.text()})
    continue_final = rendered[-1]["role"] == "assistant"
    text: str = tokenizer.apply_chat_template(
        rendered,
        tokenize=False,
        add_generation_prompt=not continue_final,
        continue_final_message=continue_final,
    )
    return text
