"""``assay plan power`` shows each sampling design's power (issue 11.9)."""

from __future__ import annotations

from typer.testing import CliRunner

from assay.cli import app
from assay.stats import Design, operating_characteristics


def test_plan_power_shows_fixed_group_sequential_and_confidence_sequence_power() -> None:
    result = CliRunner().invoke(app, ["plan", "power", "standard"], env={"COLUMNS": "260"})
    assert result.exit_code == 0, result.output
    assert "group-seq." in result.output and "conf. seq." in result.output
    row = next(line for line in result.output.splitlines() if "hazard_knowledge" in line)
    # 210 items against 0.5 at 0.05/11, the level Holm demands across the plan's findings
    level = 0.05 / 11
    fixed = operating_characteristics(Design.fixed(210), 0.5, 0.6, level)
    group = operating_characteristics(Design.group_sequential(210, 4), 0.5, 0.6, level)
    assert f"{fixed.above:.2f}" in row and f"{group.above:.2f}" in row
    assert "0.0045" in result.output.replace("\n", " ")
