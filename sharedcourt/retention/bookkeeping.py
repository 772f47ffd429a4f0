"""Bulk kinds: the sending and replay bookkeeping (short periods) and the audit trail (the audit period).

Each kind is one DELETE in its own unit of work. The audit table (`audit_events`) comes with the staff accounts
feature; where it is absent the audit kind logs that and deletes nothing.
"""

from __future__ import annotations

import logging

from sqlalchemy import Delete, column, delete, inspect, table
from sqlalchemy.ext.asyncio import AsyncSession

from sharedcourt.db.audit import DingTalkInbound, LinkOpening, SeenSignature
from sharedcourt.db.base import UTCDateTime
from sharedcourt.db.booking import Reminder
from sharedcourt.db.outbox import OutboxItem
from sharedcourt.db.staff import StaffSession
from sharedcourt.db.wechat import WeChatConsent, WeChatQuota, WeChatTurn
from sharedcourt.retention.run import Run

log = logging.getLogger(__name__)

AUDIT_TABLE = "audit_events"
# The audit row's time, by the first of these names its table has.
AUDIT_TIME_COLUMNS = ("at", "created_at", "occurred_at")
# Outbox items and reminders in these states are done with; the others may still be sent.
FINISHED_OUTBOX = ("sent", "failed", "cancelled", "unknown")
FINISHED_REMINDERS = ("sent", "failed", "cancelled")


def bookkeeping(run: Run) -> dict[str, Delete]:
    """The DELETE of each bookkeeping kind at the run's cut-offs."""
    cut = run.cutoffs
    return {
        "outbox": delete(OutboxItem).where(OutboxItem.status.in_(FINISHED_OUTBOX), OutboxItem.created_at < cut.outbox),
        "reminders": delete(Reminder).where(Reminder.status.in_(FINISHED_REMINDERS), Reminder.created_at < cut.outbox),
        "wechat_turns": delete(WeChatTurn).where(WeChatTurn.created_at < cut.outbox),
        "wechat_quota": delete(WeChatQuota).where(WeChatQuota.window_end < cut.outbox),
        "seen_signatures": delete(SeenSignature).where(SeenSignature.seen_at < cut.replay),
        "dingtalk_inbound": delete(DingTalkInbound).where(
            DingTalkInbound.handled_at.is_not(None), DingTalkInbound.claimed_at < cut.replay
        ),
        "link_openings": delete(LinkOpening).where(LinkOpening.opened_at < cut.audit),
        # Ended or expired console sessions: only their hash and address remain, of no use past the period.
        "staff_sessions": delete(StaffSession).where(StaffSession.expires_at < cut.outbox),
        # Subscription consents already used or refused (a granted one is the resident's, kept until used).
        "wechat_consents": delete(WeChatConsent).where(
            WeChatConsent.status != "granted", WeChatConsent.granted_at < cut.outbox
        ),
    }


async def _execute(run: Run, kind: str, statement: Delete) -> None:
    async with run.unit() as session:
        result = await session.execute(statement)
        run.counts[kind] += int(result.rowcount or 0)  # type: ignore[attr-defined]


async def purge_bookkeeping(run: Run) -> None:
    """Delete every bookkeeping kind past its period, one unit of work each."""
    for kind, statement in bookkeeping(run).items():
        await _execute(run, kind, statement)


async def _time_column(session: AsyncSession, table_name: str) -> str | None:
    conn = await session.connection()
    names: set[str] = await conn.run_sync(lambda sync: {c["name"] for c in inspect(sync).get_columns(table_name)})
    return next((name for name in AUDIT_TIME_COLUMNS if name in names), None)


async def purge_audit(run: Run, table_name: str = AUDIT_TABLE) -> None:
    """Delete audit rows past the audit period; a no-op, logged, where the audit table is absent."""
    if table_name not in run.tables:
        log.info("retention: no %s table in this database; the audit kind has nothing to purge", table_name)
        return
    async with run.sessions() as session:
        name = await _time_column(session, table_name)
    if name is None:
        log.warning("retention: %s has none of the time columns %s; audit rows kept", table_name, AUDIT_TIME_COLUMNS)
        return
    audit = table(table_name, column(name, UTCDateTime()))
    await _execute(run, "audit", delete(audit).where(audit.c[name] < run.cutoffs.audit))
