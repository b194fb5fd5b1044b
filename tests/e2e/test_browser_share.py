"""The sidebar's **Copy link to this view** in a real browser, on the shipped checkpoints: after a
page's control and the seed change, the link (the box's copy button puts it on the clipboard) is
the full address of the view; opened in a new browser context (a new session, nothing shared) it
comes up on the same page with the same control values, seed and link."""

from __future__ import annotations

import pytest

from harness.browser import UI
from harness.server import StreamlitServer

pytestmark = pytest.mark.browser


def share_url(ui: UI) -> str:
    return ui.key("share_link").locator("pre").first.inner_text().strip()


def choose(ui: UI, key: str, label: str) -> None:
    ui.key(key).locator("[role='combobox']").first.click()
    ui.page.get_by_role("option", name=label, exact=True).click()
    ui.settle()


def set_seed(ui: UI, seed: int) -> None:
    box = ui.key("sidebar_seed").locator("input").first
    box.fill(str(seed))
    box.press("Enter")
    ui.settle()


def copied(ui: UI) -> str:
    """Click the link box's copy button; what the clipboard then holds."""
    ui.page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=ui.server.url)
    box = ui.key("share_link")
    box.locator("pre").first.hover()
    box.get_by_role("button", name="Copy to clipboard").click()
    text = ""
    for _ in range(50):  # the copy is asynchronous
        text = ui.page.evaluate("navigator.clipboard.readText()")
        if text:
            break
        ui.page.wait_for_timeout(100)
    return text


def test_share_link_restores_the_view_in_a_new_context(ui: UI, browser, app_server: StreamlitServer,
                                                       browser_context_args: dict) -> None:  # noqa: ANN001
    ui.open("samples", "Samples")
    ui.page.get_by_text("Sharpness:").first.wait_for()
    choose(ui, "samples_grid", "4 × 4")
    set_seed(ui, 7)
    ui.page.get_by_text("Seed 7").first.wait_for()
    url = share_url(ui)
    assert url.startswith(f"{app_server.url}/samples?"), url
    assert "samples_grid=4" in url and "seed=7" in url and "page=samples" in url
    assert "samples_grid=4" in ui.page.url  # the address bar says the same
    assert copied(ui) == url
    ui.assert_clean()

    context = browser.new_context(**browser_context_args)  # no cookies, no session: a new visitor
    try:
        other = UI(context.new_page(), app_server)
        other.open(url[len(app_server.url):], "Samples")
        other.page.get_by_text("Seed 7").first.wait_for()
        assert other.key("samples_grid").locator("input").first.input_value() == "4 × 4"
        assert other.key("sidebar_seed").locator("input").first.input_value() == "7"
        assert share_url(other) == url
        other.assert_clean()
        assert not other.errors(), other.errors()
    finally:
        context.close()


def test_a_fragment_control_reaches_the_address_bar(ui: UI) -> None:
    """The interpolation's steps slider reruns only its fragment: the address bar still follows."""
    ui.open("interpolation", "Interpolation")
    ui.page.get_by_text("Spherical (slerp)").first.wait_for()
    thumb = ui.page.locator("[data-testid='stSlider']", has_text="Steps").first.locator("input[type='range']")
    thumb.focus()
    thumb.press("ArrowRight")  # 8 -> 9
    ui.settle()
    ui.page.wait_for_url("**interp_steps=9**", timeout=20_000)
    ui.assert_clean()


def test_a_download_written_on_click_arrives(ui: UI) -> None:
    """The pages' download buttons hand their file over on click only (app.export.csv_button,
    app.components.show_png): the browser still gets the whole file, and the page does not rerun."""
    ui.open("samples", "Samples")
    button = ui.key("samples_download_0").get_by_role("button")
    with ui.page.expect_download() as got:
        button.click()
    download = got.value
    assert download.suggested_filename.endswith(".png")
    with open(download.path(), "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    ui.assert_clean()
