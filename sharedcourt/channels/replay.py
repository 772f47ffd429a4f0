"""Replay memory shared by every front door: a signed request's key is kept in `seen_signatures` for its window.

DingTalk signs only the timestamp, so a second use of the same (timestamp, sign) is refused outright. WeChat's
plain mode signs only (timestamp, nonce): WeChat's own retry sends the same body again and passes (the MsgId dedupe
answers it), while the same query carrying any other body is refused.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from sharedcourt.db.audit import SeenSignature
from sharedcourt.db.session import unit_of_work
from sharedcourt.errors import AuthError


def digest(body: bytes) -> str:
    """SHA-256 of a body, the value a replayed key must carry again to count as a retry."""
    return hashlib.sha256(body).hexdigest()


async def remember(
    sessions: async_sessionmaker[AsyncSession],
    channel: str,
    key: str,
    now: dt.datetime,
    keep: dt.timedelta,
    body_digest: str = "",
) -> None:
    """Record a verified key; AuthError if it was seen before, unless `body_digest` is set and equal (a retry)."""
    try:
        async with unit_of_work(sessions) as session:
            await session.execute(
                delete(SeenSignature).where(SeenSignature.channel == channel, SeenSignature.seen_at < now - keep)
            )
            seen = await session.get(SeenSignature, (channel, key))
            if seen is None:
                session.add(SeenSignature(channel=channel, signature=key, seen_at=now, digest=body_digest))
                return
    except IntegrityError:
        # Another front door stored it a moment ago: read it back to tell a retry from a replay.
        async with unit_of_work(sessions) as session:
            seen = await session.get(SeenSignature, (channel, key))
        if seen is None:
            raise AuthError("replayed signature") from None
    if not body_digest or seen.digest != body_digest:
        raise AuthError("replayed signature")
