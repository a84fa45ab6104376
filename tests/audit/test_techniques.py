"""A plan's white-box techniques run through the audit's gateway at white tier, land in
the report with their figures, and are reused when the audit resumes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assay._util.errors import UsageError
from assay.audit import AuditConfig, run_audit
from assay.gateway import Tier

PLAN = """schema_version: 1
extends: quick
name: tech-test
tier: white
suites:
  - {id: misuse_refusal, limit: 2}
techniques:
  - {id: probes, config: reduced}
"""


@pytest.mark.slow
def test_plan_techniques_run_at_white_tier_and_resume(tiny_model_dir: Path, tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text(PLAN)
    out = tmp_path / "out"
    config = AuditConfig(
        target=f"hf:{tiny_model_dir}", plan=str(plan), out=out, show_progress=False
    )
    run_audit(config)
    report = json.loads((out / "report.json").read_text())
    assert report["tier"] == "white"
    (technique,) = report["techniques"]
    assert technique["technique"] == "probes" and technique["tier"] == "white"
    assert technique["budget_used"]["queries"] > 0 and technique["curves"]
    assert technique["config"] and "private" not in technique
    html = (out / "report.html").read_text()
    assert "White-box and tamper-resistance techniques" in html and html.count("<svg") >= 2
    saved = out / "techniques" / "probes.json"
    before = saved.stat().st_mtime_ns
    run_audit(config)  # resumes: nothing to redo
    assert saved.stat().st_mtime_ns == before
    assert json.loads((out / "report.json").read_text())["techniques"] == report["techniques"]


def test_techniques_refuse_a_lower_tier(tiny_model_dir: Path, tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text(PLAN)
    with pytest.raises(UsageError, match="white-box techniques"):
        run_audit(
            AuditConfig(
                target=f"hf:{tiny_model_dir}",
                plan=str(plan),
                tier=Tier.GREY,
                tier_explicit=True,
                out=tmp_path / "out",
                show_progress=False,
            )
        )


@pytest.mark.slow
def test_in_process_white_gateway_runs_a_fine_tuning_attack(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        PLAN.replace(
            "  - {id: probes, config: reduced}",
            "  - {id: finetune_attack, config: {learning_rates: [0.001], steps: [2], "
            "examples: [4], benign_examples: 0, n_eval: 4, max_tokens: 8, batch_size: 2}}",
        )
    )
    out = tmp_path / "out"
    run_audit(
        AuditConfig(target=f"hf:{tiny_model_dir}", plan=str(plan), out=out, show_progress=False)
    )
    (technique,) = json.loads((out / "report.json").read_text())["techniques"]
    assert technique["technique"] == "finetune_attack" and technique["complete"]
    assert list((out / "adapters").iterdir())  # the adapters stayed with the audit
