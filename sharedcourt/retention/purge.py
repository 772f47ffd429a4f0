"""`purge(sessions, settings, now, dry_run)`: every kind of record past its retention period, deleted or anonymised.

Order matters for the dry run to count what the real run does: the bulk bookkeeping first (both runs see the
same rows), then case conversations, enquiries, evidence (each conversation once per run), then the audit trail.
A dry run does the same work in transactions it rolls back, and touches no file.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sharedcourt.retention import candidates
from sharedcourt.retention.bookkeeping import purge_audit, purge_bookkeeping
from sharedcourt.retention.conversations import purge_case, purge_enquiry, purge_evidence
from sharedcourt.retention.periods import Cutoffs
from sharedcourt.retention.run import Run, table_names
from sharedcourt.settings import Settings

log = logging.getLogger(__name__)

# Every count a run reports, zero or not (the log line and the CLI always show the same keys).
KINDS = (
    "enquiries",
    "enquiry_conversations",
    "cases",
    "case_messages",
    "evidence",
    "evidence_files",
    "evidence_files_missing",
    "residents",
    "tracker_events",
    "audit",
    "link_openings",
    "outbox",
    "reminders",
    "wechat_turns",
    "wechat_quota",
    "seen_signatures",
    "dingtalk_inbound",
)


async def _due(run: Run, conditions: list[ColumnElement[bool]]) -> list[str]:
    async with run.sessions() as session:
        return [cid for cid in await session.scalars(candidates.ids_where(conditions)) if cid not in run.handled]


async def purge(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, now: dt.datetime, dry_run: bool
) -> dict[str, int]:
    """Purge every kind past its period at `now`; returns the count per kind (a dry run changes nothing)."""
    cut = Cutoffs.of(settings, now)
    run = Run(sessions, cut, dry_run, await table_names(sessions))
    await purge_bookkeeping(run)
    for conversation_id in await _due(run, candidates.due_cases(cut.case, now)):
        await purge_case(run, conversation_id)
    for conversation_id in await _due(run, candidates.due_enquiries(cut.enquiry, now)):
        await purge_enquiry(run, conversation_id)
    for conversation_id in await _due(run, candidates.due_evidence(cut.evidence, now)):
        await purge_evidence(run, conversation_id)
    await purge_audit(run)
    counts = {kind: run.counts[kind] for kind in KINDS}
    # Counts only: no ids, names or texts in the log.
    log.info(
        "retention purge%s at %s: %s",
        " (dry run, nothing changed)" if dry_run else "",
        now.isoformat(timespec="seconds"),
        " ".join(f"{kind}={n}" for kind, n in counts.items()),
    )
    return counts
