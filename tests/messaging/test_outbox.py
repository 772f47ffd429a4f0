"""Outbox: channel-neutral queue, retries with backoff, sent at most once, transcript rows, held and released."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sharedcourt.db.base import utcnow
from sharedcourt.db.conversation import Conversation, Message, Resident
from sharedcourt.db.outbox import OutboxItem
from sharedcourt.db.session import unit_of_work
from sharedcourt.messaging.outbox import Item, Outbox, SendResult, enqueue


class ScriptedSender:
    """Answers from a script (then "sent"); records what it was asked to send."""

    def __init__(self, *script: SendResult | Exception, delay: float = 0.0) -> None:
        self.script = list(script)
        self.sent: list[Item] = []
        self.delay = delay

    async def send(self, item: Item) -> SendResult:
        if self.delay:
            await asyncio.sleep(self.delay)
        self.sent.append(item)
        if self.script:
            outcome = self.script.pop(0)
            if isinstance(outcome, Exception):
                raise outcome
            return outcome
        return SendResult("sent")


async def _conversation(sessions: async_sessionmaker[AsyncSession]) -> str:
    async with unit_of_work(sessions) as session:
        resident = Resident(channel="dingtalk", channel_user_id="staff-1")
        session.add(resident)
        await session.flush()
        conversation = Conversation(resident_id=resident.id, channel="dingtalk")
        session.add(conversation)
        await session.flush()
        return conversation.id


async def _item(sessions: async_sessionmaker[AsyncSession], item_id: int) -> OutboxItem:
    async with sessions() as session:
        return await session.get_one(OutboxItem, item_id)


async def test_enqueue_writes_the_transcript_and_send_marks_it(sessions: async_sessionmaker[AsyncSession]) -> None:
    conversation_id = await _conversation(sessions)
    outbox = Outbox(sessions)
    sender = ScriptedSender()
    outbox.register("dingtalk", sender)
    item_id = await outbox.add(
        "dingtalk", "staff-1", {"type": "text", "text": "新工单：邻里纠纷"}, conversation_id=conversation_id
    )
    assert await outbox.run_once() == 1
    item = await _item(sessions, item_id)
    assert (item.status, item.attempts) == ("sent", 1) and item.sent_at is not None
    async with sessions() as session:
        message = (await session.scalars(select(Message))).one()
    assert (message.direction, message.text, message.status, message.id) == (
        "out",
        "新工单：邻里纠纷",
        "sent",
        item.message_ids[0],
    )
    assert [i.payload["text"] for i in sender.sent] == ["新工单：邻里纠纷"]


async def test_failure_that_did_not_deliver_is_retried_with_backoff(sessions: async_sessionmaker[AsyncSession]) -> None:
    # A clock the test moves: the backoff is checked without depending on how fast the machine is.
    now = [utcnow()]
    outbox = Outbox(sessions, base_delay=0.05, clock=lambda: now[0])
    sender = ScriptedSender(SendResult("retry", "system busy"), SendResult("retry", "system busy"))
    outbox.register("dingtalk", sender)
    item_id = await outbox.add("dingtalk", "staff-1", {"type": "text", "text": "x"})
    now[0] = utcnow()  # the item was queued at the real time
    assert await outbox.run_once() == 0
    first = await _item(sessions, item_id)
    assert (first.status, first.attempts, first.last_error) == ("queued", 1, "system busy")
    assert await outbox.run_once() == 0  # not due yet
    assert len(sender.sent) == 1
    now[0] += dt.timedelta(seconds=0.06)
    assert await outbox.run_once() == 0
    second = await _item(sessions, item_id)
    assert second.next_attempt_at - first.next_attempt_at >= dt.timedelta(seconds=0.09)
    now[0] += dt.timedelta(seconds=0.12)
    assert await outbox.run_once() == 1
    assert (await _item(sessions, item_id)).attempts == 3
    assert outbox.backoff(1) == 0.05 and outbox.backoff(4) == 0.4


async def test_gives_up_after_max_attempts(sessions: async_sessionmaker[AsyncSession]) -> None:
    outbox = Outbox(sessions, base_delay=0.0, max_attempts=2)
    outbox.register("dingtalk", ScriptedSender(SendResult("retry"), SendResult("retry"), SendResult("retry")))
    item_id = await outbox.add("dingtalk", "staff-1", {"text": "x"})
    await outbox.run_once()
    await outbox.run_once()
    assert (await _item(sessions, item_id)).status == "failed"


async def test_sender_crash_is_never_repeated(sessions: async_sessionmaker[AsyncSession]) -> None:
    outbox = Outbox(sessions, base_delay=0.0)
    sender = ScriptedSender(RuntimeError("read timeout after the request went out"))
    outbox.register("dingtalk", sender)
    item_id = await outbox.add("dingtalk", "staff-1", {"text": "x"})
    await outbox.run_once()
    await outbox.run_once()
    assert (await _item(sessions, item_id)).status == "unknown"
    assert len(sender.sent) == 1


async def test_concurrent_workers_send_each_item_at_most_once(sessions: async_sessionmaker[AsyncSession]) -> None:
    sender = ScriptedSender(delay=0.01)
    workers = [Outbox(sessions) for _ in range(4)]
    for worker in workers:
        worker.register("dingtalk", sender)
    for n in range(10):
        await workers[0].add("dingtalk", f"staff-{n % 3}", {"text": f"m{n}"})
    await asyncio.gather(*(w.run_once() for w in workers))
    assert sorted(i.payload["text"] for i in sender.sent) == sorted(f"m{n}" for n in range(10))


async def test_held_items_wait_for_release(sessions: async_sessionmaker[AsyncSession]) -> None:
    outbox = Outbox(sessions)
    outbox.register("wechat", ScriptedSender(SendResult("held", "quota")))
    item_id = await outbox.add("wechat", "o1", {"text": "x"})
    await outbox.run_once()
    assert (await _item(sessions, item_id)).status == "held"
    await outbox.run_once()
    assert (await _item(sessions, item_id)).status == "held"
    assert await outbox.release_held("wechat", "o2") == 0
    assert await outbox.release_held("wechat", "o1") == 1
    assert await outbox.run_once() == 1


async def test_cancel_and_channels_without_a_sender(sessions: async_sessionmaker[AsyncSession]) -> None:
    outbox = Outbox(sessions)
    outbox.register("dingtalk", ScriptedSender())
    a = await outbox.add("wechat", "o1", {"text": "x"})
    b = await outbox.add("fax", "o1", {"text": "x"})
    assert await outbox.cancel("wechat", "o1", "unsubscribed") == 1
    await outbox.run_once()
    assert (await _item(sessions, a)).status == "cancelled"
    # A process without a sender for a channel leaves its items for a process that has one.
    assert (await _item(sessions, b)).status == "queued"


async def test_enqueue_in_the_callers_transaction_rolls_back_with_it(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    with pytest.raises(RuntimeError):
        async with unit_of_work(sessions) as session:
            await enqueue(session, "dingtalk", "staff-1", {"text": "x"})
            raise RuntimeError("the caller failed")
    async with sessions() as session:
        assert list(await session.scalars(select(OutboxItem))) == []


async def test_run_loop_wakes_on_kick(sessions: async_sessionmaker[AsyncSession]) -> None:
    outbox = Outbox(sessions)
    sender = ScriptedSender()
    outbox.register("dingtalk", sender)
    loop = asyncio.create_task(outbox.run(interval=60))
    try:
        await asyncio.sleep(0.05)
        await outbox.add("dingtalk", "staff-1", {"text": "now"})
        for _ in range(100):
            if sender.sent:
                break
            await asyncio.sleep(0.02)
        assert [i.payload["text"] for i in sender.sent] == ["now"]
    finally:
        loop.cancel()
        await asyncio.gather(loop, return_exceptions=True)


async def _stuck_sending(outbox: Outbox, channel: str, text: str, conversation_id: str | None = None) -> int:
    """An item a crashed sender left `sending` (claimed, never finished)."""
    item_id = await outbox.add(channel, "r1", {"type": "text", "text": text}, conversation_id=conversation_id)
    assert await outbox._claim(item_id) is not None
    return item_id


async def test_items_left_sending_past_the_lease_follow_channel_semantics(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    conversation_id = await _conversation(sessions)
    now = [utcnow()]
    outbox = Outbox(sessions, clock=lambda: now[0])
    senders = {channel: ScriptedSender() for channel in ("wechat", "dingtalk", "webchat", "wecom")}
    for channel, sender in senders.items():
        outbox.register(channel, sender, resendable=channel == "wecom")
    stuck = {c: await _stuck_sending(outbox, c, f"to {c}", conversation_id) for c in senders}
    now[0] += dt.timedelta(minutes=4)
    young = await _stuck_sending(outbox, "wechat", "young")
    assert await outbox.run_once() == 0  # inside the lease: nobody touches them
    assert {c: (await _item(sessions, i)).status for c, i in stuck.items()} == dict.fromkeys(senders, "sending")
    now[0] += dt.timedelta(minutes=2)
    assert await outbox.run_once() == 2  # the resendable ones, once each
    statuses = {c: (await _item(sessions, i)).status for c, i in stuck.items()}
    assert statuses == {"wechat": "unknown", "dingtalk": "unknown", "webchat": "sent", "wecom": "sent"}
    assert [i.payload["text"] for i in senders["webchat"].sent] == ["to webchat"]
    assert senders["wechat"].sent == [] and senders["dingtalk"].sent == []  # never sent twice
    assert (await _item(sessions, young)).status == "sending"  # its lease (4 minutes younger) still runs
    async with sessions() as session:
        rows = {m.text: m.status for m in await session.scalars(select(Message))}
    assert rows == {"to wechat": "unknown", "to dingtalk": "unknown", "to webchat": "sent", "to wecom": "sent"}


async def test_a_late_sender_outcome_still_wins_over_unknown(sessions: async_sessionmaker[AsyncSession]) -> None:
    now = [utcnow()]
    outbox = Outbox(sessions, clock=lambda: now[0])
    sender = ScriptedSender()
    outbox.register("wechat", sender)
    item_id = await outbox.add("wechat", "r1", {"text": "x"})
    item = await outbox._claim(item_id)
    assert item is not None
    now[0] += dt.timedelta(minutes=10)
    assert await outbox.reclaim() == 1
    assert (await _item(sessions, item_id)).status == "unknown"
    await outbox._finish(item, SendResult("sent"))  # the slow sender did get an answer in the end
    assert (await _item(sessions, item_id)).status == "sent"


async def test_a_stale_finisher_never_overwrites_a_new_claim(sessions: async_sessionmaker[AsyncSession]) -> None:
    now = [utcnow()]
    outbox = Outbox(sessions, clock=lambda: now[0])
    outbox.register("webchat", ScriptedSender())
    item_id = await outbox.add("webchat", "r1", {"text": "x"})
    stale = await outbox._claim(item_id)
    assert stale is not None
    now[0] += dt.timedelta(minutes=10)
    assert await outbox.reclaim() == 1
    fresh = await outbox._claim(item_id)
    assert fresh is not None and fresh.attempts == 2
    await outbox._finish(stale, SendResult("failed", "old worker"))
    assert (await _item(sessions, item_id)).status == "sending"  # the new holder's claim stands
    await outbox._finish(fresh, SendResult("sent"))
    assert (await _item(sessions, item_id)).status == "sent"


@pytest.mark.parametrize("lie", [0, 1])
async def test_claims_never_trust_the_drivers_row_count(
    sessions: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch, lie: int
) -> None:
    # A driver that misreports rowcount (SQLite was seen to under load) changes nothing: RETURNING decides.
    monkeypatch.setattr(CursorResult, "rowcount", property(lambda self: lie))
    outbox = Outbox(sessions)
    sender = ScriptedSender(SendResult("held", "quota"))
    outbox.register("wechat", sender)
    item_id = await outbox.add("wechat", "o1", {"text": "x"})
    assert await outbox.send_one(item_id) == "held"
    assert await outbox.send_one(item_id) is None  # not queued: no second claim whatever rowcount says
    assert await outbox.release_held("wechat", "o2") == 0
    assert await outbox.release_held("wechat", "o1") == 1
    assert await outbox.send_one(item_id) == "sent"
    assert await outbox.send_one(item_id) is None
    assert await outbox.cancel("wechat", "o1", "unsubscribed") == 0
    assert len(sender.sent) == 2


async def test_failure_watchers_hear_of_refusals_and_given_up_retries_only(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    conversation_id = await _conversation(sessions)
    clock = [utcnow() + dt.timedelta(minutes=1)]  # items are queued at the real now
    outbox = Outbox(sessions, max_attempts=2, clock=lambda: clock[0])
    heard: list[tuple[int, str]] = []

    async def watcher(item: Item, reason: str) -> None:
        heard.append((item.id, reason))

    async def broken(item: Item, reason: str) -> None:
        raise RuntimeError("a watcher that fails never stops the others")

    outbox.on_failed(broken)
    outbox.on_failed(watcher)
    outbox.register("dingtalk", ScriptedSender(SendResult("retry", "busy"), SendResult("retry", "busy again")))
    retried = await outbox.add("dingtalk", "staff-1", {"type": "text", "text": "a"}, conversation_id=conversation_id)
    assert await outbox.run_once() == 0
    assert (await _item(sessions, retried)).attempts == 1
    assert heard == [], "a retry that is still allowed is not a failure"
    clock[0] += dt.timedelta(hours=1)
    await outbox.run_once()
    item = await _item(sessions, retried)
    assert (item.status, item.attempts) == ("failed", 2)
    assert heard == [(retried, "gave up after 2 attempts: busy again")]
    assert (await _item(sessions, retried)).status == "failed"

    outbox.register("dingtalk", ScriptedSender(SendResult("failed", "refused"), SendResult("sent")))
    refused = await outbox.add("dingtalk", "staff-1", {"type": "text", "text": "b"}, conversation_id=conversation_id)
    sent = await outbox.add("dingtalk", "staff-1", {"type": "text", "text": "c"}, conversation_id=conversation_id)
    assert await outbox.run_once() == 1
    assert heard[1:] == [(refused, "refused")] and sent not in [i for i, _ in heard]
