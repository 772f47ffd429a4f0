"""The analytics page in a real browser (Debian's chromium through Playwright), on SQLite and PostgreSQL: every
chart draws on its canvas, and the county filter changes the figures. Screenshots: results/screenshots/issue13/."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect
from stand_ins.browser import Served, new_page, sign_in
from stand_ins.console_accounts import add_account
from stand_ins.stats_seed import seed
from stand_ins.workspace_world import settings_for

from sharedcourt.cli.procs import free_port

pytestmark = pytest.mark.browser
SHOTS = Path(__file__).resolve().parents[2] / "results" / "screenshots" / "issue13"
CHARTS = ("disputes", "accept-dist", "accept-county", "accept-site", "escalation", "bookings", "outcomes", "ratings",
          "channels")  # fmt: skip
# Pixels on a chart's canvas that are not blank (any alpha): ECharts draws nothing else there.
PAINTED = """id => { const c = document.querySelector('#' + id + ' canvas'); if (!c) return -1;
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0;
  for (let i = 3; i < d.length; i += 4) { if (d[i] > 0) n++; } return n; }"""


async def _painted(page: Page) -> dict[str, int]:
    return {name: await page.evaluate(PAINTED, f"chart-{name}") for name in CHARTS}


async def test_every_chart_draws_and_the_filter_changes_the_figures(
    database_url: str,
    sessions: Any,
    browser: Browser,
) -> None:
    backend = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    await seed(sessions)
    await add_account(sessions, "yuanzhang", "admin")
    settings = settings_for(database_url, PORT=str(free_port()))
    SHOTS.mkdir(parents=True, exist_ok=True)
    async with Served(settings) as app:
        page = await new_page(browser)
        await sign_in(page, app.url, "yuanzhang")
        await page.goto(f"{app.url}/console/analytics?from=2026-11-29&to=2026-12-02")
        await expect(page.locator("body")).to_have_attribute("data-charts", str(len(CHARTS)))
        painted = await _painted(page)
        assert all(n > 500 for n in painted.values()), painted
        assert await page.text_content("#n-requests") == "6" and await page.text_content("#n-mediations") == "3"
        await page.screenshot(path=str(SHOTS / f"{backend}-analytics-all.png"), full_page=True)
        await page.fill("input[name=county]", "330803")
        await page.click("#filter button[type=submit]")
        await expect(page.locator("#range")).to_contain_text("衢江区")
        assert await page.text_content("#n-requests") == "2" and await page.text_content("#n-mediations") == "1"
        assert await page.text_content("#n-online") == "0" and await page.text_content("#n-guided") == "1"
        after = await _painted(page)
        assert all(n > 500 for n in after.values()), after
        assert after != painted, "the charts were redrawn with other figures"
        await page.screenshot(path=str(SHOTS / f"{backend}-analytics-qujiang.png"), full_page=True)
        async with page.expect_download() as download:
            await page.click("a.csv[data-chart=disputes]")
        saved = await (await download.value).path()
        assert saved is not None
        body = await asyncio.to_thread(Path(saved).read_bytes)
        assert "衢江区" in body.decode("utf-8-sig")
        await page.context.close()
