"""Consents to subscription notices (订阅通知): recorded from WeChat's pushes, consumed one notice per consent.

WeChat tells the account what a resident chose in its pop-up (in an article or on a page) with a
`subscribe_msg_popup_event` push (accept or reject per template); a later refusal in WeChat's settings comes as
`subscribe_msg_change_event`. Each "accept" of a one-time template allows one notice: `take` claims one granted row
with a conditional update read back (`UPDATE … RETURNING`), so two senders never spend the same consent; a send
that surely did not go out gives it back; WeChat's 43101 (refused, or none left) drops them all.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sharedcourt.db.base import utcnow
from sharedcourt.db.session import unit_of_work
from sharedcourt.db.wechat import WeChatConsent

Choice = tuple[str, str, str]  # (template id, "accept" | "reject", pop-up scene)


def record(session: AsyncSession, openid: str, choices: Iterable[Choice]) -> list[str]:
    """One granted row per accepted template (rejections grant nothing); returns the accepted template ids."""
    accepted = []
    for template_id, status, scene in choices:
        if status == "accept":
            session.add(WeChatConsent(openid=openid, template_id=template_id, status="granted", scene=scene[:32]))
            accepted.append(template_id)
    return accepted


async def refuse(session: AsyncSession, openid: str, template_ids: Iterable[str]) -> None:
    """The resident refused these templates: consents not yet used are void."""
    await session.execute(
        update(WeChatConsent)
        .where(
            WeChatConsent.openid == openid,
            WeChatConsent.template_id.in_(list(template_ids)),
            WeChatConsent.status == "granted",
        )
        .values(status="refused")
        .execution_options(synchronize_session=False)
    )


async def take(sessions: async_sessionmaker[AsyncSession], openid: str, template_id: str) -> int | None:
    """Spend one granted consent (the oldest); its id, or None when none is left."""
    oldest = (
        select(WeChatConsent.id)
        .where(
            WeChatConsent.openid == openid, WeChatConsent.template_id == template_id, WeChatConsent.status == "granted"
        )
        .order_by(WeChatConsent.id)
        .limit(1)
    )
    async with unit_of_work(sessions) as session:
        if session.get_bind().dialect.name == "postgresql":
            oldest = oldest.with_for_update(skip_locked=True)
        taken: int | None = await session.scalar(
            update(WeChatConsent)
            .where(WeChatConsent.id == oldest.scalar_subquery(), WeChatConsent.status == "granted")
            .values(status="used", used_at=utcnow())
            .returning(WeChatConsent.id)
            .execution_options(synchronize_session=False)
        )
    return taken


async def give_back(sessions: async_sessionmaker[AsyncSession], consent_id: int) -> None:
    """The notice surely did not go out: the consent can be spent again."""
    async with unit_of_work(sessions) as session:
        await session.execute(
            update(WeChatConsent)
            .where(WeChatConsent.id == consent_id, WeChatConsent.status == "used")
            .values(status="granted", used_at=None)
            .execution_options(synchronize_session=False)
        )


async def drop(sessions: async_sessionmaker[AsyncSession], openid: str, template_id: str) -> None:
    """WeChat said 43101 (refused, or nothing left on its side): every consent we hold for it is void."""
    async with unit_of_work(sessions) as session:
        await refuse(session, openid, [template_id])
