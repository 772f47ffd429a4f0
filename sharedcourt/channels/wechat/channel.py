"""WeChat Official Account channel: `/wechat/callback` in plaintext, compatible and safe (AES) mode.

Every request is authenticated before its body is trusted:
1. size (Content-Length, then the streamed body) -> 413;
2. `signature` over token/timestamp/nonce and a timestamp window -> 403; a (timestamp, nonce) seen before with
   another body -> 403 (plain mode's signature leaves the body out; WeChat's retry repeats the same body);
3. safe mode (WECHAT_AES_KEY set): `encrypt_type=aes` required, `msg_signature` over the Encrypt text checked
   before decryption, the AppId checked by wechatpy's decrypt -> 403;
4. XML with a DTD, bad UTF-8 or any parse failure -> 400. Nothing is stored and no content is logged before
   all of that passed.

Then one inbound message is stored once (the router's unique (channel, external_id): MsgId, or
FromUserName+CreateTime for events), and its turn runs in a task. If the answer is ready within
WECHAT_REPLY_BUDGET it is the passive reply (encrypted in safe mode); otherwise the request answers `success`
at once and the answer goes out through the outbox as a customer-service message. Who answers is claimed once
in `wechat_turns` (see `claims`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from sharedcourt.channels import replay
from sharedcourt.channels.wechat.auth import (
    TIMESTAMP_WINDOW,
    PushAuth,
    check_query,
    make_crypto,
    read_body,
    refuse_declared_oversize,
)
from sharedcourt.channels.wechat.claims import Claims
from sharedcourt.channels.wechat.delivery import CHANNEL
from sharedcourt.channels.wechat.evidence import EvidenceKeeper
from sharedcourt.channels.wechat.parse import Incoming, parse_push
from sharedcourt.channels.wechat.quota import grant_quota
from sharedcourt.channels.wechat.render import passive_reply
from sharedcourt.channels.wechat.texts import welcome
from sharedcourt.channels.wechat.turns import Turns, Work
from sharedcourt.clients.wechat import WeChatAPI
from sharedcourt.db.base import utcnow
from sharedcourt.errors import BadRequest, DuplicateMessage
from sharedcourt.messaging.outbox import Outbox
from sharedcourt.messaging.replies import Reply
from sharedcourt.messaging.router import Router, Stored
from sharedcourt.settings import ROOT, Settings

log = logging.getLogger(__name__)

# A (timestamp, nonce) is remembered for the window on both sides of its timestamp.
REPLAY_KEEP = dt.timedelta(seconds=2 * TIMESTAMP_WINDOW)


class WeChatChannel:
    """The endpoint flow of `/wechat/callback`: authenticate, store once, run the turn, answer or defer."""

    def __init__(
        self,
        settings: Settings,
        router: Router,
        outbox: Outbox,
        api: WeChatAPI,
        *,
        evidence_dir: Path | None = None,
    ) -> None:
        self.settings = settings
        self.router = router
        self.sessions = router.sessions
        self.outbox = outbox
        self.api = api
        self.budget = settings.wechat_reply_budget
        self.crypto = make_crypto(settings)
        self.auth = PushAuth(settings.wechat_token, self.crypto)
        self.evidence_dir = evidence_dir or Path(settings.evidence_dir or ROOT / "var" / "evidence")
        self.tasks: set[asyncio.Task[Any]] = set()
        self.claims = Claims(self.sessions, outbox)
        keeper = EvidenceKeeper(self.sessions, api, self.evidence_dir)
        self.turns = Turns(router, outbox, keeper, self.spawn, welcome(settings))

    # -- plumbing
    def spawn(self, coro: Awaitable[Any]) -> asyncio.Task[Any]:
        """Run background work that `idle` and `close` can find."""
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def idle(self) -> None:
        """Wait for background work (turns past the budget, evidence downloads); for tests and shutdown."""
        while self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)

    async def close(self) -> None:
        """Cancel background work (app shutdown)."""
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*list(self.tasks), return_exceptions=True)

    # -- HTTP
    async def verify_url(self, request: Request) -> Response:
        """The GET WeChat sends when the callback URL is configured: echo `echostr` if the signature holds."""
        check_query(self.settings.wechat_token, request.query_params)
        echostr = request.query_params.get("echostr") or ""
        if not echostr or len(echostr) > 256 or not echostr.isprintable():
            raise BadRequest("bad echostr")
        return PlainTextResponse(echostr)

    def authenticate(self, params: Any, body: bytes) -> tuple[Incoming, bool]:
        """Everything before the body is trusted; returns the parsed push and whether it was encrypted."""
        text, encrypted = self.auth.open(params, body)
        return parse_push(text), encrypted

    async def callback(self, request: Request) -> Response:
        """One push: the passive reply if the answer is ready within the budget, else `success`."""
        started = time.monotonic()
        limit = self.settings.max_body_bytes
        refuse_declared_oversize(request, limit)
        check_query(self.settings.wechat_token, request.query_params)
        declared = request.headers.get("content-length")
        if declared is not None and not declared.isdigit():
            raise BadRequest("bad length")
        body = await read_body(request, limit)
        incoming, encrypted = self.authenticate(request.query_params, body)
        # Plain mode's signature leaves the body out: the same query may only repeat its own body (a retry).
        params = request.query_params
        key = f"{params.get('timestamp')}:{params.get('nonce')}"
        await replay.remember(self.sessions, CHANNEL, key, utcnow(), REPLAY_KEEP, replay.digest(body))
        replies = await self.respond(incoming, started + self.budget)
        crypto = self.crypto if encrypted else None
        return passive_reply(incoming.msg, replies or [], crypto, request.query_params.get("nonce") or "")

    # -- one push
    async def respond(self, incoming: Incoming, deadline: float) -> list[Reply] | None:
        """Store once, run the turn, and return the passive replies (None: answer `success`)."""
        inbound, work, grant = self.turns.plan(incoming)
        if inbound is None:
            return None
        try:
            stored = await self.router.store(inbound)
        except DuplicateMessage as dup:
            return await self.claims.wait_for_original(dup.message_id, deadline)
        await self.claims.open(stored.message_id)
        if grant:
            await grant_quota(self.sessions, incoming.openid, grant)
            await self.outbox.release_held(CHANNEL, incoming.openid)
        task = self.spawn(self.run_turn(stored, work))
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout=max(0.0, deadline - time.monotonic()))
        except asyncio.TimeoutError:
            await self.claims.claim_outbox(stored.message_id)
            return None
        return await self.claims.claim_passive(stored.message_id)

    async def run_turn(self, stored: Stored, work: Work) -> None:
        """Run the turn's work; a failure is logged and answered with nothing."""
        try:
            replies = await work(stored)
        except Exception:
            log.exception("wechat turn for message %s failed", stored.message_id)
            replies = []
        await self.claims.finish(stored, len(replies))
