"""Export: every figure as a PNG and the numbers behind it as CSV.

* Plotly charts (:func:`chart`): the mode bar's **Download plot as PNG** button (Plotly draws the
  PNG in the browser at twice the size on screen: no server-side renderer such as kaleido), and
  with ``csv_rows`` a **Download CSV** button of the chart's numbers;
* tables (:func:`csv_button`): a **Download CSV** button of the numbers (not their formatted text);
* images (:func:`png_button`): a **Download PNG** button (image grids: ``components.image_grid``'s
  ``download_name``).

No maths here: a page hands over the rows it already has.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Mapping
from itertools import zip_longest
from typing import Any

import streamlit as st
from plotly.basedatatypes import BaseFigure

from app.i18n import _

PNG_SCALE = 2  # the chart's PNG at twice its size on screen (a projector, a paper)

Rows = Any  # a pandas DataFrame, a list of dicts (one per row) or a dict of columns


def file_name(name: str, ext: str) -> str:
    """A safe file name: ``name`` with anything but letters, digits, ``.``, ``_`` and ``-``
    replaced by ``-``, and the extension."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "wae-lab"
    return f"{stem}.{ext}"


def png_config(name: str, *, full: bool = False) -> dict[str, Any]:
    """A Plotly ``config`` whose mode bar saves the chart as ``name``.png. ``full=False``: a mode
    bar with that one button (the charts showed none); ``full=True``: Plotly's whole bar (zoom,
    lasso, ...) with the PNG button saving ``name``.png."""
    cfg: dict[str, Any] = {"displaylogo": False, "toImageButtonOptions": {
        "format": "png", "filename": file_name(name, "png")[:-4], "scale": PNG_SCALE}}
    if not full:
        cfg["modeBarButtons"] = [["toImage"]]
    return cfg


def _cell(v: Any) -> Any:
    """numpy scalars as plain Python values (``float32(0.5)`` → ``0.5``)."""
    return v.item() if hasattr(v, "item") and getattr(v, "ndim", 1) == 0 else v


def to_csv(rows: Rows) -> bytes:
    """CSV bytes (a header row, then one line per row) of a DataFrame, a list of dicts (columns: the
    keys in order of first appearance) or a dict of columns (shorter columns padded with blanks)."""
    if hasattr(rows, "to_csv"):
        return rows.to_csv(index=False).encode()
    if isinstance(rows, Mapping):
        header = list(rows)
        body = [dict(zip(header, r)) for r in zip_longest(*(list(c) for c in rows.values()), fillvalue="")]
    else:
        body = [dict(r) for r in rows]
        header = list(dict.fromkeys(k for r in body for k in r))
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=header, restval="", lineterminator="\n")
    w.writeheader()
    for r in body:
        w.writerow({k: _cell(v) for k, v in r.items()})
    return buf.getvalue().encode()


def csv_button(rows: Rows, key: str, name: str, label: str | None = None) -> None:
    """A download button of ``rows`` as ``name``.csv (no rerun on click); ``label`` (translated by
    the caller) defaults to "Download CSV". The CSV's columns stay the rows' (English) keys. The
    CSV is written on click only: written on every run, it and its hash cost each session's rerun
    of a page (a live page's curves: every two seconds) for a file almost nobody downloads."""
    st.download_button(_("Download CSV") if label is None else label, lambda: to_csv(rows),
                       file_name=file_name(name, "csv"), mime="text/csv", key=key,
                       icon=":material/download:", on_click="ignore")


def png_button(data: bytes | Callable[[], bytes], key: str, name: str, label: str | None = None) -> None:
    """A download button of a PNG as ``name``.png (no rerun on click). ``data`` may be a callable,
    run on click only: for images a fragment redraws often (a slider). ``label``: "Download PNG"."""
    st.download_button(_("Download PNG") if label is None else label, data,
                       file_name=file_name(name, "png"), mime="image/png", key=key,
                       icon=":material/download:", on_click="ignore")


class _Spec(BaseFigure):
    """A figure as ``st.plotly_chart`` reads it: only its dict (``to_dict``), nothing else."""

    def __init__(self, data: dict[str, Any]) -> None:  # (no BaseFigure.__init__: no validation)
        object.__setattr__(self, "_spec", data)

    def to_dict(self) -> dict[str, Any]:
        return self._spec


def spec(fig: Any) -> Any:
    """A Plotly figure's dict, made once per figure object and kept on it, for ``st.plotly_chart``.

    ``st.plotly_chart`` calls the figure's ``to_dict`` (a validated deep copy) at every call: for
    a figure drawn once for every session (:mod:`app.drawn`) that was ~3 ms per chart, session
    and rerun for a 2,000-point map, three times its JSON encoding. A figure must not change once
    charted (the drawn ones are shared and never do); anything else passes through."""
    if not isinstance(fig, BaseFigure):
        return fig
    data = vars(fig).get("_wae_spec")
    if data is None:
        data = fig.to_dict()
        object.__setattr__(fig, "_wae_spec", data)
    return _Spec(data)


def chart(fig: Any, key: str, csv_rows: Rows | None = None, *, name: str | None = None,
          full_mode_bar: bool = False, **kwargs: Any) -> Any:
    """``st.plotly_chart`` with a PNG button in its mode bar (:func:`png_config`) and, with
    ``csv_rows``, a **Download CSV** button (key ``<key>_csv``) under it. Returns the chart's
    value (its selection, with ``on_select``)."""
    event = st.plotly_chart(spec(fig), key=key, config=png_config(name or key, full=full_mode_bar),
                            **kwargs)
    if csv_rows is not None:
        csv_button(csv_rows, f"{key}_csv", name or key)
    return event



def labelled_rows(tables: Mapping[str, Mapping[str, Any]], label: str) -> list[dict[str, Any]]:
    """Several dicts of equally long columns (one per run, say) as one list of rows, each row with
    its table's name under ``label``."""
    return [{label: name, **dict(zip(cols, r))} for name, cols in tables.items() for r in zip(*cols.values())]
