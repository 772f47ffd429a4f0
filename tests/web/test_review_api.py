"""Review API and pages: masking never leaks (pages, JSON, CSV, XLSX) without a reveal; a reveal needs a reason
and is audited; exports are audited; API tokens; Chinese search through the API; stable cursor paging."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update
from stand_ins.console_accounts import add_account, login_form
from stand_ins.review_world import SAID, SECRETS, T0, World, build
from starlette.testclient import TestClient

from sharedcourt.app import create_app
from sharedcourt.db.conversation import Conversation, Message, Resident
from sharedcourt.db.staff import AuditEvent, StaffAccount
from sharedcourt.settings import Settings
from sharedcourt.staff.tokens import create_token

STAFF_TOKEN = "review-staff-token-1"
REASON = "核实当事人联系方式"


@pytest.fixture
def client(database_url: str, sessions: Any, tmp_path: Path) -> Iterator[TestClient]:
    (tmp_path / "ev").mkdir()
    env = {"DATABASE_URL": database_url, "STAFF_TOKEN": STAFF_TOKEN, "EVIDENCE_DIR": str(tmp_path / "ev")}
    with TestClient(create_app(Settings.from_env(env), background=False)) as c:
        yield c


@pytest.fixture
async def world(sessions: Any, tmp_path: Path) -> World:
    (tmp_path / "ev").mkdir(exist_ok=True)
    return await build(sessions, tmp_path / "ev")


def _sign_in(client: TestClient, username: str) -> str:
    client.cookies.clear()
    assert client.post("/console/login", data=login_form(username), follow_redirects=False).status_code == 303
    page = client.get("/console/conversations").text
    return page.split('name="csrf" value="')[1].split('"')[0]


def _no_secret(text: str) -> None:
    for secrets in SECRETS.values():
        for secret in secrets:
            assert secret not in text, secret


def _xlsx_text(content: bytes) -> str:
    sheet = load_workbook(io.BytesIO(content)).active
    assert sheet is not None
    return "\n".join("\t".join(str(c or "") for c in row) for row in sheet.iter_rows(values_only=True))


async def test_nothing_leaks_unmasked_in_pages_json_and_exports(client: TestClient, world: World) -> None:
    _sign_in(client, "admin1")
    cid = world.conversations["kecheng"]
    answers = {
        "list page": client.get("/console/conversations").text,
        "dashboard": client.get("/console").text,
        "page": client.get(f"/console/conversations/{cid}").text,
        "list json": client.get("/console/api/conversations").text,
        "json": client.get(f"/console/api/conversations/{cid}").text,
    }
    for name, text in answers.items():
        _no_secret(text)
        assert "138****5678" in text or name in ("list page", "list json", "dashboard"), name
    own = client.get(f"/console/conversations/{cid}/evidence/{world.evidence['kecheng']}")
    assert own.status_code == 200 and own.content == b"photo of kecheng"
    other = client.get(f"/console/conversations/{cid}/evidence/{world.evidence['qujiang']}")
    assert other.status_code == 404, "evidence is served only under its own conversation"
    detail = client.get(f"/console/api/conversations/{cid}").json()
    said = next(item for item in detail["timeline"] if item.get("author") == "居民")
    assert said["text"].startswith("我是赵*，电话138****5678，身份证330802********1232，王**拖欠工资")
    assert [e["what"] for e in detail["timeline"] if e["type"] == "event"][:1] == ["建立案件"]
    assert {"工单被接单", "工单结束", "居民评价"} <= {e["what"] for e in detail["timeline"] if e["type"] == "event"}
    assert any(i.get("author") == "工作人员 lawyer1" for i in detail["timeline"])
    for fmt in ("csv", "xlsx"):
        listed = client.get(f"/console/api/export/conversations?format={fmt}")
        one = client.get(f"/console/api/conversations/{cid}/export?format={fmt}")
        assert listed.status_code == one.status_code == 200
        if fmt == "csv":
            rows = list(csv.reader(io.StringIO(one.content.decode("utf-8-sig"))))
            assert rows[0] == ["时间", "谁", "类型", "内容（已脱敏）"]
            texts = [listed.content.decode("utf-8-sig"), one.content.decode("utf-8-sig")]
        else:
            texts = [_xlsx_text(listed.content), _xlsx_text(one.content)]
        for text in texts:
            _no_secret(text)
        assert world.conversations["qujiang"] in texts[0] and "138****5678" in texts[1]


async def test_reveal_needs_a_reason_and_is_audited(client: TestClient, sessions: Any, world: World) -> None:
    csrf = _sign_in(client, "mediator1")
    cid = world.conversations["kecheng"]
    url = f"/console/api/conversations/{cid}/reveal"
    for reason in ("", "   "):
        refused = client.post(url, json={"field": "phone", "reason": reason, "csrf": csrf})
        assert refused.status_code == 400 and "理由" in refused.json()["error"]
        page = client.post(
            f"/console/conversations/{cid}/reveal", data={"csrf": csrf, "field": "phone", "reason": reason}
        )
        assert page.status_code == 400 and "理由" in page.text and "13812345678" not in page.text
    assert client.post(url, json={"field": "phone", "reason": REASON}).status_code == 403, "a session needs CSRF"
    assert client.post(url, json={"field": "salary", "reason": REASON, "csrf": csrf}).status_code == 400
    async with sessions() as session:
        assert await session.scalar(select(AuditEvent).where(AuditEvent.action == "reveal")) is None
    shown = client.post(url, json={"field": "phone", "reason": REASON, "csrf": csrf})
    assert shown.status_code == 200 and shown.json()["values"] == ["13812345678"]
    page = client.post(f"/console/conversations/{cid}/reveal", data={"csrf": csrf, "field": "name", "reason": REASON})
    assert page.status_code == 200 and "赵六" in page.text and "王建军" in page.text
    for field, value in (("id_number", "330802199001011232"), ("bank_card", "6222021234567890123")):
        assert client.post(url, json={"field": field, "reason": REASON, "csrf": csrf}).json()["values"] == [value]
    address = client.post(url, json={"field": "address", "reason": REASON, "csrf": csrf}).json()["values"]
    assert address and address[0].startswith("人民路88号")
    async with sessions() as session:
        rows = list(await session.scalars(select(AuditEvent).where(AuditEvent.action == "reveal")))
    assert [(r.actor, r.target_id, r.field, r.reason) for r in rows[:2]] == [
        ("mediator1", cid, "phone", REASON),
        ("mediator1", cid, "name", REASON),
    ]
    assert all(r.at is not None and r.account_id for r in rows)
    _sign_in(client, "auditor1")
    audit_page = client.get("/console/audit?action=reveal").text
    assert REASON in audit_page and "mediator1" in audit_page
    api = client.get("/console/api/audit", params={"action": "reveal", "account": "mediator1"}).json()
    assert len(api["items"]) == 5 and api["items"][-1]["field"] == "phone"
    assert client.post(url, json={"field": "phone", "reason": REASON}).status_code == 403


async def test_exports_are_audited_with_their_filters(client: TestClient, sessions: Any, world: World) -> None:
    _sign_in(client, "dispatch1")
    assert client.get("/console/api/export/conversations?format=xlsx&q=工资&urgent=1").status_code == 200
    assert client.get("/console/api/export/conversations?format=pdf").status_code == 400
    async with sessions() as session:
        row = await session.scalar(select(AuditEvent).where(AuditEvent.action == "export"))
    assert row is not None and row.actor == "dispatch1" and row.field == "xlsx"
    assert row.reason.startswith("q=工资; urgent=1") and "1 条" in row.reason


async def test_api_tokens_open_the_api_and_nothing_else(client: TestClient, sessions: Any, world: World) -> None:
    csrf = _sign_in(client, "admin1")
    made = client.post(f"/console/accounts/{world.accounts['lawyer']}/tokens", data={"csrf": csrf})
    token = made.text.split('<code class="token">')[1].split("<")[0]
    assert token.startswith("sc_") and made.headers["cache-control"] == "no-store"
    async with sessions() as session:
        stored = await session.scalar(select(StaffAccount).where(StaffAccount.username == "lawyer1"))
        assert stored is not None
    client.cookies.clear()
    bearer = {"Authorization": f"Bearer {token}"}
    listed = client.get("/console/api/conversations", headers=bearer)
    assert listed.status_code == 200 and [r["id"] for r in listed.json()["items"]] == [world.conversations["kecheng"]]
    cid = world.conversations["kecheng"]
    shown = client.post(f"/console/api/conversations/{cid}/reveal", headers=bearer, json={"reason": REASON})
    assert shown.status_code == 200 and shown.json()["values"] == ["13812345678"], "a token needs no CSRF"
    assert client.get("/console/api/audit", headers=bearer).status_code == 403
    assert client.get("/console/conversations", headers=bearer, follow_redirects=False).status_code == 303
    for wrong in (STAFF_TOKEN, "sc_" + "x" * 43, token[:-1], token + "x"):
        assert client.get("/console/api/conversations", headers={"Authorization": f"Bearer {wrong}"}).status_code == 403
    async with sessions() as session, session.begin():
        await session.execute(update(StaffAccount).where(StaffAccount.username == "lawyer1").values(active=False))
    assert client.get("/console/api/conversations", headers=bearer).status_code == 403


async def test_a_token_is_stored_hashed(sessions: Any) -> None:
    await add_account(sessions, "tok", "auditor")
    async with sessions() as session, session.begin():
        account = await session.scalar(select(StaffAccount).where(StaffAccount.username == "tok"))
        assert account is not None
        row, token = await create_token(session, account)
    assert token not in row.token_hash and len(row.token_hash) == 64


async def _many(sessions: Any, count: int) -> list[str]:
    """``count`` conversations about wages, two of them updated at the same instant, newest last made."""
    ids = []
    async with sessions() as session, session.begin():
        for i in range(count):
            resident = Resident(channel="webchat", channel_user_id=f"many-{i}")
            session.add(resident)
            await session.flush()
            conv = Conversation(resident_id=resident.id, channel="webchat")
            session.add(conv)
            await session.flush()
            text = f"第{i}位：公司拖欠工资{i}个月" if i % 2 == 0 else f"第{i}位：邻居噪音扰民"
            session.add(
                Message(conversation_id=conv.id, direction="in", channel="webchat", author="resident", text=text)
            )
            await session.flush()
            at = T0 + dt.timedelta(minutes=min(i, 5))  # 5, 6, 7 … share one instant: ties broken by id
            await session.execute(update(Conversation).where(Conversation.id == conv.id).values(updated_at=at))
            ids.append(conv.id)
    return ids


async def test_chinese_search_and_stable_paging_through_the_api(client: TestClient, sessions: Any) -> None:
    await add_account(sessions, "admin9", "admin")
    made = await _many(sessions, 9)
    _sign_in(client, "admin9")
    found = client.get("/console/api/conversations", params={"q": "拖欠工资", "limit": 50}).json()["items"]
    assert {r["id"] for r in found} == {made[i] for i in (0, 2, 4, 6, 8)}
    assert {r["id"] for r in client.get("/console/api/conversations", params={"q": "噪音"}).json()["items"]} == {
        made[i] for i in (1, 3, 5, 7)
    }
    seen: list[str] = []
    cursor = ""
    while True:
        page = client.get("/console/api/conversations", params={"limit": 2, "cursor": cursor}).json()
        seen += [r["id"] for r in page["items"]]
        if seen and len(seen) == 4:  # a conversation touched between pages moves to the top, shown once
            async with sessions() as session, session.begin():
                await session.execute(
                    update(Conversation).where(Conversation.id == seen[0]).values(updated_at=T0 + dt.timedelta(days=1))
                )
        if not page["next_cursor"]:
            break
        cursor = page["next_cursor"]
    assert sorted(seen) == sorted(made) and len(seen) == len(set(seen)) == 9
    assert client.get("/console/api/conversations", params={"cursor": "not-ours"}).status_code == 400
    assert (
        client.get("/console/api/conversations", params={"since": "2026-13-01"}).json()["error"].startswith("开始日期")
    )
    assert "无效" in client.get("/console/conversations", params={"cursor": "x"}).text
    assert SAID["kecheng"] not in client.get("/console/conversations").text
