"""Bookkeeping and audit kinds: finished rows past their short period go, unfinished or young ones stay."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from stand_ins.retention_world import NOW, ago

from sharedcourt.db.audit import DingTalkInbound, SeenSignature
from sharedcourt.db.outbox import OutboxItem
from sharedcourt.db.session import unit_of_work
from sharedcourt.db.staff import StaffAccount, StaffSession
from sharedcourt.db.wechat import WeChatConsent
from sharedcourt.retention.bookkeeping import purge_audit, purge_bookkeeping
from sharedcourt.retention.periods import Cutoffs
from sharedcourt.retention.run import Run, table_names
from sharedcourt.settings import Settings


async def _run(sessions: async_sessionmaker[AsyncSession], **settings: int) -> Run:
    return Run(sessions, Cutoffs.of(Settings(**settings), NOW), False, await table_names(sessions))


async def test_finished_outbox_and_replay_rows_past_their_period_go(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with unit_of_work(sessions) as session:
        for status, days in (("sent", 31), ("failed", 31), ("queued", 31), ("held", 31), ("sent", 29)):
            session.add(OutboxItem(channel="wechat", recipient="o1", status=status, created_at=ago(days)))
        session.add(SeenSignature(channel="wechat", signature="old", seen_at=ago(8)))
        session.add(SeenSignature(channel="wechat", signature="new", seen_at=ago(1)))
        session.add(DingTalkInbound(msg_id="done", claimed_at=ago(8), handled_at=ago(8)))
        session.add(DingTalkInbound(msg_id="unhandled", claimed_at=ago(8), handled_at=None))
    run = await _run(sessions)
    await purge_bookkeeping(run)
    assert (run.counts["outbox"], run.counts["seen_signatures"], run.counts["dingtalk_inbound"]) == (2, 1, 1)
    async with sessions() as session:
        outbox = sorted(await session.scalars(select(OutboxItem.status)))
        signatures = list(await session.scalars(select(SeenSignature.signature)))
        inbound = list(await session.scalars(select(DingTalkInbound.msg_id)))
    assert (outbox, signatures, inbound) == (["held", "queued", "sent"], ["new"], ["unhandled"])


async def test_used_consents_and_ended_staff_sessions_past_their_period_go(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(sessions) as session:
        account = StaffAccount(username="retention-probe", display_name="测试", password_hash="x")
        session.add(account)
        await session.flush()
        for key, expired in (("old", ago(31)), ("live", ago(-1))):
            session.add(
                StaffSession(
                    id_hash=key, account_id=account.id, created_at=ago(40), last_seen_at=ago(40), expires_at=expired
                )
            )
        for openid, status, days in (("o-used", "used", 31), ("o-granted", "granted", 400), ("o-new", "used", 1)):
            session.add(WeChatConsent(openid=openid, template_id="t", status=status, granted_at=ago(days)))
    run = await _run(sessions)
    await purge_bookkeeping(run)
    assert (run.counts["staff_sessions"], run.counts["wechat_consents"]) == (1, 1)
    async with sessions() as session:
        assert list(await session.scalars(select(StaffSession.id_hash))) == ["live"]
        assert sorted(await session.scalars(select(WeChatConsent.openid))) == ["o-granted", "o-new"]


async def test_the_audit_kind_is_a_logged_no_op_without_its_table(
    sessions: async_sessionmaker[AsyncSession], caplog: pytest.LogCaptureFixture
) -> None:
    run = await _run(sessions)
    with caplog.at_level(logging.INFO, logger="sharedcourt.retention"):
        await purge_audit(run, "no_such_audit_table")
    assert run.counts["audit"] == 0
    assert "no no_such_audit_table table" in caplog.text


async def test_audit_rows_past_the_audit_period_go(sessions: async_sessionmaker[AsyncSession]) -> None:
    # A stand-in of the audit table (its real one comes with staff accounts): an id and the time `at`.
    name = "retention_probe_audit"
    async with unit_of_work(sessions) as session:
        await session.execute(text(f"CREATE TABLE {name} (id INTEGER PRIMARY KEY, at TIMESTAMP WITH TIME ZONE)"))
    try:
        async with unit_of_work(sessions) as session:
            for key, days in ((1, 1200), (2, 1000)):
                await session.execute(
                    text(f"INSERT INTO {name} (id, at) VALUES (:i, :at)"), {"i": key, "at": ago(days)}
                )
        run = await _run(sessions, retention_audit_days=1095)
        await purge_audit(run, name)
        async with sessions() as session:
            left = list(await session.scalars(text(f"SELECT id FROM {name}")))
    finally:
        async with unit_of_work(sessions) as session:
            await session.execute(text(f"DROP TABLE {name}"))
    assert run.counts["audit"] == 1 and left == [2]
