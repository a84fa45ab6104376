"""Server-side linear probes (``POST /v1/whitebox/probes`` and
``POST /v1/whitebox/probes/{id}/score``): an L2-regularised logistic regression on
activations at one hook point, trained and kept on the gateway for the engagement
that trained it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from assay.gateway._errors import GatewayError, bad_request, forbidden
from assay.gateway.whitebox._operation import Call, ModelRequest, Runtime, WhiteboxOperation
from assay.gateway.whitebox._protocol import TextInput, WhiteboxRequest

if TYPE_CHECKING:
    import torch

    from assay.gateway.whitebox._compute import Probe


class ProbeExample(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str
    label: int = Field(ge=0, le=1)


class ProbeTrainRequest(ModelRequest):
    hook_point: str
    position: Literal["last", "mean"] = "mean"
    train: list[ProbeExample] = Field(min_length=4, max_length=4096)
    test: list[ProbeExample] = Field(default_factory=list, max_length=4096)
    l2: float = Field(default=1e-3, ge=0.0, le=100.0)
    max_iter: int = Field(default=200, ge=1, le=2000)
    return_weights: bool = True


class ProbeResponse(BaseModel):
    object: Literal["whitebox.probe"] = "whitebox.probe"
    id: str
    model: str
    hook_point: str
    position: str
    train_accuracy: float
    test_accuracy: float | None
    test_scores: list[float]
    weights: list[float] | None
    bias: float | None
    floats: int


class ProbeScoreRequest(WhiteboxRequest):
    texts: list[str] = Field(min_length=1, max_length=4096)


class ProbeScoreResponse(BaseModel):
    object: Literal["whitebox.probe_scores"] = "whitebox.probe_scores"
    id: str
    scores: list[float]
    floats: int


class ProbeScoring(ProbeScoreRequest):
    """What scoring runs on: the body and the probe its route names."""

    probe_id: str


class ProbeStore:
    """Trained probes, each visible to its own engagement only."""

    def __init__(self) -> None:
        self._probes: dict[str, Probe] = {}

    def add(self, probe: Probe) -> None:
        self._probes[probe.id] = probe

    def get(self, probe_id: str, engagement: str) -> Probe:
        probe = self._probes.get(probe_id)
        if probe is None or probe.engagement != engagement:
            raise GatewayError(404, f"no probe {probe_id[:100]!r}", code="probe_not_found")
        return probe


async def train_probe(rt: Runtime, request: ProbeTrainRequest, call: Call) -> ProbeResponse:
    import torch

    from assay.gateway.whitebox import _compute as compute
    from assay.gateway.whitebox._hooks import adapter_scope

    rt.check_point(request.hook_point, readable=True)
    train = [rt.input_ids(TextInput(text=e.text)) for e in request.train]
    test = [rt.input_ids(TextInput(text=e.text)) for e in request.test]
    if len({e.label for e in request.train}) < 2:
        raise bad_request("the training examples need both labels, 0 and 1", param="train")
    bound = len(test) + (rt.layout.hidden_size + 1 if request.return_weights else 0) + 2
    tokens = sum(map(len, train)) + sum(map(len, test))
    call.meter.reserve(tokens=tokens, floats=bound)

    def work() -> tuple[Probe, torch.Tensor]:
        with adapter_scope(rt.model, call.adapter):
            features = compute.capture(
                rt.model, rt.layout, train + test, [request.hook_point], request.position, rt.pad_id
            )
        x = torch.stack([f[request.hook_point] for f in features])
        y = torch.tensor([e.label for e in request.train])
        weights, bias = compute.train_probe(x[: len(train)], y, request.l2, request.max_iter)
        probe = compute.Probe(
            compute.new_probe_id(),
            call.engagement,
            request.model,
            request.hook_point,
            request.position,
            weights,
            bias,
        )
        return probe, x

    probe, x = await rt.run_on_model(work)
    rt.state(ProbeStore).add(probe)
    scores = probe.scores(x)
    y_train = torch.tensor([e.label for e in request.train])
    y_test = torch.tensor([e.label for e in request.test])
    test_scores = scores[len(train) :]
    call.meter.record(prompt_tokens=tokens, floats=bound)
    return ProbeResponse(
        id=probe.id,
        model=request.model,
        hook_point=request.hook_point,
        position=request.position,
        train_accuracy=compute.accuracy(scores[: len(train)], y_train),
        test_accuracy=compute.accuracy(test_scores, y_test) if test else None,
        test_scores=[float(v) for v in test_scores],
        weights=[float(v) for v in probe.weights] if request.return_weights else None,
        bias=probe.bias if request.return_weights else None,
        floats=bound,
    )


async def score_probe(rt: Runtime, request: ProbeScoring, call: Call) -> ProbeScoreResponse:
    import torch

    from assay.gateway.whitebox import _compute as compute
    from assay.gateway.whitebox._hooks import adapter_scope

    probe = rt.state(ProbeStore).get(request.probe_id, call.engagement)
    if not call.token.allows_model(probe.model):
        raise forbidden(
            f"this token is not scoped to model {probe.model!r}",
            code="model_not_allowed",
            param="model",
        )
    prompts = [rt.input_ids(TextInput(text=t)) for t in request.texts]
    call.meter.reserve(tokens=sum(map(len, prompts)), floats=len(prompts))

    def work() -> list[dict[str, torch.Tensor]]:
        with adapter_scope(rt.model, None):
            return compute.capture(
                rt.model, rt.layout, prompts, [probe.hook_point], probe.position, rt.pad_id
            )

    features = await rt.run_on_model(work)
    scores = probe.scores(torch.stack([f[probe.hook_point] for f in features]))
    call.meter.record(prompt_tokens=sum(map(len, prompts)), floats=len(prompts))
    return ProbeScoreResponse(id=probe.id, scores=[float(v) for v in scores], floats=len(prompts))


PROBES = WhiteboxOperation(
    path="/v1/whitebox/probes",
    what="probes",
    request=ProbeTrainRequest,
    response=ProbeResponse,
    run=train_probe,
)

PROBE_SCORES = WhiteboxOperation(
    path="/v1/whitebox/probes/{probe_id}/score",
    what="probes",
    request=ProbeScoring,
    response=ProbeScoreResponse,
    run=score_probe,
)
