"""What the real-browser tests share: Debian's chromium under Playwright, the app under uvicorn on a free port, a
zh-CN page, the console sign-in, and the screenshot folder under results/screenshots/."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import uvicorn
from playwright.async_api import Browser, Page, async_playwright

from sharedcourt.app import create_app
from sharedcourt.settings import Settings
from stand_ins.console_accounts import PASSWORD

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "results" / "screenshots"


class Served:
    """The app under uvicorn in a thread (its own event loop), on a free port."""

    def __init__(self, settings: Settings) -> None:
        app = create_app(settings, background=False)
        self.server = uvicorn.Server(uvicorn.Config(app, port=settings.port, log_level="warning", ws="none"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = f"http://127.0.0.1:{settings.port}"

    async def __aenter__(self) -> Served:
        self.thread.start()
        for _ in range(200):
            if self.server.started:
                return self
            await asyncio.sleep(0.05)
        raise AssertionError("the app did not start")

    async def __aexit__(self, *exc: object) -> None:
        self.server.should_exit = True
        await asyncio.to_thread(self.thread.join, 10)


@contextlib.asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """Debian's chromium, headless; fails (not skips) when it is not installed."""
    if not shutil.which(CHROMIUM):
        pytest.fail("Debian's chromium is not installed; `make browser` installs it")
    async with async_playwright() as p:
        launched = await p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            yield launched
        finally:
            await launched.close()


async def new_page(browser: Browser, width: int = 1280, height: int = 900) -> Page:
    """A page in a fresh context (its own cookies) with a Chinese locale."""
    context = await browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
    return await context.new_page()


async def sign_in(page: Page, url: str, username: str, password: str = PASSWORD) -> None:
    """The console's sign-in form, then the console's start page."""
    await page.goto(f"{url}/console/login")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", password)
    await page.click("button[type=submit]")
    await page.wait_for_url("**/console")


def shots_dir(issue: str) -> Path:
    """results/screenshots/<issue>/, made when missing."""
    folder = SCREENSHOTS / issue
    folder.mkdir(parents=True, exist_ok=True)
    return folder
