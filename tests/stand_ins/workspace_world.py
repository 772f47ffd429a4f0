"""The front door for workspace tests: the app (stored inbox, no DingTalk) at Monday 10:00 with a fake Rasa, an
ASGI client, console accounts linked to roster people, and a resident on web chat who asks for a person."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn
from sqlalchemy import select, update
from starlette.applications import Starlette

from sharedcourt.app import create_app
from sharedcourt.channels.webchat import CHANNEL
from sharedcourt.cli.procs import free_port
from sharedcourt.db.conversation import Conversation, Resident
from sharedcourt.db.staff import StaffAccount
from sharedcourt.db.ticket import Ticket
from sharedcourt.handoff.core import HandoffRequest
from sharedcourt.handoff.service import HandoffService
from sharedcourt.messaging.router import Inbound
from sharedcourt.settings import Settings
from sharedcourt.web.auth import COOKIE
from stand_ins.console_accounts import add_account, csrf_of, login_form
from stand_ins.handoff_world import MONDAY_10, Clock

STAFF_TOKEN = "staff-token-for-workspace-tests"
BAIYUN = "GX330802009"  # the sample roster's default site, in 柯城区 (330802)
DIRECTOR_DINGTALK = "demo-baiyun-director"


def rasa(request: httpx.Request) -> httpx.Response:
    """Rasa's REST channel answers every turn; tracker calls are accepted."""
    if request.url.path == "/webhooks/rest/webhook":
        return httpx.Response(200, json=[{"text": "机器人回复"}])
    return httpx.Response(200, json={})


def settings_for(database_url: str, **extra: str) -> Settings:
    """The app's settings: no DingTalk, so offers go to the stored inbox."""
    return Settings.from_env({"DATABASE_URL": database_url, "STAFF_TOKEN": STAFF_TOKEN, "LINK_SECRET": "ws", **extra})


@dataclass
class Desk:
    """One signed-in person: their cookie and CSRF token."""

    cookies: dict[str, str]
    csrf: str

    @property
    def headers(self) -> dict[str, str]:
        """The session cookie as a header (httpx deprecates per-request cookies)."""
        return {"cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}


@dataclass
class WorkspaceWorld:
    """The running app and what the tests do with it."""

    app: Starlette
    client: httpx.AsyncClient
    clock: Clock

    @property
    def service(self) -> HandoffService:
        service: HandoffService = self.app.state.handoff.service
        return service

    async def person(self, username: str, role: str, scope: str = BAIYUN, dingtalk: str | None = None) -> Desk:
        """A console account (linked to the roster through its DingTalk id) signed in."""
        sessions = self.app.state.sessions
        account_id = await add_account(sessions, username, role, scope)
        if dingtalk:
            async with sessions() as session, session.begin():
                await session.execute(
                    update(StaffAccount).where(StaffAccount.id == account_id).values(dingtalk_user_id=dingtalk)
                )
        self.client.cookies.clear()
        signed = await self.client.post("/console/login", data=login_form(username), follow_redirects=False)
        assert signed.status_code == 303, signed.text
        cookies = {COOKIE: signed.cookies[COOKIE]}
        self.client.cookies.clear()
        desk = Desk(cookies, "")
        page = await self.client.get("/console", headers=desk.headers)
        return Desk(cookies, csrf_of(page.text))

    async def resident_asks(
        self, sender: str, text: str = "邻居把垃圾堆在我家门口，说了几次都不听", summary: str = ""
    ) -> tuple[str, str]:
        """A web chat resident says something and asks for a person: (conversation id, ticket number)."""
        await self.resident_says(sender, text)
        async with self.app.state.sessions() as session:
            conversation = await session.scalar(
                select(Conversation.id).join(Resident).where(Resident.channel_user_id == sender)
            )
        assert conversation is not None
        outcome = await self.service.request(
            HandoffRequest(conversation_id=conversation, dispute_code="neighbor", summary=summary)
        )
        assert outcome.ok and outcome.number
        return conversation, outcome.number

    async def resident_says(self, sender: str, text: str) -> None:
        """One web chat message through the router, as the web chat API hands it over."""
        await self.app.state.router.handle(Inbound(CHANNEL, sender, text))

    async def ticket(self, number: str) -> Ticket:
        """The ticket as stored now."""
        async with self.app.state.sessions() as session:
            ticket = await session.scalar(select(Ticket).where(Ticket.number == number))
            assert ticket is not None
            return ticket

    async def act(self, desk: Desk, number: str, verb: str, **fields: str) -> httpx.Response:
        """A workspace form post with the desk's session and CSRF token."""
        data = {"csrf": desk.csrf, **fields}
        url = f"/console/workspace/tickets/{number}/{verb}"
        self.client.cookies.clear()
        return await self.client.post(url, data=data, headers=desk.headers, follow_redirects=False)

    async def get(self, desk: Desk, path: str) -> httpx.Response:
        """A workspace page with the desk's session."""
        self.client.cookies.clear()
        return await self.client.get(path, headers=desk.headers, follow_redirects=False)


@contextlib.asynccontextmanager
async def workspace_world(database_url: str, **extra: str) -> AsyncIterator[WorkspaceWorld]:
    """The app's lifespan around an ASGI client; the handoff's clock is Monday 10:00 (everyone on duty)."""
    app = create_app(settings_for(database_url, **extra), rasa_transport=httpx.MockTransport(rasa), background=False)
    async with app.router.lifespan_context(app):
        clock = Clock(MONDAY_10)
        app.state.handoff.service.clock = clock
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver", timeout=30) as client:
            yield WorkspaceWorld(app, client, clock)


@contextlib.asynccontextmanager
async def served_world(
    database_url: str, rasa_handler: Callable[[httpx.Request], Any] = rasa, **extra: str
) -> AsyncIterator[WorkspaceWorld]:
    """The same app served by a real uvicorn on a free loopback port (streams are read as a browser reads them)."""
    transport = httpx.MockTransport(rasa_handler)
    app = create_app(settings_for(database_url, **extra), rasa_transport=transport, background=False)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning", ws="none"))
    task = asyncio.create_task(server.serve())
    try:
        for _ in range(200):  # bounded: the server starts in well under the 10 s this allows
            if server.started or task.done():
                break
            await asyncio.sleep(0.05)
        assert server.started, "uvicorn did not start"
        clock = Clock(MONDAY_10)
        app.state.handoff.service.clock = clock
        base = f"http://127.0.0.1:{server.config.port}"
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            yield WorkspaceWorld(app, client, clock)
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=30)
