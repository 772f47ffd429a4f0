"""WeCom (企业微信) self-built app callback, `/wecom/callback`, for staff and mediators who use WeCom.

WeCom always encrypts: GET carries an encrypted `echostr` signed with `msg_signature` (answer its plaintext),
POST carries an `<Encrypt>` envelope. Signatures are checked here with a constant-time compare before
wechatpy's `wechatpy.enterprise.crypto.WeChatCrypto` decrypts (and checks the CorpId). Senders are staff:
`Inbound(is_staff=True, channel="wecom")`. The answer goes back as the passive reply (encrypted) when it is
ready within WECHAT_REPLY_BUDGET, otherwise `success`.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from wechatpy.enterprise import parse_message
from wechatpy.enterprise.crypto import WeChatCrypto
from wechatpy.enterprise.exceptions import InvalidCorpIdException
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.replies import TextReply

from sharedcourt.channels.wechat import TIMESTAMP_WINDOW, _envelope, _same, guard_xml, merge, signature
from sharedcourt.errors import AuthError, BadRequest, DuplicateMessage, PayloadTooLarge
from sharedcourt.router import Inbound, Reply, Router
from sharedcourt.settings import Settings

log = logging.getLogger(__name__)

CHANNEL = "wecom"
_USER = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")


def check_params(token: str, params: Any, data: str, *, now: float | None = None) -> tuple[str, str, str]:
    """Verify msg_signature over (token, timestamp, nonce, data) and the timestamp window."""
    msg_signature = params.get("msg_signature") or ""
    timestamp = params.get("timestamp") or ""
    nonce = params.get("nonce") or ""
    if not (msg_signature and timestamp and nonce and data) or not timestamp.isdigit() or len(timestamp) > 12:
        raise AuthError("missing or malformed signature parameters")
    if abs((time.time() if now is None else now) - int(timestamp)) > TIMESTAMP_WINDOW:
        raise AuthError("timestamp outside the window")
    if not _same(signature(token, timestamp, nonce, data), msg_signature):
        raise AuthError("bad msg_signature")
    return msg_signature, timestamp, nonce


class WeComChannel:
    def __init__(self, settings: Settings, router: Router) -> None:
        self.settings = settings
        self.router = router
        self.crypto = WeChatCrypto(settings.wecom_token, settings.wecom_aes_key, settings.wecom_corp_id)
        self.tasks: set[asyncio.Task[Any]] = set()

    def _decrypt_echo(self, params: Any) -> str:
        echostr = params.get("echostr") or ""
        if len(echostr) > 1024:
            raise BadRequest("echostr too long")
        msg_signature, timestamp, nonce = check_params(self.settings.wecom_token, params, echostr)
        try:
            plain: str = self.crypto.check_signature(msg_signature, timestamp, nonce, echostr)
        except (InvalidSignatureException, InvalidCorpIdException):
            raise AuthError("bad signature or CorpId") from None
        except Exception:  # noqa: BLE001 - corrupt ciphertext
            raise AuthError("undecryptable echostr") from None
        return plain

    async def verify_url(self, request: Request) -> Response:
        return PlainTextResponse(self._decrypt_echo(request.query_params))

    def authenticate(self, params: Any, body: bytes) -> Any:
        text = guard_xml(body)
        envelope = _envelope(text)
        encrypt = envelope.get("Encrypt")
        if not isinstance(encrypt, str):
            raise AuthError("no Encrypt")
        msg_signature, timestamp, nonce = check_params(self.settings.wecom_token, params, encrypt)
        try:
            plain = self.crypto.decrypt_message({"Encrypt": encrypt}, msg_signature, timestamp, nonce)
        except (InvalidSignatureException, InvalidCorpIdException):
            raise AuthError("bad signature or CorpId") from None
        except Exception:  # noqa: BLE001
            raise AuthError("undecryptable Encrypt") from None
        plain = guard_xml(plain.encode("utf-8"))
        try:
            msg = parse_message(plain)
            source = str(msg.source or "")
            msg_id = int(msg._data.get("MsgId") or 0)
            create_time = int(msg._data.get("CreateTime") or 0)
            msg_type = str(msg.type)
        except Exception:  # noqa: BLE001
            raise BadRequest("not a WeCom message") from None
        if not _USER.match(source) or create_time <= 0:
            raise BadRequest("bad FromUserName or CreateTime")
        return msg, msg_type, msg_id, create_time

    async def callback(self, request: Request) -> Response:
        started = time.monotonic()
        limit = self.settings.max_body_bytes
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise PayloadTooLarge("body over the size limit")
        body = bytearray()
        async for chunk in request.stream():
            body.extend(chunk)
            if len(body) > limit:
                raise PayloadTooLarge("body over the size limit")
        msg, msg_type, msg_id, create_time = self.authenticate(request.query_params, bytes(body))
        if msg_type != "text":
            return PlainTextResponse("success")
        external_id = f"msg:{msg_id}" if msg_id else f"evt:{msg.source}:{create_time}"
        inbound = Inbound(
            channel=CHANNEL,
            user_id=str(msg.source),
            text=str(msg.content or ""),
            kind="text",
            external_id=external_id,
            payload={"agent_id": str(msg._data.get("AgentID") or "")},
            is_staff=True,
        )
        try:
            stored = await self.router.store(inbound)
        except DuplicateMessage:
            return PlainTextResponse("success")
        task = asyncio.ensure_future(self.router.process(stored.message_id))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        budget = self.settings.wechat_reply_budget - (time.monotonic() - started)
        try:
            replies: list[Reply] = await asyncio.wait_for(asyncio.shield(task), timeout=max(0.0, budget))
        except asyncio.TimeoutError:
            return PlainTextResponse("success")
        text = merge(replies)
        if not text:
            return PlainTextResponse("success")
        reply = TextReply(message=msg, content=text).render()
        nonce = request.query_params.get("nonce") or ""
        return Response(self.crypto.encrypt_message(reply, nonce, str(int(time.time()))), media_type="application/xml")


def configured(settings: Settings) -> bool:
    return bool(settings.wecom_token and settings.wecom_aes_key and settings.wecom_corp_id)


def install(app: Starlette, settings: Settings, router: Router) -> WeComChannel | None:
    if not configured(settings):
        return None
    channel = WeComChannel(settings, router)
    app.state.wecom = channel
    return channel


async def _get(request: Request) -> Response:
    channel: WeComChannel = request.app.state.wecom
    return await channel.verify_url(request)


async def _post(request: Request) -> Response:
    channel: WeComChannel = request.app.state.wecom
    return await channel.callback(request)


def routes(settings: Settings) -> list[Route]:
    if not configured(settings):
        return []
    return [Route("/wecom/callback", _get, methods=["GET"]), Route("/wecom/callback", _post, methods=["POST"])]
