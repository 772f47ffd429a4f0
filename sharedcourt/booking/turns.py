"""The shape of one booking or site step in the chat: the replies to say and the slots to set, and button payloads.

Slots (bot/domain/booking.yml): `booking_stage` (what the next free-text answer means: choose_slot, place,
booking_place, callback_phone, confirm_cancel), `booking_site`, `booking_reschedule` (booking being moved),
`booking_ref` (booking about to be cancelled), `booking_place` (place chosen so far), `booking_offered`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sharedcourt.messaging.replies import Button, Reply
from sharedcourt.sites.finder import STAGE

SITE = "booking_site"
OFFERED = "booking_offered"
RESCHEDULE = "booking_reschedule"
REF = "booking_ref"
MY_BOOKINGS = Button("我的预约", "/my_bookings")


@dataclass(frozen=True)
class Step:
    """What one step answers: the replies to say, then the slots to set in order (None clears a slot)."""

    replies: list[Reply]
    slots: dict[str, Any] = field(default_factory=dict)
    booked: int | None = None  # the booking this step confirmed (booked or moved), if any


def payload(intent: str, value: str | int) -> str:
    """A button payload that carries an id in the `booking_choice` entity."""
    return f'/{intent}{{"booking_choice":"{value}"}}'


def numbered(buttons: Sequence[Button]) -> str:
    """The buttons as numbered lines, for channels that show no buttons."""
    return "\n".join(f"{i}. {b.title}" for i, b in enumerate(buttons, 1))


def as_int(value: Any) -> int | None:
    """A slot or entity value as an id, None when it is not a number."""
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


def cleared() -> dict[str, Any]:
    """The slots to clear when a booking conversation is over."""
    return {STAGE: None, RESCHEDULE: None, REF: None, OFFERED: None}
