"""Shared test set-up: one torch thread per test process (CI has 2 cores), repo root importable."""

import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

torch.set_num_threads(1)

pytest_plugins = ["tests.no_skips"]
