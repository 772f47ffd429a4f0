"""Every fact of one message at once (amount, incident date, phone, ID number), and the start-up warm-up."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sharedcourt.domain.values.contacts import parse_id_number, parse_phone
from sharedcourt.domain.values.dates import parse_incident_date
from sharedcourt.domain.values.money import extract_amounts


def _amount_json(value: Decimal) -> int | str:
    return int(value) if value == value.to_integral_value() else f"{value:.2f}"


def extract_facts(text: str, today: date) -> dict[str, Any]:
    """All facts in one message; keys are present only when found.

    ``amount_yuan`` (int when whole, else a "12.50" string), ``amount_approximate`` (only when True),
    ``incident_date`` ("YYYY-MM-DD", never after ``today``), ``phone``, ``id_number``.
    """
    facts: dict[str, Any] = {}
    amounts = extract_amounts(text, today)
    if amounts:
        best = next((a for a in amounts if a.explicit), amounts[0])
        facts["amount_yuan"] = _amount_json(best.value)
        if best.approximate:
            facts["amount_approximate"] = True
    incident = parse_incident_date(text, today)
    if incident is not None:
        facts["incident_date"] = incident.isoformat()
    phone = parse_phone(text)
    if phone is not None:
        facts["phone"] = phone
    id_number = parse_id_number(text)
    if id_number is not None:
        facts["id_number"] = id_number
    return facts


def warm_up() -> None:
    """Import jionlp/cn2an and load their dictionaries now (~0.5 s) instead of on a resident's first message.

    Call it from a process's startup hook (e.g. the action server), never at import time.
    """
    extract_facts("上周三借了他两万三", date(2000, 1, 1))
