"""Staff on WeCom (企业微信): a message from a WeCom user mapped to an active console account goes to the handoff
service, exactly as a DingTalk message does (accept, words for the resident, transfer, hand back, close); it never
reaches the bot. Anyone else on WeCom is a resident and talks to the bot (`channels/wecom.py`).

The mapping is the account's: its own WeCom id, else a duty roster row naming the account with that WeCom id
(`staff.roster.account_for_identity`); the account's roster identities are the workspace's (`roster_keys`).
Each MsgId is handled once across front doors (the DingTalk claim table, keyed `wecom:<MsgId>`); the answer goes
back as the encrypted passive reply within WECHAT_REPLY_BUDGET, else as an application message when it is ready.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.responses import PlainTextResponse, Response

from sharedcourt.channels.dingtalk import Claim, claim_message, mark_handled, release
from sharedcourt.channels.wechat.render import passive_reply
from sharedcourt.clients.wecom import WeComAPI
from sharedcourt.db.base import utcnow
from sharedcourt.db.ticket import LIVE_STATES, OPEN_STATES, Ticket
from sharedcourt.errors import UpstreamError
from sharedcourt.handoff.relay import ticket_named
from sharedcourt.handoff.service import HandoffService
from sharedcourt.handoff.texts import TEXT_ONLY
from sharedcourt.messaging.replies import Reply
from sharedcourt.staff.roster import account_for_identity
from sharedcourt.web.workspace.access import roster_keys

log = logging.getLogger(__name__)

NOT_ON_ROSTER = (
    "您的企业微信已关联工作人员账号，但该账号没有关联值班名单，不能接单或回复居民。请联系管理员在值班表中填写您的账号。"
)


async def staff_keys(
    sessions: async_sessionmaker[AsyncSession], service: HandoffService, user: str
) -> tuple[str, ...] | None:
    """The roster ids a WeCom user acts as; () for an account off the roster; None when they are not staff."""
    async with sessions() as session:
        account = await account_for_identity(session, wecom=user)
        if account is None or not account.active:
            return None
        return await roster_keys(session, account.id, service.roster)


async def acting_key(sessions: async_sessionmaker[AsyncSession], keys: Sequence[str], text: str) -> str:
    """Which identity acts: the one holding or offered the ticket the message names, else the one holding a
    ticket (the newest), else the one offered one, else the first."""
    if len(keys) == 1:
        return keys[0]
    number = ticket_named(text)
    mine = or_(Ticket.holder.in_(keys), Ticket.assignee.in_(keys))
    query = select(Ticket.holder, Ticket.assignee, Ticket.state).where(mine, Ticket.state.in_(LIVE_STATES))
    if number:
        query = query.where(Ticket.number == number)
    async with sessions() as session:
        rows = (await session.execute(query.order_by(Ticket.id.desc()).limit(50))).all()
    held: list[str] = [str(h) for h, _a, s in rows if s == "accepted" and h in keys]
    offered: list[str] = [str(a) for _h, a, s in rows if s in OPEN_STATES and a in keys]
    return [*held, *offered, *keys][0]


class WeComStaff:
    """Answers a staff member's WeCom push through the handoff service."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        service: HandoffService,
        crypto: Any,
        budget: float,
        sender: tuple[WeComAPI, str] | None,
    ) -> None:
        self.sessions = sessions
        self.service = service
        self.crypto = crypto
        self.budget = budget
        self.sender = sender  # (client, agent id) for answers that miss the passive reply
        self.tasks: set[asyncio.Task[Any]] = set()

    async def keys_of(self, user: str) -> tuple[str, ...] | None:
        """The roster ids of a WeCom user, or None for a resident."""
        return await staff_keys(self.sessions, self.service, user)

    async def answer(self, msg: Any, msg_id: int, keys: tuple[str, ...], nonce: str, started: float) -> Response:
        """Handle one staff push once; the answer as passive reply if ready within the budget."""
        user, text = str(msg.source), str(getattr(msg, "content", "") or "").strip()
        if not keys:
            return passive_reply(msg, [Reply(NOT_ON_ROSTER)], self.crypto, nonce)
        if msg.type != "text" or not text:
            return passive_reply(msg, [Reply(TEXT_ONLY)], self.crypto, nonce)
        claim_key = f"wecom:{msg_id}" if msg_id else f"wecom:{user}:{msg._data.get('CreateTime')}"
        claim = await claim_message(self.sessions, claim_key, utcnow())
        if claim is not Claim.MINE:
            return PlainTextResponse("success")  # WeCom re-delivered it; it is (being) handled
        task = self._spawn(self._handle(keys, text, claim_key))
        try:
            answer = await asyncio.wait_for(
                asyncio.shield(task), timeout=max(0.0, self.budget - (time.monotonic() - started))
            )
        except asyncio.TimeoutError:
            self._spawn(self._later(task, user))
            return PlainTextResponse("success")
        return passive_reply(msg, [Reply(answer)] if answer else [], self.crypto, nonce)

    async def _handle(self, keys: tuple[str, ...], text: str, claim_key: str) -> str:
        try:
            key = await acting_key(self.sessions, keys, text)
            answer = (await self.service.staff_says(key, text)).text
        except BaseException:
            await release(self.sessions, claim_key)
            raise
        await mark_handled(self.sessions, claim_key, utcnow())
        return answer

    async def _later(self, task: asyncio.Task[str], user: str) -> None:
        """The answer missed the passive reply: send it as an application message."""
        try:
            answer = await task
        except Exception:
            log.exception("wecom: staff message from %s failed", user)
            return
        if not answer:
            return
        if self.sender is None:
            log.warning("wecom: answer to %s missed the reply budget and WECOM_SECRET is not set", user)
            return
        api, agent_id = self.sender
        try:
            await api.tell(agent_id, user, answer)
        except UpstreamError as exc:
            log.warning("wecom: could not answer %s: %s", user, exc)

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task
