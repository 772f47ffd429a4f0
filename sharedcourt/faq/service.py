"""What the action server calls for a law question: the live knowledge base's answer, and the gap recorded."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sharedcourt.faq import unanswered
from sharedcourt.faq.answer import Answer
from sharedcourt.faq.live import live


async def answer_question(
    sessions: async_sessionmaker[AsyncSession],
    text: str,
    *,
    refresh_seconds: float,
    classified: str | None = None,
    now: dt.datetime | None = None,
) -> Answer:
    """Answer from the shipped entries with the console's edits; a question it could not answer is counted."""
    result = await live(refresh_seconds).answer(sessions, text)
    await unanswered.record(sessions, text, result, classified, now)
    return result
