"""The app's language in a real browser (issue 33), on the shipped checkpoints: a Korean browser
(``locale="ko-KR"``: navigator.language and Accept-Language) gets Korean navigation and content
without touching the switch, ``?lang=en`` wins over it, an English browser gets English, and the
sidebar's switch changes the language in place (same page, language kept in the URL).
Screenshots: ``i18n-*.png`` in the screenshots folder (Hangul drawn with the CJK font, not boxes).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from harness.browser import UI
from harness.server import StreamlitServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@contextmanager
def browser_ui(browser, server: StreamlitServer, args: dict, locale: str) -> Iterator[UI]:  # noqa: ANN001
    """A fresh browser context (a new session) with the browser language ``locale``."""
    context = browser.new_context(**{**args, "locale": locale})
    try:
        yield UI(context.new_page(), server)
    finally:
        context.close()


def nav_text(ui: UI) -> str:
    return ui.page.locator("[data-testid='stSidebarNav']").inner_text()


def test_a_korean_browser_gets_korean(browser, app_server: StreamlitServer,
                                      browser_context_args: dict) -> None:  # noqa: ANN001
    with browser_ui(browser, app_server, browser_context_args, "ko-KR") as ui:
        ui.open("", "WAE Lab에 오신 것을 환영합니다")
        ui.page.locator("[data-testid='stMain']").get_by_text("세미나 따라가기").first.wait_for()
        ui.page.locator("[data-testid='stMain'] a", has_text="핵심 아이디어").first.click()
        idea_title = "바서슈타인 오토인코더: 핵심 아이디어"
        ui.page.locator("[data-testid='stMain'] h1", has_text=idea_title).first.wait_for()
        ui.settle()
        nav = nav_text(ui)
        for title in ("핵심 아이디어", "샘플", "재구성", "잠재 공간", "보간", "모드 붕괴", "결과"):
            assert title in nav, nav
        assert "The idea" not in nav and "Samples" not in nav
        main = ui.main_text()
        assert "1 · VAE: 흐릿한 샘플" in main
        assert "모드 붕괴(mode collapse)" in main
        assert "lang=ko" in ui.page.url
        sidebar = ui.page.locator("[data-testid='stSidebar']").inner_text()
        assert "데이터셋" in sidebar and "이 화면의 링크 복사" in sidebar
        ui.assert_clean()
        ui.screenshot("i18n-ko-idea")
        # another page, reached through the navigation, stays Korean
        ui.page.locator("[data-testid='stSidebarNav'] a", has_text="샘플").first.click()
        ui.page.locator("[data-testid='stMain'] h1", has_text="샘플").first.wait_for()
        ui.settle()
        ui.page.get_by_text("선명도:").first.wait_for()
        assert "lang=ko" in ui.page.url
        ui.assert_clean()
        ui.screenshot("i18n-ko-samples")


def test_lang_in_the_url_wins_over_the_browser(browser, app_server: StreamlitServer,
                                               browser_context_args: dict) -> None:  # noqa: ANN001
    with browser_ui(browser, app_server, browser_context_args, "ko-KR") as ui:
        ui.open("samples?lang=en", "Samples")
        nav = nav_text(ui)
        assert "Samples" in nav and "The idea" in nav and "샘플" not in nav
        ui.page.get_by_text("Sharpness:").first.wait_for()
        assert "lang=en" in ui.page.url
        link = ui.key("share_link").locator("pre").first.inner_text()
        assert "lang=en" in link and "page=samples" in link
        ui.assert_clean()


def test_an_english_browser_gets_english_and_the_switch_changes_it(
        browser, app_server: StreamlitServer, browser_context_args: dict) -> None:  # noqa: ANN001
    with browser_ui(browser, app_server, browser_context_args, "en-US") as ui:
        ui.open("samples", "Samples")
        assert "Samples" in nav_text(ui)
        ui.key("sidebar_lang").get_by_role("radio", name="한국어").click()
        ui.page.locator("[data-testid='stMain'] h1", has_text="샘플").first.wait_for()
        ui.settle()
        assert "샘플" in nav_text(ui) and "lang=ko" in ui.page.url and "page=samples" in ui.page.url
        ui.assert_clean()
