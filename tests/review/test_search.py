"""Conversation search: Chinese substrings on both databases, every filter, scope, stable keyset paging."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sharedcourt.db.case import Case
from sharedcourt.db.conversation import Conversation, Message, Resident
from sharedcourt.db.ticket import Ticket
from sharedcourt.errors import BadRequest
from sharedcourt.review.search import Cursor, Page, SearchQuery, escape_like, search_conversations

Sessions = async_sessionmaker[AsyncSession]
T0 = dt.datetime(2026, 11, 2, 8, 0, tzinfo=dt.timezone.utc)
KECHENG_SITE = "GX330802005"  # 柯城区新新街道
QUJIANG_SITE = "GX330803001"  # 衢江区樟潭街道


async def _conversation(
    sessions: Sessions,
    key: str,
    texts: list[str],
    *,
    hours: int = 0,
    channel: str = "webchat",
    case: dict[str, Any] | None = None,
    ticket: dict[str, Any] | None = None,
) -> str:
    """A conversation last updated ``hours`` after T0, with messages, and optionally a case and a ticket."""
    async with sessions() as session, session.begin():
        resident = Resident(channel=channel, channel_user_id=key)
        session.add(resident)
        await session.flush()
        conv = Conversation(resident_id=resident.id, channel=channel, updated_at=T0 + dt.timedelta(hours=hours))
        session.add(conv)
        await session.flush()
        for said in texts:
            session.add(Message(conversation_id=conv.id, direction="in", channel=channel, author="resident", text=said))
        if case is not None:
            session.add(Case(resident_id=resident.id, conversation_id=conv.id, **case))
        if ticket is not None:
            session.add(Ticket(conversation_id=conv.id, resident_id=resident.id, rule="site", **ticket))
        await session.flush()
        await session.execute(
            update(Conversation).where(Conversation.id == conv.id).values(updated_at=T0 + dt.timedelta(hours=hours))
        )
        return conv.id


async def _search(sessions: Sessions, **kwargs: Any) -> list[str]:
    async with sessions() as session:
        page = await search_conversations(session, SearchQuery(**kwargs))
    return [hit.id for hit in page.items]


@pytest.fixture
async def world(sessions: Sessions) -> dict[str, str]:
    return {
        "wages": await _conversation(
            sessions,
            "a",
            ["老板拖欠工资三个月了", "工地在衢江区"],
            hours=1,
            case={"dispute_code": "labor", "site_code": QUJIANG_SITE, "urgent": True},
            ticket={"site_code": QUJIANG_SITE, "holder": "qj-mediator", "outcome": "调解成功", "state": "closed"},
        ),
        "noise": await _conversation(
            sessions,
            "b",
            ["楼上邻居半夜装修噪音很大", "说了好几次也不听"],
            hours=2,
            channel="wechat",
            case={"dispute_code": "neighbor", "site_code": KECHENG_SITE},
        ),
        "loan": await _conversation(
            sessions,
            "c",
            ["朋友借了我两万块钱不还", "借条有的"],
            hours=3,
            case={"dispute_code": "debt", "site_code": KECHENG_SITE},
            ticket={"site_code": KECHENG_SITE, "holder": "kc-director", "outcome": "调解不成", "state": "closed"},
        ),
        "odd": await _conversation(sessions, "d", ["进度100%完成了吗", "文件名是a_b.txt", "路径C:\\temp"], hours=4),
    }


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("拖欠工资", ["wages"]),  # 3+ characters: the trigram index
        ("装修噪音", ["noise"]),
        ("借了我两万", ["loan"]),
        ("工资", ["wages"]),  # 2 characters: the LIKE fallback
        ("邻居", ["noise"]),
        ("借", ["loan"]),  # 1 character
        ("衢江区", ["wages"]),  # a second message of the conversation
        ("了", ["loan", "noise", "wages", "odd"]),
        ("离婚", []),
        ("拖欠工资三个月了吗", []),
    ],
)
async def test_chinese_substrings_are_found(
    sessions: Sessions, world: dict[str, str], q: str, expected: list[str]
) -> None:
    found = await _search(sessions, q=q)
    assert sorted(found) == sorted(world[k] for k in expected)


async def test_newest_first(sessions: Sessions, world: dict[str, str]) -> None:
    assert await _search(sessions) == [world[k] for k in ("odd", "loan", "noise", "wages")]


@pytest.mark.parametrize(
    ("q", "expected"),
    [("100%", ["odd"]), ("%", ["odd"]), ("a_b", ["odd"]), ("_", ["odd"]), ("C:\\t", ["odd"]), ("\\", ["odd"])],
)
async def test_like_wildcards_are_literal(
    sessions: Sessions, world: dict[str, str], q: str, expected: list[str]
) -> None:
    await _conversation(sessions, "e", ["进度100完成", "文件名是axb.txt", "路径C:temp"], hours=5)
    assert await _search(sessions, q=q) == [world[k] for k in expected]


def test_escape_like() -> None:
    assert escape_like("50%_off\\") == "50\\%\\_off\\\\"


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"dispute_code": "labor"}, ["wages"]),
        ({"dispute_code": "debt"}, ["loan"]),
        ({"site_code": KECHENG_SITE}, ["loan", "noise"]),
        ({"county_code": "330803"}, ["wages"]),
        ({"county_code": "330802"}, ["loan", "noise"]),
        ({"county_code": "330881"}, []),
        ({"channel": "wechat"}, ["noise"]),
        ({"handled_by": "kc-director"}, ["loan"]),
        ({"outcome": "调解成功"}, ["wages"]),
        ({"urgent": True}, ["wages"]),
        ({"urgent": False}, ["odd", "loan", "noise"]),
        ({"since": T0 + dt.timedelta(hours=2), "until": T0 + dt.timedelta(hours=4)}, ["loan", "noise"]),
        ({"q": "借条", "site_code": KECHENG_SITE, "handled_by": "kc-director"}, ["loan"]),
        ({"q": "借条", "site_code": QUJIANG_SITE}, []),
    ],
)
async def test_filters(sessions: Sessions, world: dict[str, str], filters: dict[str, Any], expected: list[str]) -> None:
    assert await _search(sessions, **filters) == [world[k] for k in expected]


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        ({"scope_sites": {KECHENG_SITE}}, ["loan", "noise"]),
        ({"scope_counties": {"330803"}}, ["wages"]),
        ({"scope_sites": {KECHENG_SITE}, "scope_counties": {"330803"}}, ["loan", "noise", "wages"]),
        ({"scope_sites": set()}, []),  # a caller with no sites sees nothing
        ({"scope_counties": {"3308%"}}, []),  # a code is a code, not a pattern
        ({"scope_holders": {"qj-mediator"}}, ["wages"]),  # a lawyer: the tickets they hold
        ({"scope_holders": {"qj-mediator"}, "scope_sites": {KECHENG_SITE}}, ["loan", "noise", "wages"]),
        ({"scope_holders": set()}, []),
    ],
)
async def test_scope_restricts_whatever_is_asked(
    sessions: Sessions, world: dict[str, str], scope: dict[str, Any], expected: list[str]
) -> None:
    assert await _search(sessions, **scope) == [world[k] for k in expected]
    # a filter never widens the scope
    assert await _search(sessions, **scope, site_code=QUJIANG_SITE) == [world["wages"]] * ("wages" in expected)


async def test_paging_is_stable_when_conversations_move_between_pages(sessions: Sessions) -> None:
    ids = [await _conversation(sessions, f"p{i}", [f"第{i}条：房租押金不退"], hours=i) for i in range(7)]
    newest_first = ids[::-1]
    async with sessions() as session:
        first = await search_conversations(session, SearchQuery(q="押金不退", limit=3))
    assert [h.id for h in first.items] == newest_first[:3] and first.next_cursor is not None
    # between pages: a conversation of page 1 and one of page 2 get new messages and move to the top
    async with sessions() as session, session.begin():
        for moved in (newest_first[1], newest_first[4]):
            session.add(
                Message(
                    conversation_id=moved, direction="in", channel="webchat", author="resident", text="押金不退怎么办"
                )
            )
            await session.execute(
                update(Conversation).where(Conversation.id == moved).values(updated_at=T0 + dt.timedelta(days=1))
            )
    seen = [h.id for h in first.items]
    cursor = first.next_cursor
    while cursor is not None:
        async with sessions() as session:
            page = await search_conversations(
                session, SearchQuery(q="押金不退", limit=3, after=Cursor.decode(cursor.encode()))
            )
        seen += [h.id for h in page.items]
        cursor = page.next_cursor
    assert len(seen) == len(set(seen))  # nothing twice
    assert set(seen) == set(ids) - {newest_first[4]}  # nothing skipped but the one that moved above the cursor


async def test_equal_timestamps_page_by_id(sessions: Sessions) -> None:
    ids = sorted([await _conversation(sessions, f"s{i}", ["同一时刻的会话"]) for i in range(5)], reverse=True)
    seen: list[str] = []
    after = None
    for _ in range(5):
        async with sessions() as session:
            page: Page = await search_conversations(session, SearchQuery(limit=2, after=after))
        seen += [h.id for h in page.items]
        after = page.next_cursor
        if after is None:
            break
    assert seen == ids


@pytest.mark.parametrize("token", ["", "not-a-cursor", "bm9waXBl", Cursor(T0, "x").encode().replace("M", "!")])
def test_a_bad_cursor_is_a_clear_error(token: str) -> None:
    with pytest.raises(BadRequest, match="翻页参数无效"):
        Cursor.decode(token)


@pytest.mark.parametrize("query", [SearchQuery(limit=0), SearchQuery(limit=201), SearchQuery(since=T0, until=T0)])
async def test_bad_queries_are_refused(sessions: Sessions, query: SearchQuery) -> None:
    async with sessions() as session:
        with pytest.raises(BadRequest):
            await search_conversations(session, query)


async def test_each_database_searches_with_its_index(sessions: Sessions) -> None:
    async with sessions() as session:
        dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        await _fts_follows_inserts_updates_and_deletes(sessions)
    else:
        await _postgresql_uses_the_trigram_index(sessions)


async def _fts_follows_inserts_updates_and_deletes(sessions: Sessions) -> None:
    conv = await _conversation(sessions, "f", ["小区物业乱收停车费"])

    async def fts(q: str) -> list[int]:
        async with sessions() as session:
            rows = await session.execute(text("SELECT rowid FROM messages_fts WHERE messages_fts MATCH :q"), {"q": q})
            return [r[0] for r in rows]

    async with sessions() as session:
        [message_id] = list(await session.scalars(select(Message.id).where(Message.conversation_id == conv)))
    assert await fts('"停车费"') == [message_id]
    async with sessions() as session, session.begin():
        await session.execute(update(Message).where(Message.id == message_id).values(text="物业不修电梯"))
    assert await fts('"停车费"') == [] and await fts('"不修电梯"') == [message_id]
    assert await _search(sessions, q="不修电梯") == [conv]
    async with sessions() as session, session.begin():
        await session.execute(delete(Message).where(Message.id == message_id))
    assert await fts('"不修电梯"') == []
    assert await _search(sessions, q="不修电梯") == []


async def _postgresql_uses_the_trigram_index(sessions: Sessions) -> None:
    async with sessions() as session:
        await session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(
            r[0] for r in await session.execute(text("EXPLAIN SELECT id FROM messages WHERE text ILIKE '%拖欠工资%'"))
        )
    assert "ix_messages_text_trgm" in plan
