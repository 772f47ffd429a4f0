"""Retries of one push: one answer, whether passive or through the outbox."""

from __future__ import annotations

import asyncio
import json

from stand_ins.misreporting import misreporting
from stand_ins.wechat_harness import OPENID, Harness, sent_at_least

from sharedcourt.db.conversation import Message


async def test_three_concurrent_retries_give_one_answer(h: Harness) -> None:
    h.rasa.delay = 0.5
    push = h.pusher.push(h.pusher.text(OPENID, "我要调解邻里纠纷"))
    responses = await asyncio.gather(
        *(h.client.post("/wechat/callback", params=push.params, content=push.body) for _ in range(3))
    )
    assert [r.status_code for r in responses] == [200, 200, 200]
    answers = {json.dumps(h.pusher.open_reply(r.content), ensure_ascii=False, sort_keys=True) for r in responses}
    contents = [h.pusher.open_reply(r.content) for r in responses]
    assert all(c is not None and c["Content"].startswith("您好") for c in contents)
    assert len({c["Content"] for c in contents if c}) == 1, answers
    assert len(h.rasa.received) == 1
    assert await h.count(Message, Message.direction == "in") == 1
    assert await h.count(Message, Message.direction == "out") == 1
    await h.idle()
    await asyncio.sleep(0.2)
    assert h.api.calls("message/custom/send") == []


async def test_retry_after_the_budget_does_not_answer_twice(h: Harness) -> None:
    h.app.state.wechat.budget = 0.3
    h.rasa.delay = 0.8
    push = h.pusher.push(h.pusher.text(OPENID, "第一次"))
    first = await h.client.post("/wechat/callback", params=push.params, content=push.body)
    second = await h.client.post("/wechat/callback", params=push.params, content=push.body)
    assert first.text == second.text == "success"
    await h.idle()
    await h.until(lambda: sent_at_least(h, 1))
    await asyncio.sleep(0.5)
    third = await h.client.post("/wechat/callback", params=push.params, content=push.body)
    assert third.text == "success"
    await asyncio.sleep(0.3)
    assert len(h.api.sent_texts(OPENID)) == 1
    assert len(h.rasa.received) == 1


async def test_retries_through_a_driver_that_misreports_rowcount_give_one_answer(h: Harness) -> None:
    """Who answers a push is decided on the rows `UPDATE … RETURNING` and a read give back, never on rowcount."""
    h.app.state.wechat.budget = 0.3
    h.rasa.delay = 0.8
    push = h.pusher.push(h.pusher.text(OPENID, "第一次"))
    with misreporting("wechat_turns") as liar:
        first, second = await asyncio.gather(
            *(h.client.post("/wechat/callback", params=push.params, content=push.body) for _ in range(2))
        )
        await h.idle()
        await h.until(lambda: sent_at_least(h, 1))
        await asyncio.sleep(0.5)
    assert first.text == second.text == "success"
    assert liar.on("wechat_turns"), "the claims went through the liar"
    assert len(h.api.sent_texts(OPENID)) == 1
    assert len(h.rasa.received) == 1
