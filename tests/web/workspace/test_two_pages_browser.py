"""Both sides in one real browser (Debian's chromium, two contexts) against a real uvicorn: a resident on the web
chat page (phone) and a mediator in the workspace (desktop). The mediator accepts, they exchange messages, the
mediator closes with an outcome, the resident rates with the offered button; then the case page, the site calendar
and the county board are opened on a phone and a desktop. Rasa is a stand-in, as in the other workspace browser
tests; the ticket is requested through HandoffService (what the action server asks for). Screenshots:
results/screenshots/issue13/."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, expect
from sqlalchemy import select
from stand_ins.browser import sign_in
from stand_ins.workspace_world import BAIYUN, DIRECTOR_DINGTALK, WorkspaceWorld, served_world

from sharedcourt.db.case import Case
from sharedcourt.db.conversation import Conversation
from sharedcourt.db.ticket import Rating, Ticket
from sharedcourt.handoff.core import HandoffRequest
from sharedcourt.handoff.service import HandoffService

pytestmark = pytest.mark.browser
RATE = re.compile(r'^/rate_handoff\{"rating":"([1-5])"\}$')


class RatingRasa:
    """Rasa and the action server as far as this journey goes: a rating button's payload is passed to
    HandoffService.rate (what action_rate_handoff asks /handoff/ratings for); every other turn gets one reply."""

    def __init__(self) -> None:
        self.service: HandoffService | None = None

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path != "/webhooks/rest/webhook":
            return httpx.Response(200, json={})
        body = json.loads(request.content)
        found = RATE.match(body["message"])
        if found and self.service is not None:
            outcome = await self.service.rate(body["sender"], int(found.group(1)))
            return httpx.Response(200, json=[{"text": outcome.text}])
        return httpx.Response(200, json=[{"text": "您好，请说说您遇到的问题。"}])


async def resident_says(chat: Page, text: str) -> None:
    await chat.fill("#text", text)
    await chat.click("#send")


async def header_fits(page: Page) -> None:
    """On a phone the header's title, menu and sign-out never overlap each other or the page below."""
    boxes = await page.evaluate(
        """() => ['header > a', 'header nav', 'header form.signout', 'main'].map(s => {
             const r = document.querySelector(s).getBoundingClientRect();
             return [r.left, r.top, r.right, r.bottom]; })"""
    )
    title, nav, signout, main = boxes

    def apart(a: list[float], b: list[float]) -> bool:
        return a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]

    assert apart(title, signout) and apart(nav, signout) and apart(title, nav), boxes
    assert max(title[3], nav[3], signout[3]) <= main[1], boxes
    assert max(title[2], nav[2], signout[2]) <= 390, boxes


async def mediator_journey(browser: Browser, world: WorkspaceWorld, shots: Path) -> None:
    resident = await browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    chat = await resident.new_page()
    await chat.goto(f"{world.client.base_url}/")
    await resident_says(chat, "你好，邻居把垃圾堆在我家门口，说了几次都不听")
    await expect(chat.locator("#log")).to_contain_text("请说说您遇到的问题")
    async with world.app.state.sessions() as session, session.begin():
        conversation = await session.scalar(select(Conversation).order_by(Conversation.created_at.desc()).limit(1))
        assert conversation is not None
        case = Case(
            number="AJ-BROWSER",
            resident_id=conversation.resident_id,
            conversation_id=conversation.id,
            dispute_code="neighbor",
            status="confirmed",
            site_code=BAIYUN,
            facts={"party": "王建军", "phone": "13812345678"},
        )
        session.add(case)
        await session.flush()
        cid, case_id = conversation.id, case.id
    asked = await world.service.request(
        HandoffRequest(conversation_id=cid, dispute_code="neighbor", summary="楼道堆物")
    )
    assert asked.ok and asked.number
    number = asked.number
    desk = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    work = await desk.new_page()
    await sign_in(work, str(world.client.base_url), "zhuren")
    await work.goto(f"{world.client.base_url}/console/workspace")
    await work.locator(f".ticket[data-number='{number}'] button", has_text="接单").click()
    await work.wait_for_url(f"**/console/workspace/tickets/{number}*")
    await expect(work.locator("#state")).to_have_text("处理中")
    await expect(chat.locator("#log")).to_contain_text("接单")  # the resident is told someone took it
    await resident_says(chat, "我家门口又堆满了纸箱")
    await expect(work.locator("#log")).to_contain_text("我家门口又堆满了纸箱")  # by SSE, no reload
    await work.fill("textarea[name=text]", "您好，我是庭务主任，马上联系您的邻居")
    await work.click("#reply button[type=submit]")
    await expect(chat.locator(".row.staff").last).to_contain_text("马上联系您的邻居")
    await chat.screenshot(path=str(shots / "5-webchat-resident-phone.png"), full_page=True)
    await work.screenshot(path=str(shots / "6-workspace-conversation-desktop.png"), full_page=True)
    await work.fill("input[name=note]", "邻居同意当天清理")
    await work.click("button[name=outcome][value=调解成功]")
    await work.wait_for_url("**/console/workspace?done=*")
    await expect(chat.locator("#log")).to_contain_text("结果：调解成功")
    await chat.locator(".choices button", has_text="5分 非常满意").click()
    await expect(chat.locator("#log")).to_contain_text("感谢您的评价")
    await chat.screenshot(path=str(shots / "7-webchat-rated-phone.png"), full_page=True)
    async with world.app.state.sessions() as session:
        ticket = await session.scalar(select(Ticket).where(Ticket.number == number))
        assert ticket is not None and (ticket.state, ticket.outcome) == ("closed", "调解成功")
        rating = await session.scalar(select(Rating).where(Rating.ticket_id == ticket.id))
    assert rating is not None and rating.score == 5
    await work.goto(f"{world.client.base_url}/console/cases/{case_id}")
    await expect(work.locator(".rating")).to_have_text("5 分")
    await work.screenshot(path=str(shots / "8-case-desktop.png"), full_page=True)


async def test_resident_on_web_chat_and_mediator_in_the_workspace_then_case_calendar_and_board(
    database_url: str, sessions: object, shots: Path, browser: Browser
) -> None:
    rasa = RatingRasa()
    async with served_world(database_url, rasa_handler=rasa) as world:
        rasa.service = world.service
        await world.person("zhuren", "mediator", dingtalk=DIRECTOR_DINGTALK)
        await world.person("diaodu", "dispatcher", scope="330802")
        await mediator_journey(browser, world, shots)
        phone = await (await browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")).new_page()
        await sign_in(phone, str(world.client.base_url), "diaodu")
        for path, shot in (
            ("/console/workspace", "9-workspace-header-phone.png"),
            ("/console/board", "10-board-phone.png"),
            (f"/console/sites/{BAIYUN}/calendar?week=2026-W49", "11-calendar-phone.png"),
        ):
            await phone.goto(f"{world.client.base_url}{path}")
            await header_fits(phone)
            await phone.screenshot(path=str(shots / shot), full_page=True)
        await expect(phone.locator(".day").first).to_contain_text("周一")
        columns = await phone.evaluate("getComputedStyle(document.querySelector('.week')).gridTemplateColumns")
        assert len(columns.split()) == 1, columns  # one day under another on a phone
        desktop = await (await browser.new_context(viewport={"width": 1280, "height": 900})).new_page()
        await sign_in(desktop, str(world.client.base_url), "diaodu")
        await desktop.goto(f"{world.client.base_url}/console/sites/{BAIYUN}/calendar?week=2026-W49")
        columns = await desktop.evaluate("getComputedStyle(document.querySelector('.week')).gridTemplateColumns")
        assert len(columns.split()) == 7, columns  # the week side by side on a desktop
        await desktop.screenshot(path=str(shots / "12-calendar-desktop.png"), full_page=True)
