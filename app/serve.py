"""Start the app with its caches warming in the background (what ``make demo`` runs):

    python -m app.serve [any `streamlit run` option, e.g. --server.port 8600]

Plain ``streamlit run`` imports the app only when the first browser tab connects, so that tab
waits for torch, pandas, scipy, the checkpoints, the MNIST test set and the CPU's first
convolutions. Here a thread does that work while the server starts: first the imports (the
entry script waits for them: ``app.IMPORTS_READY``), then one headless run of the first
page and :func:`app.cache.warm`; a tab that connects before it is done waits on the same cached
objects (Streamlit computes a cached value once), never on a second copy. Measured by
``scripts/bench_app.py`` (README, Speed).
"""

from __future__ import annotations

import importlib
import logging
import sys
import threading
import time
from pathlib import Path

import app

ROOT = Path(__file__).resolve().parent.parent
ENTRY = ROOT / "app" / "streamlit_app.py"
FIRST_PAGE = app.PAGES_DIR / app.PAGE_SPECS[0][0]  # the default page
# What the first page needs (seconds to import on an idle 2-core machine: torch 1.7, pandas 0.4 (by
# plotly figures), scipy.optimize 0.4). scikit-learn / openTSNE are left to the latent page.
HEAVY_MODULES = ("torch", "pandas", "scipy.optimize", "plotly.graph_objects")


def _warm() -> None:
    from streamlit.runtime import Runtime

    t0 = time.perf_counter()
    try:
        for name in HEAVY_MODULES:
            importlib.import_module(name)
        # The app's cached functions must be created under the server's Runtime, not before it.
        while not Runtime.exists():
            time.sleep(0.05)
        from app import cache, components, figures, sidebar  # noqa: F401
        from wae_core.live import warm_up
    except Exception as e:  # noqa: BLE001 - the entry script then imports (and reports) itself
        print(f"WAE Lab: warm-up imports failed ({type(e).__name__}: {e})", file=sys.stderr)
        return
    finally:
        app.IMPORTS_READY.set()
    t1 = time.perf_counter()
    warm_up()  # the first optimiser imports torch._dynamo (~5 s): do it while the idea page is read
    # Cached functions called outside a script run log "missing ScriptRunContext": expected here.
    logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").setLevel(logging.ERROR)
    try:
        # Run the first page once without a browser (outside a session Streamlit draws nothing):
        # its cached samples, OT costs and figures are then ready for the first tab; first,
        # because a tab that connects at once needs exactly these. Then the other models.
        # (exec in a namespace of its own: runpy would swap sys.modules["__main__"] and sys.argv,
        # which sessions running at the same time rely on.)
        exec(compile(FIRST_PAGE.read_text(), str(FIRST_PAGE), "exec"),  # noqa: S102
             {"__name__": "wae_lab_first_page", "__file__": str(FIRST_PAGE)})
        cache.warm()
    except Exception as e:  # noqa: BLE001 - a page shows the same problem with its own message
        print(f"WAE Lab: warm-up stopped ({type(e).__name__}: {e})", file=sys.stderr)
        return
    print(f"WAE Lab: imports {t1 - t0:.1f} s, caches warm after {time.perf_counter() - t0:.1f} s",
          file=sys.stderr)


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
