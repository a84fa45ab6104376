"""LoRA fine-tuning jobs on the gateway: trained by a worker process of their own, off
the inference path; the adapters stay on the gateway and are served as model variants.

The wire models here are the one definition of the fine-tuning API, shared by the
gateway, its clients (:mod:`assay.techniques`) and the tests; importing them does not
import torch.
"""

from assay.gateway.finetuning._manager import FineTuneManager
from assay.gateway.finetuning._process import WorkerSettings
from assay.gateway.finetuning._protocol import (
    FineTuneExample,
    FineTuneHyperparameters,
    FineTuneJob,
    FineTuneJobList,
    FineTuneRequest,
    JobStatus,
    LossPoint,
)

__all__ = [
    "FineTuneExample",
    "FineTuneHyperparameters",
    "FineTuneJob",
    "FineTuneJobList",
    "FineTuneManager",
    "FineTuneRequest",
    "JobStatus",
    "LossPoint",
    "WorkerSettings",
]
