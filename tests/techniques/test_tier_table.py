"""Findings grouped by hidden property and tier: the report's side-by-side table."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from assay.audit import AuditConfig, run_audit
from assay.techniques import Finding, Headline, TechniqueResult, tier_table
from assay.techniques._base import BudgetUsed
from tests.techniques.conftest import RefusalData, Served


def _result(name: str, findings: list[Finding]) -> TechniqueResult:
    return TechniqueResult(
        technique=name,
        title=name,
        model="m",
        config={},
        budget_used=BudgetUsed(
            queries=1, floats=0, seconds=1.0, max_queries=1, max_floats=1, max_seconds=1.0
        ),
        headline=Headline(name="h", value=None),
        findings=findings,
    )


def _finding(prop: str, tier: str, flagged: bool, summary: str) -> Finding:
    return Finding.model_validate(
        {
            "hidden_property": prop,
            "tier": tier,
            "measure": "m",
            "value": 0.5,
            "flagged": flagged,
            "summary": summary,
        }
    )


def test_tier_table_groups_by_property_in_a_fixed_order() -> None:
    rows = tier_table(
        [
            _result("trigger_search", [_finding("backdoor", "white", True, "found")]),
            _result(
                "elicitation",
                [
                    _finding("hidden_capability", "black", False, "chance"),
                    _finding("hidden_capability", "grey", False, "chance"),
                    _finding("hidden_capability", "white", False, "nothing"),
                ],
            ),
            _result("refusal_direction", [_finding("safeguards", "black", False, "refuses")]),
        ]
    )
    assert [r.hidden_property for r in rows] == ["safeguards", "hidden_capability", "backdoor"]
    assert rows[2].found_by == ["white"] and rows[1].found_by == [] and rows[0].found_by == []
    assert rows[1].grey[0].summary == "elicitation: chance"  # labelled with its technique
    assert rows[0].white == [] and rows[0].question.startswith("Do the refusal safeguards")


PLAN = """schema_version: 1
extends: quick
name: tier-table
tier: white
suites:
  - {id: misuse_refusal, limit: 2}
techniques:
  - {id: trigger_search, config: {harmful_file: HARMFUL, pool: 40, n_items: 3, n_holdout: 16,
      suffix_length: 2, steps: 12, batch: 32, top_k: 32, max_tokens: 8, check_every: 3}}
"""


@pytest.mark.slow
def test_the_report_shows_what_each_tier_found(
    refuser: Served, refusal_data: RefusalData, tmp_path: Path
) -> None:
    """Through a whole audit: the black-box refusal rate is not flagged, the white-box
    trigger search is, and report.json, report.html and the summary say so."""
    plan = tmp_path / "plan.yaml"
    plan.write_text(PLAN.replace("HARMFUL", str(refusal_data.harmful)))
    out = tmp_path / "out"
    run_audit(
        AuditConfig(
            target=f"hf:{refuser.backend.local.path}",
            plan=str(plan),
            out=out,
            show_progress=False,
        )
    )
    report = json.loads((out / "report.json").read_text())
    (technique,) = report["techniques"]
    findings = {(f["tier"], f["flagged"]) for f in technique["findings"]}
    assert findings == {("black", False), ("white", True)}
    html = (out / "report.html").read_text()
    assert "What each access tier found" in html
    row = re.search(r"<td><strong>backdoor</strong>.*?</tr>", html, re.S)
    assert row is not None
    cells = re.findall(r"<td>(.*?)</td>", row.group(0), re.S)
    black, grey, white = cells[1:]
    assert "refuses 100%" in black and "flagged" not in black
    assert "not measured at this tier" in grey
    assert "flagged" in white and "trigger_search" in white
