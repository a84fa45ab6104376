"""report.html as a policy reader sees it: in headless Chromium at 1400 and 400 px.

Each test measures the rendered page (element boxes, computed sizes) rather than
trusting the template: titles that run off a figure, legends drawn over the data,
text a few pixels high on a phone and columns pushed out of view all showed up in
real reports before.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assay.report import render_html
from tests.report._sample import sample_report

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WIDTHS = (1400, 400)
MIN_FIGURE_TEXT_PX = 9.0

if not CHROMIUM.exists() and not os.environ.get("CI"):
    pytest.skip(
        "needs Debian's chromium (apt-get install -y chromium; .ci/run installs it)",
        allow_module_level=True,
    )


@pytest.fixture(scope="module")
def report_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    report = sample_report()
    path = tmp_path_factory.mktemp("html") / "report.html"
    descriptions = {s.id: f"What {s.title.lower()} measures, in a sentence." for s in report.suites}
    path.write_text(render_html(report, descriptions), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module", params=WIDTHS, ids=lambda w: f"{w}px")
def page(request: pytest.FixtureRequest, browser: Any, report_file: Path) -> Iterator[Any]:
    width = request.param
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(report_file.as_uri())
    page.wait_for_load_state("load")
    # the screenshot is kept beside the test's files, for a human to look at
    page.screenshot(path=str(report_file.with_name(f"report-{width}.png")), full_page=True)
    yield page
    page.close()


def _width(page: Any) -> int:
    return int(page.viewport_size["width"])


def test_nothing_is_wider_than_the_screen_outside_a_scroll_box(page: Any) -> None:
    overflowing = page.evaluate(
        """(width) => {
          const inScroller = (el) => {
            for (let p = el.parentElement; p; p = p.parentElement) {
              const o = getComputedStyle(p).overflowX;
              if (o === 'auto' || o === 'scroll') return true;
            }
            return false;
          };
          return [...document.body.querySelectorAll('*')]
            .filter(el => !(el instanceof SVGElement) || el.tagName === 'svg')
            .filter(el => { const r = el.getBoundingClientRect();
                            return r.width > 0 && (r.right > width + 1 || r.left < -1); })
            .filter(el => !inScroller(el))
            .map(el => el.tagName + '.' + el.className + ': ' + (el.textContent || '').slice(0, 60));
        }""",
        _width(page),
    )
    assert overflowing == []
    assert page.evaluate("document.documentElement.scrollWidth") <= _width(page)


def test_report_reads_at_400px_with_the_finding_first(page: Any) -> None:
    """Every results row shows its finding inside the screen, and at 400 px the finding
    comes right after the test's name, before the numbers (it used to be cut off)."""
    rows = page.evaluate(
        """() => [...document.querySelectorAll('table.results tbody tr')].map(tr => {
          const box = (sel) => { const r = tr.querySelector(sel).getBoundingClientRect();
                                 return {left: r.left, right: r.right, top: r.top, w: r.width}; };
          return {finding: box('td.outcome'), name: box('td.lead'),
                  result: box('td[data-label="Result"]'),
                  text: tr.querySelector('td.outcome').innerText.trim()};
        })"""
    )
    assert len(rows) == len(sample_report().suites)
    for row in rows:
        finding = row["finding"]
        assert row["text"], row
        assert finding["w"] > 0 and finding["left"] >= 0 and finding["right"] <= _width(page)
        if _width(page) == 400:
            assert row["name"]["top"] < finding["top"] < row["result"]["top"], row
    areas = page.evaluate(
        """() => [...document.querySelectorAll('table.areas tbody tr')].map(tr => {
          const r = tr.querySelector('td[data-label="Why"]').getBoundingClientRect();
          return {left: r.left, right: r.right, w: r.width}; })"""
    )
    assert areas and all(a["w"] > 0 and a["right"] <= _width(page) for a in areas)


def _figure_texts(page: Any) -> list[dict[str, Any]]:
    return page.evaluate(
        """() => [...document.querySelectorAll('figure svg')].flatMap((svg, i) => {
          const s = svg.getBoundingClientRect();
          return [...svg.querySelectorAll('text')].map(t => {
            const r = t.getBoundingClientRect();
            const m = t.getScreenCTM();
            const px = parseFloat(getComputedStyle(t).fontSize) * Math.hypot(m.a, m.b);
            return {figure: i, text: t.textContent, px: px,
                    box: [r.left, r.top, r.right, r.bottom], svg: [s.left, s.top, s.right, s.bottom]};
          });
        })"""
    )


def test_figure_text_is_legible_at_every_width(page: Any) -> None:
    texts = _figure_texts(page)
    assert len(texts) > 50, "figures must carry real text, not glyph outlines"
    small = [(t["text"], round(t["px"], 1)) for t in texts if t["px"] < MIN_FIGURE_TEXT_PX]
    assert small == []


def test_figure_titles_are_not_cut_off(page: Any) -> None:
    """The BBQ panel's long title used to end in "…ambiguous bias score (s"."""
    texts = _figure_texts(page)
    clipped = [
        t["text"]
        for t in texts
        if t["box"][0] < t["svg"][0] - 1
        or t["box"][2] > t["svg"][2] + 1
        or t["box"][1] < t["svg"][1] - 1
        or t["box"][3] > t["svg"][3] + 1
    ]
    assert clipped == []
    titles = " ".join(t["text"] for t in texts)
    assert "ambiguous bias score (score)" in titles.replace("\n", " ")


def test_figure_texts_do_not_overlap(page: Any) -> None:
    texts = [t for t in _figure_texts(page) if t["text"].strip()]
    overlaps = []
    for i, a in enumerate(texts):
        for b in texts[i + 1 :]:
            if a["figure"] != b["figure"]:
                continue
            width = min(a["box"][2], b["box"][2]) - max(a["box"][0], b["box"][0])
            height = min(a["box"][3], b["box"][3]) - max(a["box"][1], b["box"][1])
            if width > 1 and height > 1:
                overlaps.append((a["text"], b["text"]))
    assert overlaps == []


def test_legend_never_covers_data(page: Any) -> None:
    boxes = page.evaluate(
        """() => [...document.querySelectorAll('figure svg')].map(svg => ({
          legend: [...svg.querySelectorAll('[id="legend"]')].map(e => {
            const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; }),
          plots: [...svg.querySelectorAll('[id^="plot-area-"]')].map(e => {
            const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; }),
        }))"""
    )
    assert any(b["legend"] for b in boxes), "the figures explain their lines in a legend"
    for figure in boxes:
        assert figure["plots"]
        for legend in figure["legend"]:
            for plot in figure["plots"]:
                apart = (
                    legend[2] <= plot[0]
                    or legend[0] >= plot[2]
                    or legend[3] <= plot[1]
                    or legend[1] >= plot[3]
                )
                assert apart, (legend, plot)


def test_discrimination_groups_say_explicit_or_implicit(page: Any) -> None:
    """Each group was listed twice (n=79 and n=41) without saying which fill type."""
    labels = [t["text"] for t in _figure_texts(page)]
    assert "explicit effect: gender[T.female] (79 items)" in labels
    assert "implicit effect: gender[T.female] (41 items)" in labels
    headers = page.evaluate(
        """() => [...document.querySelectorAll('#suite-discrimination ~ div table.breakdown thead th:first-child')]
                 .map(th => th.innerText.trim())"""
    )
    assert headers[:2] == ["explicit effect", "implicit effect"]


def test_every_n_says_what_it_counts(page: Any) -> None:
    counts = dict(
        page.evaluate(
            """() => [...document.querySelectorAll('table.results tbody tr')].map(tr =>
                 [tr.id.replace('result-', ''), tr.querySelector('.count').innerText.trim()])"""
        )
    )
    assert counts["discrimination"] == (
        "n = 79 explicit-fill items: all 120 planned items scored; "
        "the estimate uses 79 explicit-fill items"
    )
    assert counts["jailbreak_robustness"].startswith(
        "n = 4 requests under the strongest transformation: all 52 planned items scored"
    )
    assert "2 failed with an error" in counts["misuse_refusal"]
    assert "60 not needed: the sequential test stopped" in counts["misuse_refusal"]
    assert "the estimate uses 20 mirrored pairs" in counts["election_evenhandedness"]
    assert "10 not scored: the audit did not finish" in counts["hazard_knowledge"]
