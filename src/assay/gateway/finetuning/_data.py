"""A fine-tuning job's training data: tokenized on the gateway (where the tokenizer and
its chat template are), handed to the worker process as a file.

The file is written (and synced) before the job is acknowledged, so a job the client
was told about survives a crash of the worker or of the gateway; it is deleted when the
job ends. It holds token ids, which are the tester's training text: it lives under the
gateway's adapters folder only while the job is queued or running.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assay._util.paths import atomic_writer
from assay.gateway._errors import bad_request
from assay.gateway.finetuning._protocol import FineTuneExample, FineTuneHyperparameters

IGNORE = -100  # the label of a token the loss does not count (prompts, user turns)


@dataclass(frozen=True)
class Tokenized:
    input_ids: list[int]
    labels: list[int]

    @property
    def learnable(self) -> bool:
        return any(label != IGNORE for label in self.labels)


@dataclass(frozen=True)
class JobData:
    """Everything the worker needs to train one job (no tokenizer, no database)."""

    job_id: str
    hyperparameters: FineTuneHyperparameters
    pad_id: int
    examples: list[Tokenized]

    def write(self, path: Path) -> None:
        """Write atomically and durably (temporary file, fsync, rename)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "job_id": self.job_id,
            "hyperparameters": self.hyperparameters.model_dump(),
            "pad_id": self.pad_id,
            "examples": [[e.input_ids, e.labels] for e in self.examples],
        }
        with atomic_writer(path, durable=True) as f:
            json.dump(payload, f, separators=(",", ":"))

    @classmethod
    def read(cls, path: Path) -> JobData:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return cls(
            job_id=str(data["job_id"]),
            hyperparameters=FineTuneHyperparameters.model_validate(data["hyperparameters"]),
            pad_id=int(data["pad_id"]),
            examples=[Tokenized(list(ids), list(labels)) for ids, labels in data["examples"]],
        )


def tokenize_example(tokenizer: Any, example: FineTuneExample, max_length: int) -> Tokenized:
    """Token ids and labels of one example: the loss is on the completion, or on the
    assistant turns of a chat, never on the prompt."""
    tok = tokenizer
    if example.messages is None:
        assert example.prompt is not None and example.completion is not None
        prompt = list(tok(example.prompt, add_special_tokens=True)["input_ids"])
        completion = list(tok(example.completion, add_special_tokens=False)["input_ids"])
        if tok.eos_token_id is not None:
            completion.append(tok.eos_token_id)
        pair = prompt + completion
        masked = [IGNORE] * len(prompt) + completion
        return Tokenized(pair[:max_length], masked[:max_length])
    if not getattr(tok, "chat_template", None):
        raise bad_request(
            "this model has no chat template; use prompt/completion examples",
            param="training_data",
        )
    messages = [
        {"role": "system" if m.role == "developer" else m.role, "content": m.text()}
        for m in example.messages
    ]
    ids: list[int] = []
    labels: list[int] = []
    for i, message in enumerate(messages):
        upto = list(
            tok(
                tok.apply_chat_template(messages[: i + 1], tokenize=False),
                add_special_tokens=False,
            )["input_ids"]
        )
        if message["role"] == "assistant":
            before = (
                tok.apply_chat_template(messages[:i], tokenize=False, add_generation_prompt=True)
                if i
                else ""
            )
            start = len(tok(before, add_special_tokens=False)["input_ids"]) if before else 0
            start = max(start, len(ids))
            labels += [IGNORE] * (start - len(ids)) + upto[start:]
        else:
            labels += [IGNORE] * (len(upto) - len(ids))
        ids = upto
    return Tokenized(ids[:max_length], labels[:max_length])
