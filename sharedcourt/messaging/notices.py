"""Notices: messages owed to a resident that are not an answer (reminders, booking changes, callbacks, case status).

A notice is channel-neutral: a purpose, named values (each of a known kind) and the full text. Web chat shows the
text; WeChat maps the values field by field to the purpose's category template (sharedcourt.channels.wechat.
templates) and falls back to the text as a customer-service message.

Outbox payload: {"type": "notice", "purpose": ..., "values": {...}, "text": ..., "kind": "notice",
"reminder_id": <id or absent>}.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sharedcourt.db.ticket import OUTCOMES

# One configured template per purpose.
PURPOSES = ("booking_confirmed", "reminder", "booking_changed", "handoff_callback", "case_status")

# What each named value holds: "text" (free Chinese text), "name" (a person), "status" (a 2-5 character state),
# "code" (ASCII, e.g. a case number), "time" (an ISO datetime with its zone).
VALUE_KINDS = {
    "title": "text",
    "site_name": "text",
    "address": "text",
    "reason": "text",
    "summary": "text",
    "mediator": "name",
    "status": "status",
    "case_number": "code",
    "when": "time",
    "sent_at": "time",
}

# The values each purpose fills (a template of that purpose may map any of them).
_BOOKING = ("title", "case_number", "when", "site_name", "address", "mediator", "status", "reason", "summary")
PURPOSE_VALUES: dict[str, tuple[str, ...]] = {
    "booking_confirmed": _BOOKING,
    "reminder": _BOOKING,
    "booking_changed": _BOOKING,
    "handoff_callback": ("title", "summary", "sent_at", "status"),
    "case_status": ("title", "case_number", "status", "summary", "sent_at"),
}

# Status words, each a WeChat `phrase` (at most 5 Chinese characters); a closed ticket's outcome is one too.
STATUS_WORDS = ("已确认", "待出席", "已改期", "已取消", "有新回复", "处理中", *OUTCOMES)


def notice_payload(
    purpose: str, values: dict[str, str], text: str, *, reminder_id: int | None = None
) -> dict[str, Any]:
    """The outbox payload of one notice; ValueError for an unknown purpose or value name."""
    if purpose not in PURPOSE_VALUES:
        raise ValueError(f"unknown notice purpose {purpose!r}")
    unknown = sorted(set(values) - set(PURPOSE_VALUES[purpose]))
    if unknown:
        raise ValueError(f"values {unknown} are not filled by {purpose!r} notices")
    payload: dict[str, Any] = {"type": "notice", "purpose": purpose, "values": values, "text": text, "kind": "notice"}
    if reminder_id is not None:
        payload["reminder_id"] = reminder_id
    return payload


def iso(moment: dt.datetime) -> str:
    """A time value as notices carry it (ISO 8601 with its zone)."""
    return moment.isoformat()
