"""Does an upload come back as the same digit? The share of reconstructions G(E(x)) the LeNet reads
as the input's digit, measured by ``python -m wae_core.evaluate`` on the two held-out sets of real
uploads (results.json), per model and per family of digits: the Results page's table and the
Reconstructions page's line per model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from app import components as C
from app.i18n import N_, _

# (results.json's key, its title): set 1 is what the shipped models were tuned against, set 2 is
# for reporting only (scripts/make_heldout_digits*.py)
SETS = (("heldout", N_("Held-out set 1 (the models were tuned on it)")),
        ("heldout2", N_("Held-out set 2 (for reporting only)")))
FAMILIES = {  # the families' names in results.json, shown translated
    "font": N_("printed"), "canvas": N_("drawn"), "scan": N_("scanned"), "photo": N_("photographed"),
    "uci-8x8": N_("8×8 handwriting"), "marker": N_("marker"), "ballpoint": N_("ballpoint"),
    "pencil": N_("pencil"), "screen": N_("screen"),
}


def family_table(rows: list[dict[str, Any]], key: str) -> pd.DataFrame | None:
    """One row per model with the class kept on the set ``key`` overall and per family (None when
    results.json has no such numbers); the real-data row is the LeNet reading the inputs."""
    rows = [r for r in rows if r.get(f"class_kept_{key}_by_source")]
    if not rows:
        return None
    families = list(rows[0][f"class_kept_{key}_by_source"])
    return pd.DataFrame([{_("Model"): r.get("model", C.DASH),
                          _("all"): C.fmt(r.get(f"class_kept_{key}"), ".1%"),
                          **{_(FAMILIES.get(f, f)): C.fmt(r[f"class_kept_{key}_by_source"].get(f), ".1%")
                             for f in families}} for r in rows])


def row_of(rows: list[dict[str, Any]], checkpoint: str) -> dict[str, Any] | None:
    """results.json's row of the checkpoint file ``checkpoint`` (matched by file name), if any."""
    name = Path(checkpoint).name
    return next((r for r in rows if r.get("checkpoint") and Path(r["checkpoint"]).name == name), None)


def sentence(row: dict[str, Any]) -> str | None:
    """How often this model gives an upload back as the same digit, on both sets (None without
    the numbers)."""
    one, two = row.get("class_kept_heldout"), row.get("class_kept_heldout2")
    if one is None and two is None:
        return None
    return _("An upload comes back as the same digit {one} of the time on held-out set 1 and {two} "
             "on held-out set 2 (measured; the Results page has them by kind of digit).").format(
        one=C.fmt(one, ".0%"), two=C.fmt(two, ".0%"))
