"""The handoff core: tickets, acceptance (one winner), escalation on injected time, relay, hand-back, rating."""

from __future__ import annotations

import asyncio
import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from stand_ins.handoff_world import BOT_REPLY, SATURDAY_22, World, make_world, requested

from sharedcourt.db.ticket import Rating
from sharedcourt.domain.clock import TZ
from sharedcourt.handoff.core import HandoffRequest
from sharedcourt.handoff.texts import RATING_PROMPT


async def test_request_offers_to_the_site_and_says_so_truthfully(world: World) -> None:
    conversation_id, _ = await world.say("u1", "邻居装修把我家墙震裂了")
    outcome = await world.service.request(HandoffRequest(conversation_id=conversation_id, dispute_code="neighbor"))
    assert outcome.text.startswith("已为您联系柯城区白云街道共享法庭的庭务主任，请稍候")
    ticket = await world.ticket(outcome.number or "")
    assert (ticket.state, ticket.assignee, ticket.rule) == ("offered", "baiyun-director", "general")
    assert ticket.requested_at == ticket.offered_at == world.clock.now
    assert ticket.offer_deadline == world.clock.now + dt.timedelta(seconds=180)
    [card] = world.notifier.to("baiyun-director")
    assert "邻居装修把我家墙震裂了" in card.text and "一般纠纷就地调" in card.text
    assert ("接单", f"接单 {ticket.number}") in card.buttons
    assert await world.events(ticket) == ["requested", "offered"]
    # Asking again does not make a second ticket.
    again = await world.service.request(HandoffRequest(conversation_id=conversation_id))
    assert again.number == ticket.number and "已在为您联系" in again.text


async def test_nobody_accepts_escalates_along_the_roster_to_the_dispatch_centre(world: World) -> None:
    conversation_id, number = await requested(world)
    assert await world.service.tick(world.clock.advance(179)) == 0, "not before the window ends"
    steps = [
        ("baiyun-mediator-1", "offered", "庭务主任暂时未接听，已转给柯城区白云街道共享法庭的调解员"),
        ("baiyun-mediator-2", "offered", "调解员暂时未接听，已转给柯城区白云街道共享法庭的调解员"),
        ("kecheng-dispatch", "escalated", "调解员暂时未接听，已转给柯城区矛调中心指挥中心值班人员"),
    ]
    for assignee, state, told in steps:
        assert await world.service.tick(world.clock.advance(1 if assignee == "baiyun-mediator-1" else 180)) == 1
        ticket = await world.ticket(number)
        assert (ticket.assignee, ticket.state) == (assignee, state)
        assert ticket.escalated_at == world.clock.now
        assert world.notifier.to(assignee), f"{assignee} was not told"
        assert (await world.told(conversation_id))[-1] == ("system", told + "，请稍候。")
    assert await world.service.tick(world.clock.advance(180)) == 1
    ticket = await world.ticket(number)
    assert ticket.state == "expired" and ticket.expired_at == world.clock.now
    assert "已为您登记回电请求" in (await world.told(conversation_id))[-1][1]
    assert await world.events(ticket) == ["requested", "offered", "escalated", "escalated", "escalated", "expired"]
    # Anyone on the chain can still take it, and the resident hears it.
    won = await world.service.accept(number, "baiyun-mediator-1")
    assert won.ok
    assert await world.mode(conversation_id) == "human"


async def test_concurrent_accepts_have_exactly_one_holder(world: World) -> None:
    _, number = await requested(world)
    people = ["baiyun-director", "baiyun-mediator-1", "baiyun-mediator-2", "kecheng-dispatch", "baiyun-judge"]
    outcomes = await asyncio.gather(*(world.service.accept(number, p) for p in people))
    winners = [p for p, o in zip(people, outcomes, strict=True) if o.ok]
    assert len(winners) == 1
    ticket = await world.ticket(number)
    assert ticket.holder == winners[0]
    losers = [o.text for o in outcomes if not o.ok]
    assert all("已由" in t and "接单" in t for t in losers), losers
    assert (await world.events(ticket)).count("accepted") == 1


async def test_accept_pauses_the_bot_and_relays_both_ways(world: World) -> None:
    conversation_id, number = await requested(world)
    turns_before = len(world.rasa.turns)
    outcome = await world.service.staff_says("demo-baiyun-director", f"接单 {number}")  # by DingTalk id
    assert outcome.ok and "已接单" in outcome.text
    assert await world.mode(conversation_id) == "human"
    assert world.rasa.events[conversation_id] == [{"event": "pause"}]
    assert "庭务主任已接单" in (await world.told(conversation_id))[-1][1]
    # The resident's next message reaches the person, not the bot.
    _, replies = await world.say("u1", "我家墙上的裂缝有照片")
    assert replies == [] and len(world.rasa.turns) == turns_before
    assert "我家墙上的裂缝有照片" in world.notifier.to("baiyun-director")[-1].text
    # The person's words reach the resident, marked as theirs.
    said = await world.service.staff_says("baiyun-director", "您好，我是庭务主任，请把照片发我看看")
    assert said.ok and said.text == ""
    assert (await world.told(conversation_id))[-1] == ("staff:baiyun-director", "您好，我是庭务主任，请把照片发我看看")
    # Someone else cannot speak into this conversation.
    stray = await world.service.staff_says("baiyun-judge", f"{number} 我来插一句")
    assert not stray.ok


async def test_close_with_outcome_resumes_rasa_and_asks_for_rating(world: World) -> None:
    conversation_id, number = await requested(world)
    await world.service.accept(number, "baiyun-director")
    bad = await world.service.staff_says("baiyun-director", "结束 搞定了")
    assert not bad.ok and "调解成功" in bad.text
    done = await world.service.staff_says("baiyun-director", "结束 调解成功，双方同意赔偿修补费用")
    assert done.ok
    ticket = await world.ticket(number)
    assert (ticket.state, ticket.outcome, ticket.note) == ("closed", "调解成功", "双方同意赔偿修补费用")
    assert ticket.closed_at == world.clock.now
    assert await world.mode(conversation_id) == "bot"
    assert world.rasa.events[conversation_id] == [
        {"event": "pause"},
        {"event": "resume"},
        {"event": "action", "name": "action_listen"},
    ]
    told = await world.told(conversation_id)
    assert "调解成功" in told[-2][1] and told[-1][1] == RATING_PROMPT
    # The bot answers again; "5" is the fifth rating button, so the router sends its payload to Rasa.
    _, replies = await world.say("u1", "5")
    assert replies == [BOT_REPLY]
    assert world.rasa.turns[-1] == '/rate_handoff{"rating":"5"}'
    assert (await world.service.rate(conversation_id, 5)).ok
    assert (await world.service.rate(conversation_id, comment="主任很耐心")).ok
    async with world.sessions() as session:
        rating = (await session.scalars(select(Rating).where(Rating.ticket_id == ticket.id))).one()
    assert (rating.score, rating.comment) == (5, "主任很耐心")


async def test_resident_ends_with_jieshu_rengong(world: World) -> None:
    conversation_id, number = await requested(world)
    await world.service.accept(number, "baiyun-director")
    _, replies = await world.say("u1", "结束人工")
    assert replies == []
    ticket = await world.ticket(number)
    assert ticket.state == "closed" and ticket.note == "居民结束人工"
    assert await world.mode(conversation_id) == "bot"
    assert "居民已结束人工服务" in world.notifier.to("baiyun-director")[-1].text
    assert (await world.told(conversation_id))[-1][1] == RATING_PROMPT


async def test_hand_back_and_transfer(world: World) -> None:
    conversation_id, number = await requested(world)
    await world.service.accept(number, "baiyun-director")
    moved = await world.service.staff_says("baiyun-director", "转交 法官")
    assert moved.ok
    ticket = await world.ticket(number)
    assert (ticket.state, ticket.holder, ticket.assignee) == ("offered", None, "baiyun-judge")
    assert "转交给柯城区白云街道共享法庭的法官" in (await world.told(conversation_id))[-1][1]
    # While nobody holds it, the resident is not left in silence.
    await world.say("u1", "法官什么时候来")
    assert "正在为您转接" in (await world.told(conversation_id))[-1][1]
    assert (await world.service.staff_says("baiyun-judge", "接单")).ok
    back = await world.service.staff_says("baiyun-judge", "交还")
    assert back.ok
    ticket = await world.ticket(number)
    assert ticket.state == "closed" and ticket.outcome is None
    assert await world.events(ticket) == ["requested", "offered", "accepted", "transferred", "accepted", "handed_back"]
    assert await world.mode(conversation_id) == "bot"


async def test_out_of_hours_is_a_callback_and_wakes_on_duty(sessions: async_sessionmaker[AsyncSession]) -> None:
    world = make_world(sessions, SATURDAY_22)
    conversation_id, _ = await world.say("u1", "老板欠我三个月工资")
    outcome = await world.service.request(HandoffRequest(conversation_id=conversation_id, dispute_code="labor"))
    assert "现在不在工作时间" in outcome.text and "周一（12月7日）08:30" in outcome.text
    assert "回电请求" in outcome.text
    ticket = await world.ticket(outcome.number or "")
    assert ticket.state == "callback" and ticket.offer_deadline is None
    assert "回电请求" in world.notifier.to("baiyun-director")[0].title
    assert await world.mode(conversation_id) == "bot", "no dead air: the bot keeps answering"
    _, replies = await world.say("u1", "好的")
    assert replies == [BOT_REPLY]
    # Nothing happens overnight; on Monday morning it is offered to whoever is on duty.
    assert await world.service.tick(world.clock.advance(3600)) == 0
    world.clock.now = dt.datetime(2026, 12, 7, 8, 29, tzinfo=TZ).astimezone(dt.timezone.utc)
    assert await world.service.tick() == 0
    world.clock.advance(60)
    assert await world.service.tick() == 1
    ticket = await world.ticket(ticket.number or "")
    assert (ticket.state, ticket.assignee) == ("offered", "baiyun-director")
    assert world.notifier.to("baiyun-director")[-1].title.startswith("回电请求")


async def test_cancel_before_anyone_accepts(world: World) -> None:
    conversation_id, number = await requested(world)
    outcome = await world.service.end_by_resident(conversation_id)
    assert outcome.ok and "已取消" in outcome.text
    assert (await world.ticket(number)).state == "closed"
    late = await world.service.accept(number, "baiyun-director")
    assert not late.ok and "已结束" in late.text


async def test_my_case_status(world: World) -> None:
    conversation_id, number = await requested(world)
    status = await world.service.status(conversation_id)
    assert number in status.text and "等待接单" in status.text
    await world.service.accept(number, "baiyun-mediator-1")
    status = await world.service.status(conversation_id)
    assert "由柯城区白云街道共享法庭的调解员处理中" in status.text


async def test_unknown_person_cannot_accept(world: World) -> None:
    _, number = await requested(world)
    outcome = await world.service.staff_says("someone-else", f"接单 {number}")
    assert not outcome.ok and (await world.ticket(number)).holder is None


async def test_hand_back_while_rasa_is_down_is_retried_by_the_tick(world: World) -> None:
    conversation_id, number = await requested(world)
    await world.service.accept(number, "baiyun-director")
    world.rasa.down = True
    assert (await world.service.staff_says("baiyun-director", "结束 已解答")).ok
    assert world.rasa.events[conversation_id] == [{"event": "pause"}]
    await world.service.tick(world.clock.advance(5))
    assert world.rasa.events[conversation_id] == [{"event": "pause"}]
    world.rasa.down = False
    await world.service.tick(world.clock.advance(5))
    assert world.rasa.events[conversation_id][-2:] == [
        {"event": "resume"},
        {"event": "action", "name": "action_listen"},
    ]
    await world.service.tick(world.clock.advance(5))
    assert len(world.rasa.events[conversation_id]) == 3, "resumed once, not again"
