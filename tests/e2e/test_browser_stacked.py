"""Mode collapse on Stacked MNIST in a real browser, on the shipped checkpoints: per model the
modes covered and KL in big numbers, coloured samples and a 10 x 100 map of the 1,000 modes; a
second visit comes from the cache."""

from __future__ import annotations

import re
import time

import pytest

from harness.browser import UI

pytestmark = pytest.mark.browser


def test_stacked_mode_collapse_page(ui: UI) -> None:
    ui.open("mode-collapse?data=stacked-mnist&mc_n_stacked=5000", "Mode collapse")  # 5,000 samples: CI time
    ui.page.get_by_text("The 1,000 modes, one map per model").first.wait_for()
    ui.assert_clean()
    assert not ui.errors(), ui.errors()
    metrics = ui.page.locator("[data-testid='stMetric']")
    covered = [t for t in metrics.all_inner_texts() if t.startswith("Modes covered")]
    assert len(covered) == 4 and all(re.search(r"[\d,]+ / 1,000", t) for t in covered)
    assert ui.page.locator("[data-testid='stPlotlyChart']").count() == 4  # one map per model
    ui.page.get_by_text(re.compile(r"The GAN's samples land in|the GAN covers as many modes")).first\
        .wait_for()
    ui.screenshot("mode-collapse-stacked")
    # The same view again (a rerun): everything comes from the cache.
    t0 = time.monotonic()
    ui.page.reload()
    ui.page.get_by_text("The 1,000 modes, one map per model").first.wait_for()
    ui.settle()
    assert time.monotonic() - t0 < 30, "the second visit recomputed the coverage"
    ui.assert_clean()
