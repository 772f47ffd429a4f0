"""What the review pages and the review API share: filters from query parameters, scope checks, reveals, exports.

Scope is checked on every read: a conversation the caller may not see is answered 404 (its existence stays
hidden); a reveal the caller's roles do not allow (an auditor's) is 403.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from sharedcourt.db.ticket import OUTCOMES
from sharedcourt.domain.clock import TZ
from sharedcourt.domain.disputes import BY_CODE
from sharedcourt.errors import AuthError, BadRequest, NotFound
from sharedcourt.review.listing import describe
from sharedcourt.review.search import MAX_LIMIT, Cursor, SearchQuery, search_conversations
from sharedcourt.review.transcript import FIELDS, Transcript, load_transcript, reveal_values
from sharedcourt.staff import audit
from sharedcourt.staff.roles import Caller
from sharedcourt.web.scope import can_see, reveal_visibility, visibility_of

FILTERS = ("q", "type", "site", "county", "since", "until", "channel", "handled_by", "outcome", "urgent")
CHANNELS = ("webchat", "wechat", "wecom", "dingtalk")
EXPORT_CAP = 5000  # rows in one list export; narrow the filters for more
NO_REASON = "查看未脱敏信息必须填写理由"
NO_REVEAL = "您的角色不能查看未脱敏信息（审计员只读）"
NOT_FOUND = "没有这个会话，或您无权查看"


def _date(value: str, name: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise BadRequest(f"{name}格式应为 年-月-日，例如 2026-12-01") from exc


def _start_of(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=TZ)


def _urgent(value: str) -> bool | None:
    if value in ("", "all"):
        return None
    if value in ("1", "true", "yes"):
        return True
    if value in ("0", "false", "no"):
        return False
    raise BadRequest("紧急筛选应为 1（紧急）或 0（不紧急）")


def query_from(params: Mapping[str, str], limit_default: int = 20) -> SearchQuery:
    """The search the query parameters ask for (dates are China's calendar days, both ends included)."""
    get = {name: params.get(name, "").strip() for name in (*FILTERS, "cursor", "limit")}
    if get["type"] and get["type"] not in BY_CODE:
        raise BadRequest(f"没有这种纠纷类型：{get['type']}")
    if get["channel"] and get["channel"] not in CHANNELS:
        raise BadRequest(f"没有这个渠道：{get['channel']}")
    if get["outcome"] and get["outcome"] not in OUTCOMES:
        raise BadRequest(f"没有这种处理结果：{get['outcome']}")
    if len(get["q"]) > 100:
        raise BadRequest("搜索内容最长 100 个字")
    try:
        limit = int(get["limit"]) if get["limit"] else limit_default
    except ValueError as exc:
        raise BadRequest(f"每页条数应为 1 到 {MAX_LIMIT} 之间的整数") from exc
    since = _start_of(_date(get["since"], "开始日期")) if get["since"] else None
    until = _start_of(_date(get["until"], "结束日期") + dt.timedelta(days=1)) if get["until"] else None
    return SearchQuery(
        q=get["q"],
        dispute_code=get["type"] or None,
        site_code=get["site"] or None,
        county_code=get["county"] or None,
        since=since,
        until=until,
        channel=get["channel"] or None,
        handled_by=get["handled_by"] or None,
        outcome=get["outcome"] or None,
        urgent=_urgent(get["urgent"]),
        limit=limit,
        after=Cursor.decode(get["cursor"]) if get["cursor"] else None,
    )


def filter_summary(params: Mapping[str, str]) -> str:
    """The filters in use, for the export's audit row ("q=工资; type=labor")."""
    used = [f"{name}={params[name].strip()}" for name in FILTERS if params.get(name, "").strip()]
    return "; ".join(used) or "（无筛选）"


async def search_rows(session: AsyncSession, caller: Caller, query: SearchQuery) -> tuple[list[dict[str, Any]], str]:
    """One page of masked rows within the caller's scope, and the next page's cursor ('' on the last)."""
    visibility = await visibility_of(session, caller)
    page = await search_conversations(session, visibility.restrict(query))
    rows = await describe(session, page.items)
    return rows, page.next_cursor.encode() if page.next_cursor else ""


async def export_rows(session: AsyncSession, caller: Caller, query: SearchQuery) -> list[dict[str, Any]]:
    """Every masked row of the search (up to EXPORT_CAP), within the caller's scope."""
    query = dataclasses.replace(query, limit=MAX_LIMIT, after=None)
    rows: list[dict[str, Any]] = []
    while len(rows) < EXPORT_CAP:
        page, cursor = await search_rows(session, caller, query)
        rows += page
        if not cursor:
            break
        query = dataclasses.replace(query, after=Cursor.decode(cursor))
    return rows[:EXPORT_CAP]


async def visible_transcript(session: AsyncSession, caller: Caller, conversation_id: str) -> Transcript:
    """The masked transcript, when the caller may see it; NotFound otherwise (existence stays hidden)."""
    if len(conversation_id) > 32 or not await can_see(session, await visibility_of(session, caller), conversation_id):
        raise NotFound(NOT_FOUND)
    return await load_transcript(session, conversation_id)


async def reveal(
    session: AsyncSession, caller: Caller, conversation_id: str, field: str, reason: str, address: str
) -> list[str]:
    """The unmasked values of ``field``, audited; 404 out of scope, 403 for an auditor, 400 without a reason."""
    view = await visible_transcript(session, caller, conversation_id)
    if not await can_see(session, await reveal_visibility(session, caller), conversation_id):
        raise AuthError(NO_REVEAL)
    reason = reason.strip()
    if not reason:
        raise BadRequest(NO_REASON)
    if field not in FIELDS:
        raise BadRequest(f"无法查看该字段：{field}（可选：{'、'.join(FIELDS)}）")
    values = reveal_values(view, field)
    await audit.record(
        session,
        "reveal",
        caller=caller,
        target_kind="conversation",
        target_id=conversation_id,
        field=field,
        reason=reason,
        address=address,
    )
    return values


def transcript_rows(view: Transcript) -> list[dict[str, Any]]:
    """One masked transcript as export rows: every message and event in time order."""
    rows = []
    for item in view.timeline():
        if item["type"] == "message":
            rows.append({"time": item["time"], "who": item["author"], "kind": item["kind"], "text": item["text"]})
        else:
            rows.append({"time": item["time"], "who": "事件", "kind": item["what"], "text": item["detail"]})
    return rows


TRANSCRIPT_COLUMNS = {"time": "时间", "who": "谁", "kind": "类型", "text": "内容（已脱敏）"}
