"""The workspace and the analytics page in a real browser (Debian's chromium driven by Playwright) against a real
uvicorn: a mediator signs in on a phone-sized screen, sees the offer, accepts, sees the resident's new message
appear without reloading, replies and closes with an outcome; a president's analytics page draws every chart.
Screenshots: results/screenshots/issue13/."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, expect
from stand_ins.analytics_seed import seed
from stand_ins.browser import sign_in
from stand_ins.workspace_world import DIRECTOR_DINGTALK, served_world

pytestmark = pytest.mark.browser


async def test_a_mediator_accepts_replies_and_closes_and_the_president_sees_the_charts(
    database_url: str, sessions: object, shots: Path, browser: Browser
) -> None:
    async with served_world(database_url) as world:
        await world.person("zhuren", "mediator", dingtalk=DIRECTOR_DINGTALK)
        await world.person("yuanzhang", "judge", scope="330802")
        conversation, number = await world.resident_asks("browser-resident", summary="邻居在楼道堆放杂物，多次沟通无果")
        phone = await browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
        page = await phone.new_page()
        await sign_in(page, str(world.client.base_url), "zhuren")
        await page.goto(f"{world.client.base_url}/console/workspace")
        card = page.locator(f".ticket[data-number='{number}']")
        await expect(card).to_contain_text("待接单")
        await expect(card.locator(".countdown")).to_contain_text("分")
        await page.screenshot(path=str(shots / "1-inbox-phone.png"), full_page=True)
        await card.locator("button", has_text="接单").click()
        await page.wait_for_url(f"**/console/workspace/tickets/{number}*")
        await expect(page.locator("#state")).to_have_text("处理中")
        await world.resident_says("browser-resident", "我家门口又堆满了纸箱")
        await expect(page.locator("#log")).to_contain_text("我家门口又堆满了纸箱")  # by SSE, no reload
        await page.fill("textarea[name=text]", "您好，我是白云街道庭务主任，马上联系您的邻居")
        await page.click("#reply button[type=submit]")
        await expect(page.locator("#log .line.staff").last).to_contain_text("马上联系您的邻居")
        await expect(page.locator("#log .line.staff .who").last).to_contain_text("白云街道共享法庭庭务主任")
        await page.screenshot(path=str(shots / "2-conversation-phone.png"), full_page=True)
        await page.fill("input[name=note]", "邻居同意当天清理")
        await page.click("button[name=outcome][value=调解成功]")
        await page.wait_for_url("**/console/workspace?done=*")
        await expect(page.locator(".ws-notice")).to_contain_text(number)
        await page.screenshot(path=str(shots / "3-closed-phone.png"), full_page=True)
        ticket = await world.ticket(number)
        assert (ticket.state, ticket.outcome, ticket.note) == ("closed", "调解成功", "邻居同意当天清理")
        await seed(world.app.state.sessions)
        desktop = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
        board = await desktop.new_page()
        await sign_in(board, str(world.client.base_url), "yuanzhang")
        await board.goto(f"{world.client.base_url}/console/analytics?from=2026-12-01&to=2026-12-07")
        await expect(board.locator("canvas")).to_have_count(9)  # every chart of the analytics page
        drawn = await board.evaluate("Array.from(document.querySelectorAll('canvas')).map(c => c.toDataURL().length)")
        assert all(size > 3000 for size in drawn), drawn  # an empty canvas encodes to a few hundred bytes
        await board.screenshot(path=str(shots / "4-analytics-desktop.png"), full_page=True)
        assert conversation
