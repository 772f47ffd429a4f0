"""Router: store first, bot or human, command escaping, Rasa outages."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sharedcourt.clients.rasa import RasaClient
from sharedcourt.db.conversation import Conversation, Message
from sharedcourt.db.outbox import OutboxItem
from sharedcourt.errors import DuplicateMessage
from sharedcourt.messaging.outbox import enqueue
from sharedcourt.messaging.replies import Reply
from sharedcourt.messaging.router import HOLDING_REPLY, Inbound, Router


class FakeRasa:
    """A Rasa stand-in: the REST channel and the tracker, switchable off or to time out before/after the turn."""

    def __init__(self) -> None:
        self.up = True
        # "completed": the turn runs, then no answer comes back; "lost": no answer and the turn never ran.
        self.timeout: str | None = None
        self.received: list[dict[str, Any]] = []
        self.tracker_reads = 0
        self.events: dict[str, list[dict[str, Any]]] = {}
        self.replies: list[dict[str, Any]] = [{"text": "您好"}]
        # Runs while a turn is in Rasa's hands (another worker's retry round, a person taking over).
        self.during_turn: Callable[[], Awaitable[None]] | None = None

    async def handler(self, request: httpx.Request) -> httpx.Response:
        if not self.up:
            raise httpx.ConnectError("connection refused", request=request)
        if request.url.path == "/":
            return httpx.Response(200, text="Hello from Rasa: 3.6.21")
        if request.url.path.endswith("/tracker"):
            self.tracker_reads += 1
            sender = request.url.path.split("/")[2]
            return httpx.Response(200, json={"sender_id": sender, "events": self.events.get(sender, [])})
        if self.timeout == "lost":
            raise httpx.ReadTimeout("timed out", request=request)
        body = json.loads(request.content)
        self.received.append(body)
        if self.during_turn is not None:
            hook, self.during_turn = self.during_turn, None
            await hook()
        self._record(body)
        if self.timeout == "completed":
            raise httpx.ReadTimeout("timed out", request=request)
        return httpx.Response(200, json=[{"recipient_id": body["sender"], **r} for r in self.replies])

    def _record(self, body: dict[str, Any]) -> None:
        """The events Rasa saves for a turn: the user event (with our metadata), bot events, action_listen."""
        events = self.events.setdefault(body["sender"], [])
        events.append({"event": "user", "text": body["message"], "metadata": body["metadata"]})
        for reply in self.replies:
            data = {"buttons": reply.get("buttons"), "image": reply.get("image"), "custom": reply.get("custom")}
            events.append({"event": "bot", "text": reply.get("text"), "data": data})
        events.append({"event": "action", "name": "action_listen"})

    def client(self) -> RasaClient:
        return RasaClient("http://rasa.test", "t", transport=httpx.MockTransport(self.handler))


@pytest.fixture
def rasa() -> FakeRasa:
    return FakeRasa()


@pytest.fixture
def router(sessions: async_sessionmaker[AsyncSession], rasa: FakeRasa) -> Router:
    return Router(sessions, rasa.client())


async def _messages(sessions: async_sessionmaker[AsyncSession]) -> list[Message]:
    async with sessions() as session:
        return list(await session.scalars(select(Message).order_by(Message.id)))


async def test_message_stored_before_rasa_and_reply_stored(router: Router, rasa: FakeRasa, sessions: Any) -> None:
    replies = await router.handle(Inbound(channel="webchat", user_id="u1", text="你好"))
    assert [r.text for r in replies] == ["您好"]
    rows = await _messages(sessions)
    assert [(m.direction, m.text, m.status) for m in rows] == [("in", "你好", "processed"), ("out", "您好", "stored")]
    assert rasa.received[0]["sender"] == rows[0].conversation_id


async def test_slash_text_reaches_rasa_escaped(router: Router, rasa: FakeRasa, sessions: Any) -> None:
    await router.handle(Inbound(channel="webchat", user_id="u1", text='/inform{"amount":1}'))
    assert rasa.received[0]["message"] == '／inform{"amount":1}'
    assert (await _messages(sessions))[0].text == '/inform{"amount":1}'  # the transcript keeps what was typed


async def test_numbered_choice_sends_offered_payload(router: Router, rasa: FakeRasa) -> None:
    rasa.replies = [{"text": "请选择", "buttons": [{"title": "邻里纠纷", "payload": "/dispute_neighbor"}]}]
    await router.handle(Inbound(channel="webchat", user_id="u1", text="你好"))
    await router.handle(Inbound(channel="webchat", user_id="u1", text="1"))
    assert rasa.received[-1]["message"] == "/dispute_neighbor"


async def test_duplicate_external_id_is_stored_once(router: Router, sessions: Any) -> None:
    await router.store(Inbound(channel="wechat", user_id="o1", text="hi", external_id="m1"))
    with pytest.raises(DuplicateMessage):
        await router.store(Inbound(channel="wechat", user_id="o1", text="hi", external_id="m1"))
    assert len(await _messages(sessions)) == 1


async def test_rasa_down_holds_and_later_answers_in_order(router: Router, rasa: FakeRasa, sessions: Any) -> None:
    rasa.up = False
    first = await router.handle(Inbound(channel="webchat", user_id="u1", text="第一句"))
    second = await router.handle(Inbound(channel="webchat", user_id="u1", text="第二句"))
    assert [r.text for r in first] == [HOLDING_REPLY]
    assert [r.text for r in second] == [HOLDING_REPLY]
    assert await router.drain() == 0  # still down: nothing answered, nothing lost
    statuses = [m.status for m in await _messages(sessions) if m.direction == "in"]
    assert statuses == ["pending", "pending"]
    rasa.up = True
    assert await router.drain() == 2
    assert [b["message"] for b in rasa.received] == ["第一句", "第二句"]
    statuses = [m.status for m in await _messages(sessions) if m.direction == "in"]
    assert statuses == ["processed", "processed"]


async def test_new_message_after_outage_drains_older_first(router: Router, rasa: FakeRasa) -> None:
    rasa.up = False
    await router.handle(Inbound(channel="webchat", user_id="u1", text="旧消息"))
    rasa.up = True
    await router.handle(Inbound(channel="webchat", user_id="u1", text="新消息"))
    assert [b["message"] for b in rasa.received] == ["旧消息", "新消息"]


async def test_human_mode_relays_and_skips_rasa(router: Router, rasa: FakeRasa, sessions: Any) -> None:
    relayed: list[int] = []

    async def relay(message_id: int) -> None:
        relayed.append(message_id)

    router.relay = relay
    stored = await router.store(Inbound(channel="webchat", user_id="u1", text="你好"))
    async with sessions() as session, session.begin():
        conv = await session.get_one(Conversation, stored.conversation_id)
        conv.mode = "human"
    replies = await router.process(stored.message_id)
    assert replies == []
    assert relayed == [stored.message_id]
    assert rasa.received == []


async def test_messages_a_crash_left_half_way_are_answered_later(router: Router, rasa: FakeRasa, sessions: Any) -> None:
    # A crash between storing and answering: two messages stuck, an hour old; a third just arrived.
    old = [
        (await router.store(Inbound(channel="webchat", user_id=u, text=t))).message_id
        for u, t in (("u1", "还在吗"), ("u2", "我的预约"))
    ]
    fresh = (await router.store(Inbound(channel="webchat", user_id="u3", text="你好"))).message_id
    async with sessions() as session, session.begin():
        hour_ago = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)
        await session.execute(update(Message).where(Message.id.in_(old)).values(created_at=hour_ago))
        await session.execute(update(Message).where(Message.id == old[1]).values(status="processing"))
    assert await router.recover(dt.timedelta(minutes=5)) == 2
    assert await router.drain() == 2
    assert [b["message"] for b in rasa.received] == ["还在吗", "我的预约"]
    statuses = {m.id: m.status for m in await _messages(sessions) if m.direction == "in"}
    # the young one may be in another replica's hands: untouched
    assert statuses == {old[0]: "processed", old[1]: "processed", fresh: "received"}


async def _inbound(sessions: async_sessionmaker[AsyncSession]) -> dict[int, tuple[str, bool]]:
    return {m.id: (m.status, m.turn_unsure) for m in await _messages(sessions) if m.direction == "in"}


async def _outbound(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[str, str]]:
    return [(m.author, m.text) for m in await _messages(sessions) if m.direction == "out"]


async def test_timeout_after_rasa_ran_the_turn_stores_its_answer_and_never_replays(
    router: Router, rasa: FakeRasa, sessions: Any
) -> None:
    rasa.timeout = "completed"
    rasa.replies = [{"text": "请问是什么纠纷？", "buttons": [{"title": "邻里纠纷", "payload": "/dispute_neighbor"}]}]
    first = await router.handle(Inbound(channel="webchat", user_id="u1", text="我要调解"))
    assert [r.text for r in first] == [HOLDING_REPLY]
    (message_id,) = await _inbound(sessions)
    assert (await _inbound(sessions))[message_id] == ("pending", True)
    rasa.timeout = None
    assert await router.drain() == 1
    assert [b["message"] for b in rasa.received] == ["我要调解"]  # sent once, never replayed
    assert rasa.tracker_reads == 1
    assert (await _inbound(sessions))[message_id] == ("processed", False)
    assert await _outbound(sessions) == [("system", HOLDING_REPLY), ("bot", "请问是什么纠纷？")]
    rows = await _messages(sessions)
    assert rows[-1].payload["buttons"] == [{"title": "邻里纠纷", "payload": "/dispute_neighbor"}]


async def test_timeout_before_rasa_ran_the_turn_replays_it(router: Router, rasa: FakeRasa, sessions: Any) -> None:
    rasa.timeout = "lost"
    await router.handle(Inbound(channel="webchat", user_id="u1", text="我要调解"))
    rasa.timeout = None
    assert await router.drain() == 1
    assert rasa.tracker_reads == 1
    assert [b["message"] for b in rasa.received] == ["我要调解"]  # the first request never arrived
    assert list((await _inbound(sessions)).values()) == [("processed", False)]
    assert await _outbound(sessions) == [("system", HOLDING_REPLY), ("bot", "您好")]


async def test_refused_connection_replays_without_reading_the_tracker(router: Router, rasa: FakeRasa) -> None:
    rasa.up = False
    await router.handle(Inbound(channel="webchat", user_id="u1", text="第一句"))
    rasa.up = True
    assert await router.drain() == 1
    assert rasa.tracker_reads == 0
    assert [b["message"] for b in rasa.received] == ["第一句"]


async def test_tracker_unreachable_keeps_the_unsure_message(router: Router, rasa: FakeRasa, sessions: Any) -> None:
    rasa.timeout = "completed"
    await router.handle(Inbound(channel="webchat", user_id="u1", text="我要调解"))
    rasa.up = False
    assert await router.drain() == 0
    assert list((await _inbound(sessions)).values()) == [("pending", True)]


async def test_kept_message_goes_to_the_person_who_took_the_conversation(
    router: Router, rasa: FakeRasa, sessions: Any
) -> None:
    relayed: list[int] = []

    async def relay(message_id: int) -> None:
        relayed.append(message_id)

    router.relay = relay
    rasa.up = False
    stored = await router.store(Inbound(channel="webchat", user_id="u1", text="我被打了"))
    assert [r.text for r in await router.process(stored.message_id)] == [HOLDING_REPLY]
    async with sessions() as session, session.begin():
        (await session.get_one(Conversation, stored.conversation_id)).mode = "human"
    rasa.up = True
    assert await router.drain() == 1
    assert relayed == [stored.message_id]
    assert rasa.received == []
    assert (await _inbound(sessions))[stored.message_id] == ("relayed", False)


async def test_new_message_to_a_person_relays_the_kept_ones_first(
    router: Router, rasa: FakeRasa, sessions: Any
) -> None:
    relayed: list[int] = []

    async def relay(message_id: int) -> None:
        relayed.append(message_id)

    router.relay = relay
    rasa.up = False
    old = await router.store(Inbound(channel="webchat", user_id="u1", text="旧消息"))
    await router.process(old.message_id)
    async with sessions() as session, session.begin():
        (await session.get_one(Conversation, old.conversation_id)).mode = "human"
    new = await router.store(Inbound(channel="webchat", user_id="u1", text="新消息"))
    assert await router.process(new.message_id) == []
    assert relayed == [old.message_id, new.message_id]


async def test_recover_never_takes_a_kept_message_a_live_worker_holds(
    router: Router, rasa: FakeRasa, sessions: Any
) -> None:
    # Kept an hour ago; while worker A's turn for it is in Rasa's hands, another worker's retry round runs.
    rasa.up = False
    await router.handle(Inbound(channel="webchat", user_id="u1", text="还在吗"))
    async with sessions() as session, session.begin():
        hour_ago = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)
        await session.execute(update(Message).values(created_at=hour_ago))
    other = Router(sessions, rasa.client())
    rounds: list[tuple[int, int]] = []

    async def retry_round() -> None:
        rounds.append((await other.recover(dt.timedelta(minutes=5)), await other.drain()))

    rasa.up = True
    rasa.during_turn = retry_round
    assert await router.drain() == 1
    assert rounds == [(0, 0)]  # nothing taken back, nothing answered twice
    assert [b["message"] for b in rasa.received] == ["还在吗"]
    assert list((await _inbound(sessions)).values()) == [("processed", False)]


async def test_a_worker_whose_lease_was_taken_over_changes_nothing(
    router: Router, rasa: FakeRasa, sessions: Any
) -> None:
    clock = [dt.datetime.now(dt.timezone.utc)]
    router.clock = lambda: clock[0]
    stored = await router.store(Inbound(channel="webchat", user_id="u1", text="你好"))

    async def crash_presumed() -> None:
        # Worker A is so slow that its lease runs out; the retry loop takes the message back as unsure.
        clock[0] += dt.timedelta(minutes=10)
        assert await router.recover(dt.timedelta(minutes=5)) == 1

    rasa.during_turn = crash_presumed
    assert await router.process(stored.message_id) == []  # A's answer is not stored over the new state
    assert (await _inbound(sessions))[stored.message_id] == ("pending", True)
    assert await router.drain() == 1  # the tracker shows A's turn: stored once, not replayed
    assert len(rasa.received) == 1
    assert await _outbound(sessions) == [("bot", "您好")]


class OutboxQueuer:
    """A queueing channel stand-in: later replies become one outbox item, in the storing transaction."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.kicks = 0

    async def queue(
        self, session: AsyncSession, conversation_id: str, rows: Sequence[Message], replies: Sequence[Reply]
    ) -> bool:
        if self.fail:
            raise RuntimeError("queue failed")
        text = "\n".join(r.text for r in replies)
        await enqueue(
            session, "webchat", "u1", {"text": text}, conversation_id=conversation_id, message_ids=[m.id for m in rows]
        )
        return True

    def kick(self) -> None:
        self.kicks += 1


async def test_drained_reply_and_its_outbox_item_are_one_transaction(
    router: Router, rasa: FakeRasa, sessions: Any
) -> None:
    queuer = OutboxQueuer()
    router.deliverers["webchat"] = queuer
    rasa.up = False
    await router.handle(Inbound(channel="webchat", user_id="u1", text="第一句"))
    rasa.up = True
    assert await router.drain() == 1
    async with sessions() as session:
        items = list(await session.scalars(select(OutboxItem)))
    out = [m for m in await _messages(sessions) if m.direction == "out" and m.author == "bot"]
    assert [(i.payload["text"], i.message_ids, i.status) for i in items] == [("您好", [out[0].id], "queued")]
    assert out[0].status == "queued"
    assert queuer.kicks == 1


async def test_a_failed_queue_stores_no_reply(router: Router, rasa: FakeRasa, sessions: Any) -> None:
    router.deliverers["webchat"] = OutboxQueuer(fail=True)
    rasa.up = False
    await router.handle(Inbound(channel="webchat", user_id="u1", text="第一句"))
    rasa.up = True
    with pytest.raises(RuntimeError):
        await router.drain()
    assert await _outbound(sessions) == [("system", HOLDING_REPLY)]  # no bot reply without its outbox item
    async with sessions() as session:
        assert list(await session.scalars(select(OutboxItem))) == []


async def test_send_queues_a_persons_reply_with_its_row(router: Router, sessions: Any) -> None:
    queuer = OutboxQueuer()
    router.deliverers["webchat"] = queuer
    stored = await router.store(Inbound(channel="webchat", user_id="u1", text="你好"))
    await router.send(stored.conversation_id, [Reply("调解员：您好")], author="staff:1")
    async with sessions() as session:
        (item,) = list(await session.scalars(select(OutboxItem)))
    rows = [m for m in await _messages(sessions) if m.direction == "out"]
    assert [(m.id, m.text, m.status) for m in rows] == [(item.message_ids[0], "调解员：您好", "queued")]


async def test_two_front_doors_draining_at_once_keep_each_conversations_order(
    sessions: async_sessionmaker[AsyncSession], rasa: FakeRasa
) -> None:
    first_door, second_door = Router(sessions, rasa.client()), Router(sessions, rasa.client())
    rasa.up = False
    for text in ("第一句", "第二句"):
        await first_door.handle(Inbound(channel="webchat", user_id="u1", text=text))
    await first_door.handle(Inbound(channel="webchat", user_id="u2", text="别人的话"))
    rasa.up = True
    answered_meanwhile: list[int] = []

    async def other_door_drains() -> None:
        # While the first door's turn for 第一句 is in Rasa: 第二句 must wait, the other conversation need not.
        answered_meanwhile.append(await second_door.drain())

    rasa.during_turn = other_door_drains
    assert await first_door.drain() == 2
    assert answered_meanwhile == [1]
    assert [b["message"] for b in rasa.received] == ["第一句", "别人的话", "第二句"]
    statuses = [m.status for m in await _messages(sessions) if m.direction == "in"]
    assert statuses == ["processed", "processed", "processed"]


async def test_a_new_message_waits_while_another_door_answers_an_older_kept_one(
    sessions: async_sessionmaker[AsyncSession], rasa: FakeRasa
) -> None:
    first_door, second_door = Router(sessions, rasa.client()), Router(sessions, rasa.client())
    rasa.up = False
    for text in ("第一句", "第二句"):
        await first_door.handle(Inbound(channel="webchat", user_id="u1", text=text))
    rasa.up = True
    new_answers: list[list[str]] = []

    async def new_message_at_the_other_door() -> None:
        # 第一句 is in Rasa through the first door, 第二句 still kept: 第三句 must not overtake them.
        replies = await second_door.handle(Inbound(channel="webchat", user_id="u1", text="第三句"))
        new_answers.append([r.text for r in replies])

    rasa.during_turn = new_message_at_the_other_door
    await first_door.drain()
    assert new_answers == [[HOLDING_REPLY]]  # kept, told to wait, and answered after the older ones
    await first_door.drain()
    assert [b["message"] for b in rasa.received] == ["第一句", "第二句", "第三句"]
    statuses = [m.status for m in await _messages(sessions) if m.direction == "in"]
    assert statuses == ["processed", "processed", "processed"]


async def test_a_turn_in_which_rasa_said_nothing_is_answered_with_an_apology(
    sessions: async_sessionmaker[AsyncSession], rasa: FakeRasa
) -> None:
    # A custom action that failed mid-turn (its server killed) leaves Rasa's answer empty.
    from sharedcourt.messaging.tracker import NO_ANSWER_REPLY

    router = Router(sessions, rasa.client())
    rasa.replies = []
    stored = await router.store(Inbound(channel="webchat", user_id="u-silent", text="楼上漏水"))
    replies = await router.process(stored.message_id)
    assert [r.text for r in replies] == [NO_ANSWER_REPLY]
    async with sessions() as session:
        said = list(
            await session.scalars(
                select(Message.text).where(Message.conversation_id == stored.conversation_id, Message.author == "bot")
            )
        )
    assert said == [NO_ANSWER_REPLY]
    rasa.replies = [{"text": "您好"}]  # an ordinary answer is passed on as it is
    again = await router.store(Inbound(channel="webchat", user_id="u-silent", text="你好"))
    assert [r.text for r in await router.process(again.message_id)] == ["您好"]


async def test_a_silent_turn_read_back_from_the_tracker_is_answered_with_the_apology(
    router: Router, rasa: FakeRasa, sessions: Any
) -> None:
    from sharedcourt.messaging.tracker import NO_ANSWER_REPLY

    rasa.timeout, rasa.replies = "completed", []  # the turn ran, said nothing, and its answer never came back
    await router.handle(Inbound(channel="webchat", user_id="u-quiet", text="我要调解"))
    rasa.timeout = None
    assert await router.drain() == 1
    assert len(rasa.received) == 1  # read from the tracker, not replayed
    assert await _outbound(sessions) == [("system", HOLDING_REPLY), ("bot", NO_ANSWER_REPLY)]
