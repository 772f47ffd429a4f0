"""The workspace's inbox and actions (sharedcourt.web.workspace.pages) on both databases: every action goes
through the handoff core DingTalk uses, so a ticket taken on one channel is taken on the other; role, scope and
CSRF refusals change nothing."""

from __future__ import annotations

from sqlalchemy import select
from stand_ins.workspace_world import DIRECTOR_DINGTALK, workspace_world

from sharedcourt.db.conversation import Conversation, Message
from sharedcourt.db.staff import AuditEvent
from sharedcourt.db.ticket import TicketEvent

MEDIATOR_DINGTALK = "demo-baiyun-mediator-1"


async def test_inbox_shows_the_offer_with_countdown_reason_and_masked_summary(
    database_url: str, sessions: object
) -> None:
    async with workspace_world(database_url) as world:
        director = await world.person("zhuren", "mediator", dingtalk=DIRECTOR_DINGTALK)
        summary = "居民电话13812345678，邻居把垃圾堆在门口"
        _, number = await world.resident_asks("ws-inbox", summary=summary)
        world.clock.advance(40)
        page = await world.get(director, "/console/workspace")
        assert page.status_code == 200
        [card] = [c for c in page.text.split('class="ticket') if f'data-number="{number}"' in c]
        assert "待接单" in card and "派给我" in card
        assert 'data-left="140"' in card, "three minutes to accept, forty seconds gone"
        assert "分派原因" in card and "柯城区白云街道共享法庭" in card
        assert "案情摘要：居民电话138****5678，邻居把垃圾堆在门口" in card and "13812345678" not in page.text
        assert f'action="/console/workspace/tickets/{number}/accept"' in card


async def test_accept_on_the_web_then_dingtalk_sees_it_taken(database_url: str, sessions: object) -> None:
    async with workspace_world(database_url) as world:
        director = await world.person("zhuren", "mediator", dingtalk=DIRECTOR_DINGTALK)
        conversation, number = await world.resident_asks("ws-accept")
        accepted = await world.act(director, number, "accept")
        assert accepted.status_code == 303 and accepted.headers["location"].startswith(
            f"/console/workspace/tickets/{number}"
        )
        ticket = await world.ticket(number)
        assert (ticket.state, ticket.holder) == ("accepted", "baiyun-director")
        # The mediator presses 接单 in DingTalk: the same core answers that the director has it.
        late = await world.service.staff_says(MEDIATOR_DINGTALK, f"接单 {number}")
        assert not late.ok and "已由白云街道共享法庭庭务主任接单" in late.text
        assert (await world.ticket(number)).holder == "baiyun-director"
        async with world.app.state.sessions() as session:
            actors = list(await session.scalars(select(TicketEvent.actor).where(TicketEvent.kind == "accepted")))
            audited = list(await session.scalars(select(AuditEvent.action).where(AuditEvent.target_id == number)))
        assert actors == ["staff:baiyun-director"] and audited == ["workspace_accept"]
        async with world.app.state.sessions() as session:
            assert (await session.get_one(Conversation, conversation)).mode == "human"


async def test_accept_in_dingtalk_then_the_web_shows_it_taken(database_url: str, sessions: object) -> None:
    async with workspace_world(database_url) as world:
        mediator = await world.person("tiaojie", "mediator", dingtalk=MEDIATOR_DINGTALK)
        _, number = await world.resident_asks("ws-dingtalk-first")
        taken = await world.service.staff_says(DIRECTOR_DINGTALK, f"接单 {number}")
        assert taken.ok
        inbox = await world.get(mediator, "/console/workspace")
        [card] = [c for c in inbox.text.split('class="ticket') if f'data-number="{number}"' in c]
        assert "处理中" in card and "处理人：白云街道共享法庭庭务主任" in card and "/accept" not in card
        refused = await world.act(mediator, number, "accept")
        assert refused.status_code == 409 and "已由白云街道共享法庭庭务主任接单" in refused.text
        assert (await world.ticket(number)).holder == "baiyun-director"


async def test_reply_reaches_the_resident_as_the_staff_member_and_close_records_the_outcome(
    database_url: str, sessions: object
) -> None:
    async with workspace_world(database_url) as world:
        director = await world.person("zhuren", "mediator", dingtalk=DIRECTOR_DINGTALK)
        conversation, number = await world.resident_asks("ws-close")
        assert (await world.act(director, number, "accept")).status_code == 303
        replied = await world.act(director, number, "reply", text="您好，我是庭务主任，请说说情况")
        assert replied.status_code == 303
        async with world.app.state.sessions() as session:
            last = await session.scalar(
                select(Message).where(Message.conversation_id == conversation).order_by(Message.id.desc()).limit(1)
            )
        assert last is not None and (last.author, last.text) == (
            "staff:baiyun-director",
            "您好，我是庭务主任，请说说情况",
        )
        assert last.direction == "out" and last.channel == "webchat"
        page = await world.get(director, f"/console/workspace/tickets/{number}")
        assert "白云街道共享法庭庭务主任 · " in page.text, "the transcript names which staff member wrote"
        closed = await world.act(director, number, "close", outcome="调解成功", note="双方同意三天内清理")
        assert closed.status_code == 303 and closed.headers["location"].startswith("/console/workspace?done=")
        ticket = await world.ticket(number)
        assert (ticket.state, ticket.outcome, ticket.note) == ("closed", "调解成功", "双方同意三天内清理")
        async with world.app.state.sessions() as session:
            texts = list(
                await session.scalars(
                    select(Message.text).where(Message.conversation_id == conversation, Message.direction == "out")
                )
            )
        assert "工作人员已结束本次人工服务（结果：调解成功）。" in texts


async def test_transfer_to_the_paired_judge_and_hand_back(database_url: str, sessions: object) -> None:
    async with workspace_world(database_url) as world:
        director = await world.person("zhuren", "mediator", dingtalk=DIRECTOR_DINGTALK)
        judge = await world.person("faguan", "judge", dingtalk="demo-baiyun-judge")
        _, number = await world.resident_asks("ws-transfer")
        await world.act(director, number, "accept")
        moved = await world.act(director, number, "transfer", to="法官")
        assert moved.status_code == 303
        ticket = await world.ticket(number)
        assert (ticket.state, ticket.assignee, ticket.holder) == ("offered", "baiyun-judge", None)
        assert (await world.act(judge, number, "accept")).status_code == 303
        assert (await world.act(judge, number, "handback")).status_code == 303
        ticket = await world.ticket(number)
        assert (ticket.state, ticket.holder, ticket.note) == ("closed", "baiyun-judge", "交还智能助手")


async def test_other_roles_scopes_and_forms_are_refused_and_change_nothing(database_url: str, sessions: object) -> None:
    async with workspace_world(database_url) as world:
        director = await world.person("zhuren", "mediator", dingtalk=DIRECTOR_DINGTALK)
        elsewhere = await world.person("qujiang", "mediator", scope="330803")  # 衢江区: another county
        lawyer = await world.person("lvshi", "lawyer")
        _, number = await world.resident_asks("ws-refused")
        inbox = await world.get(elsewhere, "/console/workspace")
        assert inbox.status_code == 200 and number not in inbox.text
        assert (await world.get(elsewhere, f"/console/workspace/tickets/{number}")).status_code == 403
        assert (await world.get(elsewhere, f"/console/workspace/tickets/{number}/events")).status_code == 403
        assert (await world.act(elsewhere, number, "accept")).status_code == 403
        assert (await world.get(lawyer, "/console/workspace")).status_code == 403
        assert (await world.act(lawyer, number, "accept")).status_code == 403
        forged = await world.act(director, number, "accept", csrf="0" * 64)
        assert forged.status_code == 403
        assert (await world.ticket(number)).state == "offered"
        await world.act(director, number, "accept")
        assert (await world.act(director, number, "close", outcome="随便")).status_code == 400
        assert (await world.act(director, number, "reply", text="  ")).status_code == 400
        assert (await world.act(director, number, "transfer", to="nobody")).status_code == 400
        assert (await world.act(director, number, "explode")).status_code == 404
        assert (await world.get(director, "/console/workspace/tickets/T99999")).status_code == 404
        assert (await world.ticket(number)).state == "accepted"
