"""The case page (sharedcourt.web.workspace.cases) on both databases: masked facts with an audited reveal, evidence,
bookings, the tickets' history and rating; linked from the workspace and the conversation page; 404 out of scope."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from stand_ins.calendar_world import book, local_at, make_site, slots_at
from stand_ins.workspace_world import BAIYUN, DIRECTOR_DINGTALK, WorkspaceWorld, workspace_world

from sharedcourt.db.case import Case, Evidence
from sharedcourt.db.conversation import Conversation, Message, Resident
from sharedcourt.db.staff import AuditEvent
from sharedcourt.handoff.core import HandoffRequest

PHONE, PARTY = "13812345678", "王建军"


async def case_with_ticket(world: WorkspaceWorld, sender: str) -> tuple[str, int, str]:
    """A web chat resident's case at 白云 (facts with a phone and a party), evidence, and a ticket for it."""
    await world.resident_says(sender, f"{PARTY}欠我工资不给，我电话{PHONE}")
    async with world.app.state.sessions() as session, session.begin():
        conversation = await session.scalar(
            select(Conversation).join(Resident).where(Resident.channel_user_id == sender)
        )
        assert conversation is not None
        case = Case(
            number=f"AJ-{sender}",
            resident_id=conversation.resident_id,
            conversation_id=conversation.id,
            dispute_code="labor",
            status="confirmed",
            site_code=BAIYUN,
            facts={"party": PARTY, "phone": PHONE, "amount": "6000"},
        )
        session.add(case)
        await session.flush()
        said = await session.scalar(select(Message.id).where(Message.conversation_id == conversation.id).limit(1))
        session.add(Evidence(case_id=case.id, message_id=said, kind="image", path=None))
        cid, case_id = conversation.id, case.id
    outcome = await world.service.request(HandoffRequest(conversation_id=cid, dispute_code="labor"))
    assert outcome.ok and outcome.number
    return cid, case_id, outcome.number


async def test_the_case_page_shows_facts_masked_evidence_bookings_tickets_and_rating(
    database_url: str, sessions: object
) -> None:
    async with workspace_world(database_url) as world:
        director = await world.person("zhuren", "mediator", dingtalk=DIRECTOR_DINGTALK)
        cid, case_id, number = await case_with_ticket(world, "case-page")
        site = await make_site(world.app.state.sessions, name="柯城测试村共享法庭")
        [slot, *_] = await slots_at(
            world.app.state.sessions, site, local_at(dt.date(2026, 12, 1), 14, 0), world.clock()
        )
        await book(world.app.state.sessions, case_id, slot, world.clock())
        assert (await world.act(director, number, "accept")).status_code == 303
        assert (await world.act(director, number, "close", outcome="调解成功", note="已付清")).status_code == 303
        assert (await world.service.rate(cid, 4, "调解员很耐心")).ok
        page = await world.get(director, f"/console/cases/{case_id}")
        assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
        text = page.text
        assert "案件 AJ-case-page · " in text and "已结案" in text
        assert PHONE not in text and "138****5678" in text and PARTY not in text
        assert "证据材料（1 件）" in text and "图片" in text
        assert "12月1日（周二）14:00-15:00" in text and "柯城测试村共享法庭" in text and "预约成功" in text
        ticket = text.split(f'data-number="{number}"')[1]
        assert "已结束" in ticket and "结果：调解成功（已付清）" in ticket
        assert '<span class="rating">4 分</span> · 调解员很耐心' in ticket
        for step in ("工单派给", "工单被接单", "工单结束"):
            assert step in ticket, step
        assert "白云街道共享法庭庭务主任" in ticket, "the history names who accepted"
        workspace = await world.get(director, f"/console/workspace/tickets/{number}")
        assert f'href="/console/cases/{case_id}"' in workspace.text
        conversation = await world.get(director, f"/console/conversations/{cid}")
        assert f'href="/console/cases/{case_id}"' in conversation.text


async def test_reveal_needs_a_reason_is_audited_and_auditors_and_outsiders_get_nothing(
    database_url: str, sessions: object
) -> None:
    async with workspace_world(database_url) as world:
        director = await world.person("zhuren", "mediator", dingtalk=DIRECTOR_DINGTALK)
        auditor = await world.person("shenji", "auditor", scope="")
        elsewhere = await make_site(world.app.state.sessions, county="330803")
        outsider = await world.person("waidi", "mediator", scope=elsewhere)
        _, case_id, _ = await case_with_ticket(world, "case-reveal")
        url = f"/console/cases/{case_id}/reveal"
        world.client.cookies.clear()
        no_reason = await world.client.post(
            url, data={"csrf": director.csrf, "field": "phone", "reason": " "}, headers=director.headers
        )
        assert no_reason.status_code == 400 and PHONE not in no_reason.text
        world.client.cookies.clear()
        shown = await world.client.post(
            url, data={"csrf": director.csrf, "field": "phone", "reason": "回电核实"}, headers=director.headers
        )
        assert shown.status_code == 200 and f"<li>{PHONE}</li>" in shown.text and "理由：回电核实" in shown.text
        async with world.app.state.sessions() as session:
            rows = (await session.execute(select(AuditEvent.action, AuditEvent.reason, AuditEvent.field))).all()
        assert [tuple(r) for r in rows if r[0] == "reveal"] == [("reveal", "回电核实", "phone")]
        audited = await world.get(auditor, f"/console/cases/{case_id}")
        assert audited.status_code == 200 and 'action="/console/cases/' not in audited.text
        world.client.cookies.clear()
        refused = await world.client.post(
            url, data={"csrf": auditor.csrf, "field": "phone", "reason": "看看"}, headers=auditor.headers
        )
        assert refused.status_code == 403 and PHONE not in refused.text
        hidden = await world.get(outsider, f"/console/cases/{case_id}")
        assert hidden.status_code == 404 and "AJ-case-reveal" not in hidden.text
        world.client.cookies.clear()
        hidden_reveal = await world.client.post(
            url, data={"csrf": outsider.csrf, "field": "phone", "reason": "越权"}, headers=outsider.headers
        )
        assert hidden_reveal.status_code == 404 and PHONE not in hidden_reveal.text
        assert (await world.get(director, "/console/cases/999999")).status_code == 404
        world.client.cookies.clear()
        forged = await world.client.post(url, data={"field": "phone", "reason": "无令牌"}, headers=director.headers)
        assert forged.status_code == 403 and PHONE not in forged.text
