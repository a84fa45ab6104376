"""The @technique decorator and the run template every technique shares."""

from __future__ import annotations

import inspect
from collections.abc import Iterator

import pytest

from assay.techniques import (
    TECHNIQUES,
    Finding,
    Headline,
    TechniqueConfig,
    TechniqueResult,
    TechniqueRun,
    WhiteboxClient,
    run_gcg,
    run_technique,
    technique,
)


class _Result(TechniqueResult):
    reached: int = 0


@pytest.fixture
def toy() -> Iterator[str]:
    """A technique that reserves ``seed`` queries, one at a time, noting each; removed
    from the registry afterwards."""

    @technique(name="toy", title="Toy", paper="none", config=TechniqueConfig, headline="count")
    def run_toy(run: TechniqueRun[TechniqueConfig]) -> _Result:
        """Count queries until the seed or the budget."""
        reached = 0
        with run.budget():
            for _ in range(run.config.seed):
                run.meter.reserve(floats=0)
                reached += 1
            run.headline = Headline(name="count", value=float(reached))
            run.private["secret"] = "kept out of reports"
        return run.result(_Result, reached=reached)

    yield "toy"
    TECHNIQUES.pop("toy")


@pytest.fixture
def client() -> Iterator[WhiteboxClient]:
    # the toy sends nothing: a client that could not reach a gateway is enough
    with WhiteboxClient("http://127.0.0.1:9", "unused") as c:
        yield c


def test_the_decorator_registers_a_spec_that_runs_the_body(
    toy: str, client: WhiteboxClient
) -> None:
    spec = TECHNIQUES[toy]
    assert (spec.name, spec.title, spec.paper, spec.config_class) == (
        "toy",
        "Toy",
        "none",
        TechniqueConfig,
    )
    result = run_technique(toy, client, "m", {"seed": 3})
    assert isinstance(result, _Result) and result.reached == 3
    assert (result.technique, result.title, result.model, result.tier) == (
        "toy",
        "Toy",
        "m",
        "white",
    )
    assert result.config == TechniqueConfig(seed=3).model_dump(mode="json")
    assert result.complete and result.budget_used.queries == 3
    assert result.headline == Headline(name="count", value=3.0)
    assert result.private == {"secret": "kept out of reports"}
    assert "kept out" not in result.model_dump_json()


def test_a_spent_budget_stops_the_body_and_the_result_says_so(
    toy: str, client: WhiteboxClient
) -> None:
    spec = TECHNIQUES[toy]
    result = spec.run(client, "m", TechniqueConfig(seed=5, max_queries=2))
    # two queries fit; the third stopped the block, and what followed it did not run
    assert isinstance(result, _Result) and result.reached == 2
    assert not result.complete and result.budget_used.exhausted == "queries"
    assert result.notes == ["stopped early: technique budget exhausted: queries (3 used, limit 2)"]
    # the headline the decorator declared, without a value
    assert result.headline == Headline(name="count", value=None)
    assert result.private == {}


def test_the_runner_defaults_its_config_and_keeps_the_body_docs(
    toy: str, client: WhiteboxClient
) -> None:
    runner = TECHNIQUES[toy].run
    result = runner(client, "m")
    assert result.config["seed"] == 0 and result.complete
    assert (
        runner.__name__ == "run_toy"
        and runner.__doc__ == "Count queries until the seed or the budget."
    )
    assert list(inspect.signature(run_gcg).parameters) == ["client", "model", "config", "progress"]
    assert run_gcg.__module__ == "assay.techniques._gcg" and TECHNIQUES["gcg"].run is run_gcg


def test_a_second_technique_of_the_same_name_is_refused(toy: str) -> None:
    with pytest.raises(ValueError, match="'toy' is already registered"):

        @technique(name=toy, title="Other", paper="-", config=TechniqueConfig, headline="h")
        def run_other(run: TechniqueRun[TechniqueConfig]) -> TechniqueResult:
            return run.result(TechniqueResult)

    assert TECHNIQUES[toy].title == "Toy"


def test_a_finding_reports_its_estimate() -> None:
    estimate = Headline(name="refusal_rate", value=0.5, low=0.2, high=0.8, n=10)
    finding = Finding.of("safeguards", "black", estimate, "half refused")
    assert (finding.measure, finding.value, finding.low, finding.high) == (
        "refusal_rate",
        0.5,
        0.2,
        0.8,
    )
    assert not finding.flagged
    renamed = Finding.of("safeguards", "white", estimate, "s", flagged=True, measure="other")
    assert renamed.measure == "other" and renamed.flagged and renamed.tier == "white"
