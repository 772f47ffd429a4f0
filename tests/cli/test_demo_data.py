"""`make demo-data`: a month across Quzhou's counties with every dispute type, handoffs with escalations and
有呼无应, bookings and ratings; the same seed gives the same rows; `--remove` deletes exactly them (both databases)."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sharedcourt.cli import main as cli
from sharedcourt.db.booking import Booking
from sharedcourt.db.case import Case
from sharedcourt.db.conversation import Conversation, Resident
from sharedcourt.db.ticket import Rating, Ticket, TicketEvent
from sharedcourt.domain.disputes import BY_CODE
from sharedcourt.review.analytics import Window, figures
from sharedcourt.review.stats_window import county_of

END = "2026-11-30"


async def _demo(database_url: str, *extra: str) -> int:
    """The command as the Makefile runs it (in a thread: it runs its own event loop)."""
    argv = ["demo-data", "--database-url", database_url, "--end", END, *extra]
    return await asyncio.to_thread(cli.main, argv)


async def _fingerprint(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[Any, ...]]:
    async with sessions() as session:
        found = await session.execute(
            select(Resident.channel_user_id, Resident.channel, Case.dispute_code, Case.site_code, Case.created_at,
                   Ticket.state, Ticket.accepted_at, Ticket.outcome)
            .join(Case, Case.resident_id == Resident.id)
            .outerjoin(Ticket, Ticket.case_id == Case.id)
            .order_by(Resident.channel_user_id)
        )  # fmt: skip
        return [tuple(r) for r in found.tuples()]


async def _count(sessions: async_sessionmaker[AsyncSession], model: Any) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_a_living_month_removed_exactly(database_url: str, sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session, session.begin():
        session.add(Resident(channel="webchat", channel_user_id="real-resident"))
    models = (Resident, Conversation, Case, Ticket, TicketEvent, Rating, Booking)
    before = [await _count(sessions, m) for m in models]
    assert await _demo(database_url, "--seed", "7") == 0
    first = await _fingerprint(sessions)
    async with sessions() as session:
        data = await figures(session, Window(*_range()))
        cases = (await session.execute(select(Case.dispute_code, Case.site_code))).tuples().all()
    assert {code for code, _ in cases} == set(BY_CODE), "every dispute type"
    assert {county_of(site) for _, site in cases} == {"330802", "330803", "330822", "330824", "330825", "330881"}
    escalation = data["escalation"]
    assert escalation["requests"] > 100 and 0 < escalation["expired"] < escalation["escalated"] < escalation["requests"]
    assert data["ratings"]["count"] > 50 and all(r["offered"] > 0 for r in data["bookings_by_site"])
    assert sum(r["booked"] for r in data["bookings_by_site"]) > 20 and data["headline"]["mediations"] > 30
    assert len(data["channels"]) == 3 and sum(d["expired"] for d in data["escalation_by_day"]) == escalation["expired"]
    assert await _demo(database_url, "--seed", "7") == 2, "refused while demo data is present"
    assert await _demo(database_url, "--remove") == 0
    assert [await _count(sessions, m) for m in models] == before, "exactly the demo rows went"
    assert await _demo(database_url, "--seed", "7") == 0
    assert await _fingerprint(sessions) == first, "the same seed gives the same month"
    assert await _demo(database_url, "--remove") == 0 and await _demo(database_url, "--seed", "8") == 0
    assert await _fingerprint(sessions) != first, "another seed, another month"


def _range() -> tuple[Any, Any]:
    import datetime as dt

    end = dt.date.fromisoformat(END)
    return end - dt.timedelta(days=29), end


def test_the_makefile_target_calls_the_command(repo_root: Path) -> None:
    # --no-print-directory: under `make test` the nested make would print "Entering directory" lines.
    make = ["make", "--no-print-directory", "-n", "demo-data"]
    dry = subprocess.run([*make, "REMOVE=1", "SEED=5"], cwd=repo_root, capture_output=True, text=True, timeout=60,
                         check=True)  # fmt: skip
    assert (
        '-m sharedcourt.cli migrate && .venv/app/bin/python -m sharedcourt.cli demo-data --remove --seed "5"'
        in dry.stdout
    )
    plain = subprocess.run(make, cwd=repo_root, capture_output=True, text=True, timeout=60)
    assert plain.stdout.rstrip().endswith("-m sharedcourt.cli demo-data"), plain.stdout
