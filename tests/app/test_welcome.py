"""The welcome page: the app's first page, shown at once while a starting server still imports
torch and the models (app.streamlit_app), then with the sidebar; it links every page."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from streamlit.testing.v1 import AppTest

from app import PAGE_SPECS

ROOT = Path(__file__).resolve().parents[2]
ENTRY = ROOT / "app" / "streamlit_app.py"

# Run in a fresh interpreter: this one has torch imported already.
WHILE_STARTING = textwrap.dedent(f"""
    import sys
    sys.path.insert(0, {str(ROOT)!r})
    import app
    app.IMPORTS_READY.clear()  # as app.serve does while its warm-up imports torch & co.
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file({str(ENTRY)!r}, default_timeout=60).run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Welcome to WAE Lab", at.title
    assert not at.sidebar.multiselect, "the model picker needs the models: not yet"
    # (not plotly: Streamlit's AppTest imports it for any script)
    heavy = sorted(m for m in ("torch", "scipy", "wae_core.models") if m in sys.modules)
    assert not heavy, f"the first page imported {{heavy}}"
    print("WELCOME-OK")
""")


def test_the_first_page_needs_no_torch_while_the_server_starts(app_env):
    out = subprocess.run([sys.executable, "-c", WHILE_STARTING], cwd=ROOT, env=dict(os.environ),
                         capture_output=True, text=True, timeout=180)
    assert out.returncode == 0 and "WELCOME-OK" in out.stdout, out.stdout[-2000:] + out.stderr[-3000:]


def test_once_started_it_has_the_sidebar_and_links_every_page(app_env):
    at = AppTest.from_file(str(ENTRY), default_timeout=60).run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Welcome to WAE Lab"
    assert at.sidebar.multiselect  # the models to compare
    at.text_input(key="welcome_room_code").set_value("K7QX2M").run()
    assert not at.exception, at.exception
    links = [el.proto for el in at.get("page_link")]
    expected = {url for file, _title, _icon, url in PAGE_SPECS if file != "welcome.py"}
    assert {link.page for link in links} == expected
    watch = [link for link in links if link.query_string]
    assert [(w.page, w.query_string) for w in watch] == [("toy-lab", "room=K7QX2M")]
