"""Storing the intake as a case: its normalised facts, its number, one case per intake."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sharedcourt.db.case import Case
from sharedcourt.db.conversation import Conversation, Resident
from sharedcourt.db.session import unit_of_work
from sharedcourt.intake.facts import UNKNOWN, wanted_facts
from sharedcourt.intake.summary import summary_text
from sharedcourt.sites.served import case_prefix

log = logging.getLogger(__name__)


def case_facts(slots: Mapping[str, Any]) -> dict[str, Any]:
    """The normalised facts stored in Case.facts (unknown answers listed under "unknown")."""
    facts: dict[str, Any] = {}
    unknown = []
    for key in wanted_facts(slots.get("dispute_code")):
        value = slots.get(key)
        if value is None:
            continue
        if value == UNKNOWN:
            unknown.append(key)
            continue
        if key == "place_code":
            if value:
                facts["place_code"] = value
            if slots.get("place_name"):
                facts["place_name"] = slots["place_name"]
            continue
        facts[key] = value
    if unknown:
        facts["unknown"] = unknown
    if slots.get("complaint"):
        facts["complaint"] = slots["complaint"]
    return facts


def case_number(case_id: int, year: int, prefix: str = "QZ") -> str:
    """The number a resident and staff quote: <city prefix><year>-<id, six digits>, e.g. QZ2026-000001 (the
    prefixes per city: `sharedcourt.sites.served.CASE_PREFIXES`)."""
    return f"{prefix}{year}-{case_id:06d}"


async def _conversation(session: AsyncSession, conversation_id: str) -> Conversation:
    conversation = await session.get(Conversation, conversation_id)
    if conversation is not None:
        return conversation
    # A conversation that did not come through the front door (rasa shell, tests): record it.
    resident = await session.scalar(
        select(Resident).where(Resident.channel == "rasa", Resident.channel_user_id == conversation_id)
    )
    if resident is None:
        resident = Resident(channel="rasa", channel_user_id=conversation_id)
        session.add(resident)
        await session.flush()
    conversation = Conversation(id=conversation_id, resident_id=resident.id, channel="rasa")
    session.add(conversation)
    await session.flush()
    return conversation


async def _case(session: AsyncSession, conversation: Conversation, slots: Mapping[str, Any], year: int) -> Case:
    number = slots.get("case_number")
    case = None
    if number:
        case = await session.scalar(select(Case).where(Case.number == number, Case.conversation_id == conversation.id))
    if case is None:
        case = Case(resident_id=conversation.resident_id, conversation_id=conversation.id)
        session.add(case)
        await session.flush()
        resident = await session.get(Resident, conversation.resident_id)
        place = slots.get("place_code") if isinstance(slots.get("place_code"), str) else None
        case.number = case_number(case.id, year, case_prefix(place, resident.site_code if resident else None))
    return case


async def save_case(
    sessions: async_sessionmaker[AsyncSession],
    conversation_id: str,
    slots: Mapping[str, Any],
    *,
    status: str,
    today: dt.date,
) -> str | None:
    """Create or update this conversation's case from the intake slots; returns its number.

    The case of `slots["case_number"]` (an urgent or handed-off case stored earlier in the same intake) is
    updated; otherwise a new one is made. A database failure is logged and the conversation goes on (None).
    """
    try:
        async with unit_of_work(sessions) as session:
            conversation = await _conversation(session, conversation_id)
            case = await _case(session, conversation, slots, today.year)
            case.dispute_code = slots.get("dispute_code")
            case.urgent = bool(slots.get("urgent")) or case.urgent
            case.status = status
            case.facts = {**case_facts(slots), "transcript": conversation_id}
            case.summary = summary_text(slots) if slots.get("dispute_code") else ""
            return case.number
    except (SQLAlchemyError, OSError):
        log.exception("could not store the case of %s", conversation_id)
        return None
