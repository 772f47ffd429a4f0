"""The units of work that purge one conversation: an enquiry's old messages, a case's whole record, evidence.

Each unit locks the conversation row first (PostgreSQL: FOR UPDATE, which waits for and then blocks any insert
referencing it, such as a new message; SQLite: BEGIN IMMEDIATE serialises writers), re-checks that it is still
due, then does all of its work in that one transaction: a case is never left half deleted. Evidence files are
unlinked inside the transaction, before commit: a crash in between leaves rows whose file is missing, which the
next run counts as missing and deletes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, Float, Row, String, column, delete, func, select, table, update
from sqlalchemy.ext.asyncio import AsyncSession

from sharedcourt.db.booking import Booking, CallbackRequest, Reminder, ReminderOptOut
from sharedcourt.db.case import Case, Evidence
from sharedcourt.db.conversation import Conversation, Message, Resident
from sharedcourt.db.outbox import OutboxItem
from sharedcourt.db.ticket import Rating, Ticket, TicketEvent
from sharedcourt.db.wechat import WeChatConsent, WeChatTurn
from sharedcourt.retention import candidates
from sharedcourt.retention.run import Run

C = Conversation
# Rasa's tracker store shares our database and keeps every turn's text under the conversation id.
TRACKER = table("events", column("sender_id", String), column("timestamp", Float))


async def _locked(session: AsyncSession, conversation_id: str, due: list[ColumnElement[bool]]) -> Row[Any] | None:
    """Lock the conversation, then re-read it only if it is still due: (resident_id, purged_at) or None."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(select(C.id).where(C.id == conversation_id).with_for_update())
    found = await session.execute(select(C.resident_id, C.purged_at).where(C.id == conversation_id, *due))
    return found.first()


async def _drop_evidence(session: AsyncSession, run: Run, rows: Sequence[Row[Any]]) -> None:
    """Delete evidence rows and the files no other remaining row uses (a missing file is counted, not an error)."""
    ids = [row.id for row in rows]
    if not ids:
        return
    await session.execute(delete(Evidence).where(Evidence.id.in_(ids)))
    run.gone_evidence.update(ids)
    run.counts["evidence"] += len(ids)
    for path in sorted({row.path for row in rows if row.path}):
        # Files are stored by content hash: the same photo sent twice is one file under two rows.
        sharing = set(await session.scalars(select(Evidence.id).where(Evidence.path == path))) - run.gone_evidence
        if sharing:
            continue
        file = Path(path)
        if not await asyncio.to_thread(file.is_file):
            run.counts["evidence_files_missing"] += 1
            continue
        run.counts["evidence_files"] += 1
        if not run.dry_run:
            await asyncio.to_thread(file.unlink, missing_ok=True)


async def _drop_messages(session: AsyncSession, conversation_id: str, before: dt.datetime | None) -> int:
    """Delete the conversation's messages (older than `before` only, if given) and their WeChat turn rows."""
    which = [Message.conversation_id == conversation_id]
    if before is not None:
        which.append(Message.created_at < before)
    await session.execute(delete(WeChatTurn).where(WeChatTurn.message_id.in_(select(Message.id).where(*which))))
    result = await session.execute(delete(Message).where(*which))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def _drop_tracker(session: AsyncSession, run: Run, conversation_id: str, before: dt.datetime | None) -> None:
    """Delete Rasa's tracker events of the conversation (older than `before` only, if given) where Rasa's table is."""
    if "events" not in run.tables:
        return
    which = [TRACKER.c.sender_id == conversation_id]
    if before is not None:
        which.append(TRACKER.c.timestamp < before.timestamp())
    result = await session.execute(delete(TRACKER).where(*which))
    run.counts["tracker_events"] += int(result.rowcount or 0)  # type: ignore[attr-defined]


async def _drop_queued(session: AsyncSession, conversation_id: str) -> None:
    """The conversation's outbox items and its bookings' reminders: copies of what was said, nothing else."""
    await session.execute(delete(OutboxItem).where(OutboxItem.conversation_id == conversation_id))
    bookings = select(Booking.id).where(Booking.conversation_id == conversation_id)
    await session.execute(delete(Reminder).where(Reminder.booking_id.in_(bookings)))


async def _anonymise_case_records(session: AsyncSession, conversation_id: str) -> None:
    """Clear the free text and facts of the conversation's cases, tickets, bookings and callbacks; keep the
    codes, states and dates statistics count (dispute type, site, outcome, when). Dates are kept as they were."""
    tickets = select(Ticket.id).where(Ticket.conversation_id == conversation_id)
    await session.execute(
        update(Case)
        .where(Case.conversation_id == conversation_id)
        .values(facts={}, summary="", updated_at=Case.updated_at)
    )
    await session.execute(
        update(Ticket)
        .where(Ticket.conversation_id == conversation_id)
        .values(summary="", note="", reason="", evidence=[], updated_at=Ticket.updated_at)
    )
    await session.execute(update(TicketEvent).where(TicketEvent.ticket_id.in_(tickets)).values(detail={}))
    await session.execute(update(Rating).where(Rating.ticket_id.in_(tickets)).values(comment=""))
    await session.execute(
        update(Booking)
        .where(Booking.conversation_id == conversation_id)
        .values(reason=None, updated_at=Booking.updated_at)
    )
    await session.execute(
        update(CallbackRequest)
        .where(CallbackRequest.conversation_id == conversation_id)
        .values(phone=None, preference="")
    )


async def _mark_purged(session: AsyncSession, run: Run, conversation_id: str) -> None:
    await session.execute(
        update(C).where(C.id == conversation_id).values(purged_at=run.cutoffs.now, updated_at=C.updated_at)
    )
    run.purged.add(conversation_id)


async def _anonymise_resident(session: AsyncSession, run: Run, resident_id: int, conversation_id: str) -> None:
    """Once all of a resident's conversations are purged: clear name, phone, precise place and channel id; keep
    the site, the county part of the place code, the channel and the dates."""
    others = select(C.id).where(C.resident_id == resident_id, C.id != conversation_id, C.purged_at.is_(None))
    if set(await session.scalars(others)) - run.purged:
        return
    resident = await session.get_one(Resident, resident_id)
    if resident.is_staff:
        return  # staff using a channel are not residents: their identity is the console's, not ours to clear
    values: dict[str, Any] = {
        "name": None,
        "phone": None,
        "latitude": None,
        "longitude": None,
        "location_label": None,
        "place_code": resident.place_code[:6] if resident.place_code else None,
        # A new message from the same account starts afresh instead of reopening a purged record.
        "channel_user_id": f"purged:{resident_id}",
        "subscribed": False,
    }
    if all(getattr(resident, key) == value for key, value in values.items()):
        return
    # Their WeChat consents and reminder opt-outs name the account: they go with its identity.
    if resident.channel_user_id and not resident.channel_user_id.startswith("purged:"):
        await session.execute(delete(WeChatConsent).where(WeChatConsent.openid == resident.channel_user_id))
    await session.execute(delete(ReminderOptOut).where(ReminderOptOut.resident_id == resident_id))
    await session.execute(update(Resident).where(Resident.id == resident_id).values(**values))
    run.counts["residents"] += 1


async def purge_case(run: Run, conversation_id: str) -> None:
    """A case conversation idle for the case period: everything it said goes, its case records are anonymised."""
    cut = run.cutoffs
    async with run.unit() as session:
        row = await _locked(session, conversation_id, candidates.due_cases(cut.case, cut.now))
        if row is None:
            return
        run.handled.add(conversation_id)
        await _drop_evidence(session, run, (await session.execute(candidates.evidence_of(conversation_id))).all())
        run.counts["case_messages"] += await _drop_messages(session, conversation_id, None)
        await _drop_tracker(session, run, conversation_id, None)
        await _drop_queued(session, conversation_id)
        new_cases = select(func.count(Case.id)).where(Case.conversation_id == conversation_id)
        if row.purged_at is not None:
            new_cases = new_cases.where(Case.created_at > row.purged_at)
        run.counts["cases"] += int(await session.scalar(new_cases) or 0)
        await _anonymise_case_records(session, conversation_id)
        await _mark_purged(session, run, conversation_id)
        await _anonymise_resident(session, run, row.resident_id, conversation_id)


async def purge_enquiry(run: Run, conversation_id: str) -> None:
    """An enquiry: its messages older than the period go; once nothing is left, the resident is anonymised."""
    cut = run.cutoffs
    async with run.unit() as session:
        row = await _locked(session, conversation_id, candidates.due_enquiries(cut.enquiry, cut.now))
        if row is None:
            return
        run.handled.add(conversation_id)
        old = candidates.evidence_of(conversation_id, before=cut.enquiry)
        await _drop_evidence(session, run, (await session.execute(old)).all())
        run.counts["enquiries"] += await _drop_messages(session, conversation_id, cut.enquiry)
        await _drop_tracker(session, run, conversation_id, cut.enquiry)
        idle = candidates.idle_since(cut.enquiry, cut.now)
        if await session.scalar(select(C.id).where(C.id == conversation_id, C.purged_at.is_(None), *idle)) is None:
            return  # still in use: only its old messages went
        await _drop_queued(session, conversation_id)
        run.counts["enquiry_conversations"] += 1
        await _mark_purged(session, run, conversation_id)
        await _anonymise_resident(session, run, row.resident_id, conversation_id)


async def purge_evidence(run: Run, conversation_id: str) -> None:
    """Evidence of a conversation idle for the (shorter) evidence period: rows and files go, the text stays."""
    cut = run.cutoffs
    async with run.unit() as session:
        if await _locked(session, conversation_id, candidates.due_evidence(cut.evidence, cut.now)) is None:
            return
        run.handled.add(conversation_id)
        await _drop_evidence(session, run, (await session.execute(candidates.evidence_of(conversation_id))).all())
