"""Search conversations for transcript review: Chinese substrings in messages, filters, scope, keyset paging.

Full text uses what each database offers (migration 0010): SQLite's FTS5 trigram table, PostgreSQL's GIN
trigram index behind `ILIKE '%…%'`. Results are newest first by (updated_at, id); a page's cursor is the last
row's pair, so rows that move (a conversation touched between pages) are never shown twice nor skip others.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, and_, exists, false, literal_column, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from sharedcourt.db.case import Case
from sharedcourt.db.conversation import Conversation, Message
from sharedcourt.db.fulltext import FTS_TABLE
from sharedcourt.db.site import Site
from sharedcourt.db.ticket import Ticket
from sharedcourt.errors import BadRequest

MAX_LIMIT = 200
# Trigram indexes (FTS5 trigram, pg_trgm) need at least three characters to use the index.
TRIGRAM = 3


@dataclass(frozen=True)
class Cursor:
    """Where the next page starts: after this (updated_at, id) in newest-first order."""

    updated_at: dt.datetime
    id: str

    def encode(self) -> str:
        """An opaque, URL-safe token for the page link."""
        raw = f"{self.updated_at.isoformat()}|{self.id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> Cursor:
        """The cursor in ``token``; BadRequest for anything we did not make."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
            stamp, conversation_id = raw.split("|", 1)
            updated_at = dt.datetime.fromisoformat(stamp)
        except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
            raise BadRequest("翻页参数无效，请回到第一页重新查询") from exc
        if updated_at.tzinfo is None or not conversation_id:
            raise BadRequest("翻页参数无效，请回到第一页重新查询")
        return cls(updated_at, conversation_id)


@dataclass(frozen=True)
class SearchQuery:
    """What staff ask for; every field is optional, and ``scope_*`` limit it to what the caller may see.

    ``scope_sites``/``scope_counties``/``scope_holders`` all None means unrestricted; otherwise a conversation is
    visible when it is at one of the sites, in one of the counties, or has a ticket held by one of the holders.
    Dates are a half-open range on the conversation's last update: ``since`` <= updated_at < ``until``.
    """

    q: str = ""
    dispute_code: str | None = None
    site_code: str | None = None
    county_code: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    channel: str | None = None
    handled_by: str | None = None
    outcome: str | None = None
    urgent: bool | None = None
    scope_sites: Collection[str] | None = None
    scope_counties: Collection[str] | None = None
    scope_holders: Collection[str] | None = None
    limit: int = 50
    after: Cursor | None = None


@dataclass(frozen=True)
class Hit:
    """One conversation in the result list."""

    id: str
    channel: str
    mode: str
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclass(frozen=True)
class Page:
    """One page of results, newest first, and the cursor of the next page (None on the last)."""

    items: list[Hit] = field(default_factory=list)
    next_cursor: Cursor | None = None


def escape_like(value: str) -> str:
    """``value`` with LIKE's wildcards and the escape character escaped (used with ESCAPE '\\')."""
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _text_match(dialect: str, q: str) -> ColumnElement[bool]:
    """The conversation holds a message whose text holds ``q``."""
    pattern = f"%{escape_like(q)}%"
    if len(q) < TRIGRAM or dialect != "sqlite":
        # PostgreSQL: the trigram index serves ILIKE. One or two characters: no trigram, a LIKE scan on either.
        return exists().where(Message.conversation_id == Conversation.id, Message.text.ilike(pattern, escape="\\"))
    phrase = '"' + q.replace('"', '""') + '"'
    ids = text(f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH :phrase").bindparams(phrase=phrase)
    # Uncorrelated, so SQLite runs the FTS query once per search, not once per conversation it looks at.
    held = select(Message.conversation_id).where(Message.id.in_(ids.columns(literal_column("rowid"))))
    return Conversation.id.in_(held)


def _site_codes_in_counties(counties: Collection[str]) -> ColumnElement[bool]:
    """Site code (of a case or ticket) whose place lies in one of ``counties``."""
    if not counties:
        return false()
    return Site.place_code.is_not(None) & or_(*(Site.place_code.startswith(c, autoescape=True) for c in counties))


def _at_sites(sites: Collection[str] | None, counties: Collection[str] | None) -> ColumnElement[bool]:
    """The conversation has a case or a ticket at one of ``sites`` or in one of ``counties``."""
    clauses: list[ColumnElement[bool]] = []
    for column, conv in ((Case.site_code, Case.conversation_id), (Ticket.site_code, Ticket.conversation_id)):
        if sites is not None:
            clauses.append(exists().where(conv == Conversation.id, column.in_(list(sites))))
        if counties is not None:
            in_county = select(Site.code).where(_site_codes_in_counties(counties))
            clauses.append(exists().where(conv == Conversation.id, column.in_(in_county)))
    return or_(*clauses) if clauses else false()


def _case_or_ticket(case_clause: ColumnElement[bool], ticket_clause: ColumnElement[bool]) -> ColumnElement[bool]:
    return or_(
        exists().where(Case.conversation_id == Conversation.id, case_clause),
        exists().where(Ticket.conversation_id == Conversation.id, ticket_clause),
    )


def scope_clause(query: SearchQuery) -> ColumnElement[bool] | None:
    """What ``query``'s scope lets the caller see (None: everything)."""
    if query.scope_sites is None and query.scope_counties is None and query.scope_holders is None:
        return None
    clauses = [_at_sites(query.scope_sites, query.scope_counties)]
    if query.scope_holders:
        held = Ticket.holder.in_(list(query.scope_holders))
        clauses.append(exists().where(Ticket.conversation_id == Conversation.id, held))
    return or_(*clauses)


def _filters(query: SearchQuery, dialect: str) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if query.q.strip():
        where.append(_text_match(dialect, query.q.strip()))
    if query.dispute_code:
        code = query.dispute_code
        where.append(_case_or_ticket(Case.dispute_code == code, Ticket.dispute_code == code))
    if query.site_code:
        where.append(_at_sites({query.site_code}, None))
    if query.county_code:
        where.append(_at_sites(None, {query.county_code}))
    scope = scope_clause(query)
    if scope is not None:
        where.append(scope)
    if query.since is not None:
        where.append(Conversation.updated_at >= query.since)
    if query.until is not None:
        where.append(Conversation.updated_at < query.until)
    if query.channel:
        where.append(Conversation.channel == query.channel)
    if query.handled_by:
        where.append(exists().where(Ticket.conversation_id == Conversation.id, Ticket.holder == query.handled_by))
    if query.outcome:
        where.append(exists().where(Ticket.conversation_id == Conversation.id, Ticket.outcome == query.outcome))
    if query.urgent is not None:
        flag = query.urgent
        urgent = _case_or_ticket(Case.urgent.is_(True), Ticket.urgent.is_(True))
        where.append(urgent if flag else ~urgent)
    return where


async def search_conversations(session: AsyncSession, query: SearchQuery) -> Page:
    """One page of the conversations that match ``query``, within its scope, newest first."""
    if not 1 <= query.limit <= MAX_LIMIT:
        raise BadRequest(f"每页条数应在 1 到 {MAX_LIMIT} 之间")
    if query.since is not None and query.until is not None and query.since >= query.until:
        raise BadRequest("开始日期应早于结束日期")
    where = _filters(query, session.get_bind().dialect.name)
    if query.after is not None:
        at, last = query.after.updated_at, query.after.id
        where.append(or_(Conversation.updated_at < at, and_(Conversation.updated_at == at, Conversation.id < last)))
    statement = (
        select(Conversation)
        .where(*where)
        .order_by(Conversation.updated_at.desc(), Conversation.id.desc())
        .limit(query.limit + 1)
    )
    rows = list(await session.scalars(statement))
    items = [Hit(c.id, c.channel, c.mode, c.created_at, c.updated_at) for c in rows[: query.limit]]
    more = len(rows) > query.limit
    return Page(items, Cursor(items[-1].updated_at, items[-1].id) if more else None)
