"""Replies as WeChat text: merged turns, numbered choices, pieces that fit one message."""

from __future__ import annotations

from sharedcourt.channels.wechat.render import chunks, merge
from sharedcourt.messaging.replies import Button, Reply


def test_merge_numbers_the_last_messages_buttons() -> None:
    replies = [
        Reply("第一段"),
        Reply("请选择", buttons=(Button("我要调解", "/start_mediation"), Button("人工服务", "/request_human"))),
    ]
    assert merge(replies) == "第一段\n\n请选择\n回复数字选择：\n1. 我要调解\n2. 人工服务"


def test_chunks_fit_wechat_limit() -> None:
    text = "\n".join("调解" * 200 for _ in range(5))
    pieces = chunks(text)
    assert len(pieces) > 1
    assert all(len(p.encode()) <= 2000 for p in pieces)
    assert "".join(pieces).replace("\n", "") == text.replace("\n", "")
