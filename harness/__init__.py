"""The support code that the tests and the scripts share: one copy of how the app is started, driven
and measured.

* :mod:`harness.server`: an app server (``python -m app.serve``) on a free loopback port;
  :mod:`harness.room`: a room (``python -m app.room``: app processes behind HAProxy);
* :mod:`harness.browser`: Debian's chromium and :class:`~harness.browser.UI`, the waits a
  Streamlit page needs; :mod:`harness.waiting`: polling waits;
* :mod:`harness.session`, :mod:`harness.protocol`, :mod:`harness.pages`: a tab without a
  renderer (Streamlit's websocket protocol) and what it reads off the pages;
* :mod:`harness.procfs`: memory and CPU of processes from ``/proc``;
* :mod:`harness.images`: the PNG digit the benchmarks upload; :mod:`harness.stochastic`: the
  statistics of the training tests (measured over seeds by ``scripts/sweep_stochastic_tests.py``);
* :mod:`harness.load`: the machinery of ``scripts/load_test.py`` (records, servers, sampler,
  timed steps, report).

Tests import it directly (pytest puts the repo root on ``sys.path``); a script puts the repo root
on ``sys.path`` first, so ``python scripts/<name>.py`` works from the repo root.
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"  # logs and screenshots the tests keep (CI uploads them)
