"""The web chat page in a real browser (Debian's chromium driven by Playwright)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from sharedcourt.channels.webchat import COOKIE

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
            context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
            page = context.new_page()
            page.goto(f"{system.url}/")
            expect(page.locator("header")).to_contain_text("共享法庭")
            expect(page.locator("#send")).to_be_enabled()  # the first history load has obtained the cookie
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
            page.wait_for_timeout(2500)  # one more poll: the resident's own messages must not be shown twice
            mine = page.locator(".row.me .bubble").all_inner_texts()
            assert mine == ["你好", "人工服务"], mine
            said = page.locator(".row .bubble").all_inner_texts()
            Path("results").mkdir(exist_ok=True)
            page.screenshot(path="results/webchat.png", full_page=True)

            # The credential is the server's HttpOnly, SameSite=Strict cookie; the page's script cannot read it.
            [cookie] = [c for c in context.cookies() if c["name"] == COOKIE]
            assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict" and cookie["secure"] is False
            assert COOKIE not in page.evaluate("document.cookie")
            assert page.evaluate("Object.keys(localStorage)") == []

            # Reopening the page in the same browser shows the earlier conversation, in order.
            page.close()
            again = context.new_page()
            again.goto(f"{system.url}/")
            expect(again.locator(".row.me .bubble")).to_have_count(2)
            assert again.locator(".row .bubble").all_inner_texts() == said
            again.screenshot(path="results/webchat-reopened.png", full_page=True)

            # Another browser (its own cookie jar) sees none of it.
            other = browser.new_context(locale="zh-CN").new_page()
            other.goto(f"{system.url}/")
            expect(other.locator("#send")).to_be_enabled()
            assert other.locator(".row .bubble").count() == 0
        finally:
            browser.close()
