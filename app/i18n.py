"""The app's languages: GNU gettext catalogues kept with Babel (``locale/``).

Every user-facing string goes through ``_`` (or ``ngettext``); a string defined at import time
(a page title in a table, a caption in a dict) is marked with ``N_`` and translated where it is
shown. The catalogue is ``locale/<lang>/LC_MESSAGES/messages.po``: it is read with Babel and
compiled in memory once per process, so no compiled ``.mo`` file can go stale.

    make i18n   # pybabel extract + update: new strings land in the .po files, untranslated

The session's language: ``?lang=ko|en`` in the URL, else the sidebar's switch, else the
browser's language (a Korean browser gets Korean, any other English).
"""

from __future__ import annotations

import functools
import gettext
import io
from pathlib import Path

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DOMAIN = "messages"
LANGUAGES = {"en": "English", "ko": "한국어"}  # the source language first
SOURCE_LANGUAGE = "en"
LANG_KEY = "wae_lang"  # st.session_state key and the URL's query parameter is "lang"


@functools.cache
def translations(lang: str) -> gettext.NullTranslations:
    """The compiled catalogue of ``lang`` (a no-op for English, the source language)."""
    # (every .po in the folder is read: while two people translate, each keeps a part of its own)
    parts = sorted((LOCALE_DIR / lang / "LC_MESSAGES").glob("*.po"))
    if lang == SOURCE_LANGUAGE or not parts:
        return gettext.NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    catalog = None
    for po in parts:
        with po.open("rb") as f:
            part = read_po(f, locale=lang)
        if catalog is None:
            catalog = part
        else:
            for message in part:
                if message.id:
                    catalog[message.id] = message
    buf = io.BytesIO()
    write_mo(buf, catalog)  # fuzzy entries are left out, as msgfmt does
    buf.seek(0)
    return gettext.GNUTranslations(buf)


def language() -> str:
    """The current session's language code (English outside a Streamlit run)."""
    try:
        import streamlit as st

        lang = st.session_state.get(LANG_KEY)
    except Exception:  # noqa: BLE001  (no session: scripts, tests of pure helpers)
        lang = None
    return lang if lang in LANGUAGES else SOURCE_LANGUAGE


def _(message: str) -> str:
    return translations(language()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(language()).ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Marks ``message`` for extraction only; translate it with ``_`` where it is shown."""
    return message
