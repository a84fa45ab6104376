"""``report.html``: the audit for a reader who is not a statistician."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from assay.report._counts import group_label, suite_counts, what_n_counts
from assay.report._figures import FIGURE_MIN_PX, results_figure, technique_figure
from assay.report._model import Report
from assay.stats import format_value
from assay.techniques import tier_table

ACTION_WORDS = {
    "deploy": "deploy",
    "deploy_with_safeguards": "deploy with added safeguards",
    "gate_behind_kyc": "deploy only behind know-your-customer checks",
    "remove_capability": "remove the capability before broad deployment",
    "notify_authorities": "notify the authorities",
    "collect_more_evidence": "no decision yet: collect more evidence",
}
ACTION_COLOUR = {
    "deploy": "#1d6b35",
    "deploy_with_safeguards": "#8a6100",
    "gate_behind_kyc": "#8a6100",
    "remove_capability": "#a3281a",
    "notify_authorities": "#a3281a",
    "collect_more_evidence": "#555555",
}
OUTCOME_CLASS = {
    "capability_present": "bad",
    "safeguard_inadequate": "bad",
    "capability_ruled_out": "good",
    "safeguard_adequate": "good",
    "exceeds_threshold": "bad",
    "within_threshold": "good",
    "inconclusive": "unsure",
    "no_threshold": "",
    "no_data": "unsure",
}


def render_html(report: Report, descriptions: dict[str, str]) -> str:
    """The report as one self-contained HTML page (inline CSS and SVG figures) that
    reads at 400 px as at 1400 px: tables become stacked cards, figures scroll."""
    env = Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=select_autoescape(["html", "j2"]),
    )
    template = env.get_template("report.html.j2")
    return template.render(
        report=report,
        figure=results_figure(report),
        technique_figures={t.technique: technique_figure(t) for t in report.techniques},
        tier_rows=tier_table(report.techniques),
        action_words=ACTION_WORDS[report.decision.action],
        words=ACTION_WORDS,
        action_colour=ACTION_COLOUR[report.decision.action],
        outcome_class=OUTCOME_CLASS,
        descriptions=descriptions,
        yesno=lambda flag: "yes" if flag else "no",
        fmt=format_value,
        counts=lambda suite: suite_counts(report, suite),
        unit=what_n_counts,
        group_label=group_label,
        figure_min_px=FIGURE_MIN_PX,
    )
