"""Figures for the HTML report, rendered to inline SVG."""

from __future__ import annotations

import io

from assay.report._model import Report, SuiteResult
from assay.techniques import TechniqueResult


def _suite_rows(suite: SuiteResult) -> list[tuple[str, float, float, float, int]]:
    """The primary metric, then the breakdown groups in the same unit."""
    rows = []
    primary = suite.metrics[0]
    if primary.value is not None and primary.ci is not None:
        rows.append(("all items", primary.value, primary.ci.low, primary.ci.high, primary.n))
    for group in suite.breakdown:
        m = group.metrics[0]
        if m.value is not None and m.ci is not None and m.unit == primary.unit:
            rows.append((f"{group.value}", m.value, m.ci.low, m.ci.high, m.n))
    return rows


def results_figure(report: Report) -> str:
    """One panel per suite: each estimate with its 95% interval, against the threshold."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    suites = [s for s in report.suites if _suite_rows(s)]
    if not suites:
        return ""
    heights = [len(_suite_rows(s)) + 1.2 for s in suites]
    fig, axes = plt.subplots(
        len(suites),
        1,
        figsize=(7.5, 0.32 * sum(heights) + 0.6),
        gridspec_kw={"height_ratios": heights},
        squeeze=False,
    )
    for ax, suite in zip(axes[:, 0], suites, strict=True):
        rows = _suite_rows(suite)
        labels = [f"{name} (n={n})" for name, *_, n in rows]
        ys = list(range(len(rows)))[::-1]
        values = [r[1] for r in rows]
        lows = [r[1] - r[2] for r in rows]
        highs = [r[3] - r[1] for r in rows]
        for i, (y, value, low, high) in enumerate(zip(ys, values, lows, highs, strict=True)):
            colour = "#1f3b73" if i == 0 else "#5b7bb5"
            ax.errorbar(
                [value],
                [y],
                xerr=[[low], [high]],
                fmt="o",
                color=colour,
                elinewidth=2,
                capsize=3,
                markersize=4,
            )
        ax.set_yticks(ys, labels, fontsize=8)
        if suite.metrics[0].unit == "proportion":
            ax.set_xlim(0, 1)
        else:
            ax.axvline(0.0, color="#999999", linewidth=0.8)
        ax.set_ylim(-0.7, len(rows) - 0.3)
        metric = suite.metrics[0].name.replace("_", " ")
        unit = "" if suite.metrics[0].unit == "proportion" else f" ({suite.metrics[0].unit})"
        ax.set_title(f"{suite.title}: {metric}{unit}", fontsize=9, loc="left")
        threshold = suite.decision.threshold
        if threshold is not None:
            ax.axvline(
                threshold,
                color="#b03a2e",
                linestyle="--",
                linewidth=1.2,
                label=f"threshold {threshold:.2f}",
            )
        if suite.id == "hazard_knowledge":
            ax.axvline(0.25, color="#777777", linestyle=":", linewidth=1, label="chance 0.25")
        if len(rows) > 24:  # long breakdowns (e.g. per decision) are in the tables
            ax.set_yticks([])
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7, loc="lower right", frameon=False)
        ax.tick_params(axis="x", labelsize=8)
        ax.grid(axis="x", color="#dddddd", linewidth=0.6)
        ax.set_axisbelow(True)
    fig.supxlabel("estimate with 95% confidence interval", fontsize=8)
    fig.tight_layout()
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg")
    plt.close(fig)
    svg = buffer.getvalue()
    return svg[svg.index("<svg") :]


def technique_figure(result: TechniqueResult) -> str:
    """One panel per curve of a white-box technique (e.g. refusal rate by layer)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves = [c for c in result.curves if c.points]
    if not curves:
        return ""
    fig, axes = plt.subplots(1, len(curves), figsize=(3.6 * len(curves) + 0.6, 2.8), squeeze=False)
    for ax, curve in zip(axes[0], curves, strict=True):
        points = sorted(curve.points)
        xs = [p[0] for p in points]
        ys = [p[1] for p in points]
        ax.plot(xs, ys, marker="o", markersize=3.5, color="#1f3b73", linewidth=1.4)
        bands = [(p[0], p[2], p[3]) for p in points if p[2] is not None and p[3] is not None]
        if bands:
            ax.fill_between(
                [b[0] for b in bands],
                [b[1] for b in bands],
                [b[2] for b in bands],
                color="#5b7bb5",
                alpha=0.2,
                linewidth=0,
                label="95% interval",
            )
            ax.legend(fontsize=7, frameon=False)
        ax.set_title(curve.name, fontsize=9, loc="left")
        ax.set_xlabel(curve.x_label, fontsize=8)
        ax.set_ylabel(curve.y_label, fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(color="#dddddd", linewidth=0.6)
        ax.set_axisbelow(True)
    fig.tight_layout()
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg")
    plt.close(fig)
    svg = buffer.getvalue()
    return svg[svg.index("<svg") :]
