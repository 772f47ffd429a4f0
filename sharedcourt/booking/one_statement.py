"""Booking on PostgreSQL in one statement: claim a seat, mark the case booked, insert the booking and its reminders.

The booking hot path (issue 14, docs/BENCHMARKS.md). PostgreSQL runs data-modifying CTEs as one statement, so the
four writes of the portable path in `service.book` cost one round trip instead of four. Each part reads what the
one before it RETURNed, so when no seat was claimed nothing is written. The guarantees are the database's, as on
the portable path: the conditional UPDATE re-checks the seat's room after a concurrent commit, the CHECK constraint
keeps `booked <= capacity`, the partial unique index allows one confirmed booking per case (IntegrityError).

The reminders' due times are computed in SQL from the rule `service.reminder_rows` states in Python (the day before
at a local time, and a fixed time before the start, each only while still ahead); tests/booking/test_one_statement.py
checks that both give the same rows.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Boolean, ColumnClause, Integer, Interval, String, Time, bindparam, column, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.selectable import TextualSelect

from sharedcourt.db.base import UTCDateTime
from sharedcourt.errors import NotFound

CLAIMED = "RETURNING id, site_code, starts_at, ends_at, mediator"
CLAIM_ASKED = f"""UPDATE slots SET booked = booked + 1
    WHERE id = :slot_id AND status = 'open' AND booked < capacity AND starts_at > :now
    {CLAIMED}"""
# Seats with room at the asked slot's site and time (the asked one included).
SAME_TIME = """FROM slots AS s JOIN slots AS asked ON asked.id = :slot_id
    WHERE s.site_code = asked.site_code AND s.starts_at = asked.starts_at AND s.status = 'open'
      AND s.booked < s.capacity AND s.starts_at > :now"""
# Seats other transactions hold locked are skipped; the UPDATE re-checks the room of the one it picked.
CLAIM_SAME_TIME = f"""UPDATE slots SET booked = booked + 1
    WHERE id = (SELECT s.id {SAME_TIME} ORDER BY s.id LIMIT 1 FOR UPDATE OF s SKIP LOCKED) AND booked < capacity
    {CLAIMED}"""
RECORD = """owner AS (
    UPDATE cases SET status = 'booked', site_code = claim.site_code, updated_at = :stamp
    FROM claim
    WHERE cases.id = :case_id
    RETURNING cases.resident_id, cases.conversation_id
), made AS (
    INSERT INTO bookings (slot_id, case_id, resident_id, conversation_id, site_code, starts_at, ends_at, mediator,
                          status, changed_by, reason, replaces_id, created_at, updated_at)
    SELECT claim.id, CAST(:case_id AS INTEGER), owner.resident_id, owner.conversation_id, claim.site_code,
           claim.starts_at, claim.ends_at, claim.mediator, 'confirmed', CAST(:changed_by AS VARCHAR), NULL,
           CAST(:replaces_id AS INTEGER), :stamp, :stamp
    FROM claim, owner
    RETURNING id, starts_at
), reminded AS (
    INSERT INTO reminders (booking_id, kind, due_at, status, attempts, text, created_at)
    SELECT made.id, due.kind, due.at, 'pending', 0, '', :stamp
    FROM made CROSS JOIN LATERAL (VALUES
        ('day_before', (CAST(made.starts_at AT TIME ZONE :tz AS DATE) - 1 + :day_before_at) AT TIME ZONE :tz),
        ('two_hours', made.starts_at - :short_notice)
    ) AS due (kind, at)
    WHERE due.at > :now
)
SELECT claim.id, claim.site_code, claim.starts_at, claim.ends_at, claim.mediator,
       owner.resident_id, owner.conversation_id, made.id AS booking_id"""
RECORDED = "LEFT JOIN owner ON TRUE LEFT JOIN made ON TRUE"
# In the order the statements select them: positional columns let SQLAlchemy cache the result's metadata.
RESULT: list[ColumnClause[Any]] = [
    column("id", Integer()),
    column("site_code", String()),
    column("starts_at", UTCDateTime()),
    column("ends_at", UTCDateTime()),
    column("mediator", String()),
    column("resident_id", Integer()),
    column("conversation_id", String()),
    column("booking_id", Integer()),
]


def _statement(sql: str, *extra: ColumnClause[Any]) -> TextualSelect:
    return (
        text(sql)
        .bindparams(
            bindparam("now", type_=UTCDateTime()),
            bindparam("stamp", type_=UTCDateTime()),
            bindparam("tz", type_=String()),
            bindparam("day_before_at", type_=Time()),
            bindparam("short_notice", type_=Interval()),
        )
        .columns(*RESULT, *extra)
    )


# Text, not composed Core: SQLAlchemy walks a Core statement to build its cache key on every execution, and for a
# statement of five parts that costs more client CPU than PostgreSQL spends running it.
BOOK_ASKED = _statement(f"WITH claim AS ({CLAIM_ASKED}), {RECORD}\nFROM claim {RECORDED}")
# Always one row: the claim (if any), whether the asked slot exists and whether a seat had room when it started.
BOOK_SAME_TIME = _statement(
    f"""WITH claim AS ({CLAIM_SAME_TIME}), {RECORD},
       EXISTS (SELECT 1 FROM slots WHERE id = :slot_id) AS known, EXISTS (SELECT 1 {SAME_TIME}) AS room
FROM (VALUES (1)) AS one (x) LEFT JOIN claim ON TRUE {RECORDED}""",
    column("known", Boolean()),
    column("room", Boolean()),
)


async def book_asked(session: AsyncSession, params: dict[str, Any]) -> Any | None:
    """Book the asked seat if it has room, in the caller's transaction; None (nothing written) if it has none.

    `params`: slot_id, case_id, now, stamp, changed_by, replaces_id and the reminder rule (`reminder_rule`). The
    row: the claimed slot's id, site_code, starts_at, ends_at, mediator, the case's resident_id and
    conversation_id, and booking_id; the last three are None when the case does not exist (the seat is claimed:
    the caller must roll back). Raises IntegrityError when the case already holds a confirmed booking."""
    return (await session.execute(BOOK_ASKED, params)).first()


async def book_same_time(session: AsyncSession, params: dict[str, Any], tries: int) -> Any | None:
    """Book another seat at the asked slot's site and time, as `book_asked` does; None when none has room.

    A concurrent booking can win the seat picked: try again, up to `tries` times, while seats are left. Raises
    NotFound for an unknown slot."""
    for _ in range(tries):
        row = (await session.execute(BOOK_SAME_TIME, params)).one()
        if row.id is not None:
            return row
        if not row.known:
            raise NotFound(f"slot {params['slot_id']}")
        if not row.room:
            break
    return None


def reminder_rule(tz: str, day_before_at: dt.time, short_notice: dt.timedelta) -> dict[str, Any]:
    """The reminder rule as the statements' parameters."""
    return {"tz": tz, "day_before_at": day_before_at, "short_notice": short_notice}
