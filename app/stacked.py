"""The Stacked-MNIST benchmark's measured numbers (``results/results.json`` → "stacked", written
by ``python -m wae_core.evaluate``) as text for the pages: never typed in, always read."""

from __future__ import annotations

from typing import Any

from app import cache
from app.i18n import N_, _

# results.json's "spread_over" values (wae_core.evaluation.stacked), translated where shown
SPREAD_MSGIDS = (N_("training seeds"), N_("sampling seeds"), N_("draws of the training set"))


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
    parts = [_("{model} **{modes} ± {modes_std}** modes, KL {kl} ± {kl_std} ({runs} {spread})").format(
        model=r["model"], modes=f"{r['modes_mean']:,.0f}", modes_std=f"{r['modes_std']:,.0f}",
        kl=f"{r['kl_mean']:.2f}", kl_std=f"{r['kl_std']:.2f}", runs=r["runs"],
        spread=_(str(r["spread_over"]))) for r in rows]
    return _("Stacked MNIST, 1,000 modes (`{command}`, {n} samples per run, the shipped "
             "checkpoints): {parts}.").format(command="python -m wae_core.evaluate",
                                              n=f"{rows[0]['n']:,}", parts="; ".join(parts))
