"""Slots shared by the intake tests."""

from __future__ import annotations

from typing import Any

import pytest

from sharedcourt.intake.facts import UNKNOWN


@pytest.fixture
def labor_slots() -> dict[str, Any]:
    """A labour dispute with every fact collected."""
    return {
        "dispute_code": "labor",
        "type_confirmed": True,
        "employer": "衢州某某电子厂",
        "what_happened": "老板拖欠三个月工资",
        "incident_date": "2026-10-01",
        "place_code": "330802009",
        "place_name": "柯城区白云街道",
        "amount_yuan": 23000,
        "months_unpaid": 3,
        "desired_outcome": "要回工资",
        "steps_taken": UNKNOWN,
        "evidence": "考勤记录",
        "phone": "13812345678",
    }
