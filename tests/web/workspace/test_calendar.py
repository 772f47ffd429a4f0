"""The site calendar (sharedcourt.web.workspace.calendar) on both databases: bookings against capacity per window,
move, cancel and closures through the booking service's staff functions (each resident told, each change audited);
scope, role and CSRF refusals change nothing."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select
from stand_ins.calendar_world import book, local_at, make_case, make_site, slots_at
from stand_ins.workspace_world import Desk, WorkspaceWorld, workspace_world

from sharedcourt.db.booking import Booking, Reminder, SiteClosure, Slot
from sharedcourt.db.staff import AuditEvent

TUESDAY = dt.date(2026, 12, 1)  # the clock is Monday 30 November 10:00
WEEK = "2026-W49"


def window(page: str, day: dt.date, start: str) -> str:
    """The HTML of one window of the calendar (day and start time)."""
    days = page.split('class="day')
    [found] = [d for d in days if f'data-date="{day.isoformat()}"' in d]
    [win] = [w for w in found.split('class="win')[1:] if f'data-start="{start}"' in w]
    return win


async def post(world: WorkspaceWorld, desk: Desk, site: str, verb: str, **fields: str | int) -> int:
    data = {"csrf": desk.csrf, "week": WEEK, **{k: str(v) for k, v in fields.items()}}
    world.client.cookies.clear()
    response = await world.client.post(
        f"/console/sites/{site}/calendar/{verb}", data=data, headers=desk.headers, follow_redirects=False
    )
    return response.status_code


async def notices(world: WorkspaceWorld, booking_id: int) -> list[tuple[str, str]]:
    async with world.app.state.sessions() as session:
        rows = await session.execute(
            select(Reminder.kind, Reminder.text).where(Reminder.booking_id == booking_id, Reminder.status == "pending")
        )
        return [(k, t) for k, t in rows.tuples() if k in ("moved", "cancelled")]


async def test_the_week_shows_bookings_against_capacity_per_window(database_url: str, sessions: object) -> None:
    async with workspace_world(database_url) as world:
        sessions_ = world.app.state.sessions
        site = await make_site(sessions_)
        desk = await world.person("tiaojie", "mediator", scope=site)
        seat_a, seat_b = await slots_at(sessions_, site, local_at(TUESDAY, 8, 30), world.clock())
        cases = [await make_case(sessions_, site) for _ in range(3)]
        await book(sessions_, cases[0], seat_a, world.clock())
        await book(sessions_, cases[1], seat_b, world.clock())
        page = await world.get(desk, f"/console/sites/{site}/calendar?week={WEEK}")
        assert page.status_code == 200
        assert "2026-W49（11月30日 – 12月6日）" in page.text
        busy = window(page.text, TUESDAY, "08:30")
        assert re.search(r'class="count">\s*2 / 3<', busy), busy
        assert busy.count('class="bk"') == 2
        assert re.search(r'class="count">\s*0 / 3<', window(page.text, TUESDAY, "09:30"))
        saturday = page.text.split('data-date="2026-12-05"')[1].split('class="day')[0]
        assert "当日不开放预约" in saturday
        assert "?week=2026-W48" in page.text and "?week=2026-W50" in page.text


async def test_move_and_cancel_tell_the_resident_why_and_are_audited(database_url: str, sessions: object) -> None:
    async with workspace_world(database_url) as world:
        sessions_ = world.app.state.sessions
        site = await make_site(sessions_)
        desk = await world.person("tiaojie", "mediator", scope=site)
        [first, *_] = await slots_at(sessions_, site, local_at(TUESDAY, 8, 30), world.clock())
        [later, *_] = await slots_at(sessions_, site, local_at(TUESDAY, 14, 0), world.clock())
        moved_id = await book(sessions_, await make_case(sessions_, site), first, world.clock())
        cancelled_id = await book(sessions_, await make_case(sessions_, site), first, world.clock())
        assert await post(world, desk, site, "move", booking_id=moved_id, slot_id=later, reason="") == 409
        assert await post(world, desk, site, "move", booking_id=moved_id, slot_id=later, reason="调解员临时出庭") == 303
        async with sessions_() as session:
            old = await session.get_one(Booking, moved_id)
            new = await session.scalar(select(Booking).where(Booking.replaces_id == moved_id))
        assert old.status == "rescheduled" and new is not None and new.slot_id == later
        assert new.changed_by == "staff:tiaojie的名字"
        [(kind, text)] = await notices(world, new.id)
        assert kind == "moved" and "调解员临时出庭" in text and "12月1日（周二）14:00-15:00" in text
        assert await post(world, desk, site, "cancel", booking_id=cancelled_id, reason="当事人已和解") == 303
        [(kind, text)] = await notices(world, cancelled_id)
        assert kind == "cancelled" and "当事人已和解" in text
        async with sessions_() as session:
            audited = list(await session.scalars(select(AuditEvent.action).where(AuditEvent.target_id == site)))
            assert (await session.get_one(Slot, first)).booked == 0
        assert audited == ["calendar_move", "calendar_cancel"]


async def test_closing_a_window_and_a_day_cancels_their_bookings_and_tells_each_resident(
    database_url: str, sessions: object
) -> None:
    async with workspace_world(database_url) as world:
        sessions_ = world.app.state.sessions
        site = await make_site(sessions_)
        desk = await world.person("diaodu", "dispatcher", scope="330802")
        window_slots = await slots_at(sessions_, site, local_at(TUESDAY, 9, 30), world.clock())
        wednesday = TUESDAY + dt.timedelta(days=1)
        [day_slot, *_] = await slots_at(sessions_, site, local_at(wednesday, 15, 0), world.clock())
        in_window = [await book(sessions_, await make_case(sessions_, site), s, world.clock()) for s in window_slots]
        on_day = await book(sessions_, await make_case(sessions_, site), day_slot, world.clock())
        starts = local_at(TUESDAY, 9, 30).isoformat()
        assert await post(world, desk, site, "close_slot", starts_at=starts, reason="会议室检修") == 303
        for booking_id in in_window:
            [(kind, text)] = await notices(world, booking_id)
            assert kind == "cancelled" and "会议室检修" in text
        assert await post(world, desk, site, "close_day", day=wednesday.isoformat(), reason="停电") == 303
        [(kind, text)] = await notices(world, on_day)
        assert kind == "cancelled" and "停电" in text
        async with sessions_() as session:
            statuses = set(await session.scalars(select(Slot.status).where(Slot.id.in_(window_slots))))
            closure = await session.scalar(select(SiteClosure).where(SiteClosure.site_code == site))
        assert statuses == {"closed"} and closure is not None and closure.starts_on == wednesday
        page = await world.get(desk, f"/console/sites/{site}/calendar?week={WEEK}")
        assert "已关闭 0 / 3" in window(page.text, TUESDAY, "09:30")
        assert "闭庭：停电" in page.text.split('data-date="2026-12-02"')[1].split('class="day')[0]


async def test_out_of_scope_other_roles_bad_forms_and_other_sites_bookings_change_nothing(
    database_url: str, sessions: object
) -> None:
    async with workspace_world(database_url) as world:
        sessions_ = world.app.state.sessions
        site = await make_site(sessions_)
        elsewhere = await make_site(sessions_, county="330803")
        [slot] = (await slots_at(sessions_, site, local_at(TUESDAY, 8, 30), world.clock()))[:1]
        [far_slot] = (await slots_at(sessions_, elsewhere, local_at(TUESDAY, 8, 30), world.clock()))[:1]
        booking_id = await book(sessions_, await make_case(sessions_, site), slot, world.clock())
        far_booking = await book(sessions_, await make_case(sessions_, elsewhere), far_slot, world.clock())
        outsider = await world.person("waidi", "mediator", scope=elsewhere)
        county_dispatcher = await world.person("qujiang", "dispatcher", scope="330803")
        lawyer = await world.person("lvshi", "lawyer", scope=site)
        mine = await world.person("tiaojie", "mediator", scope=site)
        for desk in (outsider, county_dispatcher):
            assert (await world.get(desk, f"/console/sites/{site}/calendar")).status_code == 404
            assert await post(world, desk, site, "cancel", booking_id=booking_id, reason="越权") == 404
        assert (await world.get(lawyer, f"/console/sites/{site}/calendar")).status_code == 403
        assert await post(world, lawyer, site, "cancel", booking_id=booking_id, reason="越权") == 403
        assert await post(world, mine, site, "cancel", booking_id=far_booking, reason="别的站点") == 404
        assert await post(world, mine, site, "move", booking_id=booking_id, slot_id=far_slot, reason="跨站") == 404
        assert await post(world, mine, site, "close_day", day="2026-13-01", reason="坏日期") == 400
        assert await post(world, mine, site, "explode", booking_id=booking_id, reason="x") == 404
        assert (await world.get(mine, f"/console/sites/{site}/calendar?week=2026-49")).status_code == 400
        world.client.cookies.clear()
        forged = await world.client.post(
            f"/console/sites/{site}/calendar/cancel",
            data={"booking_id": str(booking_id), "reason": "无令牌"},
            headers=mine.headers,
            follow_redirects=False,
        )
        assert forged.status_code == 403
        async with sessions_() as session:
            statuses = set(
                await session.scalars(select(Booking.status).where(Booking.id.in_([booking_id, far_booking])))
            )
        assert statuses == {"confirmed"}
