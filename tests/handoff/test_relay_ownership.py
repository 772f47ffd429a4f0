"""Two residents, each with a ticket: what the handoff API does for one conversation (end, cancel, rate, status,
relay) never reads or changes the other resident's ticket."""

from __future__ import annotations

from sqlalchemy import select
from stand_ins.handoff_world import World, requested

from sharedcourt.db.ticket import Rating


async def test_ending_and_status_for_one_conversation_leave_the_other_ticket_alone(world: World) -> None:
    a, a_number = await requested(world, "resident-a")
    b, b_number = await requested(world, "resident-b")
    assert a != b and a_number != b_number
    assert (await world.service.staff_says("baiyun-director", f"接单 {b_number}")).ok
    status = await world.service.status(a)
    assert a_number in status.text and b_number not in status.text
    assert (await world.service.end_by_resident(a)).ok
    assert (await world.ticket(a_number)).state == "closed"
    b_ticket = await world.ticket(b_number)
    assert (b_ticket.state, b_ticket.holder) == ("accepted", "baiyun-director")
    assert await world.mode(b) == "human"
    # A second '结束人工' from A finds nothing of A's and still does not reach B's ticket.
    again = await world.service.end_by_resident(a)
    assert not again.ok and (await world.ticket(b_number)).state == "accepted"


async def test_relay_goes_only_between_a_ticket_and_its_own_conversation(world: World) -> None:
    a, a_number = await requested(world, "resident-a")
    b, b_number = await requested(world, "resident-b")
    assert (await world.service.staff_says("baiyun-director", f"接单 {b_number}")).ok
    assert (await world.service.staff_says("baiyun-director", f"{b_number} 您好，我看到您的材料了")).ok
    assert ("staff:baiyun-director", "您好，我看到您的材料了") in await world.told(b)
    assert all(author != "staff:baiyun-director" for author, _ in await world.told(a))
    # A's words while nobody holds A's ticket are not relayed to the person serving B.
    cards = len(world.notifier.to("baiyun-director"))
    await world.say("resident-a", "我的身份证号是330802199001011234")
    assert all("330802199001011234" not in c.text for c in world.notifier.to("baiyun-director")[cards:])
    # The holder of B's ticket cannot write into A's conversation by naming A's ticket.
    stray = await world.service.staff_says("baiyun-director", f"{a_number} 这句不该给A")
    assert not stray.ok and all("这句不该给A" not in text for _, text in await world.told(a))


async def test_a_rating_lands_on_the_conversations_own_ticket(world: World) -> None:
    a, a_number = await requested(world, "resident-a")
    b, b_number = await requested(world, "resident-b")
    for number in (a_number, b_number):
        assert (await world.service.staff_says("baiyun-director", f"接单 {number}")).ok
        assert (await world.service.staff_says("baiyun-director", f"结束 已解答 {number}")).ok
    assert (await world.service.rate(a, 2)).number == a_number
    assert (await world.service.rate(b, 5)).number == b_number
    async with world.sessions() as session:
        rows = (await session.scalars(select(Rating).order_by(Rating.ticket_id))).all()
    scores = {r.ticket_id: r.score for r in rows}
    assert scores == {(await world.ticket(a_number)).id: 2, (await world.ticket(b_number)).id: 5}
