"""Freed memory stays in the process, so a training step does not pay the kernel for fresh pages.

glibc's malloc hands a block of 128 KiB or more (one 256 x 128 float32 activation) to the kernel
again when it is freed, either as its own mapping or by trimming the top of the heap. Every step
then touches new pages: the live toy's WAE-MMD (batch 256, 7-scale IMQ kernel) took ~690 minor
page faults per step, ~1.7 ms of its ~10 ms on one core of this machine. With both thresholds
raised (``mallopt``) they are gone: the page's GAN + WAE-MMD pair trained 54-58 steps/s against
47-48 (``scripts/bench_live.py`` against ``--malloc-default``, alternated; docs/speed.md). The
app's pages gained nothing (``scripts/bench_page_cpu.py``), so only processes that train set it:
a run's (``wae_core.live.process_group``) and the training CLI's.

Process-wide and once per process; a no-op where the C library is not glibc.
"""

from __future__ import annotations

import ctypes
import functools
import sys

MMAP_THRESHOLD = 32 << 20  # blocks up to 32 MiB come from the heap, not a mapping of their own
TRIM_THRESHOLD = 64 << 20  # up to 64 MiB free at the heap's top stays there
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # <malloc.h>


@functools.cache
def keep_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds for this process; True when both were set."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl has no libc.so.6)
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
