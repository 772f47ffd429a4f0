"""Staff console: an account's session required (the staff token opens nothing here), transcripts masked, stats
counted within the caller's scope."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from stand_ins.console_accounts import add_account, login_form
from stand_ins.review_world import ROLE_ACCOUNTS, build
from starlette.testclient import TestClient

from sharedcourt.app import create_app
from sharedcourt.db.case import Case
from sharedcourt.db.conversation import Conversation, Message, Resident
from sharedcourt.settings import Settings

TOKEN = "staff-secret"


@pytest.fixture
def client(database_url: str, sessions: Any) -> Iterator[TestClient]:
    settings = Settings.from_env({"DATABASE_URL": database_url, "STAFF_TOKEN": TOKEN})
    with TestClient(create_app(settings, background=False)) as c:
        yield c


async def _seed(sessions: Any) -> str:
    async with sessions() as session, session.begin():
        resident = Resident(channel="webchat", channel_user_id="u1")
        session.add(resident)
        await session.flush()
        conv = Conversation(resident_id=resident.id, channel="webchat")
        session.add(conv)
        await session.flush()
        session.add_all(
            [
                Message(
                    conversation_id=conv.id,
                    direction="in",
                    channel="webchat",
                    author="resident",
                    text="我电话13812345678，身份证330802199001011232",
                ),
                Message(conversation_id=conv.id, direction="out", channel="webchat", author="bot", text="收到"),
                Case(
                    resident_id=resident.id,
                    conversation_id=conv.id,
                    dispute_code="labor",
                    urgent=True,
                    facts={"phone": "13812345678"},
                    site_code="GX330802005",  # the mediator's site: inside their scope
                ),
            ]
        )
        return conv.id


def test_console_requires_login(client: TestClient) -> None:
    assert client.get("/console", follow_redirects=False).status_code == 303
    assert client.get("/console/api/stats").status_code == 403
    assert client.get("/console/api/stats", headers={"Authorization": "Bearer wrong"}).status_code == 403
    assert client.post("/console/login", data=login_form("nobody")).status_code == 403


def test_the_staff_token_no_longer_opens_the_console(client: TestClient) -> None:
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    assert client.get("/console/api/stats", headers=bearer).status_code == 403
    assert client.get("/console", headers=bearer, follow_redirects=False).status_code == 303
    assert client.post("/console/login", data={"token": TOKEN}).status_code == 403
    assert client.post("/console/login", data={"username": "admin", "password": TOKEN}).status_code == 403


async def test_transcript_is_masked_and_stats_count(client: TestClient, sessions: Any) -> None:
    conversation_id = await _seed(sessions)
    await add_account(sessions, "mediator1", "mediator", "GX330802005")
    assert client.post("/console/login", data=login_form("mediator1"), follow_redirects=False).status_code == 303
    page = client.get(f"/console/conversations/{conversation_id}")
    assert page.status_code == 200
    assert "13812345678" not in page.text and "138****5678" in page.text
    assert "330802199001011232" not in page.text
    stats = client.get("/console/api/dashboard").json()
    assert stats["cases_by_type"] == {"labor": 1}
    assert stats["urgent_cases"] == 1
    assert sum(stats["messages_per_day"].values()) == 1
    dashboard = client.get("/console")
    assert "劳动争议" in dashboard.text and "<svg" in dashboard.text
    assert "mediator1的名字" in dashboard.text and "退出登录" in dashboard.text


async def test_transcript_masks_names_and_addresses(client: TestClient, sessions: Any) -> None:
    async with sessions() as session, session.begin():
        resident = Resident(channel="webchat", channel_user_id="u-names", name="赵六")
        session.add(resident)
        await session.flush()
        conv = Conversation(resident_id=resident.id, channel="webchat")
        session.add(conv)
        await session.flush()
        said = "我是赵六，昨天王建军又来了，他住人民路88号3幢201室，欧阳娜娜欠我钱"
        session.add_all(
            [
                Message(conversation_id=conv.id, direction="in", channel="webchat", author="resident", text=said),
                Case(
                    resident_id=resident.id,
                    conversation_id=conv.id,
                    dispute_code="neighbor",
                    facts={"party": "邻居王建军", "what_happened": "王建军家的树压坏了车棚"},
                    site_code="GX330802005",
                ),
            ]
        )
        conversation_id = conv.id
    await add_account(sessions, "mediator2", "mediator", "GX330802005")
    assert client.post("/console/login", data=login_form("mediator2"), follow_redirects=False).status_code == 303
    page = client.get(f"/console/conversations/{conversation_id}").text
    assert "我是赵*，昨天王**又来了，他住****，欧阳**欠我钱" in page
    assert "王**家的树压坏了车棚" in page and "邻居王**" in page
    for secret in ("赵六", "王建军", "娜娜", "人民路", "201"):
        assert secret not in page


async def test_an_account_without_a_role_is_refused_with_a_chinese_page(client: TestClient, sessions: Any) -> None:
    await add_account(sessions, "norole", None)
    assert client.post("/console/login", data=login_form("norole"), follow_redirects=False).status_code == 303
    page = client.get("/console", follow_redirects=False)
    assert page.status_code == 403 and "尚未分配角色" in page.text
    assert client.get("/console/api/stats").status_code == 403


async def _scoped_world(sessions: Any, evidence_dir: Path) -> None:
    """review_world, plus: qujiang in human hands with a pending message, and a conversation without a case."""
    world = await build(sessions, evidence_dir)
    async with sessions() as session, session.begin():
        qujiang = world.conversations["qujiang"]
        await session.execute(update(Conversation).where(Conversation.id == qujiang).values(mode="human"))
        session.add(
            Message(
                conversation_id=qujiang,
                direction="in",
                channel="webchat",
                author="resident",
                text="还在吗",
                status="pending",
            )
        )
        resident = Resident(channel="webchat", channel_user_id="u-nocase")
        session.add(resident)
        await session.flush()
        conv = Conversation(resident_id=resident.id, channel="webchat")
        session.add(conv)
        await session.flush()
        session.add(Message(conversation_id=conv.id, direction="in", channel="webchat", author="resident", text="你好"))


# Per role: conversations, in human hands, pending, urgent cases, cases by type, resident messages in 14 days.
SCOPED = {
    "admin": (3, 1, 1, 1, {"labor": 1, "neighbor": 1}, 4),
    "auditor": (3, 1, 1, 1, {"labor": 1, "neighbor": 1}, 4),
    "dispatcher": (1, 0, 0, 1, {"labor": 1}, 1),
    "mediator": (1, 0, 0, 1, {"labor": 1}, 1),
    "lawyer": (1, 0, 0, 1, {"labor": 1}, 1),
    "judge": (1, 1, 1, 0, {"neighbor": 1}, 2),
}


@pytest.mark.parametrize("role", list(SCOPED))
async def test_dashboard_figures_count_only_the_callers_scope(
    client: TestClient, sessions: Any, tmp_path: Path, role: str
) -> None:
    await _scoped_world(sessions, tmp_path)
    username = ROLE_ACCOUNTS[role][0]
    assert client.post("/console/login", data=login_form(username), follow_redirects=False).status_code == 303
    stats = client.get("/console/api/dashboard").json()
    figures = (
        stats["conversations"],
        stats["in_human_hands"],
        stats["pending_messages"],
        stats["urgent_cases"],
        stats["cases_by_type"],
        sum(stats["messages_per_day"].values()),
    )
    assert figures == SCOPED[role], role
    page = client.get("/console").text
    cards = re.findall(r'<div class="n[^"]*">(\d+)</div>', page)
    assert cards == [str(n) for n in SCOPED[role][:4]], role
    hidden = {"admin": set(), "auditor": set(), "judge": {"劳动争议"}}.get(role, {"邻里纠纷"})
    assert all(label not in page.split("案件类型分布")[1].split("</section>")[0] for label in hidden)
