"""One thread for all model computation in the process.

PyTorch's OpenMP backend gives every thread that runs a parallel region its own
team of worker threads. Two threads doing torch work (say, the model thread of a
gateway and a caller's main thread) leave two teams competing for the same cores,
and on a 2-core machine both then run about 1.7x slower (measured; see
docs/benchmarks.md). So every backend and operation that touches a model in this
process runs here, one task at a time (fine-tuning trains in a process of its own,
with its own thread budget: ``assay.gateway.finetuning``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None


def model_thread() -> ThreadPoolExecutor:
    """The process-wide single-worker executor for model computation."""
    global _executor
    with _lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="assay-model")
        return _executor


def on_model_thread(fn: Callable[[], T]) -> T:
    """Run ``fn`` on the model thread and wait for it (for synchronous callers)."""
    if threading.current_thread().name.startswith("assay-model"):
        return fn()
    return model_thread().submit(fn).result()
