"""WeChat Official Account channel: `/wechat/callback` in plaintext, compatible and safe (AES) mode.

Every request is authenticated before its body is trusted:
1. size (Content-Length, then the streamed body) -> 413;
2. `signature` over token/timestamp/nonce and a timestamp window -> 403;
3. safe mode (WECHAT_AES_KEY set): `encrypt_type=aes` required, `msg_signature` over the Encrypt text checked
   before decryption, the AppId checked by wechatpy's decrypt -> 403;
4. XML with a DTD, bad UTF-8 or any parse failure -> 400. Nothing is stored and no content is logged before
   all of that passed.

Then one inbound message is stored once (the router's unique (channel, external_id): MsgId, or
FromUserName+CreateTime for events), and its turn runs in a task. If the answer is ready within
WECHAT_REPLY_BUDGET it is the passive reply (encrypted in safe mode); otherwise the request answers `success`
at once and the answer goes out through the outbox as a customer-service message. Who answers is claimed once
in `wechat_turns`, so a retry (in any process) that arrives while the first copy runs waits for that result
instead of processing again.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import logging
import mimetypes
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
import xmltodict  # type: ignore[import-untyped]
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException, WeChatClientException
from wechatpy.replies import TextReply
from wechatpy.utils import WeChatSigner

from sharedcourt.clients.wechat import WeChatAPI
from sharedcourt.db.base import utcnow
from sharedcourt.db.case import Case, Evidence
from sharedcourt.db.conversation import Conversation, Message, Resident
from sharedcourt.db.session import unit_of_work
from sharedcourt.db.site import Site
from sharedcourt.db.wechat import WeChatQuota, WeChatTurn
from sharedcourt.errors import AuthError, BadRequest, ConfigError, DuplicateMessage, PayloadTooLarge
from sharedcourt.messaging.outbox import Item, Outbox, SendResult
from sharedcourt.messaging.replies import Button, Reply
from sharedcourt.messaging.router import Inbound, Router, Stored
from sharedcourt.settings import ROOT, Settings

log = logging.getLogger(__name__)

CHANNEL = "wechat"
TIMESTAMP_WINDOW = 300  # seconds either side of now
TEXT_LIMIT_BYTES = 2000  # WeChat takes 2048 bytes of text per message; keep a margin
MESSAGE_WINDOW = dt.timedelta(hours=48)
MESSAGE_QUOTA = 5
EVENT_WINDOW = dt.timedelta(minutes=1)
EVENT_QUOTA = 3
POLL_INTERVAL = 0.05

_OPENID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_HOSTILE = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY|ELEMENT|ATTLIST|NOTATION)", re.IGNORECASE)
_DECLARED = re.compile(r"^\s*<\?xml[^>]*encoding\s*=\s*[\"']([^\"']+)[\"']", re.IGNORECASE)

# Menu keys -> the bot's own payloads (never taken from resident text).
MENU_PAYLOADS = {
    "MEDIATION": "/start_mediation",
    "MY_CASE": "/my_case",
    "FIND_SITE": "/find_site",
    "LEGAL_EDUCATION": "/legal_education",
    "HUMAN": "/request_human",
    "我要调解": "/start_mediation",
    "我的案件": "/my_case",
    "找法庭": "/find_site",
    "普法问答": "/legal_education",
    "人工服务": "/request_human",
}

# What a menu click is stored as (and what Rasa reads if the click has to wait out a Rasa outage).
MENU_NAMES = {
    "MEDIATION": "我要调解",
    "MY_CASE": "我的案件",
    "FIND_SITE": "找法庭",
    "LEGAL_EDUCATION": "普法问答",
    "HUMAN": "人工服务",
}

PRIVACY_NOTICE = (
    "隐私说明：我们保存您发来的文字、语音识别文字、照片、文件和位置，以及与您的对话记录，仅用于办理您的咨询和调解；"
    "案件材料在案件办结后保存三年，未形成案件的咨询记录保存一年，到期删除。"
    "只有负责您事务的调解员、法官和共享法庭工作人员可以查看，不会用于其他用途。"
)
WELCOME = (
    "您好，欢迎关注共享法庭！共享法庭就在您身边的村（社区）和乡镇（街道），"
    "可以帮您梳理纠纷、找到最近的共享法庭、预约调解，或联系调解员和法官。\n"
    "请直接说说您遇到的问题，也可以发语音、照片或位置。\n" + PRIVACY_NOTICE
)
WELCOME_BUTTONS = (
    Button("我要调解", "/start_mediation"),
    Button("找最近的共享法庭", "/find_site"),
    Button("人工服务", "/request_human"),
)
VOICE_UNRECOGNISED = "抱歉，这条语音暂时无法识别。请您直接输入文字，或选择人工服务，由工作人员帮助您。"
UNKNOWN_MENU = "抱歉，这个菜单暂时不可用。请直接说说您遇到的问题。"
UNSUPPORTED = "抱歉，暂时无法处理这种消息。请用文字描述您的问题，或发送照片、语音。"
HELD_TEMPLATE_REMARK = "请进入公众号查看详情并回复。"


def menu(public_url: str) -> dict[str, Any]:
    """The Official Account menu `wechat-menu` creates (3 top buttons at most, 5 under each)."""
    return {
        "button": [
            {"type": "click", "name": "我要调解", "key": "MEDIATION"},
            {"type": "click", "name": "我的案件", "key": "MY_CASE"},
            {
                "name": "更多服务",
                "sub_button": [
                    {"type": "click", "name": "找法庭", "key": "FIND_SITE"},
                    {"type": "click", "name": "普法问答", "key": "LEGAL_EDUCATION"},
                    {"type": "click", "name": "人工服务", "key": "HUMAN"},
                    {"type": "view", "name": "网页咨询", "url": f"{public_url}/"},
                ],
            },
        ]
    }


# ---- text rendering ---------------------------------------------------------------------------------------


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


# ---- request authentication and parsing -------------------------------------------------------------------


def _same(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))


def signature(token: str, *parts: str) -> str:
    """WeChat's SHA-1 over the sorted strings (wechatpy's signer)."""
    signer = WeChatSigner()
    signer.add_data(token, *parts)
    result: str = signer.signature
    return result


def check_query(
    token: str, params: Any, *, now: float | None = None, window: int = TIMESTAMP_WINDOW
) -> tuple[str, str]:
    """Verify `signature`, `timestamp`, `nonce`; returns (timestamp, nonce) or raises AuthError."""
    sig = params.get("signature") or ""
    timestamp = params.get("timestamp") or ""
    nonce = params.get("nonce") or ""
    if not (sig and timestamp and nonce) or not timestamp.isdigit() or len(timestamp) > 12 or len(nonce) > 64:
        raise AuthError("missing or malformed signature parameters")
    if abs((time.time() if now is None else now) - int(timestamp)) > window:
        raise AuthError("timestamp outside the window")
    if not _same(signature(token, timestamp, nonce), sig):
        raise AuthError("bad signature")
    return timestamp, nonce


def guard_xml(raw: bytes) -> str:
    """Refuse what no WeChat push contains before any parser sees it: DTDs, entities, non-UTF-8."""
    if _HOSTILE.search(raw):
        raise BadRequest("document type declarations are not accepted")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("body is not UTF-8") from None
    declared = _DECLARED.match(text)
    if declared and declared.group(1).lower().replace("_", "-") not in ("utf-8", "utf8"):
        raise BadRequest("only UTF-8 is accepted")
    if "\x00" in text or not text.strip():
        raise BadRequest("empty or binary body")
    return text


def _envelope(text: str) -> dict[str, Any]:
    try:
        data = xmltodict.parse(text)
    except Exception:  # noqa: BLE001 - expat and xmltodict raise several types; all mean "malformed"
        raise BadRequest("malformed XML") from None
    root = data.get("xml") if isinstance(data, dict) else None
    if not isinstance(root, dict):
        raise BadRequest("no <xml> root")
    return root


@dataclass
class Incoming:
    """One authenticated, parsed push, with every field read and checked."""

    msg: Any
    kind: str  # text, voice, image, location, link, video, file, event, other
    openid: str
    external_id: str
    text: str = ""
    event: str = ""
    key: str = ""
    media_id: str = ""
    url: str = ""
    title: str = ""
    latitude: float | None = None
    longitude: float | None = None
    label: str = ""
    recognition: str = ""
    raw: dict[str, Any] = field(default_factory=dict)


def _str(value: Any, limit: int = 4096) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadRequest("unexpected structure in a field")
    return value[:limit]


def parse_push(text: str) -> Incoming:
    """wechatpy's parser, then every field we use read and validated (any failure -> BadRequest)."""
    try:
        msg = parse_message(text)
        raw: dict[str, Any] = dict(msg._data)
        openid = _str(msg.source, 128)
        create_time = int(raw.get("CreateTime") or 0)
        msg_type = _str(raw.get("MsgType"), 64).lower()
        msg_id = int(raw.get("MsgId") or 0) if msg_type != "event" else 0
    except BadRequest:
        raise
    except Exception:  # noqa: BLE001 - wechatpy/xmltodict raise many types on hostile input
        raise BadRequest("not a WeChat message") from None
    if not _OPENID.match(openid):
        raise BadRequest("bad FromUserName")
    if create_time <= 0 or create_time > 10**11:
        raise BadRequest("bad CreateTime")
    external_id = f"msg:{msg_id}" if msg_id else f"evt:{openid}:{create_time}"
    incoming = Incoming(msg=msg, kind="other", openid=openid, external_id=external_id, raw=raw)
    try:
        if msg_type == "text":
            incoming.kind, incoming.text = "text", _str(msg.content)
        elif msg_type == "voice":
            incoming.kind, incoming.media_id = "voice", _str(msg.media_id, 256)
            incoming.recognition = _str(msg.recognition).strip()
        elif msg_type == "image":
            incoming.kind, incoming.media_id, incoming.url = "image", _str(msg.media_id, 256), _str(msg.image, 1024)
        elif msg_type == "location":
            incoming.kind, incoming.label = "location", _str(msg.label, 255)
            incoming.latitude, incoming.longitude = float(msg.location_x), float(msg.location_y)
        elif msg_type == "link":
            incoming.kind, incoming.url, incoming.title = "link", _str(msg.url, 1024), _str(msg.title, 255)
        elif msg_type in ("video", "shortvideo"):
            incoming.kind, incoming.media_id = "video", _str(msg.media_id, 256)
        elif msg_type == "file":
            incoming.kind, incoming.title = "file", _str(raw.get("Title"), 255)
        elif msg_type == "event":
            incoming.kind, incoming.event = "event", _str(raw.get("Event"), 64).lower()
            if incoming.event in ("subscribe", "subscribe_scan", "scan", "click", "view"):
                incoming.key = _str(raw.get("EventKey"), 1024)
                if incoming.event == "subscribe" and incoming.key.startswith("qrscene_"):
                    incoming.event, incoming.key = "subscribe_scan", incoming.key[len("qrscene_") :]
            elif incoming.event == "location":
                incoming.latitude = float(raw.get("Latitude") or "nan")
                incoming.longitude = float(raw.get("Longitude") or "nan")
    except BadRequest:
        raise
    except Exception:  # noqa: BLE001
        raise BadRequest("bad field value") from None
    for coordinate, bound in ((incoming.latitude, 90.0), (incoming.longitude, 180.0)):
        if coordinate is not None and not -bound <= coordinate <= bound:
            raise BadRequest("coordinate out of range")
    return incoming


# ---- quota ------------------------------------------------------------------------------------------------


async def grant_quota(sessions: async_sessionmaker[AsyncSession], openid: str, kind: str) -> None:
    """A user message opens 5 messages for 48 h; a click/follow/scan opens 3 for a minute (unless a message
    window with room is open)."""
    try:
        await _grant_quota(sessions, openid, kind)
    except IntegrityError:  # a concurrent first grant for this user inserted the row: update it instead
        await _grant_quota(sessions, openid, kind)


async def _grant_quota(sessions: async_sessionmaker[AsyncSession], openid: str, kind: str) -> None:
    now = utcnow()
    async with unit_of_work(sessions) as session:
        row = await session.get(WeChatQuota, openid, with_for_update=True)
        if kind == "event" and row is not None and row.window_end > now and row.used < row.quota:
            return
        length, quota = (MESSAGE_WINDOW, MESSAGE_QUOTA) if kind == "message" else (EVENT_WINDOW, EVENT_QUOTA)
        if row is None:
            session.add(
                WeChatQuota(
                    openid=openid, window_kind=kind, window_start=now, window_end=now + length, quota=quota, used=0
                )
            )
        else:
            row.window_kind, row.window_start, row.window_end, row.quota, row.used = kind, now, now + length, quota, 0


async def take_quota(sessions: async_sessionmaker[AsyncSession], openid: str) -> bool:
    """Reserve one customer-service message for this user; False when none is left."""
    async with unit_of_work(sessions) as session:
        result = await session.execute(
            update(WeChatQuota)
            .where(
                WeChatQuota.openid == openid, WeChatQuota.used < WeChatQuota.quota, WeChatQuota.window_end > utcnow()
            )
            .values(used=WeChatQuota.used + 1)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]


async def give_back_quota(sessions: async_sessionmaker[AsyncSession], openid: str) -> None:
    async with unit_of_work(sessions) as session:
        await session.execute(
            update(WeChatQuota)
            .where(WeChatQuota.openid == openid, WeChatQuota.used > 0)
            .values(used=WeChatQuota.used - 1)
        )


async def exhaust_quota(sessions: async_sessionmaker[AsyncSession], openid: str) -> None:
    """WeChat said the window is closed or full: believe it over our count."""
    async with unit_of_work(sessions) as session:
        await session.execute(update(WeChatQuota).where(WeChatQuota.openid == openid).values(used=WeChatQuota.quota))


# ---- outbound -----------------------------------------------------------------------------------------------


def template_data(text: str) -> dict[str, Any]:
    """Fields of the reminder template (a template with first / keyword1 / remark, as WECHAT_TEMPLATE_ID)."""
    return {
        "first": {"value": "共享法庭提醒"},
        "keyword1": {"value": text[:180]},
        "remark": {"value": HELD_TEMPLATE_REMARK},
    }


class WeChatSender:
    """Outbox sender for channel "wechat": customer-service text within the quota, template when urgent."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], api: WeChatAPI, template_id: str, public_url: str
    ) -> None:
        self.sessions = sessions
        self.api = api
        self.template_id = template_id
        self.public_url = public_url

    async def _subscribed(self, openid: str) -> bool:
        async with self.sessions() as session:
            value = await session.scalar(
                select(Resident.subscribed).where(Resident.channel == CHANNEL, Resident.channel_user_id == openid)
            )
            return value is not False

    async def _template(self, openid: str, payload: dict[str, Any]) -> SendResult:
        if not self.template_id and not payload.get("template_id"):
            return SendResult("held", "no template configured")
        data = payload.get("data") or template_data(str(payload.get("text") or ""))
        try:
            await self.api.send_template(
                openid, str(payload.get("template_id") or self.template_id), data, payload.get("url") or self.public_url
            )
        except WeChatClientException as exc:
            return self._classify(exc)[0]
        except requests.ConnectionError as exc:
            return SendResult("retry", f"connection: {type(exc).__name__}")
        except requests.RequestException as exc:
            return SendResult("unknown", f"request: {type(exc).__name__}")
        return SendResult("sent", "template")

    @staticmethod
    def _classify(exc: WeChatClientException) -> tuple[SendResult, bool]:
        """(result, quota_consumed_by_wechat) for an API error."""
        code = exc.errcode
        if code is None:
            return SendResult("unknown", "HTTP error from the API"), True
        if code in (45047, 45015):
            return SendResult("held", f"WeChat {code}: window closed or full"), True
        if code in (43004, 43019, 40003):
            return SendResult("failed", f"WeChat {code}: user unreachable"), False
        if code == 45009:
            return SendResult("retry", "WeChat 45009: rate limited", retry_after=60.0), False
        if code in (45002, 47001, 40008):
            return SendResult("failed", f"WeChat {code}: rejected content"), False
        return SendResult("retry", f"WeChat {code}: {exc.errmsg}"), False

    async def send(self, item: Item) -> SendResult:
        openid, payload = item.recipient, item.payload
        if not await self._subscribed(openid):
            return SendResult("failed", "unsubscribed")
        if payload.get("type") == "template":
            return await self._template(openid, payload)
        if not await take_quota(self.sessions, openid):
            if item.urgent:
                return await self._template(openid, payload)
            return SendResult("held", "customer-service quota used up")
        try:
            await self.api.send_text(openid, str(payload.get("text") or ""))
        except WeChatClientException as exc:
            result, consumed = self._classify(exc)
            if result.status == "held":
                await exhaust_quota(self.sessions, openid)
                if item.urgent:
                    return await self._template(openid, payload)
            elif not consumed:
                await give_back_quota(self.sessions, openid)
            return result
        except requests.ConnectionError as exc:  # includes ConnectTimeout: the request never arrived
            await give_back_quota(self.sessions, openid)
            return SendResult("retry", f"connection: {type(exc).__name__}")
        except requests.RequestException as exc:  # a read timeout: it may have been delivered
            return SendResult("unknown", f"request: {type(exc).__name__}")
        return SendResult("sent")


async def _last_out(session: AsyncSession, conversation_id: str, after_id: int, count: int) -> list[Message]:
    rows = list(
        await session.scalars(
            select(Message)
            .where(Message.conversation_id == conversation_id, Message.direction == "out", Message.id > after_id)
            .order_by(Message.id.desc())
            .limit(count)
        )
    )
    return rows[::-1]


class WeChatDeliverer:
    """Router deliverer: later messages (a person's reply, reminders, answers after an outage) via the outbox."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], outbox: Outbox) -> None:
        self.sessions = sessions
        self.outbox = outbox

    async def deliver(self, conversation_id: str, replies: Sequence[Reply]) -> None:
        text = merge(replies)
        async with unit_of_work(self.sessions) as session:
            conversation = await session.get_one(Conversation, conversation_id)
            resident = await session.get_one(Resident, conversation.resident_id)
            rows = await _last_out(session, conversation_id, 0, len(replies))
            ids = [m.id for m in rows]
            if not resident.subscribed:
                await session.execute(update(Message).where(Message.id.in_(ids)).values(status="cancelled"))
                return
            urgent = any(m.kind in ("reminder", "notice", "urgent") for m in rows)
            from sharedcourt.messaging.outbox import enqueue

            for piece in chunks(text):
                await enqueue(
                    session,
                    CHANNEL,
                    resident.channel_user_id,
                    {"type": "text", "text": piece},
                    conversation_id=conversation_id,
                    message_ids=ids,
                    urgent=urgent,
                )
        self.outbox.kick()


# ---- the channel --------------------------------------------------------------------------------------------

Work = Callable[[Stored], Awaitable[list[Reply]]]


class WeChatChannel:
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
        if settings.wechat_aes_key and not re.fullmatch(r"[A-Za-z0-9]{43}", settings.wechat_aes_key):
            raise ConfigError("WECHAT_AES_KEY must be the 43-character EncodingAESKey")
        self.crypto = (
            WeChatCrypto(settings.wechat_token, settings.wechat_aes_key, settings.wechat_appid)
            if settings.wechat_aes_key
            else None
        )
        self.evidence_dir = evidence_dir or Path(settings.evidence_dir or ROOT / "var" / "evidence")
        self.tasks: set[asyncio.Task[Any]] = set()

    # -- plumbing
    def spawn(self, coro: Awaitable[Any]) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def idle(self) -> None:
        """Wait for background work (turns past the budget, evidence downloads); for tests and shutdown."""
        while self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)

    async def close(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*list(self.tasks), return_exceptions=True)

    # -- HTTP
    async def verify_url(self, request: Request) -> Response:
        check_query(self.settings.wechat_token, request.query_params)
        echostr = request.query_params.get("echostr") or ""
        if not echostr or len(echostr) > 256 or not echostr.isprintable():
            raise BadRequest("bad echostr")
        return PlainTextResponse(echostr)

    async def _body(self, request: Request) -> bytes:
        limit = self.settings.max_body_bytes
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            raise PayloadTooLarge("body over the size limit") if declared.isdigit() else BadRequest("bad length")
        body = bytearray()
        async for chunk in request.stream():
            body.extend(chunk)
            if len(body) > limit:
                raise PayloadTooLarge("body over the size limit")
        return bytes(body)

    def authenticate(self, params: Any, body: bytes) -> tuple[Incoming, bool]:
        """Everything before the body is trusted; returns the parsed push and whether it was encrypted."""
        timestamp, nonce = check_query(self.settings.wechat_token, params)
        encrypted = (params.get("encrypt_type") or "raw").lower() == "aes"
        if self.crypto is not None and not encrypted:
            raise AuthError("safe mode: plaintext push refused")
        if encrypted and self.crypto is None:
            raise AuthError("encrypted push without an AES key configured")
        text = guard_xml(body)
        if encrypted:
            assert self.crypto is not None
            envelope = _envelope(text)
            encrypt = envelope.get("Encrypt")
            msg_signature = params.get("msg_signature") or ""
            if not isinstance(encrypt, str) or not encrypt or not msg_signature:
                raise AuthError("no Encrypt or msg_signature")
            if not _same(signature(self.settings.wechat_token, timestamp, nonce, encrypt), msg_signature):
                raise AuthError("bad msg_signature")
            try:
                text = self.crypto.decrypt_message({"Encrypt": encrypt}, msg_signature, timestamp, nonce)
            except (InvalidSignatureException, InvalidAppIdException):
                raise AuthError("bad msg_signature or AppId") from None
            except Exception:  # noqa: BLE001 - corrupt ciphertext (padding, base64, length, UTF-8)
                raise AuthError("undecryptable Encrypt") from None
            text = guard_xml(text.encode("utf-8"))
        return parse_push(text), encrypted

    async def callback(self, request: Request) -> Response:
        started = time.monotonic()
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.settings.max_body_bytes:
            raise PayloadTooLarge("body over the size limit")
        check_query(self.settings.wechat_token, request.query_params)
        body = await self._body(request)
        incoming, encrypted = self.authenticate(request.query_params, body)
        deadline = started + self.budget
        replies = await self.respond(incoming, deadline)
        return self.render(incoming, replies, encrypted, request.query_params.get("nonce") or "")

    def render(self, incoming: Incoming, replies: list[Reply] | None, encrypted: bool, nonce: str) -> Response:
        text = merge(replies or [])
        if not text:
            return PlainTextResponse("success")
        xml = TextReply(message=incoming.msg, content=text).render()
        if encrypted and self.crypto is not None:
            xml = self.crypto.encrypt_message(xml, nonce, str(int(time.time())))
        return Response(xml, media_type="application/xml")

    # -- one push
    async def respond(self, incoming: Incoming, deadline: float) -> list[Reply] | None:
        """Store once, run the turn, and return the passive replies (None: answer `success`)."""
        inbound, work, grant = self.plan(incoming)
        if inbound is None:
            return None
        try:
            stored = await self.router.store(inbound)
        except DuplicateMessage as dup:
            return await self.wait_for_original(dup.message_id, deadline)
        async with unit_of_work(self.sessions) as session:
            session.add(WeChatTurn(message_id=stored.message_id))
        if grant:
            await grant_quota(self.sessions, incoming.openid, grant)
            await self.outbox.release_held(CHANNEL, incoming.openid)
        task = self.spawn(self.run_turn(stored, work))
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout=max(0.0, deadline - time.monotonic()))
        except asyncio.TimeoutError:
            await self.claim_outbox(stored.message_id)
            return None
        return await self.claim_passive(stored.message_id)

    async def run_turn(self, stored: Stored, work: Work) -> None:
        try:
            replies = await work(stored)
        except Exception:
            log.exception("wechat turn for message %s failed", stored.message_id)
            replies = []
        async with unit_of_work(self.sessions) as session:
            rows = await _last_out(session, stored.conversation_id, stored.message_id, len(replies)) if replies else []
            result = await session.execute(
                update(WeChatTurn)
                .where(WeChatTurn.message_id == stored.message_id)
                .values(finished=True, reply_ids=[m.id for m in rows])
                .returning(WeChatTurn.reply_mode)
            )
            mode = result.scalar_one_or_none()
        if mode == "outbox":
            await self.enqueue_turn(stored.message_id)

    async def claim_outbox(self, message_id: int) -> None:
        async with unit_of_work(self.sessions) as session:
            result = await session.execute(
                update(WeChatTurn)
                .where(WeChatTurn.message_id == message_id, WeChatTurn.reply_mode.is_(None))
                .values(reply_mode="outbox")
                .returning(WeChatTurn.finished)
            )
            finished = result.scalar_one_or_none()
        if finished:
            await self.enqueue_turn(message_id)

    async def claim_passive(self, message_id: int) -> list[Reply] | None:
        """The replies to return in this response, if the passive reply is (or already was) the way."""
        async with unit_of_work(self.sessions) as session:
            await session.execute(
                update(WeChatTurn)
                .where(WeChatTurn.message_id == message_id, WeChatTurn.reply_mode.is_(None), WeChatTurn.finished)
                .values(reply_mode="passive")
            )
            turn = await session.get(WeChatTurn, message_id)
            if turn is None or turn.reply_mode != "passive":
                return None
            rows = list(
                await session.scalars(select(Message).where(Message.id.in_(list(turn.reply_ids))).order_by(Message.id))
            )
            replies = [Reply.from_payload(m.text, m.payload) for m in rows]
            if len(merge(replies).encode("utf-8")) > TEXT_LIMIT_BYTES:
                # Too long for one passive reply: the outbox sends it in pieces.
                turn.reply_mode = "outbox"
                enqueue_needed = True
            else:
                enqueue_needed = False
                for m in rows:
                    m.status = "sent"
        if enqueue_needed:
            await self.enqueue_turn(message_id)
            return None
        return replies

    async def wait_for_original(self, message_id: int, deadline: float) -> list[Reply] | None:
        """A re-delivery: wait (up to the budget) for the first copy's result instead of processing again."""
        while True:
            async with self.sessions() as session:
                turn = await session.get(WeChatTurn, message_id)
                mode, finished = (turn.reply_mode, turn.finished) if turn is not None else (None, False)
            if mode == "outbox":
                return None
            if finished or mode == "passive":
                return await self.claim_passive(message_id)
            if time.monotonic() >= deadline:
                if turn is not None:
                    await self.claim_outbox(message_id)
                return None
            await asyncio.sleep(POLL_INTERVAL)

    async def enqueue_turn(self, message_id: int) -> None:
        from sharedcourt.messaging.outbox import enqueue

        async with unit_of_work(self.sessions) as session:
            turn = await session.get_one(WeChatTurn, message_id)
            inbound = await session.get_one(Message, message_id)
            conversation = await session.get_one(Conversation, inbound.conversation_id)
            resident = await session.get_one(Resident, conversation.resident_id)
            rows = list(
                await session.scalars(select(Message).where(Message.id.in_(list(turn.reply_ids))).order_by(Message.id))
            )
            if not rows:
                return
            if not resident.subscribed:
                for m in rows:
                    m.status = "cancelled"
                return
            text = merge([Reply.from_payload(m.text, m.payload) for m in rows])
            for piece in chunks(text):
                await enqueue(
                    session,
                    CHANNEL,
                    resident.channel_user_id,
                    {"type": "text", "text": piece},
                    conversation_id=conversation.id,
                    message_ids=[m.id for m in rows],
                )
        self.outbox.kick()

    # -- what each kind of push does
    def plan(self, inc: Incoming) -> tuple[Inbound | None, Work, str | None]:
        """(what to store, the work of the turn, which quota window it opens)."""

        def inbound(text: str, kind: str, **payload: Any) -> Inbound:
            return Inbound(
                channel=CHANNEL,
                user_id=inc.openid,
                text=text,
                kind=kind,
                external_id=inc.external_id,
                payload={k: v for k, v in payload.items() if v not in (None, "")},
            )

        if inc.kind == "text":
            return inbound(inc.text, "text"), self._bot, "message"
        if inc.kind == "voice":
            if inc.recognition:
                return inbound(inc.recognition, "voice", media_id=inc.media_id), self._bot, "message"
            return inbound("", "voice", media_id=inc.media_id), self._voice_unrecognised, "message"
        if inc.kind in ("image", "video", "file", "link"):
            text = {"image": "[图片]", "video": "[视频]", "file": f"[文件] {inc.title}", "link": f"[链接] {inc.title}"}
            return (
                inbound(text[inc.kind].strip(), inc.kind, media_id=inc.media_id, url=inc.url, title=inc.title),
                lambda stored: self._evidence(stored, inc),
                "message",
            )
        if inc.kind == "location":
            return (
                inbound(
                    inc.label or "[位置]",
                    "location",
                    latitude=inc.latitude,
                    longitude=inc.longitude,
                    label=inc.label,
                ),
                lambda stored: self._location(stored, inc),
                "message",
            )
        if inc.kind == "event":
            return self._plan_event(inc, inbound)
        return inbound(f"[{inc.raw.get('MsgType', '未知')}]"[:64], "other"), self._unsupported, "message"

    def _plan_event(self, inc: Incoming, inbound: Callable[..., Inbound]) -> tuple[Inbound | None, Work, str | None]:
        event = inc.event
        if event in ("subscribe", "subscribe_scan"):
            return inbound("[关注]", "event", event=event, scene=inc.key), lambda s: self._welcome(s, inc), "event"
        if event == "scan":
            return inbound("[扫码]", "event", event=event, scene=inc.key), lambda s: self._scan(s, inc), "event"
        if event == "unsubscribe":
            return inbound("[取消关注]", "event", event=event), lambda s: self._unsubscribe(s, inc), None
        if event == "click":
            return (
                inbound(MENU_NAMES.get(inc.key.strip(), inc.key)[:200], "event", event=event, key=inc.key),
                lambda s: self._click(s, inc),
                "event",
            )
        if event == "view":
            return inbound("[打开链接]", "event", event=event, url=inc.key), self._silent, None
        if event == "location":
            return inbound("[上报位置]", "event", event=event), lambda s: self._location(s, inc, answer=False), None
        return inbound(f"[事件] {event}"[:64], "event", event=event), self._silent, None

    # -- turn bodies
    async def _bot(self, stored: Stored) -> list[Reply]:
        return await self.router.process(stored.message_id)

    async def _trusted(self, stored: Stored, payload: str, kind: str, **metadata: Any) -> list[Reply]:
        """A turn whose text is the bot's own payload (a menu key), never the resident's words."""
        if stored.mode == "human":
            return await self.router.process(stored.message_id)
        data = {"channel": CHANNEL, "message_id": stored.message_id, "kind": kind, **metadata}
        # The router's own turn runner (store, outage hold, replies stored) with a trusted text.
        return await self.router._run_turn(stored.message_id, stored.conversation_id, payload, data, hold=True) or []

    async def answer(self, stored: Stored, replies: Sequence[Reply], *, author: str = "bot") -> list[Reply]:
        """Replies decided here (not by Rasa), stored like the router stores Rasa's."""
        async with unit_of_work(self.sessions) as session:
            await session.execute(update(Message).where(Message.id == stored.message_id).values(status="processed"))
            for reply in replies:
                data = reply.to_json()
                text = data.pop("text")
                session.add(
                    Message(
                        conversation_id=stored.conversation_id,
                        direction="out",
                        channel=CHANNEL,
                        kind="text",
                        author=author,
                        text=text,
                        payload=data,
                        status="stored",
                    )
                )
        return list(replies)

    async def _silent(self, stored: Stored) -> list[Reply]:
        return await self.answer(stored, [])

    async def _unsupported(self, stored: Stored) -> list[Reply]:
        return await self.answer(stored, [Reply(UNSUPPORTED)], author="system")

    async def _voice_unrecognised(self, stored: Stored) -> list[Reply]:
        reply = Reply(VOICE_UNRECOGNISED, buttons=(Button("人工服务", "/request_human"),))
        return await self.answer(stored, [reply], author="system")

    async def _resident(self, session: AsyncSession, openid: str) -> Resident:
        return (
            await session.scalars(
                select(Resident).where(Resident.channel == CHANNEL, Resident.channel_user_id == openid)
            )
        ).one()

    async def _welcome(self, stored: Stored, inc: Incoming) -> list[Reply]:
        site_note = ""
        async with unit_of_work(self.sessions) as session:
            resident = await self._resident(session, inc.openid)
            resident.subscribed = True
            if inc.key:
                site_note = await self._remember_site(session, resident, inc.key)
        text = WELCOME if not site_note else f"{WELCOME}\n{site_note}"
        return await self.answer(stored, [Reply(text, buttons=WELCOME_BUTTONS)], author="system")

    async def _scan(self, stored: Stored, inc: Incoming) -> list[Reply]:
        async with unit_of_work(self.sessions) as session:
            resident = await self._resident(session, inc.openid)
            note = await self._remember_site(session, resident, inc.key)
        return await self.answer(stored, [Reply(note or "已收到，欢迎使用共享法庭在线服务。")], author="system")

    @staticmethod
    async def _remember_site(session: AsyncSession, resident: Resident, scene: str) -> str:
        code = scene.strip()[:32]
        if not code:
            return ""
        site = await session.get(Site, code)
        if site is None:
            resident.site_code = code
            return "已记录您所在的共享法庭站点。"
        resident.site_code = site.code
        return f"您现在在{site.name}，工作人员可以就近为您服务。"

    async def _unsubscribe(self, stored: Stored, inc: Incoming) -> list[Reply]:
        async with unit_of_work(self.sessions) as session:
            resident = await self._resident(session, inc.openid)
            resident.subscribed = False
        await self.outbox.cancel(CHANNEL, inc.openid, "unsubscribed")
        return await self.answer(stored, [])

    async def _click(self, stored: Stored, inc: Incoming) -> list[Reply]:
        payload = MENU_PAYLOADS.get(inc.key.strip())
        if payload is None:
            return await self.answer(stored, [Reply(UNKNOWN_MENU)], author="system")
        return await self._trusted(stored, payload, "event", menu_key=inc.key)

    async def _location(self, stored: Stored, inc: Incoming, *, answer: bool = True) -> list[Reply]:
        async with unit_of_work(self.sessions) as session:
            resident = await self._resident(session, inc.openid)
            resident.latitude, resident.longitude = inc.latitude, inc.longitude
            if inc.label:
                resident.location_label = inc.label[:255]
        if not answer:
            return await self.answer(stored, [])
        location = {"latitude": inc.latitude, "longitude": inc.longitude, "label": inc.label}
        return await self._trusted(stored, "/find_site", "location", location=location)

    async def _open_case(self, session: AsyncSession, resident_id: int) -> Case | None:
        case: Case | None = await session.scalar(
            select(Case)
            .where(Case.resident_id == resident_id, Case.status != "closed")
            .order_by(Case.created_at.desc(), Case.id.desc())
            .limit(1)
        )
        return case

    async def _evidence(self, stored: Stored, inc: Incoming) -> list[Reply]:
        async with unit_of_work(self.sessions) as session:
            case = await self._open_case(session, stored.resident_id)
            evidence = Evidence(
                case_id=case.id if case else None,
                message_id=stored.message_id,
                kind=inc.kind,
                url=inc.url or None,
            )
            session.add(evidence)
            await session.flush()
            evidence_id, case_number = evidence.id, (case.number or str(case.id)) if case else None
        if inc.media_id:
            self.spawn(self._download(evidence_id, inc.media_id))
        noun = {"image": "照片", "video": "视频", "file": "文件", "link": "链接"}[inc.kind]
        if case_number:
            text = f"已收到您的{noun}，已作为证据材料附到您的案件（{case_number}）中。"
        else:
            text = f"已收到您的{noun}，已作为证据材料妥善保存。登记纠纷后会一并附到您的案件中。"
        return await self.answer(stored, [Reply(text)], author="system")

    async def _download(self, evidence_id: int, media_id: str) -> None:
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


def _write_once(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        temp = path.with_suffix(path.suffix + ".part")
        temp.write_bytes(content)
        temp.replace(path)


# ---- wiring -----------------------------------------------------------------------------------------------


def configured(settings: Settings) -> bool:
    return bool(settings.wechat_token and settings.wechat_appid)


def install(app: Starlette, settings: Settings, router: Router, outbox: Outbox) -> WeChatChannel | None:
    """Lifespan wiring: the channel, its outbox sender and the router's deliverer for "wechat"."""
    if not configured(settings):
        return None
    api = WeChatAPI(
        settings.wechat_appid, settings.wechat_secret, settings.wechat_api_base, redis_url=settings.redis_url
    )
    channel = WeChatChannel(settings, router, outbox, api)
    outbox.register(CHANNEL, WeChatSender(router.sessions, api, settings.wechat_template_id, settings.public_url))
    router.deliverers[CHANNEL] = WeChatDeliverer(router.sessions, outbox)
    app.state.wechat = channel
    return channel


async def _get(request: Request) -> Response:
    channel: WeChatChannel = request.app.state.wechat
    return await channel.verify_url(request)


async def _post(request: Request) -> Response:
    channel: WeChatChannel = request.app.state.wechat
    return await channel.callback(request)


def routes(settings: Settings) -> list[Route]:
    if not configured(settings):
        return []
    return [
        Route("/wechat/callback", _get, methods=["GET"]),
        Route("/wechat/callback", _post, methods=["POST"]),
    ]
