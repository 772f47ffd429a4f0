"""The outbox sender: customer-service failures are retried, never repeated."""

from __future__ import annotations

from sqlalchemy import select
from stand_ins.wechat_harness import OPENID, Harness, sent_at_least

from sharedcourt.db.conversation import Conversation
from sharedcourt.messaging.replies import Reply


async def test_customer_service_failures_are_retried_not_repeated(h: Harness) -> None:
    h.app.state.outbox.base_delay = 0.05
    await h.reply_text(h.pusher.text(OPENID, "你好"))
    async with h.sessions() as session:
        conversation_id = await session.scalar(select(Conversation.id))
    assert conversation_id is not None
    h.api.fail_next("message/custom/send", -1, times=2)  # "system busy": surely not delivered
    await h.app.state.router.send(conversation_id, [Reply("调解员回复")], author="staff:1")
    await h.until(lambda: sent_at_least(h, 1))
    assert h.api.sent_texts(OPENID) == ["调解员回复"]
    assert [c.body["_answer"]["errcode"] for c in h.api.calls("message/custom/send")] == [-1, -1, 0]
