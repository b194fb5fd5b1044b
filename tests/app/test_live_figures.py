"""The live page's curves (app.figures: losses, per-mode bars, scores, OT cost), built in one
constructor call each: what a reader of the page relies on is in them."""

from __future__ import annotations

import pytest

from app import figures
from wae_core.live import RunSnapshot


def run(kind: str, label: str, n_modes: int) -> RunSnapshot:
    steps = [0, 10, 20]
    return RunSnapshot(label=label, kind=kind, step=20, real=None, fake=None, codes=None, prior=None,
                       history={"step": steps, "loss": [3.0, 2.0, 1.0], "penalty": [0.5, 0.4, 0.3], "d": []},
                       metrics={"step": steps, "modes_covered": [2.0, 5.0, 8.0],
                                "high_quality_share": [0.1, 0.3, 0.6], "ot": [1.0, 0.1, 0.01]},
                       n_modes=n_modes, error=None, per_mode=None)


def test_losses_one_line_per_logged_term():
    fig = figures.losses_figure(run("gan", "GAN", 8).history)
    assert [(t.name, list(t.y)) for t in fig.data] == [("loss", [3.0, 2.0, 1.0]),
                                                      ("penalty", [0.5, 0.4, 0.3])]
    assert fig.layout.xaxis.title.text == "step" and fig.layout.height == 280


def test_per_mode_bars_are_shares_with_the_uniform_line():
    fig = figures.per_mode_figure([3, 0, 1], "wae-mmd")
    assert list(fig.data[0].y) == pytest.approx([75.0, 0.0, 25.0]) and list(fig.data[0].x) == ["1", "2", "3"]
    assert fig.data[0].marker.color == figures.MODEL_COLOURS["wae-mmd"]
    (line,), (note,) = fig.layout.shapes, fig.layout.annotations
    assert line.y0 == line.y1 == pytest.approx(100 / 3) and line.xref == "x domain"
    assert note.text == "uniform" and note.y == pytest.approx(100 / 3)
    assert fig.layout.xaxis.tickvals is None
    many = figures.per_mode_figure(list(range(25)), "gan")
    assert list(many.layout.xaxis.tickvals) == ["1", "6", "11", "16", "21"]


def test_scores_put_modes_left_and_the_high_quality_percent_right():
    fig = figures.metrics_figure([run("gan", "GAN", 8), run("wae-mmd", "WAE-MMD", 8)])
    assert [t.name for t in fig.data] == ["GAN modes covered", "GAN % high quality",
                                          "WAE-MMD modes covered", "WAE-MMD % high quality"]
    assert list(fig.data[1].y) == pytest.approx([10.0, 30.0, 60.0]) and fig.data[1].yaxis == "y2"
    assert fig.data[0].yaxis is None and fig.data[0].line.color == fig.data[1].line.color
    assert list(fig.layout.yaxis.range) == [0, 8.5] and list(fig.layout.yaxis2.range) == [0, 105]
    assert fig.layout.yaxis2.overlaying == "y" and fig.layout.uirevision == "keep"


def test_ot_cost_on_a_log_axis():
    fig = figures.ot_figure([run("gan", "GAN", 0)])
    assert list(fig.data[0].y) == [1.0, 0.1, 0.01] and fig.layout.yaxis.type == "log"
