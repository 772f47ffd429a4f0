"""Photos, videos, files and links a resident sends: kept as evidence on the open case, media downloaded."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import mimetypes
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sharedcourt.channels.wechat.parse import Incoming
from sharedcourt.channels.wechat.texts import EVIDENCE_KEPT, EVIDENCE_NOUNS, EVIDENCE_ON_CASE
from sharedcourt.clients.wechat import WeChatAPI
from sharedcourt.db.case import Case, Evidence
from sharedcourt.db.session import unit_of_work

log = logging.getLogger(__name__)


async def open_case(session: AsyncSession, resident_id: int) -> Case | None:
    """The resident's newest case that is not closed."""
    case: Case | None = await session.scalar(
        select(Case)
        .where(Case.resident_id == resident_id, Case.status != "closed")
        .order_by(Case.created_at.desc(), Case.id.desc())
        .limit(1)
    )
    return case


def acknowledgement(kind: str, case_number: str | None) -> str:
    """What the resident is told about the evidence just kept."""
    noun = EVIDENCE_NOUNS[kind]
    if case_number:
        return EVIDENCE_ON_CASE.format(noun=noun, case=case_number)
    return EVIDENCE_KEPT.format(noun=noun)


def _write_once(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        temp = path.with_suffix(path.suffix + ".part")
        temp.write_bytes(content)
        temp.replace(path)


class EvidenceKeeper:
    """Stores evidence rows and downloads their media into content-addressed files."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], api: WeChatAPI, evidence_dir: Path) -> None:
        self.sessions = sessions
        self.api = api
        self.evidence_dir = evidence_dir

    async def keep(self, message_id: int, resident_id: int, inc: Incoming) -> tuple[int, str | None]:
        """Record the evidence (on the open case, if any); returns (evidence id, case number or None)."""
        async with unit_of_work(self.sessions) as session:
            case = await open_case(session, resident_id)
            evidence = Evidence(
                case_id=case.id if case else None,
                message_id=message_id,
                kind=inc.kind,
                url=inc.url or None,
            )
            session.add(evidence)
            await session.flush()
            return evidence.id, (case.number or str(case.id)) if case else None

    async def download(self, evidence_id: int, media_id: str) -> None:
        """Fetch the media from WeChat and keep it by its SHA-256 (a video answers with a URL instead)."""
        try:
            media = await self.api.download_media(media_id)
        except Exception as exc:  # noqa: BLE001 - kept as a URL-only record; staff can ask again
            log.warning("media %s of evidence %s not downloaded: %s", media_id[:16], evidence_id, type(exc).__name__)
            return
        async with unit_of_work(self.sessions) as session:
            evidence = await session.get_one(Evidence, evidence_id)
            if media.json is not None:
                evidence.url = str(media.json.get("video_url") or evidence.url or "")[:2000] or None
                return
            digest = hashlib.sha256(media.content).hexdigest()
            extension = mimetypes.guess_extension(media.content_type.split(";")[0].strip()) or ".bin"
            path = self.evidence_dir / f"{digest}{extension}"
            await asyncio.to_thread(_write_once, path, media.content)
            evidence.sha256 = digest
            evidence.path = str(path)
