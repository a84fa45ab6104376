"""Reading shipped suite data and public datasets from local files."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from assay._util.errors import UsageError
from assay._util.hashing import sha256_bytes, sha256_json

DATA_DIR = Path(__file__).parent / "data"


def shipped(name: str) -> Path:
    """Path of a data file that ships with assay."""
    return DATA_DIR / name


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Read a JSON Lines file; errors name the file and line."""
    rows: list[dict[str, Any]] = []
    try:
        with path.open(encoding="utf-8") as f:
            for number, line in enumerate(f, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise UsageError(f"{path}:{number}: not valid JSON ({exc.msg})") from None
                if not isinstance(row, dict):
                    raise UsageError(f"{path}:{number}: expected a JSON object per line")
                rows.append(row)
    except FileNotFoundError:
        raise UsageError(f"data file not found: {path}") from None
    return rows


def read_table(path: Path) -> list[dict[str, Any]]:
    """Rows of a local dataset file: ``.jsonl``, ``.json`` (array), ``.csv`` or ``.parquet``."""
    if not path.is_file():
        raise UsageError(f"data file not found: {path}")
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        return read_jsonl(path)
    if suffix == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise UsageError(f"{path}: not valid JSON ({exc.msg})") from None
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            raise UsageError(f"{path}: expected a JSON array of objects")
        return data
    if suffix == ".csv":
        with path.open(encoding="utf-8", newline="") as f:
            return [dict(r) for r in csv.DictReader(f)]
    if suffix == ".parquet":
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise UsageError("reading parquet needs pyarrow", hint="pip install pyarrow") from None
        table = pq.read_table(path)
        return [dict(r) for r in table.to_pylist()]
    raise UsageError(
        f"{path}: unsupported data file type {suffix!r}", hint="use .jsonl, .json, .csv or .parquet"
    )


def require_columns(path: Path, rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> None:
    """Fail with a clear message when a dataset lacks the columns a loader needs."""
    if not rows:
        raise UsageError(f"{path}: the file has no rows")
    missing = [c for c in columns if c not in rows[0]]
    if missing:
        raise UsageError(
            f"{path}: missing column(s) {', '.join(missing)}; found {', '.join(map(str, rows[0]))}"
        )


def files_digest(paths: Sequence[Path]) -> str:
    """One digest over the named data files (name and content of each)."""
    return sha256_json({p.name: sha256_bytes(p.read_bytes()) for p in sorted(paths)})
