"""GET /metrics (sharedcourt.web.metrics): who may scrape, counters that move when a message flows, and the
database gauges read at scrape time; every answer parsed by prometheus_client's own text parser."""

from __future__ import annotations

import datetime as dt
import ipaddress

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from stand_ins.secure_app import Stack, secure_app

from sharedcourt.db.base import utcnow
from sharedcourt.db.conversation import Conversation, Message, Resident
from sharedcourt.db.outbox import OutboxItem
from sharedcourt.db.session import make_engine, make_sessionmaker, unit_of_work
from sharedcourt.errors import ConfigError
from sharedcourt.settings import Settings
from sharedcourt.telemetry.metrics import TURN_BUCKETS
from sharedcourt.web.metrics import database_gauges, networks, scraper_allowed

ALLOWED = networks("10.0.0.5, 10.1.0.0/24, 2001:db8::/64")


@pytest.mark.parametrize(
    ("host", "headers", "allowed"),
    [
        ("127.0.0.1", [], True),
        ("127.8.9.1", [], True),
        ("::1", [], True),
        ("::ffff:127.0.0.1", [], True),
        ("10.0.0.5", [], True),
        ("10.1.0.77", [], True),
        ("2001:db8::9", [], True),
        ("10.0.0.6", [], False),
        ("10.2.0.1", [], False),
        ("203.0.113.1", [], False),
        ("127.0.0.1", ["X-Forwarded-For"], False),
        ("127.0.0.1", ["forwarded"], False),
        ("127.0.0.1", ["X-Real-IP"], False),
        ("10.0.0.5", ["X-Forwarded-For"], True),
        ("testclient", [], False),
        (None, [], False),
    ],
)
def test_who_may_scrape(host: str | None, headers: list[str], allowed: bool) -> None:
    assert scraper_allowed(host, headers, ALLOWED) is allowed


def test_allow_list_is_checked_when_settings_are_read() -> None:
    assert Settings.from_env({"METRICS_ALLOW": "10.0.0.5,10.1.0.0/24"}).metrics_allow == "10.0.0.5,10.1.0.0/24"
    with pytest.raises(ConfigError, match="METRICS_ALLOW"):
        Settings.from_env({"METRICS_ALLOW": "10.0.0.5,scraper.example"})
    assert networks("") == []
    assert networks("10.0.0.5") == [ipaddress.ip_network("10.0.0.5/32")]


async def _scrape(stack: Stack) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = await stack.client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def _value(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_counters_and_turn_histogram_move_when_a_message_flows(database_url: str, sessions: object) -> None:
    async with secure_app(database_url) as stack:
        before = await _scrape(stack)
        response = await stack.client.post("/webchat/messages", json={"text": "邻居装修太吵了"})
        assert response.status_code == 200, response.text
        after = await _scrape(stack)
    assert _value(after, "sharedcourt_messages_in_total", channel="webchat") == (
        _value(before, "sharedcourt_messages_in_total", channel="webchat") + 1
    )
    assert _value(after, "sharedcourt_messages_out_total", channel="webchat") == (
        _value(before, "sharedcourt_messages_out_total", channel="webchat") + 1
    ), "the fake Rasa answers one message"
    assert _value(after, "sharedcourt_turn_seconds_count") == _value(before, "sharedcourt_turn_seconds_count") + 1
    buckets = {labels[0][1] for name, labels in after if name == "sharedcourt_turn_seconds_bucket"}
    assert buckets == {*(str(float(b)) for b in TURN_BUCKETS), "+Inf"}
    assert _value(after, "sharedcourt_turn_seconds_bucket", le="+Inf") == _value(
        after, "sharedcourt_turn_seconds_count"
    )
    assert _value(after, "sharedcourt_database_up") == 1
    assert _value(after, "sharedcourt_active_conversations") >= 1


async def test_a_stranger_is_refused_and_sees_no_metric(database_url: str, sessions: object) -> None:
    async with secure_app(database_url) as stack:
        transport = httpx.ASGITransport(app=stack.app, client=("198.51.100.4", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            response = await client.get("/metrics")
    assert response.status_code == 403
    assert "sharedcourt_" not in response.text


async def test_database_gauges_count_what_waits(database_url: str, sessions: async_sessionmaker[AsyncSession]) -> None:
    now = utcnow()
    async with unit_of_work(sessions) as session:
        resident = Resident(channel="wechat", channel_user_id="oGauge0001")
        session.add(resident)
        await session.flush()
        conversation = Conversation(resident_id=resident.id, channel="wechat")
        session.add(conversation)
        await session.flush()
        kept = dict(conversation_id=conversation.id, channel="wechat", author="resident", status="pending")
        session.add_all([Message(direction="in", text="在吗", **kept), Message(direction="in", text="？", **kept)])
        held = dict(conversation_id=conversation.id, channel="wechat", author="bot", status="held")
        session.add(Message(direction="out", text="稍后回复", **held))
        common = dict(channel="wechat", recipient="oGauge0001", payload={"type": "text", "text": "x"})
        session.add_all(
            [
                OutboxItem(status="queued", next_attempt_at=now - dt.timedelta(seconds=90), **common),
                OutboxItem(status="queued", next_attempt_at=now - dt.timedelta(seconds=5), **common),
                OutboxItem(status="queued", next_attempt_at=now + dt.timedelta(hours=20), **common),
                OutboxItem(status="held", **common),
                OutboxItem(status="sent", **common),
            ]
        )
    families = {f.name: f for f in await database_gauges(sessions, now)}
    values = {(f.name, tuple(s.labels.values())): s.value for f in families.values() for s in f.samples}
    assert values[("sharedcourt_database_up", ())] == 1
    assert values[("sharedcourt_messages_waiting", ("pending",))] == 2
    assert values[("sharedcourt_messages_waiting", ("held",))] == 1
    assert values[("sharedcourt_outbox_items", ("due",))] == 2
    assert values[("sharedcourt_outbox_items", ("scheduled",))] == 1
    assert values[("sharedcourt_outbox_items", ("held",))] == 1
    assert values[("sharedcourt_outbox_items", ("sending",))] == 0
    assert 89 <= values[("sharedcourt_outbox_oldest_due_seconds", ())] <= 91
    assert values[("sharedcourt_active_conversations", ())] == 1
    assert "sharedcourt_bookings_recent" in families


async def test_an_empty_database_reports_zeros(database_url: str, sessions: async_sessionmaker[AsyncSession]) -> None:
    families = await database_gauges(sessions, utcnow())
    values = {(f.name, tuple(s.labels.values())): s.value for f in families for s in f.samples}
    assert values[("sharedcourt_outbox_oldest_due_seconds", ())] == 0
    assert values[("sharedcourt_messages_waiting", ("pending",))] == 0
    assert values[("sharedcourt_active_conversations", ())] == 0


async def test_a_database_down_is_a_gauge_not_a_failed_scrape(database_url: str, sessions: object) -> None:
    dead = make_engine("postgresql://nobody@127.0.0.1:9/none")
    try:
        families = await database_gauges(make_sessionmaker(dead), utcnow())
    finally:
        await dead.dispose()
    assert [(f.name, [s.value for s in f.samples]) for f in families] == [("sharedcourt_database_up", [0])]
    async with secure_app(database_url) as stack:
        dead = make_engine("postgresql://nobody@127.0.0.1:9/none")
        kept, stack.app.state.sessions = stack.app.state.sessions, make_sessionmaker(dead)
        try:
            samples = await _scrape(stack)
        finally:
            stack.app.state.sessions = kept
            await dead.dispose()
    assert _value(samples, "sharedcourt_database_up") == 0
    assert ("sharedcourt_turn_seconds_count", ()) in samples, "the process's own metrics are still served"
