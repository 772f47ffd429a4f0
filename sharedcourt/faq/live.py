"""The knowledge base every front door answers from: the shipped YAML with the console's edits layered over it.

Like the duty roster (ROSTER_REFRESH_SECONDS), each process checks the edits table at most once per
FAQ_REFRESH_SECONDS, on the next question: one small query (how many edits, the newest time); the index is
rebuilt only when that changed, so an admin's edit reaches every process within one interval, without a restart.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Callable

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sharedcourt.db.faq import FaqEntryEdit
from sharedcourt.faq.answer import Answer, KnowledgeBase
from sharedcourt.faq.edits import entry_of, merge, stored
from sharedcourt.faq.entries import Entry, shipped

Stamp = tuple[int, dt.datetime | None]


async def merged_entries(session: AsyncSession) -> list[Entry]:
    """The shipped entries with the console's edits in their place and its additions after them."""
    return merge(shipped(), [entry_of(row) for row in await stored(session)])


async def _stamp(session: AsyncSession) -> Stamp:
    row = (await session.execute(select(func.count(), func.max(FaqEntryEdit.updated_at)))).one()
    return int(row[0]), row[1]


class LiveKnowledgeBase:
    """The merged knowledge base of one process, rebuilt when the edits table changed."""

    def __init__(self, refresh_seconds: float = 60.0, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.refresh_seconds = refresh_seconds
        self.monotonic = monotonic
        self.kb = KnowledgeBase(shipped())
        self._stamp: Stamp = (0, None)
        self._checked_at: float | None = None
        self._lock = asyncio.Lock()

    async def current(self, sessions: async_sessionmaker[AsyncSession]) -> KnowledgeBase:
        """The knowledge base, refreshed first when the interval has passed since the last check."""
        now = self.monotonic()
        if self._checked_at is not None and now - self._checked_at < self.refresh_seconds:
            return self.kb
        async with self._lock:
            if self._checked_at is None or self.monotonic() - self._checked_at >= self.refresh_seconds:
                await self.refresh(sessions)
        return self.kb

    async def refresh(self, sessions: async_sessionmaker[AsyncSession]) -> bool:
        """Check the edits table now; True when the knowledge base was rebuilt."""
        async with sessions() as session:
            stamp = await _stamp(session)
            changed = stamp != self._stamp
            entries = await merged_entries(session) if changed else None
        self._checked_at = self.monotonic()
        if entries is None:
            return False
        self.kb = KnowledgeBase(entries, self.kb.threshold)
        self._stamp = stamp
        return True

    async def answer(self, sessions: async_sessionmaker[AsyncSession], text: str) -> Answer:
        """The answer from the current knowledge base."""
        return (await self.current(sessions)).answer(text)


_LIVE: dict[float, LiveKnowledgeBase] = {}


def live(refresh_seconds: float) -> LiveKnowledgeBase:
    """This process's live knowledge base (one per refresh interval; in practice one)."""
    if refresh_seconds not in _LIVE:
        _LIVE[refresh_seconds] = LiveKnowledgeBase(refresh_seconds)
    return _LIVE[refresh_seconds]
