"""Offers and residents' words reach staff on WeCom (企业微信): a `StaffNotifier` that sends a WeCom application
text message to a person whose console account carries a WeCom id, and everyone else through the usual notifier.

A roster person's WeCom id comes through their active console account (the account named by their duty roster
row, or whose DingTalk id is theirs): the account's own WeCom id, else the WeCom id on that roster row. That is
the mapping the WeCom callback reads backwards, so whoever is offered work on WeCom can answer there.
"""

from __future__ import annotations

import logging
import re

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sharedcourt.clients.dingtalk import Card
from sharedcourt.clients.wecom import TEXT_LIMIT_BYTES, WeComAPI
from sharedcourt.db.staff import RosterEntry, StaffAccount
from sharedcourt.errors import UpstreamError
from sharedcourt.handoff.notify import StaffNotifier
from sharedcourt.handoff.staff_routing import Staffer

log = logging.getLogger(__name__)

_LINK = re.compile(r"\[([^\]\n]+)\]\((\S+?)\)")
_HEADING = re.compile(r"^#+\s*", re.MULTILINE)


async def wecom_id_of(sessions: async_sessionmaker[AsyncSession], staffer: Staffer) -> str:
    """The WeCom user id of a roster person through their active account; '' when they have none."""
    named = select(RosterEntry.account_id).where(RosterEntry.key == staffer.id, RosterEntry.account_id.is_not(None))
    async with sessions() as session:
        account_id = await session.scalar(
            select(StaffAccount.id)
            .where(
                StaffAccount.active.is_(True),
                or_(StaffAccount.id.in_(named), StaffAccount.dingtalk_user_id == staffer.dingtalk),
            )
            .order_by(StaffAccount.wecom_user_id.is_(None), StaffAccount.id)
            .limit(1)
        )
        if account_id is None:
            return ""
        own = await session.scalar(select(StaffAccount.wecom_user_id).where(StaffAccount.id == account_id))
        if own:
            return own
        listed = await session.scalar(
            select(RosterEntry.wecom_user_id).where(
                RosterEntry.key == staffer.id, RosterEntry.account_id == account_id, RosterEntry.wecom_user_id != ""
            )
        )
        return listed or ""


def _clip(text: str, limit: int) -> str:
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[: limit - 3].decode("utf-8", "ignore") + "…"


def card_text(card: Card) -> str:
    """A DingTalk card as WeCom plain text: headings and bold dropped, links written out, buttons as replies."""
    body = _LINK.sub(r"\1：\2", _HEADING.sub("", card.text)).replace("**", "").strip()
    replies = "\n".join(f"回复“{command}”：{label}" for label, command in card.buttons)
    tail = f"\n\n{replies}" if replies else ""
    head = f"【{card.title}】\n"
    room = TEXT_LIMIT_BYTES - len((head + tail).encode("utf-8"))
    return head + _clip(body, room) + tail


class WeComNotifier:
    """People with a WeCom id get cards on WeCom; others, and anyone WeCom fails to reach, through `fallback`."""

    def __init__(
        self, api: WeComAPI, agent_id: str, sessions: async_sessionmaker[AsyncSession], fallback: StaffNotifier
    ) -> None:
        self.api = api
        self.agent_id = agent_id
        self.sessions = sessions
        self.fallback = fallback

    async def notify(self, staffer: Staffer, card: Card) -> None:
        """One WeCom text message to the person, else the fallback's way."""
        user = await wecom_id_of(self.sessions, staffer)
        if not user:
            await self.fallback.notify(staffer, card)
            return
        try:
            await self.api.tell(self.agent_id, user, card_text(card))
        except UpstreamError as exc:
            log.warning("handoff: WeCom did not reach %s (%s); trying the other way", staffer.id, exc)
            await self.fallback.notify(staffer, card)
