"""Outbound transcript rows: the text on its own, everything else in the payload."""

from __future__ import annotations

from sharedcourt.messaging.replies import Button, Reply
from sharedcourt.messaging.transcript import outbound_message


def test_a_reply_becomes_an_outbound_row() -> None:
    reply = Reply("选一个", buttons=(Button("是", "/affirm"),), image="https://x/y.png")
    row = outbound_message("c1", "webchat", reply.to_json(), author="bot")
    assert (row.conversation_id, row.direction, row.channel, row.author) == ("c1", "out", "webchat", "bot")
    assert (row.kind, row.status, row.text) == ("text", "stored", "选一个")
    assert row.payload == {"buttons": [{"title": "是", "payload": "/affirm"}], "image": "https://x/y.png"}
    assert Reply.from_payload(row.text, row.payload) == reply


def test_a_queued_item_without_text_gets_an_empty_text() -> None:
    row = outbound_message(
        "c1", "wechat", {"type": "template", "data": {}}, author="system", kind="template", status="queued"
    )
    assert (row.text, row.kind, row.status) == ("", "template", "queued")
    assert row.payload == {"type": "template", "data": {}}
