"""WAE Lab's Streamlit app: ``python -m app.serve`` (or ``streamlit run app/streamlit_app.py``)."""

import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from app.i18n import N_

# Set while no warm-up is importing the app's heavy modules. ``app.serve`` clears it while its
# thread imports torch, scipy and plotly, and the entry script waits for it: two threads
# importing the same package at once can see it half initialised.
IMPORTS_READY = threading.Event()
IMPORTS_READY.set()


class ScriptRuns:
    """How many sessions' script runs are in progress (the entry script counts its own), so that
    ``app.serve``'s warm-up can wait for a quiet moment: Python runs one thread at a time, and a
    warm-up step taken while a tab's page runs makes that tab wait for it."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._running = 0
        self._ended = 0.0  # time.monotonic() when the last run ended

    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        with self._cond:
            self._running += 1
        try:
            yield
        finally:
            with self._cond:
                self._running -= 1
                self._ended = time.monotonic()
                self._cond.notify_all()

    def wait_first(self, timeout: float) -> bool:
        """Wait until some run has ended, at most ``timeout`` seconds; True when one has."""
        with self._cond:
            return self._cond.wait_for(lambda: self._ended > 0.0, timeout)

    def wait_idle(self, timeout: float, quiet: float = 0.0) -> bool:
        """Wait until no script run is in progress and none ended in the last ``quiet`` seconds
        (the server still sends a finished run's page and its images), at most ``timeout``
        seconds (a long first visit must not hold the warm-up back for ever); True when idle."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                now = time.monotonic()
                wait = deadline - now
                if not self._running and now - self._ended >= quiet:
                    return True
                if wait <= 0:
                    return False
                self._cond.wait(min(wait, quiet - (now - self._ended)) if not self._running else wait)


RUNS = ScriptRuns()

# Page scripts live in app/views. NB: never name that folder "pages": a "pages" folder next to the
# entry switches Streamlit into its v1 "pages directory" mode until the entry's first st.navigation
# call, so a server whose very first request is a deep link (/samples) would run that page without
# this entry (no sys.path, no sidebar: ModuleNotFoundError: app).
PAGES_DIR = Path(__file__).resolve().parent / "views"
# (file, title, icon, url path); pages whose file does not exist (yet) are skipped. The titles
# are translated where the navigation is built (app.streamlit_app).
PAGE_SPECS = (
    ("welcome.py", N_("Start here"), ":material/home:", "welcome"),
    ("idea.py", N_("The idea"), ":material/lightbulb:", "idea"),
    ("samples.py", N_("Samples"), ":material/grid_view:", "samples"),
    ("reconstruct.py", N_("Reconstructions"), ":material/compare:", "reconstructions"),
    ("latent.py", N_("Latent space"), ":material/scatter_plot:", "latent"),
    ("interpolate.py", N_("Interpolation"), ":material/linear_scale:", "interpolation"),
    ("explore.py", N_("Latent explorer"), ":material/tune:", "explore"),
    ("mode_collapse.py", N_("Mode collapse"), ":material/bar_chart:", "mode-collapse"),
    ("toy_lab.py", N_("Live toy training"), ":material/model_training:", "toy-lab"),
    ("train.py", N_("Train your own"), ":material/fitness_center:", "train"),
    ("results.py", N_("Results"), ":material/table_chart:", "results"),
)
