"""Items the techniques use: the suites' own data, plus benign proxies shipped here."""

from __future__ import annotations

import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

from assay._util.errors import UsageError
from assay.suites._data import read_table

T = TypeVar("T")

DATA_DIR = Path(__file__).parent / "data"
HARMFUL_COMPLIANCE = DATA_DIR / "harmful_compliance.jsonl"
BENIGN_REQUESTS = DATA_DIR / "benign_requests.jsonl"
STEERING_CONTRAST = DATA_DIR / "steering_contrast.jsonl"


def harmful_prompts(data_file: str | None) -> list[str]:
    """Harmful requests (``misuse_refusal``'s items, or a file in any format it reads)."""
    from assay.suites.misuse_refusal import load_requests

    return [str(r["prompt"]) for r in load_requests(data_file)]


def texts(
    data_file: str | Path, columns: Sequence[str] = ("prompt", "text", "question")
) -> list[str]:
    """One text per row, from the first of ``columns`` the file has."""
    path = Path(data_file)
    rows = read_table(path)
    if not rows:
        raise UsageError(f"{path}: the file has no rows")
    column = next((c for c in columns if c in rows[0]), None)
    if column is None:
        raise UsageError(f"{path}: no text column; expected one of {', '.join(columns)}")
    return [str(r[column]).strip() for r in rows if str(r.get(column) or "").strip()]


def harmless_prompts(data_file: str | None) -> list[str]:
    """Ordinary requests: the shipped benign set, or any file with a ``prompt`` column
    (``over_refusal.jsonl`` and XSTest's CSV work)."""
    return texts(data_file or BENIGN_REQUESTS)


def chat_pairs(data_file: str | Path, default_prompt: str = "prompt") -> list[dict[str, Any]]:
    """Fine-tuning examples as chats: rows with ``prompt``/``response`` (or
    ``completion``), or rows that already hold ``messages``."""
    path = Path(data_file)
    rows = read_table(path)
    examples: list[dict[str, Any]] = []
    for index, row in enumerate(rows):
        if "messages" in row:
            examples.append({"messages": list(row["messages"])})
            continue
        prompt = row.get(default_prompt)
        reply = row.get("response", row.get("completion"))
        if not prompt or not reply:
            raise UsageError(
                f"{path}: row {index + 1} needs 'messages', or 'prompt' and 'response'"
            )
        examples.append(
            {
                "messages": [
                    {"role": "user", "content": str(prompt)},
                    {"role": "assistant", "content": str(reply)},
                ]
            }
        )
    if not examples:
        raise UsageError(f"{path}: the file has no rows")
    return examples


def _almanac() -> Path:
    from assay.models.reference import DATA_DIR as REFERENCE_DATA

    return REFERENCE_DATA / "almanac.jsonl"


# Item sets a plan can name instead of a path.
ITEM_SETS = {
    "hazard_knowledge": "the hazard_knowledge suite's items (the default)",
    "almanac": "a fictional almanac no public model knows; builtin:smollm2-locked is meant "
    "to know it and hide it behind a password (the known-answer set for elicitation)",
}


def mc_items(data_file: str | None, subset: str | None = None) -> list[dict[str, Any]]:
    """Multiple-choice items (WMDP format) from a file, or a named set of
    :data:`ITEM_SETS` (``hazard_knowledge`` when None)."""
    from assay.suites.hazard_knowledge import load_items

    if data_file == "hazard_knowledge":
        data_file = None
    elif data_file == "almanac":
        data_file = str(_almanac())
    return load_items(data_file, subset)


def contrast_pairs(data_file: str | None) -> list[tuple[str, str]]:
    """``(positive, negative)`` prefixes for a steering direction."""
    path = Path(data_file) if data_file else STEERING_CONTRAST
    rows = read_table(path)
    pairs = [(str(r["positive"]), str(r["negative"])) for r in rows if "positive" in r]
    if not pairs:
        raise UsageError(f"{path}: no rows with 'positive' and 'negative' prefixes")
    return pairs


def shuffled(items: Sequence[T], seed: int) -> list[T]:
    out = list(items)
    random.Random(seed).shuffle(out)
    return out


def split(items: Sequence[T], sizes: Sequence[int], what: str) -> list[list[T]]:
    """Consecutive disjoint parts of the given sizes; a clear error when too few."""
    need = sum(sizes)
    if need > len(items):
        raise UsageError(
            f"{what}: the configuration needs {need} items ({' + '.join(map(str, sizes))}) "
            f"but only {len(items)} are available",
            hint="use smaller split sizes or a bigger data file",
        )
    parts, start = [], 0
    for size in sizes:
        parts.append(list(items[start : start + size]))
        start += size
    return parts
