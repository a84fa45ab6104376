"""Figures for the HTML report, rendered to inline SVG."""

from __future__ import annotations

import io
import textwrap
from typing import Any

from assay.report._counts import group_label, what_n_counts
from assay.report._model import Report, SuiteResult
from assay.techniques import TechniqueResult

# Figures are drawn at this width and never shown narrower than FIGURE_MIN_PX (the
# report scrolls them sideways instead), so 9-point text stays at least 9 px high.
FIGURE_WIDTH_IN = 6.4
FIGURE_MIN_PX = 480
FONT = 9.0
# real SVG text in matplotlib's own font (DejaVu Sans, as browsers have it), so text
# measured at drawing time is the text the browser shows
_RC: Any = {  # matplotlib types rc keys as literals; these are checked by use
    "svg.fonttype": "none",
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans"],
    "font.size": FONT,
}
_LINE = "#1f3b73"


def _suite_rows(suite: SuiteResult) -> list[tuple[str, float, float, float]]:
    """The primary metric, then the breakdown groups in the same unit; each label says
    what its n counts."""
    rows = []
    primary = suite.metrics[0]
    if primary.value is not None and primary.ci is not None:
        label = f"all ({primary.n} {what_n_counts(primary)})"
        rows.append((label, primary.value, primary.ci.low, primary.ci.high))
    for group in suite.breakdown:
        m = group.metrics[0]
        if m.value is not None and m.ci is not None and m.unit == primary.unit:
            label = f"{group_label(suite, group)} ({m.n} {what_n_counts(m)})"
            rows.append((label, m.value, m.ci.low, m.ci.high))
    return rows


def _wrap(text: str, width_in: float, size: float) -> str:
    """Wrap ``text`` to lines that fit ``width_in`` inches at ``size`` points."""
    chars = max(20, int(width_in * 72 / (size * 0.62)))
    return "\n".join(textwrap.wrap(text, chars))


def results_figure(report: Report) -> str:
    """One panel per suite: each estimate with its 95% interval, against the threshold.

    Text is real SVG text (searchable, and measurable by the report's browser tests);
    titles wrap rather than run off the figure, and the legend sits below the panels,
    never over the data."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    suites = [s for s in report.suites if _suite_rows(s)]
    if not suites:
        return ""
    titles = [_wrap(_panel_title(s), FIGURE_WIDTH_IN - 0.3, FONT + 1) for s in suites]
    heights = [
        min(len(_suite_rows(s)), _MAX_ROWS) + 0.9 + 0.45 * t.count("\n")
        for s, t in zip(suites, titles, strict=True)
    ]
    with plt.rc_context(_RC):
        fig, axes = plt.subplots(
            len(suites),
            1,
            figsize=(FIGURE_WIDTH_IN, 0.3 * sum(heights) + 1.0),
            gridspec_kw={"height_ratios": heights},
            squeeze=False,
            layout="constrained",
        )
        handles: dict[str, Any] = {}
        placed = []
        for index, (ax, suite, title) in enumerate(zip(axes[:, 0], suites, titles, strict=True)):
            placed.append((_draw_panel(ax, suite, title, handles), _panel_title(suite)))
            ax.patch.set_gid(f"plot-area-{index}")
        axes[-1, 0].set_xlabel("estimate with 95% confidence interval", fontsize=FONT)
        if handles:
            legend = fig.legend(
                list(handles.values()),
                list(handles),
                loc="outside lower center",
                ncols=len(handles),
                frameon=False,
                fontsize=FONT,
            )
            legend.set_gid("legend")
        _fit_titles(fig, placed)
        svg = _to_svg(fig)
        plt.close(fig)
    return svg


def _fit_titles(fig: Any, titles: list[tuple[Any, str]]) -> None:
    """Re-wrap each left-aligned title until it ends inside the figure: it starts at
    its panel's left edge, right of the tick labels, which only the layout knows."""
    for _ in range(6):
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        right = fig.bbox.x1 - 4
        changed = False
        for text, raw in titles:
            box = text.get_window_extent(renderer)
            if box.x1 > right:
                width_in = (right - box.x0) / fig.dpi
                chars = max(
                    12,
                    int(
                        max(len(line) for line in text.get_text().split("\n"))
                        * (right - box.x0)
                        / box.width
                    )
                    - 1,
                )
                text.set_text("\n".join(textwrap.wrap(raw, chars)) if width_in > 0 else raw)
                changed = True
        if not changed:
            return


_MAX_ROWS = 24  # longer breakdowns (e.g. per decision) are in the tables only


def _panel_title(suite: SuiteResult) -> str:
    metric = suite.metrics[0]
    unit = "" if metric.unit == "proportion" else f" ({metric.unit})"
    return f"{suite.title}: {metric.name.replace('_', ' ')}{unit}"


def _draw_panel(ax: Any, suite: SuiteResult, title: str, handles: dict[str, Any]) -> Any:
    from matplotlib.ticker import MaxNLocator

    rows = _suite_rows(suite)
    if len(rows) > _MAX_ROWS:
        rows = rows[:1]
    ys = list(range(len(rows)))[::-1]
    for i, (y, (_, value, low, high)) in enumerate(zip(ys, rows, strict=True)):
        ax.errorbar(
            [value],
            [y],
            xerr=[[value - low], [high - value]],
            fmt="o",
            color=_LINE if i == 0 else "#5b7bb5",
            elinewidth=2,
            capsize=3,
            markersize=4,
        )
    ax.set_yticks(ys, [r[0] for r in rows], fontsize=FONT)
    if suite.metrics[0].unit == "proportion":
        ax.set_xlim(0, 1)
    else:
        ax.axvline(0.0, color="#999999", linewidth=0.8)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=4))  # long labels like "−0.050" crowd
    ax.set_ylim(-0.7, len(rows) - 0.3)
    placed = ax.set_title(title, fontsize=FONT + 1, loc="left")
    threshold = suite.decision.threshold
    if threshold is not None:
        line = ax.axvline(threshold, color="#b03a2e", linestyle="--", linewidth=1.2)
        handles.setdefault("threshold (red dashes)", line)
    if suite.id == "hazard_knowledge":
        chance = ax.axvline(0.25, color="#777777", linestyle=":", linewidth=1)
        handles.setdefault("chance, 0.25 (grey dots)", chance)
    ax.tick_params(axis="x", labelsize=FONT)
    ax.grid(axis="x", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    return placed


def _to_svg(fig: Any) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None})
    svg = buffer.getvalue()
    return svg[svg.index("<svg") :]


def technique_figure(result: TechniqueResult) -> str:
    """One panel per curve of a white-box technique (e.g. refusal rate by layer), two
    panels a row, at the report's figure width."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves = [c for c in result.curves if c.points]
    if not curves:
        return ""
    ncols = min(2, len(curves))
    nrows = -(-len(curves) // ncols)
    panel_width = FIGURE_WIDTH_IN / ncols
    with plt.rc_context(_RC):
        fig, axes = plt.subplots(
            nrows,
            ncols,
            figsize=(FIGURE_WIDTH_IN, 2.9 * nrows + 0.5),
            squeeze=False,
            layout="constrained",
        )
        handles: dict[str, Any] = {}
        for index, ax in enumerate(axes.flat):
            if index >= len(curves):
                ax.set_visible(False)
                continue
            curve = curves[index]
            points = sorted(curve.points)
            xs = [p[0] for p in points]
            ys = [p[1] for p in points]
            ax.plot(xs, ys, marker="o", markersize=3.5, color=_LINE, linewidth=1.4)
            bands = [(p[0], p[2], p[3]) for p in points if p[2] is not None and p[3] is not None]
            if bands:
                band = ax.fill_between(
                    [b[0] for b in bands],
                    [b[1] for b in bands],
                    [b[2] for b in bands],
                    color="#5b7bb5",
                    alpha=0.2,
                    linewidth=0,
                )
                handles.setdefault("95% interval (shaded)", band)
            ax.set_title(
                _wrap(curve.name, panel_width - 0.2, FONT + 1), fontsize=FONT + 1, loc="left"
            )
            ax.set_xlabel(_wrap(curve.x_label, panel_width - 0.4, FONT), fontsize=FONT)
            ax.set_ylabel(_wrap(curve.y_label, 2.2, FONT), fontsize=FONT)
            ax.tick_params(labelsize=FONT)
            ax.grid(color="#dddddd", linewidth=0.6)
            ax.set_axisbelow(True)
            ax.patch.set_gid(f"plot-area-{index}")
        if handles:
            legend = fig.legend(
                list(handles.values()),
                list(handles),
                loc="outside lower center",
                frameon=False,
                fontsize=FONT,
            )
            legend.set_gid("legend")
        svg = _to_svg(fig)
        plt.close(fig)
    return svg
