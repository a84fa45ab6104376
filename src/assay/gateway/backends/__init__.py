"""Model backends behind the gateway."""

from assay.gateway.backends._batcher import BatchStats, MicroBatcher
from assay.gateway.backends._engine import (
    Engine,
    GenerationRequest,
    GenerationResult,
    PositionLogprobs,
    TokenLogprob,
)
from assay.gateway.backends._local import BatchingConfig, LocalBackend
from assay.gateway.backends._thread import model_thread, on_model_thread
from assay.gateway.backends._upstream import UpstreamBackend

__all__ = [
    "BatchStats",
    "BatchingConfig",
    "Engine",
    "GenerationRequest",
    "GenerationResult",
    "LocalBackend",
    "MicroBatcher",
    "PositionLogprobs",
    "TokenLogprob",
    "UpstreamBackend",
    "model_thread",
    "on_model_thread",
]
