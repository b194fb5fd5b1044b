"""Share: a page's own controls in the URL, and a **Copy link to this view** box in the sidebar.

* :func:`keep_in_url` — a page declares which of its widget keys belong in the URL, each with a
  :class:`Param` (:func:`choice`, :func:`integer`, :func:`number`, :func:`flag`) that reads the
  URL's text safely: an unknown or invalid value is ignored (the widget keeps its default), never
  an exception. On the session's first run with a key its value is taken from the URL; on every
  run it is written back (only when changed, like ``sidebar.sync_query_params``).
* :func:`link_control` — called by the entry after the page ran: the full URL of the view
  (``st.context.url``, the address the browser used, plus the query) in an ``st.code`` box, whose
  copy button takes it in one click. Without a browser (AppTest) the link is relative (``?…``).

A widget inside a fragment registers inside the fragment (a fragment rerun then writes its value
to the URL); the sidebar box shows the URL of the last full run.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import streamlit as st

from app.i18n import _

_REGISTRY_KEY = "wae_share_keys"  # {page id: {widget key: Param}} of this session
_READ_KEY = "wae_share_read"  # widget keys already read from the URL in this session
_BAD = (ValueError, TypeError, KeyError, OverflowError)


@dataclass(frozen=True)
class Param:
    """How one widget's value reads from (``parse``: raises for a value it does not take) and
    writes to (``dump``) the URL."""

    parse: Callable[[str], Any]
    dump: Callable[[Any], str] = str


def choice(options: Iterable[Any]) -> Param:
    """One of ``options`` (a selectbox, a radio, a select_slider), by its text."""
    by_text = {str(o): o for o in options}
    return Param(lambda s: by_text[s])


def integer(lo: int, hi: int) -> Param:
    """An int in [lo, hi] (a number_input, an int slider)."""
    def parse(s: str) -> int:
        v = int(s)
        if not lo <= v <= hi:
            raise ValueError(s)
        return v
    return Param(parse, lambda v: str(int(v)))


def number(lo: float, hi: float) -> Param:
    """A finite float in [lo, hi] (a float slider)."""
    def parse(s: str) -> float:
        v = float(s)
        if not (math.isfinite(v) and lo <= v <= hi):
            raise ValueError(s)
        return v
    return Param(parse, lambda v: f"{float(v):g}")


def flag() -> Param:
    """A bool (a toggle, a checkbox): ``1`` / ``0``."""
    return Param(lambda s: {"1": True, "true": True, "0": False, "false": False}[s.lower()],
                 lambda v: "1" if v else "0")


def _registry() -> dict[str, dict[str, Param]]:
    return st.session_state.setdefault(_REGISTRY_KEY, {})


def _restore(key: str, p: Param) -> None:
    """The URL's value of ``key`` into session state, if it parses."""
    raw = st.query_params.get(key)
    if raw is None:
        return
    with contextlib.suppress(*_BAD):
        st.session_state[key] = p.parse(raw)


def _write(params: Mapping[str, Param]) -> None:
    """The widgets' current values into the URL (only the changed ones); a key without a value
    (None, or a widget not drawn on the last run) leaves the URL."""
    for key, p in params.items():
        value = st.session_state.get(key)
        if value is None:
            if key in st.query_params:
                del st.query_params[key]
            continue
        try:
            text = p.dump(value)
        except _BAD:
            continue
        if st.query_params.get(key) != text:
            st.query_params[key] = text


def keep_in_url(page_id: str, params: Mapping[str, Param]) -> None:
    """Keep these widget keys of page ``page_id`` in the URL. Call before the widgets are drawn."""
    _registry().setdefault(page_id, {}).update(params)
    read = st.session_state.setdefault(_READ_KEY, set())
    for key, p in params.items():
        if key not in read:
            read.add(key)
            _restore(key, p)
    _write(params)


def sync(page_id: str) -> None:
    """Write every registered key of ``page_id`` to the URL and drop those of the other pages."""
    reg = _registry()
    mine = reg.get(page_id, {})
    _write(mine)
    others = {k for pid, keys in reg.items() if pid != page_id for k in keys} - set(mine)
    for k in others:
        if k in st.query_params:
            del st.query_params[k]


def base_url() -> str:
    """The app's address in the browser (no query), or "" when unknown (AppTest)."""
    try:
        return st.context.url or ""
    except Exception:  # noqa: BLE001 - no browser context: a relative link
        return ""


def view_url(page_id: str) -> str:
    """The link to this view: the address, the page, the sidebar's and the page's controls."""
    sync(page_id)
    return f"{base_url()}?{urlencode(st.query_params.to_dict(), safe=',')}"


def link_control(page_id: str) -> None:
    """The sidebar's **Copy link to this view**: the view's URL in a code box (copy button)."""
    url = view_url(page_id)
    with st.sidebar.container(key="share_link"):
        st.markdown(_("**Copy link to this view**"),
                    help=_("Opening the link restores the page, the language, the data set, the "
                           "models, the seed and this page's controls. Uploads and drawings are not "
                           "in it."))
        st.code(url, language=None, wrap_lines=True)
