"""A whole run: the dry run changes nothing and counts what the real run then does; runs are logged by count."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from stand_ins.retention_world import NOW, World, ago, dump

from sharedcourt.db.outbox import OutboxItem
from sharedcourt.db.session import unit_of_work
from sharedcourt.retention.purge import KINDS, purge
from sharedcourt.settings import Settings


async def _mixed(sessions: async_sessionmaker[AsyncSession], tmp_path: Path) -> World:
    world = World(sessions)
    shared = tmp_path / "shared.jpg"
    shared.write_bytes(b"photo")
    await world.conversation(ago(400), messages=(400,))
    active = await world.conversation(ago(600), messages=(600, 5))
    await world.evidence(active, tmp_path / "gone.jpg", on_case=False, days=590)
    # Two old cases sharing one photo: the file goes with the second of them, in both runs.
    for _ in range(2):
        made = await world.case(await world.conversation(ago(1500), messages=(1500,)), ago(1400))
        await world.evidence(made, shared, on_case=True, days=1450)
    live = await world.case(await world.conversation(ago(1500), messages=(1500,)), ago(1400), ticket_state="offered")
    await world.booking(live, NOW + dt.timedelta(days=1), status="confirmed", changed=ago(1400))
    await world.conversation(ago(30), messages=(30,))
    async with unit_of_work(sessions) as session:
        for status, days in (("sent", 40), ("queued", 40), ("sent", 3)):
            session.add(OutboxItem(channel="wechat", recipient="o1", status=status, created_at=ago(days)))
    return world


async def test_the_dry_run_changes_nothing_and_counts_what_the_real_run_does(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    await _mixed(sessions, tmp_path)
    before = await dump(sessions)
    dry = await purge(sessions, Settings(), NOW, dry_run=True)
    assert await dump(sessions) == before
    assert (tmp_path / "shared.jpg").exists()
    real = await purge(sessions, Settings(), NOW, dry_run=False)
    assert real == dry
    assert {k: dry[k] for k in ("enquiries", "enquiry_conversations", "cases", "evidence", "outbox")} == {
        "enquiries": 3,
        "enquiry_conversations": 1,
        "cases": 2,
        "evidence": 3,
        "outbox": 1,
    }
    assert (dry["evidence_files"], dry["evidence_files_missing"], dry["residents"]) == (1, 1, 3)
    assert not (tmp_path / "shared.jpg").exists()
    # A second run the same day finds nothing left to do.
    assert set((await purge(sessions, Settings(), NOW, dry_run=False)).values()) == {0}


async def test_each_run_is_logged_with_its_counts_and_no_personal_data(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    await _mixed(sessions, tmp_path)
    with caplog.at_level(logging.INFO, logger="sharedcourt.retention"):
        counts = await purge(sessions, Settings(), NOW, dry_run=True)
    lines = [r.getMessage() for r in caplog.records if r.name == "sharedcourt.retention.purge"]
    assert len(lines) == 1 and "dry run" in lines[0]
    assert all(f"{kind}={counts[kind]}" in lines[0] for kind in KINDS)
    assert "张三" not in caplog.text and "13800001111" not in caplog.text and str(tmp_path) not in caplog.text


async def test_rasas_tracker_events_of_a_purged_conversation_go_too(sessions: async_sessionmaker[AsyncSession]) -> None:
    # Rasa's tracker store lives in the same database in production; here a minimal stand-in of its table.
    world = World(sessions)
    old = await world.case(await world.conversation(ago(1200), messages=(1200,)), ago(1100))
    enquiry = await world.conversation(ago(500), messages=(500, 3))
    async with unit_of_work(sessions) as session:
        await session.execute(
            text("CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id VARCHAR(255), timestamp FLOAT)")
        )
    try:
        async with unit_of_work(sessions) as session:
            rows = [(1, old.conversation_id, 1100), (2, enquiry.conversation_id, 500), (3, enquiry.conversation_id, 3)]
            for key, sender, days in rows:
                await session.execute(
                    text("INSERT INTO events (id, sender_id, timestamp) VALUES (:i, :s, :t)"),
                    {"i": key, "s": sender, "t": ago(days).timestamp()},
                )
        dry = await purge(sessions, Settings(), NOW, dry_run=True)
        counts = await purge(sessions, Settings(), NOW, dry_run=False)
        async with sessions() as session:
            left = list(await session.scalars(text("SELECT id FROM events ORDER BY id")))
    finally:
        async with unit_of_work(sessions) as session:
            await session.execute(text("DROP TABLE events"))
    assert dry["tracker_events"] == counts["tracker_events"] == 2
    assert left == [3]
