"""``assay audit --dry-run``: the estimate counts what the audit runs, on a tiny model."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from transformers import AutoTokenizer

from assay._util.errors import UsageError
from assay.audit import AuditConfig, estimate_audit, run_audit
from assay.audit._endpoint import open_endpoint, probe
from assay.audit._estimate import (
    EXPECTED_FILL,
    Estimate,
    TokenCounter,
    _local_endpoint,
    _local_tokenizer,
)
from assay.audit._planning import look_order, plan_audit, resolve_plan
from assay.gateway import Tier
from assay.models import parse_target
from assay.testing import always_refuse


def config(tiny_model_dir: Path, tmp_path: Path, **kwargs: object) -> AuditConfig:
    return AuditConfig(
        target=f"hf:{tiny_model_dir}",
        out=tmp_path / "out",
        show_progress=False,
        **kwargs,  # type: ignore[arg-type]
    )


def by_id(estimate: Estimate) -> dict[str, object]:
    return {s.id: s for s in estimate.suites}


def test_queries_are_items_times_calls_and_tokens_are_counted_exactly(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    """One call per item for a multiple-choice and a refusal suite; prompt tokens equal
    the tiny tokenizer's own count of each prompt (raw text for the logprobs method,
    the chat template for generation); generated at most max_tokens per call."""
    estimate = estimate_audit(
        config(tiny_model_dir, tmp_path, limit=5, suites=["hazard_knowledge", "misuse_refusal"]),
        calibrate=False,
    )
    tokenizer = AutoTokenizer.from_pretrained(str(tiny_model_dir))
    knowledge, refusal = estimate.suites
    assert (knowledge.method, refusal.method) == ("logprobs", "generate")
    cfg, plan, specs = resolve_plan(config(tiny_model_dir, tmp_path, limit=5))
    for s in (knowledge, refusal):
        assert s.items.low == s.items.high == 5
        assert s.queries.low == s.queries.expected == s.queries.high == 5
    # the same items the audit plans, counted independently of the estimate's counter
    run = plan_audit(
        cfg,
        plan.only(["hazard_knowledge", "misuse_refusal"]),
        [spec for spec in specs if spec.id in ("hazard_knowledge", "misuse_refusal")],
        _local_endpoint(parse_target(cfg.target), Tier.GREY, "tiny"),
        console=None,  # type: ignore[arg-type]
        notes=[],
        started=None,  # type: ignore[arg-type]
        say=lambda _: None,
    )
    mc, gen = run.planned
    mc_samples = [s for s in mc.samples if str(s.id) in set(mc.sample_ids)]
    assert knowledge.prompt_tokens.high == sum(
        len(tokenizer(s.input)["input_ids"]) for s in mc_samples
    )
    gen_samples = [s for s in gen.samples if str(s.id) in set(gen.sample_ids)]
    chat = sum(
        len(
            tokenizer(
                tokenizer.apply_chat_template(
                    [{"role": "user", "content": s.input}],
                    add_generation_prompt=True,
                    tokenize=False,
                ),
                add_special_tokens=False,
            )["input_ids"]
        )
        for s in gen_samples
    )
    assert refusal.prompt_tokens.high == chat
    assert knowledge.generated_tokens.high == 5  # max_tokens=1 per logprobs call
    assert refusal.generated_tokens.high == 5 * 192
    assert refusal.generated_tokens.expected == pytest.approx(5 * 192 * EXPECTED_FILL)
    total = estimate.total
    assert total.queries.high == 10
    assert total.prompt_tokens.high == knowledge.prompt_tokens.high + refusal.prompt_tokens.high
    assert estimate.tokens_counted_by.startswith("tokenizer")


@pytest.mark.slow
def test_estimate_matches_the_real_audit_on_a_tiny_model(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    """The gateway's own totals for the real audit (its request log) equal the estimate's
    queries and prompt tokens exactly, past the endpoint probe's few one-token requests;
    its generated tokens stay under the bound. Covers the raw-prompt (logprobs) and the
    system-message chat (insecure_code) paths, and max_tokens from the plan's params."""
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        "schema_version: 1\nname: small\ndescription: two suites, short replies\n"
        "statistics: {design: fixed}\nsuites:\n"
        "  - {id: hazard_knowledge, limit: 2}\n"
        "  - {id: insecure_code, limit: 2, params: {max_tokens: 12}}\n"
    )
    cfg = config(tiny_model_dir, tmp_path, plan=str(plan))
    estimate = estimate_audit(cfg, calibrate=False)
    run_audit(cfg)
    report = json.loads((cfg.out / "report.json").read_text())
    totals = report["gateway_log"]["totals"]
    total = estimate.total
    probe_requests = totals["requests"] - total.queries.high
    assert 2 <= probe_requests <= 4
    probe_prompt = totals["prompt_tokens"] - total.prompt_tokens.high
    assert 0 < probe_prompt <= 20 * probe_requests  # "Say OK." / "Hello", chat-templated
    assert totals["completion_tokens"] - probe_requests <= total.generated_tokens.high
    assert estimate.total.queries.low == estimate.total.queries.high == 4
    assert estimate.total.generated_tokens.high == 2 * 1 + 2 * 12


def test_sequential_suites_range_from_the_first_look_to_every_item(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    """The standard plan tests misuse_refusal group-sequentially: the low end is its
    first look (a quarter of the items, in the seeded order the audit scores them in),
    the high end every item."""
    cfg = config(tiny_model_dir, tmp_path, plan="standard", suites=["misuse_refusal"])
    estimate = estimate_audit(cfg, calibrate=False)
    (s,) = estimate.suites
    assert s.sequential
    n = int(s.items.high)
    assert n == 120 and s.items.low == 30
    assert s.queries.low == 30 and s.queries.high == 120
    assert s.generated_tokens.high == 120 * 192 and s.generated_tokens.low < s.generated_tokens.high
    # the low end counts the first 30 items of the audit's own order, not any 30
    resolved, plan, specs = resolve_plan(cfg)
    run = plan_audit(
        resolved,
        plan,
        specs,
        _local_endpoint(parse_target(cfg.target), Tier.GREY, "tiny"),
        console=None,  # type: ignore[arg-type]
        notes=[],
        started=None,  # type: ignore[arg-type]
        say=lambda _: None,
    )
    (p,) = run.planned
    tokenizer, _ = _local_tokenizer(parse_target(cfg.target))
    counter = TokenCounter(tokenizer)
    first = set(look_order(p, cfg.seed)[:30])
    expected_low = sum(counter.chat([("user", x.input)]) for x in p.samples if str(x.id) in first)
    assert s.prompt_tokens.low == expected_low
    fixed = estimate_audit(cfg.model_copy(update={"sequential": False}), calibrate=False)
    assert fixed.suites[0].items.low == fixed.suites[0].items.high == 120


def test_prices_give_a_cost_range(tiny_model_dir: Path, tmp_path: Path) -> None:
    cfg = config(tiny_model_dir, tmp_path, limit=3, suites=["misuse_refusal"])
    estimate = estimate_audit(cfg, price_in=2.0, price_out=8.0, calibrate=False)
    assert estimate.money is not None
    t = estimate.total
    assert estimate.money.cost.high == pytest.approx(
        (t.prompt_tokens.high * 2.0 + t.generated_tokens.high * 8.0) / 1e6
    )
    assert estimate.money.cost.low == pytest.approx(
        (t.prompt_tokens.low * 2.0 + t.generated_tokens.low * 8.0) / 1e6
    )
    assert estimate.money.cost.low <= estimate.money.cost.expected <= estimate.money.cost.high
    data = estimate.as_json()
    assert data["money"]["cost"]["high"] == pytest.approx(estimate.money.cost.high)


@pytest.mark.parametrize(
    ("prices", "message"),
    [
        ((1.0, None), "give both --price-in and --price-out"),
        ((-1.0, 1.0), "--price-in must be a price per million tokens"),
        ((1.0, float("nan")), "--price-out must be a price per million tokens"),
    ],
)
def test_bad_prices_are_refused(
    tiny_model_dir: Path, tmp_path: Path, prices: tuple[float, float | None], message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        estimate_audit(
            config(tiny_model_dir, tmp_path),
            price_in=prices[0],
            price_out=prices[1],
            calibrate=False,
        )


def test_unknown_plan_is_the_audits_error(tiny_model_dir: Path, tmp_path: Path) -> None:
    cfg = config(tiny_model_dir, tmp_path, plan="nope")
    with pytest.raises(UsageError) as estimated:
        estimate_audit(cfg, calibrate=False)
    with pytest.raises(UsageError) as audited:
        run_audit(cfg)
    assert estimated.value.one_line() == audited.value.one_line()
    assert "unknown plan 'nope'" in estimated.value.one_line()


def test_dry_run_writes_nothing_into_out(tiny_model_dir: Path, tmp_path: Path) -> None:
    cfg = config(tiny_model_dir, tmp_path, limit=2, suites=["hazard_knowledge"])
    estimate_audit(cfg, calibrate=False)
    assert not cfg.out.exists()


@pytest.mark.parametrize("tier", [Tier.GREY, Tier.BLACK])
def test_assumed_local_capabilities_are_what_the_probe_finds(
    tiny_model_dir: Path, tier: Tier
) -> None:
    """The dry run does not start the in-process gateway; what it assumes the gateway
    offers must be what probing a started one finds, or methods would differ."""
    spec = parse_target(f"hf:{tiny_model_dir}")
    with open_endpoint(spec, tier=tier, show_progress=False) as endpoint:
        probed = probe(endpoint)
    assert _local_endpoint(spec, tier, "tiny").capabilities == probed


def test_calibration_is_cached_per_target_and_machine(tiny_model_dir: Path, tmp_path: Path) -> None:
    cfg = config(tiny_model_dir, tmp_path, limit=2, suites=["hazard_knowledge", "misuse_refusal"])
    first = estimate_audit(cfg)
    assert first.calibration is not None and not first.calibration.cached
    assert first.calibration.prefill_seconds_per_token > 0
    assert first.calibration.decode_seconds_per_step > 0
    assert all(s.seconds.high > 0 for s in first.suites)
    second = estimate_audit(cfg)
    assert second.calibration is not None and second.calibration.cached
    assert (
        second.calibration.prefill_seconds_per_token == first.calibration.prefill_seconds_per_token
    )
    assert second.total.seconds.high == pytest.approx(first.total.seconds.high)


def test_api_target_is_probed_priced_and_its_tokens_approximated(
    serve_scripted: Callable[[object], str], tmp_path: Path
) -> None:
    """An OpenAI-compatible target: methods from the probe, tokens approximated and said so,
    wall time from two timed requests (cached), and a cost from the prices."""
    base_url = serve_scripted(always_refuse())
    cfg = AuditConfig(
        target=f"openai:{base_url}",
        out=tmp_path / "out",
        show_progress=False,
        limit=3,
        suites=["hazard_knowledge", "misuse_refusal"],
    )
    estimate = estimate_audit(cfg, price_in=0.5, price_out=1.5)
    assert estimate.tokens_counted_by.startswith("approximation")
    assert all(any("approximated" in a for a in s.approximate) for s in estimate.suites)
    assert estimate.total.queries.high == 6
    assert estimate.calibration is not None and estimate.calibration.kind == "api"
    assert estimate.calibration.request_seconds > 0
    assert estimate.money is not None and estimate.money.cost.high > 0
    again = estimate_audit(cfg, price_in=0.5, price_out=1.5)
    assert again.calibration is not None and again.calibration.cached
    assert not cfg.out.exists()


@pytest.mark.slow
def test_dry_run_of_a_local_target_imports_neither_torch_nor_the_openai_sdk(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    """Regression (the dry run took over 10 s): estimating a local target, an agent suite
    with emulated tools included, needs the tokenizer alone; importing torch (through
    the in-process gateway's backend) and the OpenAI SDK (through Inspect's provider)
    cost seconds of its time."""
    script = f"""
import sys
from pathlib import Path
from assay.audit import AuditConfig, estimate_audit
estimate = estimate_audit(
    AuditConfig(target="hf:{tiny_model_dir}", out=Path({str(tmp_path / "out")!r}),
                suites=["misuse_refusal", "agentic_oversight"], limit=2, show_progress=False),
    calibrate=False,
)
assert estimate.tokens_counted_by.startswith("tokenizer"), estimate.tokens_counted_by
assert estimate.suites[1].approximate, "the agent suite's first call was not recorded"
print(sorted(m for m in ("torch", "openai") if m in sys.modules))
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_analysers_validation_is_reused_across_processes_until_its_inputs_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression (the dry run ran bandit and semgrep over the labelled snippets, 2 s,
    every time): the validation is cached on disk, read back equal, and measured again
    when the analysers' version changes."""
    from assay.judges import validation_record
    from assay.suites import insecure_code

    measured: list[int] = []

    def measure() -> object:
        measured.append(1)
        return validation_record(
            insecure_code.ANALYSER_ID,
            insecure_code.ANALYSER_VERSION,
            insecure_code.LABELLED_FILE,
            [True, True, False, False, True],
            [True, False, False, False, True],
            positive="vulnerable",
            negative="secure",
        )

    monkeypatch.setattr(insecure_code, "_measure_analysers", measure)
    insecure_code.validate_analysers.cache_clear()
    try:
        first = insecure_code.validate_analysers()
        insecure_code.validate_analysers.cache_clear()  # as a new process would start
        again = insecure_code.validate_analysers()
        assert (len(measured), again) == (1, first)
        monkeypatch.setattr(insecure_code, "ANALYSER_VERSION", "0.0.0-changed")
        insecure_code.validate_analysers.cache_clear()
        insecure_code.validate_analysers()
        assert len(measured) == 2
    finally:
        insecure_code.validate_analysers.cache_clear()  # no fake validation left behind
