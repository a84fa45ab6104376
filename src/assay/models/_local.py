"""Loading a local transformers model (for serving behind an in-process gateway)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assay._util.errors import AssayError
from assay.models._fingerprint import ModelFingerprint, fingerprint_directory
from assay.models._spec import TargetKind, TargetSpec


@dataclass
class LocalModel:
    """A loaded causal LM, its tokenizer, the name it is served under, and its identity."""

    name: str
    model: Any  # transformers.PreTrainedModel
    tokenizer: Any  # transformers.PreTrainedTokenizerBase
    path: Path
    fingerprint: ModelFingerprint


def load_local_model(
    path: Path | str, *, name: str | None = None, dtype: str = "float32"
) -> LocalModel:
    """Load a model directory (or a hub id already in the local cache) for inference."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from assay._util.hf import quiet_transformers

    quiet_transformers()
    directory = Path(path)
    if not directory.is_dir():
        directory = _resolve_hub_id(str(path))
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(directory))
        model = AutoModelForCausalLM.from_pretrained(str(directory), dtype=getattr(torch, dtype))
    except (OSError, ValueError) as exc:
        raise AssayError(
            f"could not load a causal language model from {directory}: {_first_line(exc)}"
        ) from exc
    model.eval()  # type: ignore[no-untyped-call]
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return LocalModel(
        name=name or directory.name,
        model=model,
        tokenizer=tokenizer,
        path=directory,
        fingerprint=fingerprint_directory(directory),
    )


def load_target_model(spec: TargetSpec, *, show_progress: bool = True) -> LocalModel:
    """Load the weights a ``builtin:`` or ``hf:`` target names."""
    if spec.kind is TargetKind.BUILTIN:
        from assay.models._builtin import provision_builtin

        directory = provision_builtin(spec.location, show_progress=show_progress)
        return load_local_model(directory, name=spec.location)
    if spec.kind is TargetKind.HF:
        return load_local_model(spec.location, name=Path(spec.location).name or spec.location)
    raise AssayError(f"target {spec} is not a local model")


def _resolve_hub_id(repo_id: str) -> Path:
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(repo_id))
    except Exception as exc:
        raise AssayError(
            f"{repo_id!r} is not a local directory and could not be fetched from the "
            f"Hugging Face hub ({_first_line(exc)})",
            hint="pass hf:/path/to/model/dir, or pre-download it with `hf download`",
        ) from exc


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
