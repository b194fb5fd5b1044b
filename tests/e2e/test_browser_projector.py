"""Readable on a projector (issue 32): at 1280 x 720 and 1400 x 900, with the four shipped models
selected, no metric label or value and no table header on any page is cut off or ellipsised, and
nothing scrolls sideways (the page, its main block, a table, a dataframe).

Each case opens one page once (a fresh session, in one reused browser tab), waits until it has
settled, opens every expander, then measures it at both sizes (a resize re-lays the page out
without rerunning it), once per tab where the page has tabs. Dataframe headers are drawn on a
canvas and cannot be measured; a dataframe's sideways scroll can, and is checked."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app import PAGE_SPECS
from harness.browser import UI
from harness.server import StreamlitServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]

VIEWPORTS = ((1280, 720), (1400, 900))
MODELS = {"mnist": "mnist-vae,mnist-wae-mmd,mnist-wae-gan,mnist-gan",
          "stacked-mnist": "stacked-vae,stacked-wae-mmd,stacked-wae-gan,stacked-gan"}
STACKED_QUERY = "&mc_n_stacked=5000"  # the fewest samples: CI time (the layout is the same)

# (url path, data set, language): every page on MNIST in English; Mode collapse on Stacked MNIST;
# Korean (longer labels) on Mode collapse and Results.
CASES = ([(spec[3], "mnist", "en") for spec in PAGE_SPECS]
         + [("mode-collapse", "stacked-mnist", "en"),
            ("mode-collapse", "mnist", "ko"), ("mode-collapse", "stacked-mnist", "ko"),
            ("results", "mnist", "ko")])

# Results' score tables (20 and 9 columns) cannot fit any projector's width: they scroll sideways
# inside their frame, their Model column pinned (app/views/results.py, score_table: the container
# keyed "<key>_frame" around each).
# Every element whose text is cut off: wider than its box (scrollWidth > clientWidth + 1; this
# is also what text-overflow: ellipsis shows as "…"), for every metric's label / value / delta and
# everything inside them, every st.table header cell and what it holds; and whatever scrolls
# sideways: the document, the main block, a table's or a dataframe's scroller.
MEASURE_JS = r"""
() => {
  const found = [];
  const text = (el) => (el.innerText || el.textContent || "").replace(/\s+/g, " ").trim();
  const shown = (el) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== "hidden";
  const boxed = (el) => {
    const d = getComputedStyle(el).display;
    return !d.startsWith("inline") || d === "inline-block" || d === "inline-flex";
  };
  const cut = (el) => shown(el) && boxed(el) && el.clientWidth > 0 && el.scrollWidth > el.clientWidth + 1;
  const check = (what, root, owner) => {
    for (const el of [root, ...root.querySelectorAll("*")]) {
      if (el.tagName === "svg" || el.closest("svg") || el.closest("[data-testid='stTooltipIcon']")) continue;
      if (cut(el)) {
        const ell = getComputedStyle(el).textOverflow === "ellipsis" ? " (ellipsis)" : "";
        found.push(`${what}${ell}: "${text(el)}" in "${text(owner)}" `
                   + `(scrollWidth ${el.scrollWidth} > clientWidth ${el.clientWidth})`);
        return;  // one report per part
      }
    }
  };
  for (const m of document.querySelectorAll("[data-testid='stMain'] [data-testid='stMetric']")) {
    if (!shown(m) || m.closest("[data-stale='true']")) continue;
    for (const [what, sel] of [["metric label", "[data-testid='stMetricLabel']"],
                               ["metric value", "[data-testid='stMetricValue']"],
                               ["metric delta", "[data-testid='stMetricDelta']"]]) {
      const part = m.querySelector(sel);
      if (part) check(what, part, m);
    }
  }
  for (const t of document.querySelectorAll("[data-testid='stMain'] [data-testid='stTable']")) {
    if (!shown(t) || t.closest("[data-stale='true']")) continue;
    for (const th of t.querySelectorAll("th")) check("table header", th, th);
    for (const el of [t, ...t.querySelectorAll("div")])
      if (cut(el)) {
        found.push(`table scrolls sideways: "${text(t.querySelector("thead") || t).slice(0, 120)}"`);
        break;
      }
  }
  for (const d of document.querySelectorAll("[data-testid='stMain'] [data-testid='stDataFrame']")) {
    if (!shown(d) || d.closest("[data-stale='true']")) continue;
    const s = d.querySelector(".dvn-scroller");
    if (s && s.scrollWidth > s.clientWidth + 1) {
      const cols = Array.from(d.querySelectorAll("table[role='grid'] th, [role='columnheader']"), text)
        .filter(Boolean).join(" | ").slice(0, 200);
      found.push(`dataframe scrolls sideways (scrollWidth ${s.scrollWidth} > clientWidth ${s.clientWidth}): `
                 + cols);
    }
  }
  for (const sel of ["[data-testid='stMain']", "[data-testid='stMainBlockContainer']"]) {
    const el = document.querySelector(sel);
    if (el && el.scrollWidth > el.clientWidth + 1)
      found.push(`${sel} scrolls sideways (scrollWidth ${el.scrollWidth} > clientWidth ${el.clientWidth})`);
  }
  const doc = document.scrollingElement;
  if (doc.scrollWidth > window.innerWidth)
    found.push(`the page scrolls sideways (scrollWidth ${doc.scrollWidth} > innerWidth ${innerWidth})`);
  const metrics = document.querySelectorAll("[data-testid='stMain'] [data-testid='stMetric']").length;
  return {found, metrics};
}
"""


@pytest.fixture(scope="module")
def projector(browser, app_server: StreamlitServer) -> Iterator[UI]:  # noqa: ANN001 - playwright Browser
    """One tab for every case of this module (each visit is a new app session all the same)."""
    w, h = VIEWPORTS[0]
    context = browser.new_context(viewport={"width": w, "height": h})
    try:
        yield UI(context.new_page(), app_server)
    finally:
        context.close()


OPEN_EXPANDERS_JS = """() => document.querySelectorAll(
  "[data-testid='stMain'] [data-testid='stExpander'] details:not([open]) > summary")
  .forEach(s => s.click())"""
# The largest number of tabs of a tab bar; clicking the i-th tab of every tab bar.
N_TABS_JS = """() => Math.max(0, ...Array.from(document.querySelectorAll(
  "[data-testid='stMain'] [role='tablist']"), t => t.querySelectorAll("[role='tab']").length))"""
CLICK_TAB_JS = """(i) => document.querySelectorAll("[data-testid='stMain'] [role='tablist']").forEach(t => {
  const tab = t.querySelectorAll("[role='tab']")[i]; if (tab) tab.click(); })"""


def measure(ui: UI) -> tuple[list[str], int]:
    """What is cut off or scrolls sideways (every tab of every tab bar in turn), and how many
    metrics the page shows."""
    out = ui.page.evaluate(MEASURE_JS)
    found, n_metrics = list(out["found"]), out["metrics"]
    n_tabs = ui.page.evaluate(N_TABS_JS)
    for i in range(n_tabs):
        ui.page.evaluate(CLICK_TAB_JS, i)
        ui.page.wait_for_timeout(300)
        found += [f for f in ui.page.evaluate(MEASURE_JS)["found"] if f not in found]
    if n_tabs:
        ui.page.evaluate(CLICK_TAB_JS, 0)
    return found, n_metrics


@pytest.mark.parametrize(("path", "data", "lang"), CASES, ids=[f"{p}-{d}-{lang}" for p, d, lang in CASES])
def test_page_fits_a_projector(projector: UI, path: str, data: str, lang: str) -> None:
    first_w, first_h = VIEWPORTS[0]
    projector.page.set_viewport_size({"width": first_w, "height": first_h})
    query = f"data={data}&models={MODELS[data]}&lang={lang}"
    if path == "mode-collapse" and data == "stacked-mnist":
        query += STACKED_QUERY
    projector.open(f"{path}?{query}")
    projector.settle(quiet_s=1.5)  # every model's column filled in
    projector.assert_clean()
    projector.page.evaluate(OPEN_EXPANDERS_JS)
    problems = []
    for w, h in VIEWPORTS:
        projector.page.set_viewport_size({"width": w, "height": h})
        projector.page.wait_for_timeout(600)  # the new layout (columns, Plotly, the dataframe's grid)
        found, n_metrics = measure(projector)
        problems += [f"/{path} ({data}, {lang}) at {w} x {h}: {f}" for f in found]
    if path == "mode-collapse":
        assert n_metrics == 8, f"expected 2 metrics per model on /{path}, found {n_metrics}"
    projector.screenshot(f"projector-{path}-{data}-{lang}-{w}x{h}")  # at the last size
    assert not problems, "cut off or scrolling sideways:\n" + "\n".join(problems)
