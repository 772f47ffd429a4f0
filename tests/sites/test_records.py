"""Site records: the JSON of a staff member in the CSV `staff` column."""

from __future__ import annotations

from sharedcourt.sites.records import StaffRecord


def test_staff_record_json() -> None:
    s = StaffRecord("王", "mediator", 3, "", None)
    assert s.to_json() == {"name": "王", "role": "mediator", "capacity": 3}
