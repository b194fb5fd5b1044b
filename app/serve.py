"""Start the app with its caches warming in the background (what ``make demo`` runs):

    python -m app.serve [any `streamlit run` option, e.g. --server.port 8600]

Plain ``streamlit run`` imports the app only when the first browser tab connects, so that tab
waits for torch, scipy, the checkpoints, the MNIST test set and the CPU's first convolutions.
Here a thread does that work while the server starts, the first tab's needs first and nothing
else while a tab's page runs (Python runs one thread at a time: any other work makes that tab
wait):

1. the imports of the pages (every page but the welcome page waits for them:
   ``app.IMPORTS_READY``), once a first tab's welcome page has run (or after a few seconds);
2. the idea page, run once without a browser once no tab's page is running (a tab that came
   during the imports fills the same caches itself: Streamlit computes a cached value once);
3. :func:`app.cache.warm_steps`: every model and data set, one at a time, each only once no page
   is running (``app.RUNS``);
4. what only later pages need: ``torch._dynamo`` (seconds of imports, which the first live run
   or training needs: :func:`wae_core.live.warm_up`); then "caches warm" on stderr;
5. the pages again at the seed the seminar's *Resample* moves everyone to;

and after 4 and 5, what it made out of the cyclic garbage collector's way (:func:`_freeze_heap`).

Measured by ``scripts/bench_app.py`` (docs/speed.md).
"""

from __future__ import annotations

import gc
import importlib
import itertools
import logging
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import app

ROOT = Path(__file__).resolve().parent.parent
ENTRY = ROOT / "app" / "streamlit_app.py"
# The heaviest page a tab opens first: the deck's story, linked first from the welcome page (the
# default page, which needs no model and is shown while this warm-up still imports torch).
FIRST_PAGE = app.PAGES_DIR / "idea.py"
NOT_WARMED = ("welcome.py", "idea.py", "toy_lab.py", "train.py")  # nothing to fill, or done first
# What the pages need: torch, scipy.optimize for the optimal transport, plotly's figures
# (``python -X importtime -c "import torch"`` shows what a start spends), and pandas: not for the
# first page, but it may never be imported while pages run. Plotly looks pandas up in sys.modules
# when it builds a figure, and a half-imported pandas there crashed pages ("partially initialized
# module 'pandas' has no attribute 'Series'", seen under the room's load test).
HEAVY_MODULES = ("torch", "scipy.optimize", "plotly.graph_objects", "pandas")
FIRST_TAB_WAIT_S = 3.0  # the longest the imports wait for a first tab's page (a room waits longer)
FIRST_PAGE_SEND_S = 0.3  # after it: its page is still sent and drawn
# The longest the warm-up waits for pages to finish before its next step anyway (a first visit
# of Mode collapse on Stacked MNIST runs for tens of seconds).
IDLE_WAIT_S = 30.0
# After a run, the server still sends its page and its images: the warm-up keeps still this long.
QUIET_S = 1.5


def _imports() -> None:
    from streamlit.runtime import Runtime

    for name in HEAVY_MODULES:
        importlib.import_module(name)
    # The app's cached functions must be created under the server's Runtime, not before it.
    while not Runtime.exists():
        time.sleep(0.05)
    from app import cache, components, drawn, figures, sidebar  # noqa: F401


def _run_page(page: Path = FIRST_PAGE, seed: int | None = None) -> None:
    """Run a page once without a browser (outside a session Streamlit draws nothing): its cached
    samples, codes, maps and figures are then ready for the first tab. In a namespace of its
    own: runpy would swap ``sys.modules["__main__"]`` and ``sys.argv``, which sessions running at
    the same time rely on. ``seed``: the sidebar's seed it runs at (outside a session,
    ``st.session_state`` is the warm-up's own)."""
    if seed is not None:
        import streamlit as st

        from app import components

        st.session_state[components.SEED_KEY] = seed
    exec(compile(page.read_text(), str(page), "exec"),  # noqa: S102
         {"__name__": "wae_lab_warm_page", "__file__": str(page)})


def _warm_pages(seed: int | None = None) -> Iterator[str]:
    """Every other page's default view, one page at a time (each process of a room fills its own
    caches: a room that arrives at once must not find them cold), at the sidebar's ``seed``
    (default: its default). The live and training pages start nothing by themselves and are
    left out."""
    for file, *_ in app.PAGE_SPECS:
        if file in NOT_WARMED:
            continue
        try:
            _run_page(app.PAGES_DIR / file, seed)
        except Exception as e:  # noqa: BLE001 - the page shows its own message to its tabs
            print(f"WAE Lab: warm-up skipped {file} ({type(e).__name__}: {e})", file=sys.stderr)
        yield file


def _when_idle(steps: Iterator[str]) -> None:
    """Each step once no page is running (a step runs when it is asked for: wait before asking)."""
    while True:
        app.RUNS.wait_idle(IDLE_WAIT_S, QUIET_S)
        if next(steps, None) is None:
            return


def _freeze_heap() -> None:
    """Every object alive now (torch, the models, the caches: ~500,000 of them, warm) out of the
    cyclic garbage collector's sight for good; reference counting still frees them.

    Each full collection walked them all: 0.2 s of CPU with Python's lock held, every tab of the
    process waiting, about once per 8 tabs of the load test's tour (``gc.callbacks`` timing one
    tab at a time: 7 full collections in the warm-up, one in 8 tabs afterwards, 216 ms; none once
    frozen). What a session made before this stays frozen
    too: its reference cycles, if it ends, are never collected (a few per open tab)."""
    gc.collect()
    gc.freeze()


def _warm() -> None:
    t0 = time.perf_counter()
    # The first tab's welcome page needs none of the imports below, which hold Python's lock for
    # seconds: started at once, they slowed the server's start and that page by about a second.
    # So they wait for the first page (or FIRST_TAB_WAIT_S when no tab comes).
    app.RUNS.wait_first(FIRST_TAB_WAIT_S)
    time.sleep(FIRST_PAGE_SEND_S)
    try:
        _imports()
    except Exception as e:  # noqa: BLE001 - the entry script then imports (and reports) itself
        print(f"WAE Lab: warm-up imports failed ({type(e).__name__}: {e})", file=sys.stderr)
        return
    finally:
        app.IMPORTS_READY.set()
    t_imports = time.perf_counter() - t0
    # Cached functions called outside a script run log "missing ScriptRunContext": expected here.
    logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").setLevel(logging.ERROR)
    from app import cache
    from wae_core.live import warm_up

    try:
        # A tab that connected during the imports is running its page now: let it finish alone.
        if app.RUNS.wait_idle(IDLE_WAIT_S, QUIET_S):
            _run_page()
        t_first = time.perf_counter() - t0
        _when_idle(itertools.chain(cache.warm_steps(), _warm_pages()))
        app.RUNS.wait_idle(IDLE_WAIT_S, QUIET_S)
        warm_up().join()
    except Exception as e:  # noqa: BLE001 - a page shows the same problem with its own message
        print(f"WAE Lab: warm-up stopped ({type(e).__name__}: {e})", file=sys.stderr)
        return
    _freeze_heap()
    print(f"WAE Lab: imports {t_imports:.1f} s, first page cached after {t_first:.1f} s, caches "
          f"warm after {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    # Then the pages at the seed the seminar's Resample moves the whole room to at once: warmed at
    # the default only, each process's first visitor of Mode collapse after a Resample computed
    # that seed's coverage while the room waited behind Streamlit's cache lock (2.2-2.6 s for one
    # user alone). After the line above, which a room's start waits for (app.room): before it,
    # they made that start 4-11 s longer (the room's browser tests).
    from app.components import DEFAULT_SEED, next_seed

    try:
        _when_idle(_warm_pages(next_seed(DEFAULT_SEED)))
    except Exception as e:  # noqa: BLE001 - as above
        print(f"WAE Lab: warm-up of the next seed stopped ({type(e).__name__}: {e})", file=sys.stderr)
    _freeze_heap()


def main(argv: list[str] | None = None) -> None:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from streamlit.web import cli

    app.IMPORTS_READY.clear()
    threading.Thread(target=_warm, name="wae-lab-warm-up", daemon=True).start()
    sys.argv = ["streamlit", "run", str(ENTRY), *(sys.argv[1:] if argv is None else argv)]
    cli.main()


if __name__ == "__main__":
    main()
