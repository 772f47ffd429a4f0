"""One purge run's state: its cut-offs, its counts, and what earlier units of the same run already took.

A dry run rolls every unit back, so later units would see rows an earlier unit "deleted"; the sets here let
both runs decide alike, which is what makes a dry run's counts the real run's counts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sharedcourt.retention.periods import Cutoffs


@dataclass
class Run:
    """The state of one purge run."""

    sessions: async_sessionmaker[AsyncSession]
    cutoffs: Cutoffs
    dry_run: bool
    tables: frozenset[str] = frozenset()
    counts: Counter[str] = field(default_factory=Counter)
    handled: set[str] = field(default_factory=set)  # conversations a unit of this run worked on
    purged: set[str] = field(default_factory=set)  # conversations this run marked purged
    gone_evidence: set[int] = field(default_factory=set)  # evidence rows this run deleted

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[AsyncSession]:
        """One transaction: committed, or rolled back in a dry run (and on any error, re-raised)."""
        async with self.sessions() as session:
            await session.begin()
            try:
                yield session
            except BaseException:
                await session.rollback()
                raise
            if self.dry_run:
                await session.rollback()
            else:
                await session.commit()


async def table_names(sessions: async_sessionmaker[AsyncSession]) -> frozenset[str]:
    """The tables the database has (tables of other systems or branches, such as Rasa's tracker, may be absent)."""
    async with sessions() as session:
        conn = await session.connection()
        names: list[str] = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
        return frozenset(names)
