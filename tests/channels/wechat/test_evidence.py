"""Photos, videos, files and links kept as evidence."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select
from stand_ins.wechat_harness import OPENID, Harness
from stand_ins.wechat_push import next_msg_id

from sharedcourt.db.case import Case, Evidence
from sharedcourt.db.conversation import Conversation, Resident


async def test_image_is_downloaded_hashed_and_attached_to_the_open_case(h: Harness, tmp_path: Any) -> None:
    import hashlib

    photo = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 10
    h.api.add_media("MEDIA_PHOTO", photo, "image/jpeg")
    await h.reply_text(h.pusher.text(OPENID, "你好"))
    async with h.sessions() as session, session.begin():
        resident = (await session.scalars(select(Resident))).one()
        conversation = (await session.scalars(select(Conversation))).one()
        session.add(Case(resident_id=resident.id, conversation_id=conversation.id, number="ZJ-2026-0001"))
    answer = await h.reply_text(h.pusher.image(OPENID, "MEDIA_PHOTO"))
    assert answer is not None and "ZJ-2026-0001" in answer
    await h.idle()
    async with h.sessions() as session:
        evidence = (await session.scalars(select(Evidence))).one()
        case = (await session.scalars(select(Case))).one()
    assert evidence.case_id == case.id and evidence.kind == "image"
    assert evidence.sha256 == hashlib.sha256(photo).hexdigest()
    assert evidence.path is not None and Path(evidence.path).read_bytes() == photo  # noqa: ASYNC240
    assert h.api.calls("media/get")[0].query["media_id"] == "MEDIA_PHOTO"


async def test_links_videos_and_files_are_acknowledged_and_kept(h: Harness) -> None:
    h.api.add_media("VIDEO_1", b"\x00\x00\x00\x18ftypmp42" + b"v" * 100, "video/mp4")
    link = h.pusher._xml(
        OPENID,
        "link",
        {"Title": "物业通知", "Description": "停水", "Url": "https://example.com/n", "MsgId": next_msg_id()},
    )
    video = h.pusher._xml(OPENID, "video", {"MediaId": "VIDEO_1", "ThumbMediaId": "T1", "MsgId": next_msg_id()})
    file = h.pusher._xml(OPENID, "file", {"Title": "合同.pdf", "FileKey": "k", "FileMd5": "m", "MsgId": next_msg_id()})
    for xml, noun in ((link, "链接"), (video, "视频"), (file, "文件")):
        answer = await h.reply_text(xml)
        assert answer is not None and noun in answer and "证据" in answer
    await h.idle()
    async with h.sessions() as session:
        rows = list(await session.scalars(select(Evidence).order_by(Evidence.id)))
    assert [e.kind for e in rows] == ["link", "video", "file"]
    assert rows[0].url == "https://example.com/n"
    assert rows[1].sha256 is not None and rows[1].path is not None and rows[1].path.endswith(".mp4")
    assert h.rasa.received == []
