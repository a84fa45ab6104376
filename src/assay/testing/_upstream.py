"""A stand-in for an OpenAI-compatible model server (vLLM, a lab's API): answers chat
requests at once with a fixed reply, so gateways can be put in front of it in tests and
benchmarks without a model. No tokens, no log: everything it costs is the gateway's."""

from __future__ import annotations

import itertools
import time
from typing import Any

from fastapi import FastAPI

STUB_MODEL = "stub"
STUB_REPLY = ("placeholder", " reply", " text", " from", " the", " stub")
STUB_PROMPT_TOKENS = 5


def stub_upstream_app(model: str = STUB_MODEL) -> FastAPI:
    """An app serving ``GET /v1/models`` and ``POST /v1/chat/completions``: the reply is
    the first ``max_tokens`` pieces of :data:`STUB_REPLY` (one token each), with
    ``top_logprobs`` alternatives per token when logprobs are asked for, and usage."""
    app = FastAPI()
    ids = itertools.count()

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": model, "object": "model", "created": 0}]}

    @app.post("/v1/chat/completions")
    async def chat(body: dict[str, Any]) -> dict[str, Any]:
        pieces = STUB_REPLY[: max(1, min(int(body.get("max_tokens") or 16), len(STUB_REPLY)))]
        k = int(body.get("top_logprobs") or 0)
        logprobs = None
        if body.get("logprobs") or body.get("top_logprobs") is not None:
            logprobs = {
                "content": [
                    {
                        "token": piece,
                        "logprob": -0.5,
                        "top_logprobs": [
                            {"token": f"alt{j}", "logprob": -1.0 - j} for j in range(k)
                        ],
                    }
                    for piece in pieces
                ]
            }
        return {
            "id": f"stub-{next(ids)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", model),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "".join(pieces)},
                    "finish_reason": "length",
                    "logprobs": logprobs,
                }
            ],
            "usage": {
                "prompt_tokens": STUB_PROMPT_TOKENS,
                "completion_tokens": len(pieces),
                "total_tokens": STUB_PROMPT_TOKENS + len(pieces),
            },
        }

    return app
