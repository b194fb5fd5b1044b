"""The Stacked-MNIST benchmark's measured numbers (``results/results.json`` → "stacked", written
by ``python -m wae_core.evaluate``) as text for the pages: never typed in, always read."""

from __future__ import annotations

from typing import Any

from app import cache


def benchmark_rows() -> list[dict[str, Any]]:
    """The model rows of the Stacked-MNIST table (no real-data row); [] when there are none or
    the results file is missing or unreadable."""
    try:
        res = cache.load_results() or {}
    except ValueError:
        return []
    return [r for r in res.get("stacked", []) if r.get("kind") != "data"]


def summary(rows: list[dict[str, Any]] | None = None) -> str | None:
    """"GAN 31 ± 12 modes, KL 5.1 ± 0.4 (3 training seeds); WAE-MMD ..." over the benchmark's
    rows, with the protocol; None without rows."""
    rows = benchmark_rows() if rows is None else rows
    if not rows:
        return None
    parts = [f"{r['model']} **{r['modes_mean']:,.0f} ± {r['modes_std']:,.0f}** modes, KL "
             f"{r['kl_mean']:.2f} ± {r['kl_std']:.2f} ({r['runs']} {r['spread_over']})" for r in rows]
    return (f"Stacked MNIST, 1,000 modes (`python -m wae_core.evaluate`, {rows[0]['n']:,} samples "
            "per run, the shipped checkpoints): " + "; ".join(parts) + ".")
