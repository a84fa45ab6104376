"""`--limit` above a plan's sample size: the plan's size runs, and the audit says so."""

from __future__ import annotations

import io
import json
from pathlib import Path

from rich.console import Console

from assay.audit import AuditConfig, run_audit


def test_limit_above_the_plan_is_capped_with_a_note(tiny_model_dir: Path, tmp_path: Path) -> None:
    """`--limit 40` ran 24 items of a suite the plan sizes at 24, silently."""
    stream = io.StringIO()
    config = AuditConfig(
        target=f"hf:{tiny_model_dir}",
        suites=["agentic_oversight"],  # the quick plan runs 4 of its items
        limit=6,
        out=tmp_path / "out",
        show_progress=False,
    )
    run_audit(config, Console(file=stream, width=200))
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    suite = report["suites"][0]
    assert suite["n_planned"] == 4
    assert any("--limit 6 is above the plan's sample size" in n for n in suite["notes"])
    assert "--limit 6 is above the plan's sample size for 1 suite(s) (agentic_oversight: 4)" in (
        stream.getvalue()
    )
    full = run_audit(config.model_copy(update={"full": True, "out": tmp_path / "full"}))
    assert full.report.suites[0].n_planned == 6  # --full lets --limit decide
    assert not any("--limit" in n for n in full.report.suites[0].notes)
