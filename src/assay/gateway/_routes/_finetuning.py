"""Fine-tuning routes (white tier): create a LoRA job, list and read the engagement's
jobs on the models the token is scoped to."""

# No ``from __future__ import annotations``: FastAPI reads the dependencies' signatures.

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from assay.gateway._deps import FineTuningDep, Metered, Need, Scoped, respond, scoped, tier
from assay.gateway._errors import GatewayError
from assay.gateway._tokens import TokenInfo
from assay.gateway.finetuning import FineTuneJob, FineTuneJobList, FineTuneRequest
from assay.tiers import Tier

NEED = Need(Tier.WHITE, "fine-tuning")

router = APIRouter()

CreateScope = Annotated[Scoped[FineTuneRequest], Depends(scoped(FineTuneRequest, NEED))]
WhiteToken = Annotated[TokenInfo, Depends(tier(NEED))]


@router.post("/v1/fine_tuning/jobs", response_model=None, responses={200: {"model": FineTuneJob}})
async def create_job(scope: CreateScope, meter: Metered, backend: FineTuningDep) -> Any:
    return respond(await backend.create_fine_tune(scope.body, meter, scope.token))


def _visible(backend: FineTuningDep, token: TokenInfo) -> list[FineTuneJob]:
    """The engagement's jobs on models this token is scoped to."""
    return [j for j in backend.fine_tune_jobs(token) if token.allows_model(j.model)]


@router.get("/v1/fine_tuning/jobs")
async def list_jobs(token: WhiteToken, backend: FineTuningDep) -> FineTuneJobList:
    return FineTuneJobList(data=_visible(backend, token))


@router.get("/v1/fine_tuning/jobs/{job_id}")
async def get_job(job_id: str, token: WhiteToken, backend: FineTuningDep) -> FineTuneJob:
    for job in _visible(backend, token):
        if job.id == job_id:
            return job
    raise GatewayError(404, f"no fine-tuning job {job_id[:100]!r}", code="job_not_found")
