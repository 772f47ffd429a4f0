"""The web chat page in a real browser (Debian's chromium driven by Playwright)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from .conftest import System

pytestmark = [pytest.mark.integration, pytest.mark.browser]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Flags this closed network needs: no background connections, no sandbox as root.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def test_type_a_message_and_see_the_reply(system: System, tmp_path: Path) -> None:
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is not installed; `make browser` installs it")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 390, "height": 844}, locale="zh-CN")
            page.goto(f"{system.url}/")
            expect(page.locator("header")).to_contain_text("共享法庭")
            page.fill("#text", "你好")
            page.click("#send")
            bot = page.locator(".row.bot .bubble")
            expect(bot.first).to_contain_text("共享法庭", timeout=30_000)
            choices = page.locator(".row.bot .choices button")
            expect(choices.first).to_be_visible()
            assert choices.first.inner_text().startswith("1. ")
            # A numbered choice is a real button: click "人工服务" and get the handoff acknowledgement.
            before = bot.count()
            page.locator(".row.bot .choices button", has_text="人工服务").last.click()
            expect(page.locator(".row.me .bubble").last).to_have_text("人工服务")
            page.wait_for_function("n => document.querySelectorAll('.row.bot .bubble').length > n", arg=before)
            assert "共享法庭就在您身边" not in bot.last.inner_text()
            Path("results").mkdir(exist_ok=True)
            page.screenshot(path="results/webchat.png", full_page=True)
        finally:
            browser.close()
