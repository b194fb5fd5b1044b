"""What every background worker of the process shares: its torch threads, the one-off import
warm-up, and the error raised when the process already trains as much as it allows."""

from __future__ import annotations

import threading

from wae_core.errors import UserFacingError

# Torch threads of a background worker. One: on 2 cores that are busy (another worker, another
# session, a training) a 2-thread OpenMP team waits for descheduled threads at every op; measured
# here: a 256x128 @ 128x128 matmul took 16 ms with 2 threads vs 0.3 ms with 1 (50x slower).
# torch.set_num_threads is called in the worker thread: it sets that thread's team and the default
# of threads created afterwards (PyTorch keeps one global value), not of running threads.
WORKER_THREADS = 1


class TooManyRunsError(UserFacingError, RuntimeError):
    """The process already trains as many runs as it allows; the message says so plainly."""


_warm_lock = threading.Lock()
_warm_thread: threading.Thread | None = None


def warm_up() -> threading.Thread:
    """Import what the first optimiser needs (``torch._dynamo``, ~5 s on 2 busy cores) in a
    daemon thread, once per process, so the first live run or training starts without that wait."""
    global _warm_thread
    with _warm_lock:
        if _warm_thread is None:
            def _imp() -> None:
                import torch._dynamo  # noqa: F401

            _warm_thread = threading.Thread(target=_imp, name="wae-warm-up", daemon=True)
            _warm_thread.start()
        return _warm_thread
