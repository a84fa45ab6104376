"""White-box routes (white tier): the hook points, and one route per operation.

Adding an operation: write its module in :mod:`assay.gateway.whitebox` (request and
response models, an async implementation, a ``WhiteboxOperation``) and add it to
``OPERATIONS`` below. The route gets the token, tier, model scope and metering
dependencies like every other; the backend runs it through ``run_whitebox``.
"""

# No ``from __future__ import annotations``: FastAPI reads the endpoints' signatures.

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from assay.gateway._deps import (
    Auth,
    BackendDep,
    Metered,
    Need,
    Scoped,
    WhiteboxDep,
    check_tier,
    respond,
    scoped,
    scoped_query,
)
from assay.gateway.whitebox import (
    ACTIVATIONS,
    GENERATE,
    GRADIENTS,
    NOISE,
    PROBE_SCORES,
    PROBES,
    Call,
    HookPoints,
    ProbeScoreRequest,
    ProbeScoring,
    WhiteboxOperation,
)
from assay.tiers import Tier

OPERATIONS: tuple[WhiteboxOperation[Any, Any], ...] = (
    ACTIVATIONS,
    GENERATE,
    GRADIENTS,
    NOISE,
    PROBES,
)

router = APIRouter()


@router.get("/v1/whitebox/hook_points", response_model=None, responses={200: {"model": HookPoints}})
async def hook_points(
    scope: Annotated[Scoped[str], Depends(scoped_query(Need(Tier.WHITE, "white-box operations")))],
    meter: Metered,
    backend: WhiteboxDep,
) -> Any:
    return respond(backend.hook_points().model_copy(update={"model": scope.body}))


def add_operation(operation: WhiteboxOperation[Any, Any]) -> None:
    """Serve ``operation`` at its path: ``POST`` with its request model as the body."""
    access = scoped(operation.request, Need(Tier.WHITE, operation.what))

    async def endpoint(
        scope: Annotated[Scoped[Any], Depends(access)], meter: Metered, backend: WhiteboxDep
    ) -> Any:
        call = Call(token=scope.token, meter=meter, adapter=scope.adapter)
        return respond(await backend.run_whitebox(operation, scope.body, call))

    router.add_api_route(
        operation.path,
        endpoint,
        methods=["POST"],
        response_model=None,
        responses={200: {"model": operation.response}},
        name=operation.path.removeprefix("/v1/whitebox/").replace("/", "_"),
    )


for _operation in OPERATIONS:
    add_operation(_operation)


async def _scoring(
    probe_id: str, body: ProbeScoreRequest, token: Auth, backend: BackendDep
) -> Scoped[ProbeScoring]:
    """The probe's own model is checked against the token's scope when it is found."""
    check_tier(backend, token, Need(Tier.WHITE, PROBE_SCORES.what))
    return Scoped(ProbeScoring(probe_id=probe_id, texts=body.texts), token, None)


@router.post(
    PROBE_SCORES.path, response_model=None, responses={200: {"model": PROBE_SCORES.response}}
)
async def probe_scores(
    scope: Annotated[Scoped[ProbeScoring], Depends(_scoring)],
    meter: Metered,
    backend: WhiteboxDep,
) -> Any:
    call = Call(token=scope.token, meter=meter)
    return respond(await backend.run_whitebox(PROBE_SCORES, scope.body, call))
