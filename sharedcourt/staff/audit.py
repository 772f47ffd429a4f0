"""The audit log: `record(...)` writes one row (and one log line) for every login, reveal, export …"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy.ext.asyncio import AsyncSession

from sharedcourt.db.base import utcnow
from sharedcourt.db.staff import AuditEvent
from sharedcourt.staff.roles import Caller

log = logging.getLogger(__name__)
ACTIONS = (
    "login",
    "login_failed",
    "logout",
    "account_created",
    "role_granted",
    "account_deactivated",
    "token_created",
    "token_revoked",
    "reveal",
    "export",
    "faq_entry_added",
    "faq_entry_edited",
    "faq_question_covered",
)
_SHORT = 64  # the width of the short columns
_REASON = 2000  # a stated reason is a sentence, not a document


async def record(
    session: AsyncSession,
    action: str,
    *,
    caller: Caller | None = None,
    actor: str = "",
    target_kind: str = "",
    target_id: str = "",
    field: str = "",
    reason: str = "",
    address: str = "",
    at: dt.datetime | None = None,
) -> AuditEvent:
    """Add one audit row to `session` (the caller's transaction commits it); `actor` names who when no caller."""
    event = AuditEvent(
        at=at or utcnow(),
        account_id=caller.account_id if caller else None,
        actor=(caller.username if caller else actor)[:_SHORT],
        action=action[:32],
        target_kind=target_kind[:32],
        target_id=target_id[:_SHORT],
        field=field[:_SHORT],
        reason=reason[:_REASON],
        address=address[:_SHORT],
    )
    session.add(event)
    await session.flush()
    # The reason may quote personal data: it stays in the database, never in the log.
    log.info(
        "audit %s by %r from %s target=%s:%s field=%s",
        event.action,
        event.actor,
        event.address or "-",
        event.target_kind or "-",
        event.target_id or "-",
        event.field or "-",
    )
    return event
