"""Entries edited or added in the console: checked with the knowledge base's rules (messages in Chinese for the
admin), stored in `faq_entry_edits` and layered over the shipped YAML (sharedcourt.faq.live)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sharedcourt.db.base import utcnow
from sharedcourt.db.faq import FaqEntryEdit
from sharedcourt.domain.clock import TZ
from sharedcourt.domain.disputes import BY_CODE
from sharedcourt.faq.entries import (
    MAX_PARAGRAPH_CHARS,
    MAX_PARAGRAPHS,
    MAX_QUESTIONS,
    MIN_QUESTIONS,
    Entry,
    paragraphs_of,
)

_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_SOURCE = re.compile(r"^《[^《》]+》\S*$")
MAX_ID = 64


@dataclass
class Draft:
    """What the edit form holds, as typed (kept on a refusal so nothing is lost)."""

    entry_id: str = ""
    dispute: str = ""
    questions: str = ""  # one paraphrase per line
    answer: str = ""  # paragraphs separated by a blank line
    sources: str = ""  # one source per line
    figures: str = ""
    checked: str = ""  # YYYY-MM-DD
    errors: list[str] = field(default_factory=list)


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def draft_of(entry: Entry) -> Draft:
    """The form's fields for an existing entry."""
    return Draft(
        entry_id=entry.id,
        dispute=entry.dispute,
        questions="\n".join(entry.questions),
        answer="\n\n".join(entry.paragraphs),
        sources="\n".join(entry.sources),
        figures=entry.figures or "",
        checked=entry.checked.isoformat(),
    )


def draft_from_form(form: Mapping[str, object]) -> Draft:
    """The posted form as a draft (every field a string)."""

    def value(name: str) -> str:
        return str(form.get(name) or "").replace("\r\n", "\n").strip()

    return Draft(
        entry_id=value("entry_id"),
        dispute=value("dispute"),
        questions=value("questions"),
        answer=value("answer"),
        sources=value("sources"),
        figures=value("figures"),
        checked=value("checked"),
    )


def _checked(text: str, today: dt.date) -> tuple[dt.date | None, list[str]]:
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        return None, [f"核对日期必须是真实的日期（年-月-日），现在是“{text or '空'}”"]
    if day > today:
        return None, [f"核对日期 {day.isoformat()} 还没到，不能填将来的日期"]
    return day, []


def _answer_problems(paragraphs: Sequence[str]) -> list[str]:
    if not paragraphs:
        return ["请填写答复"]
    problems = [f"答复最多 {MAX_PARAGRAPHS} 段（段之间空一行），现在有 {len(paragraphs)} 段"]
    problems = problems if len(paragraphs) > MAX_PARAGRAPHS else []
    problems += [
        f"答复第 {i} 段有 {len(p)} 个字，最多 {MAX_PARAGRAPH_CHARS} 个字"
        for i, p in enumerate(paragraphs, 1)
        if len(p) > MAX_PARAGRAPH_CHARS
    ]
    return problems


def validate(draft: Draft, today: dt.date, *, new: bool, taken: set[str]) -> Entry | None:
    """The entry a draft describes, or None with `draft.errors` filled (in Chinese) for the admin."""
    errors: list[str] = []
    if not _ID.match(draft.entry_id) or len(draft.entry_id) > MAX_ID:
        errors.append("编号只能用小写英文字母、数字和短横线（如 labour-injury-standard），最长 64 个字符")
    elif new and draft.entry_id in taken:
        errors.append(f"编号 {draft.entry_id} 已经有了，请换一个，或者去修改那一条")
    if draft.dispute not in BY_CODE:
        errors.append("请选择纠纷类型")
    questions = list(dict.fromkeys(_lines(draft.questions)))
    if not MIN_QUESTIONS <= len(questions) <= MAX_QUESTIONS:
        errors.append(f"问法需要 {MIN_QUESTIONS}-{MAX_QUESTIONS} 个不同的说法（每行一个），现在有 {len(questions)} 个")
    paragraphs = paragraphs_of(draft.answer)
    errors += _answer_problems(paragraphs)
    sources = _lines(draft.sources)
    if not sources:
        errors.append("请至少填写一个法律依据，如《中华人民共和国民法典》第一千零八十五条")
    errors += [
        f"法律依据“{s}”要用书名号写明法律名称，如《中华人民共和国民法典》第五百七十七条"
        for s in sources
        if not _SOURCE.match(s)
    ]
    checked, problems = _checked(draft.checked, today)
    errors += problems
    draft.errors = errors
    if errors or checked is None:
        return None
    figures = " ".join(draft.figures.split()) or None
    return Entry(draft.entry_id, draft.dispute, tuple(questions), tuple(paragraphs), tuple(sources), checked, figures)


def today_in_china(now: dt.datetime | None = None) -> dt.date:
    """The date in China (what "not in the future" is measured against)."""
    return (now or utcnow()).astimezone(TZ).date()


async def save(session: AsyncSession, entry: Entry, username: str, now: dt.datetime | None = None) -> bool:
    """Store the entry as the console's version (insert or replace); True when it was new to the database."""
    row = await session.get(FaqEntryEdit, entry.id)
    created = row is None
    if row is None:
        row = FaqEntryEdit(entry_id=entry.id)
        session.add(row)
    row.dispute = entry.dispute
    row.questions = list(entry.questions)
    row.answer = "\n\n".join(entry.paragraphs)
    row.sources = list(entry.sources)
    row.figures = entry.figures
    row.checked = entry.checked
    row.updated_by = username[:64]
    row.updated_at = now or utcnow()
    await session.flush()
    return created


def entry_of(row: FaqEntryEdit) -> Entry:
    """A stored edit as an entry (file names it as edited in the console)."""
    return Entry(
        id=row.entry_id,
        dispute=row.dispute,
        questions=tuple(str(q) for q in row.questions),
        paragraphs=tuple(paragraphs_of(row.answer)),
        sources=tuple(str(s) for s in row.sources),
        checked=row.checked,
        figures=row.figures,
        file="console",
    )


async def stored(session: AsyncSession) -> list[FaqEntryEdit]:
    """Every edit in the database."""
    return list(await session.scalars(select(FaqEntryEdit).order_by(FaqEntryEdit.entry_id)))


def merge(shipped: Sequence[Entry], edits: Sequence[Entry]) -> list[Entry]:
    """The shipped entries with the console's versions in their place, then the added ones (by id)."""
    by_id = {e.id: e for e in edits}
    merged = [by_id.pop(e.id, e) for e in shipped]
    return merged + sorted(by_id.values(), key=lambda e: e.id)
