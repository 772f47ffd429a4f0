"""A driver that misreports `rowcount`: every UPDATE or DELETE on the named tables says 1 when nothing matched
and 0 when rows matched, as SQLite was seen to do under load.

Code that decides on `rowcount` is fooled; code that decides on the rows `RETURNING` gave back is not. The lie is
told at `AsyncSession.execute` (which `AsyncSession.scalars` also goes through), so ORM flushes stay honest and
only the claims a feature makes with an explicit statement are put to the test. Each lie is recorded with the
truth beside it, so a test can prove its statement really went through the liar.

`meanwhile` opens the race window on purpose: another writer's change lands just before a claim's UPDATE, after
the code read the row, so the claim's condition no longer holds when it runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

from sqlalchemy import CursorResult, event, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql.dml import Delete, Update


@dataclass(frozen=True)
class Lie:
    """One statement's result: which table, how many rows it really touched, what rowcount said."""

    table: str
    truth: int
    told: int


@dataclass
class Liar:
    """The lies told so far."""

    lies: list[Lie] = field(default_factory=list)

    def on(self, table: str) -> list[tuple[int, int]]:
        """(truth, told) of every lie about `table`, in order."""
        return [(lie.truth, lie.told) for lie in self.lies if lie.table == table]


class _LyingResult:
    """The real result with a false `rowcount`; rows (from RETURNING) are the database's own."""

    def __init__(self, result: Any, told: int) -> None:
        self._result = result
        self.rowcount = told

    def __getattr__(self, name: str) -> Any:
        return getattr(self._result, name)


@contextmanager
def misreporting(*tables: str) -> Iterator[Liar]:
    """While open, UPDATE/DELETE results on `tables` report a false rowcount (every session, every engine)."""
    liar = Liar()
    honest = AsyncSession.execute

    async def execute(self: AsyncSession, statement: Any, *args: Any, **kwargs: Any) -> Any:
        result = await honest(self, statement, *args, **kwargs)
        if not isinstance(statement, (Update, Delete)) or statement.table.name not in tables:  # type: ignore[attr-defined]
            return result
        if isinstance(result, CursorResult) and not result.returns_rows:
            truth = result.rowcount
        else:
            # RETURNING: count the rows the database gave back, then hand the very same rows on.
            frozen = result.freeze()
            truth, result = len(frozen.data), frozen()
        told = 0 if truth > 0 else 1
        liar.lies.append(Lie(statement.table.name, truth, told))  # type: ignore[attr-defined]
        return _LyingResult(result, told)

    with mock.patch.object(AsyncSession, "execute", execute):
        yield liar


@contextmanager
def meanwhile(sessions: async_sessionmaker[AsyncSession], table: str, sql: str, **params: Any) -> Iterator[list[str]]:
    """Run `sql` once, on the same connection, just before the first UPDATE of `table` (yields what it preceded)."""
    engine = sessions.kw["bind"].sync_engine
    preceded: list[str] = []

    def before(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if preceded or not statement.startswith(f"UPDATE {table} "):
            return
        preceded.append(statement)
        conn.execute(text(sql), params)

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield preceded
    finally:
        event.remove(engine, "before_cursor_execute", before)
