"""Rosters for tests whose outcome must not depend on the hour or the day they run (CI runs at any time)."""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

import yaml

from sharedcourt.handoff.staff_routing import ROSTER_FILE

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun", "holiday")


def always_on_duty(folder: Path) -> Path:
    """The sample roster with every schedule round the clock, public holidays included, written into `folder`."""
    data = yaml.safe_load(ROSTER_FILE.read_text(encoding="utf-8"))
    data["schedules"] = {name: {d: ["00:00-24:00"] for d in DAYS} for name in data["schedules"]}
    path = folder / "roster.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@functools.cache
def always_on_duty_file() -> str:
    """One round-the-clock roster file for this test process (for settings built outside a fixture)."""
    return str(always_on_duty(Path(tempfile.mkdtemp(prefix="roster-"))))
