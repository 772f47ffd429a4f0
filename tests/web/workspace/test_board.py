"""The dispatcher's county board (sharedcourt.web.workspace.board) on both databases: open tickets (offered,
escalated, accepted) of the dispatcher's county by site, oldest first, with their age on the injected clock; an
admin picks any county; other roles are refused."""

from __future__ import annotations

import datetime as dt
import re
import uuid

from stand_ins.calendar_world import make_site
from stand_ins.workspace_world import WorkspaceWorld, workspace_world

from sharedcourt.db.conversation import Conversation, Resident
from sharedcourt.db.ticket import Ticket


async def ticket(world: WorkspaceWorld, site: str, name: str, state: str, minutes_ago: int) -> str:
    """A ticket at `site` requested `minutes_ago` before the clock, in `state`; returns its number."""
    number = f"T{uuid.uuid4().hex[:9].upper()}"
    async with world.app.state.sessions() as session, session.begin():
        resident = Resident(channel="webchat", channel_user_id=f"board-{number}")
        session.add(resident)
        await session.flush()
        conversation = Conversation(resident_id=resident.id, channel="webchat")
        session.add(conversation)
        await session.flush()
        session.add(
            Ticket(
                number=number,
                conversation_id=conversation.id,
                resident_id=resident.id,
                state=state,
                rule="site",
                site_code=site,
                site_name=name,
                dispute_code="neighbor",
                requested_at=world.clock() - dt.timedelta(minutes=minutes_ago),
            )
        )
    return number


def order(page: str) -> list[str]:
    """Ticket numbers in the order the board lists them."""
    return re.findall(r'<tr data-number="(\w+)"', page)


async def test_a_dispatcher_sees_their_countys_open_tickets_by_site_oldest_first(
    database_url: str, sessions: object
) -> None:
    async with workspace_world(database_url) as world:
        sessions_ = world.app.state.sessions
        east = await make_site(sessions_, "330802", "东村共享法庭")
        west = await make_site(sessions_, "330802", "西村共享法庭")
        other = await make_site(sessions_, "330803", "衢江某村共享法庭")
        fresh = await ticket(world, east, "东村共享法庭", "offered", 5)
        oldest = await ticket(world, west, "西村共享法庭", "escalated", 125)
        middle = await ticket(world, east, "东村共享法庭", "accepted", 40)
        await ticket(world, east, "东村共享法庭", "closed", 300)
        await ticket(world, east, "东村共享法庭", "expired", 200)
        outside = await ticket(world, other, "衢江某村共享法庭", "offered", 500)
        dispatcher = await world.person("diaodu", "dispatcher", scope="330802")
        page = await world.get(dispatcher, "/console/board")
        assert page.status_code == 200
        assert order(page.text) == [oldest, middle, fresh]
        assert page.text.index("西村共享法庭") < page.text.index("东村共享法庭"), "the site of the oldest first"
        assert "柯城区未结工单（3 件" in page.text
        row = page.text.split(f'data-number="{oldest}"')[1].split("</tr>")[0]
        assert "已转指挥中心" in row and "2 小时 5 分" in row
        row = page.text.split(f'data-number="{middle}"')[1].split("</tr>")[0]
        assert "处理中" in row and "40 分" in row
        assert outside not in page.text
        assert (await world.get(dispatcher, "/console/board?county=330803")).status_code == 404


async def test_an_admin_filters_any_county_and_other_roles_are_refused(database_url: str, sessions: object) -> None:
    async with workspace_world(database_url) as world:
        sessions_ = world.app.state.sessions
        kecheng = await make_site(sessions_, "330802", "东村共享法庭")
        qujiang = await make_site(sessions_, "330803", "衢江某村共享法庭")
        near = await ticket(world, kecheng, "东村共享法庭", "offered", 10)
        far = await ticket(world, qujiang, "衢江某村共享法庭", "offered", 20)
        admin = await world.person("guanli", "admin", scope="")
        assert order((await world.get(admin, "/console/board")).text) == [far, near]
        filtered = await world.get(admin, "/console/board?county=330803")
        assert order(filtered.text) == [far] and 'value="330803" selected' in filtered.text
        site_dispatcher = await world.person("zhandian", "dispatcher", scope=qujiang)
        assert order((await world.get(site_dispatcher, "/console/board")).text) == [far]
        for role in ("mediator", "judge"):
            desk = await world.person(f"x-{role}", role, scope=kecheng)
            assert (await world.get(desk, "/console/board")).status_code == 403
