"""The law questions the assistant could not answer, kept masked and counted, for admins to write the next entries.

A question is recorded when the knowledge base declined it as "not sure" (best score below the threshold, or no
entry matched at all); a question about one case's outcome is declined on purpose and is not a gap. The text is
masked (numbers, names, addresses) before it is stored; questions that read the same once filler words and
punctuation are dropped share one row (`key`) and its count, and the view groups rows whose wording is close.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sharedcourt.db.base import utcnow
from sharedcourt.db.faq import FaqUnanswered
from sharedcourt.db.session import unit_of_work
from sharedcourt.domain.disputes import BY_CODE
from sharedcourt.domain.values.masking import mask_text
from sharedcourt.errors import NotFound
from sharedcourt.faq.answer import Answer, asks_about_one_case
from sharedcourt.faq.retrieval import content

NOT_SURE, NO_ENTRY = "not_sure", "no_entry"
REASON_ZH = {NOT_SURE: "把握不足", NO_ENTRY: "没有条目"}
SIMILAR = 0.6  # bigram overlap (Jaccard) at which two questions are shown as one group
SHOWN = 200


def reason_of(text: str, result: Answer) -> str | None:
    """Why an answer is a gap in the knowledge base: NOT_SURE, NO_ENTRY, or None (answered, or declined on purpose)."""
    if result.entry is not None or asks_about_one_case(text):
        return None
    return NOT_SURE if result.hits else NO_ENTRY


def guess_of(result: Answer, classified: str | None) -> str | None:
    """The dispute code to file a question under: the classifier's, else the best (if weak) entry's."""
    if classified in BY_CODE:
        return classified
    return result.hits[0].entry.dispute if result.hits else None


async def record(
    sessions: async_sessionmaker[AsyncSession],
    text: str,
    result: Answer,
    classified: str | None = None,
    now: dt.datetime | None = None,
) -> bool:
    """Count the question if it is a gap (masked; a repeat of a covered one opens it again); True when counted."""
    reason = reason_of(text, result)
    masked = mask_text(" ".join(text.split()))[:1000]
    key = content(masked)[:255]
    if reason is None or not key:
        return False
    now = now or utcnow()
    guess = guess_of(result, classified)
    async with unit_of_work(sessions) as session:
        counted = await session.execute(
            update(FaqUnanswered)
            .where(FaqUnanswered.key == key)
            .values(
                count=FaqUnanswered.count + 1,
                last_at=now,
                text=masked,
                reason=reason,
                score=result.score,
                dispute_code=guess,
                covered_entry=None,
                covered_by=None,
                covered_at=None,
            )
            .execution_options(synchronize_session=False)
        )
        if getattr(counted, "rowcount", 0):
            return True
    try:
        async with unit_of_work(sessions) as session:
            session.add(
                FaqUnanswered(
                    key=key,
                    text=masked,
                    dispute_code=guess,
                    reason=reason,
                    score=result.score,
                    count=1,
                    first_at=now,
                    last_at=now,
                )
            )
    except IntegrityError:  # another process inserted the same question first: count it there
        async with unit_of_work(sessions) as session:
            await session.execute(
                update(FaqUnanswered)
                .where(FaqUnanswered.key == key)
                .values(count=FaqUnanswered.count + 1, last_at=now)
                .execution_options(synchronize_session=False)
            )
    return True


def _bigrams(key: str) -> set[str]:
    return {key[i : i + 2] for i in range(len(key) - 1)} or {key}


@dataclass
class Group:
    """Open questions worded alike: the most asked one first, how often all were asked, and when last."""

    rows: list[FaqUnanswered]
    grams: set[str] = field(default_factory=set)

    @property
    def head(self) -> FaqUnanswered:
        """The most asked wording."""
        return max(self.rows, key=lambda r: (r.count, r.last_at))

    @property
    def count(self) -> int:
        """How often the group's questions were asked."""
        return sum(r.count for r in self.rows)

    @property
    def last_at(self) -> dt.datetime:
        """When one of them was last asked."""
        return max(r.last_at for r in self.rows)


def group(rows: Sequence[FaqUnanswered], similar: float = SIMILAR) -> list[Group]:
    """Rows whose wording overlaps by at least `similar` (character bigrams) in one group, greedily in row order."""
    groups: list[Group] = []
    for row in rows:
        grams = _bigrams(row.key)
        for g in groups:
            if len(grams & g.grams) / len(grams | g.grams) >= similar:
                g.rows.append(row)
                break
        else:
            groups.append(Group([row], grams))
    return groups


async def open_groups(session: AsyncSession, order: str = "frequent", dispute: str = "") -> list[Group]:
    """The questions not yet covered, grouped; most asked first ("frequent") or newest first ("newest")."""
    query = select(FaqUnanswered).where(FaqUnanswered.covered_entry.is_(None))
    if dispute:
        query = query.where(FaqUnanswered.dispute_code == dispute)
    rows = list(await session.scalars(query.order_by(FaqUnanswered.count.desc(), FaqUnanswered.last_at.desc())))
    groups = group(rows)
    if order == "newest":
        groups.sort(key=lambda g: g.last_at, reverse=True)
    else:
        groups.sort(key=lambda g: (g.count, g.last_at), reverse=True)
    return groups[:SHOWN]


async def cover(session: AsyncSession, ids: Sequence[int], entry_id: str, username: str) -> list[FaqUnanswered]:
    """Mark these questions covered by an entry; NotFound when none of them is open."""
    rows = list(await session.scalars(select(FaqUnanswered).where(FaqUnanswered.id.in_(list(ids)))))
    rows = [r for r in rows if r.covered_entry is None]
    if not rows:
        raise NotFound("这个问题已经处理过或不存在")
    now = utcnow()
    for row in rows:
        row.covered_entry, row.covered_by, row.covered_at = entry_id, username[:64], now
    await session.flush()
    return rows
