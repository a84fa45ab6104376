"""White-box access as a fixed, declarative set of operations; no tester code runs.

The wire models here are the one definition of the white-box API, shared by the
gateway, its clients (:mod:`assay.techniques`) and the tests; importing them does not
import torch. Each operation is one module (its models and its implementation, see
:class:`WhiteboxOperation`) served from one entry of the gateway's white-box router.
"""

from assay.gateway.whitebox._activations import (
    ACTIVATIONS,
    ActivationBlock,
    ActivationsRequest,
    ActivationsResponse,
)
from assay.gateway.whitebox._generate import (
    GENERATE,
    MAX_STEERING_MAGNITUDE,
    GeneratedToken,
    Intervention,
    InterventionGenerateRequest,
    InterventionGenerateResponse,
    TopToken,
)
from assay.gateway.whitebox._gradients import GRADIENTS, GradientRequest, GradientResponse
from assay.gateway.whitebox._noise import (
    MAX_NOISE_INPUTS,
    NOISE,
    NoiseGenerateRequest,
    NoiseGenerateResponse,
    NoiseGeneration,
    WeightNoise,
)
from assay.gateway.whitebox._operation import (
    Call,
    ModelRequest,
    Runtime,
    WhiteboxOperation,
)
from assay.gateway.whitebox._probes import (
    PROBE_SCORES,
    PROBES,
    ProbeExample,
    ProbeResponse,
    ProbeScoreRequest,
    ProbeScoreResponse,
    ProbeScoring,
    ProbeStore,
    ProbeTrainRequest,
)
from assay.gateway.whitebox._protocol import Encoding, HookPoints, TextInput, WhiteboxRequest

__all__ = [
    "ACTIVATIONS",
    "GENERATE",
    "GRADIENTS",
    "MAX_NOISE_INPUTS",
    "MAX_STEERING_MAGNITUDE",
    "NOISE",
    "PROBES",
    "PROBE_SCORES",
    "ActivationBlock",
    "ActivationsRequest",
    "ActivationsResponse",
    "Call",
    "Encoding",
    "GeneratedToken",
    "GradientRequest",
    "GradientResponse",
    "HookPoints",
    "Intervention",
    "InterventionGenerateRequest",
    "InterventionGenerateResponse",
    "ModelRequest",
    "NoiseGenerateRequest",
    "NoiseGenerateResponse",
    "NoiseGeneration",
    "ProbeExample",
    "ProbeResponse",
    "ProbeScoreRequest",
    "ProbeScoreResponse",
    "ProbeScoring",
    "ProbeStore",
    "ProbeTrainRequest",
    "Runtime",
    "TextInput",
    "TopToken",
    "WeightNoise",
    "WhiteboxOperation",
    "WhiteboxRequest",
]
