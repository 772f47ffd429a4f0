"""Offering a site's free slots in the chat: numbered buttons, "none fit" and "another site"; the slots it sets."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from sharedcourt.booking.calendar import Window, ensure_slots, format_time, free_slots
from sharedcourt.booking.turns import OFFERED, RESCHEDULE, SITE, Step, numbered, payload
from sharedcourt.db.site import Site
from sharedcourt.messaging.replies import Button, Reply
from sharedcourt.sites.finder import STAGE

OFFER = 5


async def slot_offer(
    session: AsyncSession, site: Site, now: dt.datetime, *, intro: str = "", window: Window | None = None
) -> tuple[Reply, list[int]]:
    """The next free slots at the site as numbered buttons, plus "none fit" and "another site"."""
    await ensure_slots(session, site, now)
    slots = await free_slots(session, site.code, now, limit=OFFER, window=window)
    buttons = [Button(format_time(s.starts_at, s.ends_at), payload("choose_slot", s.id)) for s in slots]
    if slots:
        text = (
            f"{intro}{site.name}近期可以预约的时间：\n{numbered(buttons)}\n"
            "请回复序号选择；也可以直接告诉我您哪天方便，比如“周三下午”“下周都行”。"
        )
    else:
        text = f"{intro}{site.name}近三周暂时没有空余的调解时间。可以换一个共享法庭，或者留下电话由工作人员联系您安排。"
    buttons += [Button("这些时间都不合适", "/none_fit"), Button("换一个共享法庭", "/other_site")]
    return Reply(text, tuple(buttons)), [s.id for s in slots]


async def offer_at_site(
    session: AsyncSession, site: Site, now: dt.datetime, *, intro: str = "", reschedule: int | None = None
) -> Step:
    """Offer the site's slots and wait for a choice (keeping the booking being moved, if any)."""
    offer, ids = await slot_offer(session, site, now, intro=intro)
    slots: dict[str, Any] = {STAGE: "choose_slot", SITE: site.code, OFFERED: ids}
    if reschedule is not None:
        slots[RESCHEDULE] = str(reschedule)
    return Step([offer], slots)
