"""WAE Lab: the seminar app. Run with ``python -m app.serve`` (``make demo``) or
``streamlit run app/streamlit_app.py``.

The entry is a router: it sets the page config, the shared sidebar (models, seed, checkpoint
upload) and the URL query parameters, then runs the current page (``st.navigation``).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402  (already imported by the server)

import app  # noqa: E402
from app import PAGE_SPECS, PAGES_DIR, i18n  # noqa: E402
from app.i18n import _  # noqa: E402

PAGE_CONFIG = dict(page_title="WAE Lab", page_icon=":material/blur_on:", layout="wide")


def main() -> None:
    # First: the page titles, the sidebar and the page are drawn in the session's language.
    i18n.choose_language()
    st.set_page_config(**PAGE_CONFIG)
    pages = []
    for file, title, icon, url in PAGE_SPECS:
        if (PAGES_DIR / file).is_file():
            pages.append(st.Page(PAGES_DIR / file, title=_(title), icon=icon, url_path=url,
                                 default=not pages))
    by_url = {p.url_path: p for p in pages}
    current = st.navigation(pages)
    wanted = None if st.session_state.get("wae_page_param_read") else st.query_params.get("page")

    if not app.IMPORTS_READY.is_set():
        # Under app.serve, while the warm-up still imports torch & co. (importing them here as
        # well could see them half done): the first page needs none of it and is shown at once,
        # then the app reruns with its sidebar; any other page waits with a spinner.
        if current is pages[0] and not (wanted and wanted in by_url):
            current.run()
            _rerun_when_ready()
            return
        with st.spinner(_("Starting WAE Lab: loading PyTorch and the shipped models…"),
                        show_time=True):
            app.IMPORTS_READY.wait(120)

    from app import cache, share, sidebar

    cache.use_app_threads()
    # Crisp pixels when the browser scales digit images (projector).
    st.html("<style>[data-testid='stImage'] img, [data-testid='stImageContainer'] img "
            "{image-rendering: pixelated;}</style>")
    sidebar.render_sidebar()

    # ?page=<url path> on a session's first run opens that page (bookmarks of the root URL).
    if not st.session_state.get("wae_page_param_read"):
        st.session_state["wae_page_param_read"] = True
        if wanted and wanted in by_url and by_url[wanted] is not current and current is pages[0]:
            # (the query goes along: the page reads its own controls from it, see app.share)
            st.switch_page(by_url[wanted], query_params=st.query_params.to_dict())

    page_id = current.url_path or (pages[0].url_path if pages else None)
    sidebar.sync_query_params(page_id)
    current.run()
    share.link_control(page_id or "")


@st.fragment(run_every=0.5)
def _rerun_when_ready() -> None:
    """On the first page of a starting server: the whole app again (with its sidebar) once the
    warm-up's imports are done."""
    if app.IMPORTS_READY.is_set():
        st.rerun()


# Counted while it runs (a rerun or stop ends it too): app.serve's warm-up waits for no run.
with app.RUNS.running():
    main()
