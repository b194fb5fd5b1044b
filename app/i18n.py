"""The app's languages: GNU gettext catalogues kept with Babel (``locale/``).

Every user-facing string goes through ``_`` (or ``ngettext``); a string defined at import time
(a page title in a table, a caption in a dict) is marked with ``N_`` and translated where it is
shown. The catalogue is ``locale/<lang>/LC_MESSAGES/messages.po``: it is read with Babel and
compiled in memory once per process, so no compiled ``.mo`` file can go stale. The terms:
``docs/glossary.md``.

    make i18n   # pybabel extract + update (:func:`update`): new strings land in messages.po,
                # untranslated; tests/unit/test_i18n.py fails until each is translated

A widget's ``format_func`` translates with :func:`bound` (AppTest calls it outside the run). The
sidebar's switch: :func:`language_switch`.

The session's language (:func:`choose_language`, called by the entry on every run): ``?lang=ko|en``
in the URL, else the sidebar's switch (kept in ``st.session_state[LANG_KEY]``), else the
browser's language on a first visit (a Korean browser gets Korean, any other English). The
choice is written back to the URL, so a copied link opens in the same language.
"""

from __future__ import annotations

import contextlib
import functools
import gettext
import io
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DOMAIN = "messages"
LANGUAGES = {"en": "English", "ko": "한국어"}  # the source language first
SOURCE_LANGUAGE = "en"
LANG_KEY = "wae_lang"  # st.session_state key; the URL's query parameter is QUERY_KEY
QUERY_KEY = "lang"
SWITCH_KEY = "sidebar_lang"  # the sidebar's switch (a widget key of its own)


@functools.cache
def translations(lang: str) -> gettext.NullTranslations:
    """The compiled catalogue of ``lang`` (a no-op for English, the source language)."""
    po = LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    if lang == SOURCE_LANGUAGE or not po.is_file():
        return gettext.NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po.open("rb") as f:
        catalog = read_po(f, locale=lang)
    buf = io.BytesIO()
    write_mo(buf, catalog)  # fuzzy entries are left out, as msgfmt does
    buf.seek(0)
    return gettext.GNUTranslations(buf)


def _script_run_ctx() -> Any | None:
    """The current thread's Streamlit script run context, None outside a run (a script, a test of
    a pure helper, app.serve's warm-up thread): asked without Streamlit's "missing
    ScriptRunContext" warning."""
    try:
        from streamlit.runtime.scriptrunner import get_script_run_ctx
    except Exception:  # noqa: BLE001  (no Streamlit)
        return None
    return get_script_run_ctx(suppress_warning=True)


def language() -> str:
    """The current session's language code (English outside a Streamlit run)."""
    if _script_run_ctx() is None:
        return SOURCE_LANGUAGE
    try:
        import streamlit as st

        lang = st.session_state.get(LANG_KEY)
    except Exception:  # noqa: BLE001
        lang = None
    return lang if lang in LANGUAGES else SOURCE_LANGUAGE


def _(message: str) -> str:
    return translations(language()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(language()).ngettext(singular, plural, n)


def bound() -> Callable[[str], str]:
    """``_`` bound to the current session's language, for a widget's ``format_func``: AppTest calls
    it again from the test's thread, outside the script run, where :func:`language` is English.

        tr = bound()
        st.radio(_("Codes"), list(MODES), format_func=lambda m: tr(MODES[m]), key=...)
    """
    return translations(language()).gettext


def per_language(cached: Callable[..., Any]) -> Callable[..., Any]:
    """A cached builder of something with text in it (a figure's titles and labels), called with
    the session's language as its last argument, so that each language is cached apart::

        @per_language
        @st.cache_resource
        def chart(counts, lang): ...     # the page calls chart(counts)
    """
    @functools.wraps(cached)
    def call(*args: Any) -> Any:
        return cached(*args, language())

    call.clear = cached.clear  # type: ignore[attr-defined]
    return call


def known_sentences(templates: Sequence[str]) -> tuple[tuple[re.Pattern, str], ...]:
    """Each English message template (marked with ``N_``, with {fields}) and the regular expression
    that reads its values back from the message: the text literally, each {field} a group."""
    def pattern(template: str) -> re.Pattern:
        parts = re.split(r"\{(\w+)\}", template)
        return re.compile("".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+?)"
                                  for i, p in enumerate(parts)))

    return tuple((pattern(t), t) for t in templates)


def translate_sentence(text: str, sentences: Sequence[tuple[re.Pattern, str]],
                       value: Callable[[str, str], str] = lambda _name, v: v) -> str:
    """``text``, a message wae_core wrote in English, in the session's language when it is one of
    ``sentences`` (:func:`known_sentences`; the first that matches), its values kept (each passed
    through ``value(field, text)``); any other text unchanged."""
    for pat, template in sentences:
        m = pat.fullmatch(text)
        if m:
            return _(template).format(**{k: value(k, v) for k, v in m.groupdict().items()})
    return text


def N_(message: str) -> str:
    """Marks ``message`` for extraction only; translate it with ``_`` where it is shown."""
    return message


# --------------------------------------------------------------------------------------------
# Choosing the session's language
# --------------------------------------------------------------------------------------------
def normalize(tag: object) -> str | None:
    """A language tag ("ko-KR", "ko_KR.UTF-8", "en") as one of :data:`LANGUAGES`' codes; None
    for anything else."""
    if not isinstance(tag, str):
        return None
    code = tag.strip().replace("_", "-").split("-")[0].split(".")[0].lower()
    return code if code in LANGUAGES else None


def from_accept_language(header: str | None) -> str | None:
    """The browser's first choice in an ``Accept-Language`` header ("ko-KR,ko;q=0.9,en;q=0.8"),
    by quality: "ko" for Korean, "en" for any other language, None without a header."""
    best: tuple[float, int, str] | None = None
    for i, part in enumerate((header or "").split(",")):
        tag, *params = (p.strip() for p in part.split(";"))
        if not tag or tag == "*":
            continue
        q = 1.0
        for p in params:
            if p.startswith("q="):
                try:
                    q = float(p[2:])
                except ValueError:
                    q = 0.0
        if q > 0 and (best is None or (q, -i) > best[:2]):
            best = (q, -i, tag)
    if best is None:
        return None
    return "ko" if normalize(best[2]) == "ko" else SOURCE_LANGUAGE


def browser_language() -> str:
    """The browser's language: ``st.context.locale`` (navigator.language), else the
    Accept-Language header; Korean → "ko", anything else (or unknown) → "en"."""
    import streamlit as st

    locale = headers = None
    with contextlib.suppress(Exception):  # (no browser: AppTest)
        locale = st.context.locale
    if isinstance(locale, str) and locale.strip():
        return "ko" if normalize(locale) == "ko" else SOURCE_LANGUAGE
    with contextlib.suppress(Exception):
        headers = st.context.headers
    accept = None
    if headers:
        try:
            accept = headers.get("Accept-Language") or headers.get("accept-language")
        except Exception:  # noqa: BLE001
            accept = None
    return from_accept_language(accept) or SOURCE_LANGUAGE


def choose_language() -> str:
    """The entry, first thing on every run: the session's language from the URL (``?lang=``
    wins), the sidebar's switch (session state) or, on a first visit, the browser; kept in
    session state and in the URL (so "Copy link to this view" keeps it). Returns it."""
    import streamlit as st

    wanted = normalize(st.query_params.get(QUERY_KEY))
    lang = wanted or st.session_state.get(LANG_KEY)
    if lang not in LANGUAGES:
        lang = browser_language()
    st.session_state[LANG_KEY] = lang
    if st.query_params.get(QUERY_KEY) != lang:
        st.query_params[QUERY_KEY] = lang
    return lang


def _on_switch() -> None:
    """The sidebar switch changed: the new language in session state and in the URL (which the
    next run reads first)."""
    import streamlit as st

    lang = st.session_state.get(SWITCH_KEY)
    if lang in LANGUAGES:
        st.session_state[LANG_KEY] = lang
        st.query_params[QUERY_KEY] = lang


def language_switch() -> None:
    """The sidebar's **한국어 / English** switch (a segmented control, key :data:`SWITCH_KEY`).
    The rerun it starts keeps the page and every keyed widget's state."""
    import streamlit as st

    st.session_state[SWITCH_KEY] = language()
    st.segmented_control(
        _("Language"), ["ko", "en"], key=SWITCH_KEY, format_func=LANGUAGES.get,
        on_change=_on_switch, selection_mode="single", label_visibility="collapsed",
        width="stretch")


# --------------------------------------------------------------------------------------------
# `make i18n`
# --------------------------------------------------------------------------------------------
def update(pot: Path = LOCALE_DIR / f"{DOMAIN}.pot", lang: str = "ko") -> Path:
    """``pybabel update`` (or ``init``) of ``locale/<lang>/LC_MESSAGES/messages.po`` from ``pot``
    (written by ``pybabel extract``): new strings land untranslated. Returns its path."""
    from babel.messages.frontend import CommandLineInterface

    target = LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    verb = "update" if target.exists() else "init"
    CommandLineInterface().run(["pybabel", "-q", verb, "-i", str(pot), "-o", str(target), "-l", lang,
                                "-w", "100"])
    return target
