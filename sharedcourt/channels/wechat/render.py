"""Replies -> what WeChat takes: one merged text, pieces that fit a message, passive XML."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from typing import Any

from starlette.responses import PlainTextResponse, Response
from wechatpy.replies import TextReply

from sharedcourt.messaging.replies import Reply

TEXT_LIMIT_BYTES = 2000  # WeChat takes 2048 bytes of text per message; keep a margin


def merge(replies: Sequence[Reply]) -> str:
    """A turn's messages as one text; the last message's buttons as numbered choices (the router maps numbers)."""
    parts: list[str] = []
    for index, reply in enumerate(replies):
        text = reply.text.strip()
        if reply.image:
            text = f"{text}\n{reply.image}".strip()
        if reply.buttons:
            if index == len(replies) - 1:
                choices = "\n".join(f"{n}. {b.title}" for n, b in enumerate(reply.buttons, 1))
                text = f"{text}\n回复数字选择：\n{choices}".strip()
            else:
                text = f"{text}\n（可回复：{'、'.join(b.title for b in reply.buttons)}）".strip()
        if text:
            parts.append(text)
    return "\n\n".join(parts)


def fits_one_message(replies: Sequence[Reply]) -> bool:
    """Whether the merged text fits one passive reply."""
    return len(merge(replies).encode("utf-8")) <= TEXT_LIMIT_BYTES


def chunks(text: str, limit: int = TEXT_LIMIT_BYTES) -> list[str]:
    """Split on paragraph, line or character boundaries so each piece fits in one WeChat message."""
    if len(text.encode("utf-8")) <= limit:
        return [text] if text else []
    out: list[str] = []
    current = ""
    for piece in re.split(r"(\n)", text):
        candidate = current + piece
        if len(candidate.encode("utf-8")) <= limit:
            current = candidate
            continue
        if current.strip():
            out.append(current.strip())
        current = ""
        while len(piece.encode("utf-8")) > limit:
            cut = limit // 3
            out.append(piece[:cut])
            piece = piece[cut:]
        current = piece
    if current.strip():
        out.append(current.strip())
    return out


def text_item(piece: str) -> dict[str, Any]:
    """The outbox payload of one customer-service text message."""
    return {"type": "text", "text": piece}


def passive_reply(msg: Any, replies: Sequence[Reply], crypto: Any | None, nonce: str) -> Response:
    """The HTTP answer to a push: `success` when there is nothing to say, else reply XML (encrypted if given)."""
    text = merge(replies)
    if not text:
        return PlainTextResponse("success")
    xml = TextReply(message=msg, content=text).render()
    if crypto is not None:
        xml = crypto.encrypt_message(xml, nonce, str(int(time.time())))
    return Response(xml, media_type="application/xml")
