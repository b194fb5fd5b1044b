"""Work a page shares instead of repeating (issue: sixty students on one 2-core host): figures
built once per input for every session (app.drawn, the Results charts), image grids drawn no wider
than they are shown (so Streamlit does not shrink and re-encode them on every run), and the
server's warm-up, which keeps still while a session's page runs (app.serve, app.RUNS)."""

from __future__ import annotations

import gc
import threading
import time

import numpy as np
import plotly.express as px
import pytest
from streamlit.testing.v1 import AppTest

import app
from app import cache, drawn, export, figures, serve
from app.components import DEFAULT_SEED, grid_png, next_seed, png_url
from tests.app.support import open_page

SEED = 4242

BUILDERS = [  # (page, the module and name of a figure builder it must not call twice, its cache)
    ("idea.py", figures, "posterior_figure", drawn.posteriors),
    ("idea.py", figures, "ot_matching_figure", drawn.ot_ring),
    ("mode_collapse.py", figures, "class_histogram", drawn.class_histogram),
    ("latent.py", figures, "latent_map_figure", drawn.latent_map),
    ("results.py", px, "bar", None),  # (its cache is the page's own: it may be full already)
]


@pytest.mark.parametrize(("page", "module", "name", "cached"), BUILDERS,
                         ids=[f"{p}:{n}" for p, _, n, _ in BUILDERS])
def test_a_second_session_reuses_the_figures(lab_env, monkeypatch, page, module, name, cached):
    if cached is not None:
        cached.clear()  # (an earlier test may have drawn the same figure)
    calls = []
    build = getattr(module, name)
    monkeypatch.setattr(module, name, lambda *a, **k: calls.append(1) or build(*a, **k))
    open_page(page, state={"sidebar_seed": SEED})
    first = len(calls)
    assert first or cached is None
    open_page(page, state={"sidebar_seed": SEED})  # another session, the same view
    assert len(calls) == first, f"{name} built again for a second session of {page}"


@pytest.mark.parametrize("page", ["idea.py", "latent.py"])
def test_a_second_session_reuses_the_figures_dicts(lab_env, monkeypatch, page):
    """st.plotly_chart turns its figure into a dict at every call (a validated deep copy: ~3 ms
    for a 2,000-point map, per chart, session and rerun): a shared figure's is made once
    (export.spec), and the chart is the same as from the figure itself."""
    import plotly.graph_objects as go
    import plotly.io as pio
    import streamlit as st

    st.cache_resource.clear()  # (figures an earlier test drew keep their dicts)
    dicts = []
    to_dict = go.Figure.to_dict
    monkeypatch.setattr(go.Figure, "to_dict", lambda self: dicts.append(1) or to_dict(self))
    first = open_page(page, state={"sidebar_seed": SEED})
    made = len(dicts)
    assert made
    second = open_page(page, state={"sidebar_seed": SEED})  # another session, the same view
    assert len(dicts) == made, f"{page}: shared figures made into dicts again for a second session"
    charts = second.get("plotly_chart")
    assert [c.proto.spec for c in charts] == [c.proto.spec for c in first.get("plotly_chart")]
    fig = go.Figure(go.Scatter(x=[1, 2], y=[3, 4]))
    assert pio.to_json(export.spec(fig).to_dict()) == pio.to_json(fig.to_dict())


def test_a_grid_with_a_pixel_width_is_drawn_to_fit():
    """A PNG wider than its width in pixels would be shrunk by Streamlit (bilinear, every run):
    the grid is drawn at the largest scale that fits, and stored as it was drawn."""
    def script() -> None:
        import numpy as np

        from app import components as C

        C.image_grid(np.linspace(0, 1, 8 * 28 * 28, dtype=np.float32).reshape(8, 1, 28, 28),
                     ncol=8, scale=4, width=8 * 28 * 4)

    at = AppTest.from_function(script, default_timeout=60).run()
    assert not at.exception, at.exception
    imgs = np.linspace(0, 1, 8 * 28 * 28, dtype=np.float32).reshape(8, 1, 28, 28)
    # 8 columns of 28 px + 2 px padding: 242 px at scale 1, so scale 3 (726 px) fits in 896 px.
    url = at.get("image")[0].proto.imgs[0].url
    assert url == png_url(grid_png(imgs, 8, 3, 2))


def test_wait_idle_waits_for_runs_and_a_quiet_moment():
    runs = app.ScriptRuns()
    assert runs.wait_idle(0.01)
    with runs.running():
        t0 = time.monotonic()
        assert not runs.wait_idle(0.2)
        assert time.monotonic() - t0 >= 0.2
    t0 = time.monotonic()
    assert runs.wait_idle(5, quiet=0.3)  # idle, once no run ended in the last 0.3 s
    assert 0.25 <= time.monotonic() - t0 < 2


def test_the_entry_counts_its_runs(app_env, monkeypatch):
    runs, entered = app.ScriptRuns(), []
    running = runs.running
    monkeypatch.setattr(runs, "running", lambda: entered.append(1) or running())
    monkeypatch.setattr(app, "RUNS", runs)
    at = open_page("samples.py")  # two runs: the default page, then Samples
    assert not at.exception, at.exception
    assert len(entered) == 2 and runs.wait_idle(0)  # each run counted in, and out again


def test_the_warm_up_keeps_still_while_a_page_runs(monkeypatch):
    """After its imports the warm-up waits for running pages before the first page's caches,
    before each model, the later imports and torch._dynamo."""
    events: list[str] = []
    runs = app.ScriptRuns()
    tab = runs.running()  # a tab's page, running when the imports are done
    monkeypatch.setattr(app, "RUNS", runs)
    monkeypatch.setattr(serve, "QUIET_S", 0.05)
    monkeypatch.setattr(serve, "_imports", lambda: events.append("imports"))
    # another tab connects while the first page is being cached
    monkeypatch.setattr(serve, "_run_page", lambda: events.append("first page") or tab.__enter__())
    monkeypatch.setattr(serve, "_warm_pages",
                        lambda seed=None: (events.append(f"{s} at {seed}") or s for s in ("page x",)))
    monkeypatch.setattr(cache, "warm_steps", lambda: (events.append(s) or s for s in ("model a", "model b")))
    done = threading.Thread(target=lambda: events.append("dynamo"))
    monkeypatch.setattr("wae_core.live.warm_up", lambda: done.start() or done)
    monkeypatch.setattr(serve, "_freeze_heap", lambda: events.append("freeze"))
    app.IMPORTS_READY.clear()
    warm = threading.Thread(target=serve._warm)
    try:
        with runs.running():
            warm.start()
            assert app.IMPORTS_READY.wait(10)
            time.sleep(0.3)
            assert events == ["imports"]  # nothing else while the page runs
        deadline = time.monotonic() + 10
        while "first page" not in events and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.3)
        assert events == ["imports", "first page"]  # the second tab's page runs: no model yet
        tab.__exit__(None, None, None)
        warm.join(10)
    finally:
        app.IMPORTS_READY.set()
    # last, once "caches warm" is out (a room's start waits for it), the seed Resample moves to;
    # what each part made is then frozen out of the garbage collector's sight
    assert events == ["imports", "first page", "model a", "model b", "page x at None", "dynamo",
                      "freeze", f"page x at {next_seed(DEFAULT_SEED)}", "freeze"]


def test_freezing_the_heap_leaves_the_garbage_collector_only_newer_objects():
    """A full collection walked every warm object (0.2 s with Python's lock held, the room
    waiting); frozen, it sees only what came after."""
    kept = [[i] for i in range(1000)]
    try:
        serve._freeze_heap()
        assert gc.get_freeze_count() > len(kept)
        assert not any(o is kept[0] for o in gc.get_objects())  # in no generation the GC walks
        newer = [0]
        assert any(o is newer for o in gc.get_objects())
    finally:
        gc.unfreeze()


@pytest.mark.parametrize(("page", "module", "name"), [("explore.py", "explore_cache", "class_mean_codes"),
                                                      ("interpolate.py", "cache", "interpolate")])
def test_the_warm_up_runs_the_fragments(app_env, monkeypatch, page, module, name):
    """The warm-up runs each page without a session; what a page draws in its fragments must be
    cached too (Streamlit's st.fragment does nothing outside a script run: the explorer's class
    means were computed by the first visitor of each process, the room's visitors waiting)."""
    import importlib

    mod = importlib.import_module(f"app.{module}")
    calls = []
    fn = getattr(mod, name)
    monkeypatch.setattr(mod, name, lambda *a, **k: calls.append(1) or fn(*a, **k))
    serve._run_page(app.PAGES_DIR / page)
    assert calls, f"the warm-up's run of {page} never called {module}.{name}"


def test_the_warm_up_runs_a_page_at_a_seed(app_env, monkeypatch):
    """The seminar's Resample moves the whole room to the next seed at once; the warm-up runs the
    pages at that seed too (test_the_warm_up_keeps_still_while_a_page_runs), and a page it runs
    at a seed draws at that seed."""
    seeds, coverage = [], cache.coverage
    monkeypatch.setattr(cache, "coverage",
                        lambda ref, n, seed, *a, **k: seeds.append(seed) or coverage(ref, n, seed, *a, **k))
    list(serve._warm_pages(SEED))
    assert seeds and set(seeds) == {SEED}


def test_array_keys_tell_arrays_apart_by_content_shape_and_type():
    a = np.random.default_rng(0).random((4, 1, 28, 28), dtype=np.float32)
    b = a.copy()
    assert cache.array_key(a) == cache.array_key(b)
    b[3, 0, 27, 27] += 1e-6
    assert cache.array_key(b) != cache.array_key(a)
    assert cache.array_key(a.reshape(2, 2, 28, 28)) != cache.array_key(a)
    assert cache.array_key(a.astype(np.float64)) != cache.array_key(a)
    assert cache.array_key(a[:, :, ::2]) == cache.array_key(np.ascontiguousarray(a[:, :, ::2]))


def test_every_cached_function_of_arrays_keys_them_with_array_key():
    """Every rerun of a page hashes its image batches again, for every session (grids, sharpness,
    reconstructions): with Streamlit's own hash of an array, 11 % of the pages' script CPU."""
    import inspect

    from app import components, explore_cache

    checked = []
    for module in (cache, components, explore_cache, drawn):
        for name, fn in vars(module).items():
            info = getattr(fn, "_info", None)
            if info is None or getattr(info, "func", None) is None or info.func.__module__ != module.__name__:
                continue
            hints = inspect.signature(info.func).parameters.values()
            if any("np.ndarray" in str(p.annotation) for p in hints):
                checked.append(name)
                assert (info.hash_funcs or {}).get(np.ndarray) is cache.array_key, \
                    f"{module.__name__}.{name} hashes its arrays with Streamlit's slower hash"
    assert {"grid_png", "sharpness", "reconstruct", "nearest_training", "arithmetic"} <= set(checked)
