"""普法 entries in the console: admin only (others 403), CSRF on every form, refusals in Chinese that keep what was
typed, edits stored and audited; unanswered questions shown to admins and auditors, covered by admins only."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select
from stand_ins.console_accounts import add_account, csrf_of, login_form
from starlette.testclient import TestClient

from sharedcourt.app import create_app
from sharedcourt.db.faq import FaqEntryEdit, FaqUnanswered
from sharedcourt.db.staff import AuditEvent
from sharedcourt.faq import unanswered
from sharedcourt.faq.answer import KnowledgeBase
from sharedcourt.faq.edits import today_in_china
from sharedcourt.faq.entries import shipped
from sharedcourt.settings import Settings

NEW = {
    "mode": "new",
    "entry_id": "neighbor-bee-sting",
    "dispute": "neighbor",
    "questions": "邻居养的蜜蜂蜇了人谁负责\n养蜂人的蜜蜂蜇伤路人要赔吗\n"
    "被邻居家蜜蜂蜇了能要医药费吗\n蜜蜂蜇人养蜂的要担责吗",
    "answer": "饲养的动物造成他人损害的，饲养人或者管理人应当承担侵权责任，蜜蜂也一样。",
    "sources": "《中华人民共和国民法典》第一千二百四十五条",
    "figures": "",
    "checked": "2026-12-01",
}
OTHERS = ("dispatcher", "judge", "mediator", "lawyer", "auditor")


@pytest.fixture
def client(database_url: str, sessions: Any) -> Iterator[TestClient]:
    settings = Settings.from_env({"DATABASE_URL": database_url})
    with TestClient(create_app(settings, background=False)) as c:
        yield c


async def _sign_in(client: TestClient, sessions: Any, username: str, role: str) -> str:
    await add_account(sessions, username, role, "" if role in ("admin", "auditor") else "330802")
    client.cookies.clear()
    assert client.post("/console/login", data=login_form(username), follow_redirects=False).status_code == 303
    return csrf_of(client.get("/console").text)


async def test_the_admin_lists_searches_and_filters_entries(client: TestClient, sessions: Any) -> None:
    await _sign_in(client, sessions, "admin1", "admin")
    page = client.get("/console/faq", params={"dispute": "family"})
    assert page.status_code == 200
    family = [e for e in shipped() if e.dispute == "family"]
    assert f"共 {len(family)} 条" in page.text and family[0].id in page.text
    assert next(e for e in shipped() if e.dispute == "labor").id not in page.text
    found = client.get("/console/faq", params={"q": "第一千零八十五条"})
    assert "seed-family-child-support" in found.text
    form = client.get("/console/faq/edit", params={"id": "seed-family-child-support"})
    assert form.status_code == 200 and "《中华人民共和国民法典》第一千零八十五条" in form.text


@pytest.mark.parametrize("role", OTHERS)
async def test_other_roles_may_not_see_or_edit_entries(client: TestClient, sessions: Any, role: str) -> None:
    csrf = await _sign_in(client, sessions, f"{role}1", role)
    assert client.get("/console/faq").status_code == 403
    assert client.get("/console/faq/edit").status_code == 403
    assert client.post("/console/faq", data={**NEW, "csrf": csrf}).status_code == 403
    assert client.post("/console/faq/unanswered/covered", data={"csrf": csrf, "entry_id": "x"}).status_code == 403
    async with sessions() as session:
        assert list(await session.scalars(select(FaqEntryEdit))) == []
    assert client.get("/console/faq/unanswered").status_code == (200 if role == "auditor" else 403)


async def test_a_form_without_the_csrf_token_is_refused(client: TestClient, sessions: Any) -> None:
    await _sign_in(client, sessions, "admin1", "admin")
    assert client.post("/console/faq", data=NEW).status_code == 403
    async with sessions() as session:
        assert list(await session.scalars(select(FaqEntryEdit))) == []


async def test_a_new_entry_is_stored_and_audited(client: TestClient, sessions: Any) -> None:
    csrf = await _sign_in(client, sessions, "admin1", "admin")
    saved = client.post("/console/faq", data={**NEW, "csrf": csrf})
    assert saved.status_code == 200 and "已保存条目 neighbor-bee-sting" in saved.text
    async with sessions() as session:
        row = await session.get(FaqEntryEdit, "neighbor-bee-sting")
        event = await session.scalar(select(AuditEvent).where(AuditEvent.action == "faq_entry_added"))
    assert row is not None and row.updated_by == "admin1" and row.checked == dt.date(2026, 12, 1)
    assert event is not None and event.actor == "admin1" and event.target_id == "neighbor-bee-sting"
    listed = client.get("/console/faq", params={"q": "蜜蜂"})
    assert "neighbor-bee-sting" in listed.text and "控制台（admin1" in listed.text
    again = client.post("/console/faq", data={**NEW, "csrf": csrf})
    assert again.status_code == 400 and "已经有了" in again.text


async def test_an_edit_in_the_future_is_refused_in_chinese_and_nothing_typed_is_lost(
    client: TestClient, sessions: Any
) -> None:
    csrf = await _sign_in(client, sessions, "admin1", "admin")
    tomorrow = (today_in_china() + dt.timedelta(days=1)).isoformat()
    refused = client.post("/console/faq", data={**NEW, "checked": tomorrow, "sources": "民法典", "csrf": csrf})
    assert refused.status_code == 400
    assert "还没到" in refused.text and "书名号" in refused.text and "没有保存" in refused.text
    assert "蜜蜂也一样" in refused.text and "被邻居家蜜蜂蜇了能要医药费吗" in refused.text and tomorrow in refused.text
    async with sessions() as session:
        assert await session.get(FaqEntryEdit, "neighbor-bee-sting") is None
        assert await session.scalar(select(AuditEvent).where(AuditEvent.action.like("faq_%"))) is None


async def test_editing_a_shipped_entry_is_audited_as_an_edit(client: TestClient, sessions: Any) -> None:
    csrf = await _sign_in(client, sessions, "admin1", "admin")
    form = client.get("/console/faq/edit", params={"id": "seed-family-child-support"})
    assert 'value="edit"' in form.text and "readonly" in form.text
    entry = next(e for e in shipped() if e.id == "seed-family-child-support")
    data = {
        "csrf": csrf,
        "mode": "edit",
        "entry_id": entry.id,
        "dispute": entry.dispute,
        "questions": "\n".join(entry.questions),
        "answer": "抚养费按子女需要、父母负担能力和当地生活水平确定。",
        "sources": "\n".join(entry.sources),
        "checked": today_in_china().isoformat(),
    }
    assert client.post("/console/faq", data=data).status_code == 200
    async with sessions() as session:
        event = await session.scalar(select(AuditEvent).where(AuditEvent.action == "faq_entry_edited"))
    assert event is not None and event.target_id == entry.id and event.field == "family"
    missing = client.post("/console/faq", data={**data, "entry_id": "no-such-entry"})
    assert missing.status_code == 400 and "没有这个条目" in missing.text


async def test_unanswered_questions_are_shown_and_covered_by_an_admin(client: TestClient, sessions: Any) -> None:
    kb = KnowledgeBase(shipped())
    for text in ("外星人可以在地球上结婚吗", "外星人可以在地球上结婚吗", "太空旅行的船票能退吗"):
        await unanswered.record(sessions, text, kb.answer(text))
    await _sign_in(client, sessions, "auditor1", "auditor")
    seen = client.get("/console/faq/unanswered")
    assert "外星人可以在地球上结婚吗" in seen.text and "太空旅行的船票能退吗" in seen.text
    assert "标记已解答" not in seen.text  # auditors read; admins write the entries
    assert seen.text.index("外星人可以在地球上结婚吗") < seen.text.index("太空旅行的船票能退吗")  # most asked first
    csrf = await _sign_in(client, sessions, "admin1", "admin")
    async with sessions() as session:
        row = await session.scalar(select(FaqUnanswered).where(FaqUnanswered.text.like("外星人%")))
    assert row is not None
    bad = client.post("/console/faq/unanswered/covered", data={"csrf": csrf, "question": row.id, "entry_id": "nope"})
    assert bad.status_code == 400 and "没有编号为“nope”的条目" in bad.text
    data = {"csrf": csrf, "question": str(row.id), "entry_id": "seed-family-child-support"}
    covered = client.post("/console/faq/unanswered/covered", data=data)
    assert covered.status_code == 200 and "已将 1 个问题标记" in covered.text
    assert "外星人可以在地球上结婚吗" not in covered.text and "太空旅行的船票能退吗" in covered.text
    async with sessions() as session:
        event = await session.scalar(select(AuditEvent).where(AuditEvent.action == "faq_question_covered"))
    assert event is not None and event.field == str(row.id)
