"""Every conditional claim on a ticket follows the database, not `rowcount`: each runs against a driver that
says 1 when nothing matched and 0 when the row matched (tests/stand_ins/misreporting.py), on SQLite and
PostgreSQL. Where the claim must lose, another writer's change lands between the code's read and its UPDATE.
"""

from __future__ import annotations

import asyncio
import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from stand_ins.handoff_world import SATURDAY_22, World, make_world, requested
from stand_ins.misreporting import meanwhile, misreporting

from sharedcourt.domain.clock import TZ
from sharedcourt.handoff.core import HandoffRequest

TOOK_IT = "UPDATE tickets SET state = 'accepted', holder = :who, assignee = :who WHERE number = :number"
WON, LOST = (1, 0), (0, 1)  # (rows the claim really changed, what rowcount said)


async def test_accept_wins_although_rowcount_says_0(world: World) -> None:
    conversation_id, number = await requested(world)
    with misreporting("tickets") as liar:
        outcome = await world.service.accept(number, "baiyun-director")
    assert liar.on("tickets") == [WON]
    assert outcome.ok and outcome.text.startswith(f"已接单 {number}")
    assert (await world.ticket(number)).holder == "baiyun-director"
    assert await world.mode(conversation_id) == "human"
    assert world.rasa.events[conversation_id] == [{"event": "pause"}]


async def test_second_accept_is_told_who_has_it_although_rowcount_says_1(world: World) -> None:
    _, number = await requested(world)
    assert (await world.service.accept(number, "baiyun-director")).ok
    with misreporting("tickets") as liar:
        late = await world.service.accept(number, "baiyun-mediator-1")
    assert liar.on("tickets") == [LOST]
    assert not late.ok
    assert late.text == f"工单 {number} 已由白云街道共享法庭庭务主任接单，无需重复处理。"
    ticket = await world.ticket(number)
    assert (ticket.holder, ticket.state) == ("baiyun-director", "accepted")
    assert (await world.events(ticket)).count("accepted") == 1


async def test_accept_after_the_ticket_was_taken_meanwhile(world: World) -> None:
    _, number = await requested(world)
    with (
        meanwhile(world.sessions, "tickets", TOOK_IT, who="baiyun-mediator-2", number=number) as preceded,
        misreporting("tickets") as liar,
    ):
        late = await world.service.accept(number, "baiyun-director")
    assert preceded and liar.on("tickets") == [LOST]
    assert not late.ok and "已由" in late.text and "接单" in late.text
    ticket = await world.ticket(number)
    assert ticket.holder == "baiyun-mediator-2"
    assert "accepted" not in await world.events(ticket), "the loser wrote no acceptance"


async def test_two_accepts_racing_have_one_winner(world: World) -> None:
    conversation_id, number = await requested(world)
    people = ["baiyun-director", "baiyun-mediator-1"]
    with misreporting("tickets") as liar:
        outcomes = await asyncio.gather(*(world.service.accept(number, p) for p in people))
    assert sorted(liar.on("tickets")) == [LOST, WON]
    [winner] = [p for p, o in zip(people, outcomes, strict=True) if o.ok]
    [loser] = [o for o in outcomes if not o.ok]
    ticket = await world.ticket(number)
    assert ticket.holder == winner
    assert "已由" in loser.text and "无需重复处理" in loser.text
    assert (await world.events(ticket)).count("accepted") == 1
    assert world.rasa.events[conversation_id] == [{"event": "pause"}], "paused once"


async def test_escalation_moves_on_although_rowcount_says_0(world: World) -> None:
    conversation_id, number = await requested(world)
    with misreporting("tickets") as liar:
        assert await world.service.tick(world.clock.advance(181)) == 1
    assert liar.on("tickets") == [WON]
    ticket = await world.ticket(number)
    assert (ticket.assignee, ticket.level) == ("baiyun-mediator-1", 1)
    assert world.notifier.to("baiyun-mediator-1")
    assert (await world.told(conversation_id))[-1][1].startswith("庭务主任暂时未接听")


async def test_escalation_stops_when_accepted_meanwhile(world: World) -> None:
    conversation_id, number = await requested(world)
    told_before = await world.told(conversation_id)
    with (
        meanwhile(world.sessions, "tickets", TOOK_IT, who="baiyun-director", number=number) as preceded,
        misreporting("tickets") as liar,
    ):
        assert await world.service.tick(world.clock.advance(181)) == 0
    assert preceded and liar.on("tickets") == [LOST]
    ticket = await world.ticket(number)
    assert (ticket.holder, ticket.assignee, ticket.level) == ("baiyun-director", "baiyun-director", 0)
    assert "escalated" not in await world.events(ticket)
    assert world.notifier.to("baiyun-mediator-1") == []
    assert await world.told(conversation_id) == told_before


async def _callback(sessions: async_sessionmaker[AsyncSession]) -> tuple[World, str]:
    """A ticket registered on Saturday night, and the clock at Monday 08:30 when it is due."""
    world = make_world(sessions, SATURDAY_22)
    conversation_id, _ = await world.say("u1", "老板欠我三个月工资")
    outcome = await world.service.request(HandoffRequest(conversation_id=conversation_id, dispute_code="labor"))
    assert outcome.number and (await world.ticket(outcome.number)).state == "callback"
    world.clock.now = dt.datetime(2026, 12, 7, 8, 30, tzinfo=TZ).astimezone(dt.timezone.utc)
    return world, outcome.number


async def test_callback_wakes_although_rowcount_says_0(sessions: async_sessionmaker[AsyncSession]) -> None:
    world, number = await _callback(sessions)
    cards_before = len(world.notifier.to("baiyun-director"))
    with misreporting("tickets") as liar:
        assert await world.service.tick() == 1
    assert liar.on("tickets") == [WON]
    ticket = await world.ticket(number)
    assert (ticket.state, ticket.assignee) == ("offered", "baiyun-director")
    assert len(world.notifier.to("baiyun-director")) == cards_before + 1


async def test_callback_cancelled_meanwhile_is_not_offered(sessions: async_sessionmaker[AsyncSession]) -> None:
    world, number = await _callback(sessions)
    cards_before = len(world.notifier.messages)
    cancelled = "UPDATE tickets SET state = 'closed', note = '居民取消' WHERE number = :number"
    with meanwhile(sessions, "tickets", cancelled, number=number) as preceded, misreporting("tickets") as liar:
        assert await world.service.tick() == 0
    assert preceded and liar.on("tickets") == [LOST]
    ticket = await world.ticket(number)
    assert (ticket.state, ticket.offer_deadline) == ("closed", None)
    assert "offered" not in (await world.events(ticket))[1:], "no second offer"
    assert len(world.notifier.messages) == cards_before


async def test_transfer_by_the_holder_although_rowcount_says_0(world: World) -> None:
    _, number = await requested(world)
    await world.service.accept(number, "baiyun-director")
    with misreporting("tickets") as liar:
        moved = await world.service.transfer(number, "baiyun-director", "baiyun-mediator-1")
    assert liar.on("tickets") == [WON]
    assert moved.ok and moved.text == f"已转交给白云街道人民调解员（一）（{number}）。"
    ticket = await world.ticket(number)
    assert (ticket.state, ticket.holder, ticket.assignee) == ("offered", None, "baiyun-mediator-1")


async def test_transfer_by_someone_else_is_refused_although_rowcount_says_1(world: World) -> None:
    _, number = await requested(world)
    await world.service.accept(number, "baiyun-director")
    with misreporting("tickets") as liar:
        refused = await world.service.transfer(number, "baiyun-mediator-2", "baiyun-mediator-1")
    assert liar.on("tickets") == [LOST]
    assert not refused.ok and refused.text == f"工单 {number} 不在您手上，不能转交。"
    ticket = await world.ticket(number)
    assert (ticket.state, ticket.holder) == ("accepted", "baiyun-director")
    assert "transferred" not in await world.events(ticket)
    assert world.notifier.to("baiyun-mediator-1") == []


async def test_close_twice_closes_once(world: World) -> None:
    conversation_id, number = await requested(world)
    await world.service.accept(number, "baiyun-director")
    with misreporting("tickets") as liar:
        first = await world.service.close(number, "baiyun-director", "调解成功", "双方同意")
        told_after_first = await world.told(conversation_id)
        again = await world.service.close(number, "baiyun-director", "调解不成")
    assert liar.on("tickets") == [WON, LOST]
    assert first.ok and first.text == f"{number} 已结束。"
    assert not again.ok and again.text == f"工单 {number} 不在您手上或已结束。"
    ticket = await world.ticket(number)
    assert (ticket.state, ticket.outcome) == ("closed", "调解成功")
    assert (await world.events(ticket)).count("closed") == 1
    assert await world.told(conversation_id) == told_after_first, "the resident hears of it and is asked once"
    assert world.rasa.events[conversation_id].count({"event": "resume"}) == 1


async def test_cancel_when_accepted_meanwhile_says_so(world: World) -> None:
    conversation_id, number = await requested(world)
    with (
        meanwhile(world.sessions, "tickets", TOOK_IT, who="baiyun-director", number=number) as preceded,
        misreporting("tickets") as liar,
    ):
        late = await world.service.cancel(conversation_id)
    assert preceded and liar.on("tickets") == [LOST]
    assert not late.ok and late.text == "工作人员刚刚已经接单了，请直接和工作人员说。"
    ticket = await world.ticket(number)
    assert (ticket.state, ticket.holder) == ("accepted", "baiyun-director")
    assert "cancelled" not in await world.events(ticket)


async def test_cancel_although_rowcount_says_0(world: World) -> None:
    conversation_id, number = await requested(world)
    with misreporting("tickets") as liar:
        cancelled = await world.service.cancel(conversation_id)
    assert liar.on("tickets") == [WON]
    assert cancelled.ok and cancelled.text.startswith("好的，已取消人工服务请求")
    assert (await world.ticket(number)).state == "closed"
