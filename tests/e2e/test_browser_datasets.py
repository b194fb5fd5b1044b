"""The sidebar's **Data set** in a real browser, on the shipped checkpoints: switching it to
Fashion-MNIST re-renders the page on Fashion-MNIST (its models, its test images) with no exception
and puts ``data=fashion-mnist`` in the URL; switching to Stacked MNIST renders cleanly too (its
models, or the hint how to make them)."""

from __future__ import annotations

import re

import pytest

from harness.browser import UI

pytestmark = pytest.mark.browser


def choose_data_set(ui: UI, label: str) -> None:
    ui.key("sidebar_data").locator("[role='combobox']").first.click()
    ui.page.get_by_role("option", name=label, exact=True).click()
    ui.settle()


def test_switching_the_data_set_renders_the_page_on_it(ui: UI) -> None:
    ui.open("samples", "Samples")
    ui.page.get_by_text("True data (MNIST test").first.wait_for()
    choose_data_set(ui, "Fashion-MNIST")
    ui.page.get_by_text("True data (Fashion-MNIST test").first.wait_for()
    ui.page.get_by_text("Sharpness:").first.wait_for()
    ui.screenshot("samples-fashion-mnist")
    ui.assert_clean()
    assert not ui.errors(), ui.errors()
    assert "data=fashion-mnist" in ui.page.url
    sidebar = ui.page.locator("[data-testid='stSidebar']").inner_text()
    assert "fashion-wae-mmd" in sidebar and "mnist-" not in sidebar  # no MNIST model listed

    choose_data_set(ui, "Stacked MNIST")
    ui.page.get_by_text(re.compile(r"True data \(Stacked MNIST test|No Stacked MNIST image checkpoints"))\
        .first.wait_for()
    ui.screenshot("samples-stacked-mnist")
    ui.assert_clean()
    assert not ui.errors(), ui.errors()
    assert "data=stacked-mnist" in ui.page.url
