"""Leases of the daily jobs every front door may run (the purge): one row per job, claimed by one at a time."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Date, String
from sqlalchemy.orm import Mapped, mapped_column

from sharedcourt.db.base import Base


class JobRun(Base):
    """A daily job: who holds it until when (a crash's lease runs out), the last day it finished and its counts."""

    __tablename__ = "job_runs"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[dt.datetime | None]
    # China's calendar day of the last finished run: a second front door does not run it again that day.
    last_day: Mapped[dt.date | None] = mapped_column(Date)
    finished_at: Mapped[dt.datetime | None]
    last_counts: Mapped[dict[str, Any]] = mapped_column(default=dict)


__all__ = ["JobRun"]
