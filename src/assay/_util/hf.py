"""Quiet, offline-friendly defaults for Hugging Face libraries."""

from __future__ import annotations


def quiet_transformers() -> None:
    """No tqdm bars or info logs from transformers: assay draws its own progress."""
    import transformers

    transformers.utils.logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    transformers.utils.logging.set_verbosity_error()  # type: ignore[no-untyped-call]
