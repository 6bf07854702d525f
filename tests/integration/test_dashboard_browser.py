"""The dashboard in a real browser: headless Chromium renders it offline, and we look.

Asserts on what is on the rendered page (row counts, visible boxes with a size, the
members drawn affected, no request leaving the file), not on the HTML text alone.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.unit.devtools.test_dashboard import make_branch_workspace
from tta_dev.devtools.dashboard import build_dashboard, write_dashboard
from tta_dev.testing._support import in_ci

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        message = "headless Chromium is needed: apt-get install chromium (the integration session provisions it)"
        if in_ci():
            pytest.fail(message + " (CI is set)", pytrace=False)
        pytest.skip(message)
    return found


def test_dashboard_renders_offline_in_chromium(tmp_path: Path) -> None:
    chromium = _chromium()
    from playwright.sync_api import sync_playwright

    root = make_branch_workspace(tmp_path / "ws")
    target = write_dashboard(build_dashboard(root, health=True), tmp_path / "site")
    requests: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.on("request", lambda request: requests.append(request.url))
            page.goto(target.as_uri())
            page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)

            health_rows = page.locator("#health tbody tr")
            assert health_rows.count() == 6
            assert page.locator("#health tr[data-check=lock] td").nth(1).inner_text() in {
                "PASS",
                "FAIL",
            }
            chart = page.locator("#charts svg").first
            box = chart.bounding_box()
            assert box is not None
            assert box["width"] > 100
            assert box["height"] > 50
            assert page.locator("#charts svg circle").count() == 3

            graph = page.locator("#graph svg")
            graph_box = graph.bounding_box()
            assert graph_box is not None
            assert graph_box["width"] > 50
            assert graph_box["height"] > 20
            assert page.locator("#graph").inner_text().count("core") >= 1
            affected = page.locator("#affected li")
            assert affected.count() == 3
            assert [t.split()[0] for t in affected.all_inner_texts()] == [
                "core",
                "helper",
                "my-app",
            ]
            assert page.locator("#affected li[data-member=core]").is_visible()
        finally:
            browser.close()
    assert requests == [target.as_uri()], "the page fetched nothing but itself"
    assert (tmp_path / "dashboard.png").stat().st_size > 10_000
