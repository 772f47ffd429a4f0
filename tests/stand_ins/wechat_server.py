"""A local stand-in for WeChat's Official Account API (api.weixin.qq.com), speaking its JSON wire format.

Serves, under /cgi-bin/: token, message/custom/send, message/template/send, message/subscribe/bizsend (a
subscription notice needs an acceptance the user has left, `grant_subscription`; 43101 without), media/get,
menu/create (and, for
WeCom, gettoken and message/send).
It records every request, checks access tokens the way WeChat does (40001 invalid, 42001 expired), enforces
the customer-service limit per user (5 since the user last wrote, `reset_quota`; 45047 beyond; `customer_quota =
None` lifts it), checks every template message against the account's templates (`add_template`; 40037, 47003:
tests/stand_ins/wechat_templates.py), and can be told to fail (-1 system busy, or any code) or to rate-limit
(45009). Runs in a thread on a free port so sync clients (wechatpy uses requests) and
other processes (the app under test) can reach it.

    with WeChatStandIn(appid="wx..", secret="s") as api:
        settings WECHAT_API_BASE = api.base_url
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from stand_ins.wechat_templates import subscription_problem, template_problem


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    at: float = field(default_factory=time.monotonic)


class WeChatStandIn:
    def __init__(self, appid: str = "wx-test-appid", secret: str = "test-secret") -> None:
        self.appid = appid
        self.secret = secret
        self.requests: list[Recorded] = []
        self.media: dict[str, tuple[bytes, str]] = {}
        self.menu: dict[str, Any] | None = None
        self.tokens: dict[str, float] = {}  # token -> expiry (monotonic)
        self.expired: set[str] = set()
        self.failures: dict[str, list[int]] = defaultdict(list)  # path -> errcodes to answer next
        self.delay: dict[str, float] = {}
        self.customer_quota: int | None = 5  # WeChat's 5 per user message; None lifts it
        self.templates: dict[str, list[str]] = {}  # the account's category templates: id -> keywords
        self.customer_sent: dict[str, int] = defaultdict(int)
        self.subscription_templates: dict[str, list[str]] = {}  # subscription notice templates: id -> keywords
        self.consents: dict[tuple[str, str], int] = defaultdict(int)  # (openid, template id) -> acceptances left
        self.jsapi_ticket = f"TICKET_{uuid.uuid4().hex}"  # what the JS-SDK signature is computed over
        self.https_only = False  # set when the app's PUBLIC_URL is https: a notice's link back must be https too
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---- control ----------------------------------------------------------------------------------------
    def __enter__(self) -> WeChatStandIn:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return None

            def do_GET(self) -> None:
                stand_in._dispatch(self, "GET")

            def do_POST(self) -> None:
                stand_in._dispatch(self, "POST")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def base_url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def fail_next(self, path: str, errcode: int = -1, times: int = 1) -> None:
        """The next `times` calls to `path` (e.g. "message/custom/send") answer with `errcode`."""
        with self._lock:
            self.failures[path].extend([errcode] * times)

    def rate_limit(self, path: str, times: int = 1) -> None:
        self.fail_next(path, 45009, times)

    def expire_tokens(self) -> None:
        """Every token handed out so far now answers 42001 (access_token expired)."""
        with self._lock:
            self.expired.update(self.tokens)

    def add_media(self, media_id: str, content: bytes, content_type: str = "image/jpeg") -> None:
        self.media[media_id] = (content, content_type)

    def add_template(self, template_id: str, keywords: list[str]) -> None:
        """The account adds a category template with these keywords (thing1, time2, ...)."""
        with self._lock:
            self.templates[template_id] = list(keywords)

    def add_subscription_template(self, template_id: str, keywords: list[str]) -> None:
        """The account picks a subscription notice template with these keywords."""
        with self._lock:
            self.subscription_templates[template_id] = list(keywords)

    def grant_subscription(self, openid: str, template_id: str) -> None:
        """The user tapped "accept" in the pop-up: one more notice of that template may be sent."""
        with self._lock:
            self.consents[(openid, template_id)] += 1

    def revoke_subscriptions(self, openid: str, template_id: str) -> None:
        """The user refused the template in WeChat's settings."""
        with self._lock:
            self.consents[(openid, template_id)] = 0

    def sent_subscriptions(self, openid: str | None = None) -> list[dict[str, Any]]:
        """The subscription notices WeChat accepted, oldest first."""
        bodies = [r.body for r in self.calls("message/subscribe/bizsend") if isinstance(r.body, dict)]
        accepted = [b for b in bodies if b.get("_answer", {}).get("errcode") == 0]
        return [b for b in accepted if openid is None or b.get("touser") == openid]

    def sent_templates(self, openid: str | None = None) -> list[dict[str, Any]]:
        """The template messages WeChat accepted, oldest first."""
        bodies = [r.body for r in self.calls("message/template/send") if isinstance(r.body, dict)]
        accepted = [b for b in bodies if b.get("_answer", {}).get("errcode") == 0]
        return [b for b in accepted if openid is None or b.get("touser") == openid]

    def reset_quota(self, openid: str) -> None:
        """The user wrote again: the customer-service count starts over (when `customer_quota` is set)."""
        with self._lock:
            self.customer_sent[openid] = 0

    def calls(self, path: str) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.path == f"/cgi-bin/{path}"]

    def sent_texts(self, openid: str | None = None) -> list[str]:
        texts = []
        for r in self.calls("message/custom/send"):
            body = r.body or {}
            if body.get("_answer", {}).get("errcode", 0) != 0:
                continue
            if openid is None or body.get("touser") == openid:
                texts.append(body.get("text", {}).get("content", ""))
        return texts

    def wecom_texts(self, user: str) -> list[str]:
        """The WeCom application text messages WeCom accepted for one member, oldest first."""
        texts = []
        for r in self.calls("message/send"):
            body = r.body or {}
            if body.get("_answer", {}).get("errcode", 0) == 0 and user in str(body.get("touser", "")).split("|"):
                texts.append(str((body.get("text") or {}).get("content") or ""))
        return texts

    # ---- the API ----------------------------------------------------------------------------------------
    def _dispatch(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(handler.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        try:
            body: Any = json.loads(raw.decode("utf-8")) if raw else None
        except ValueError:
            body = {"_raw": raw.decode("utf-8", "replace")}
        record = Recorded(method, parts.path, query, body)
        with self._lock:
            self.requests.append(record)
        delay = self.delay.get(parts.path.removeprefix("/cgi-bin/"))
        if delay:
            time.sleep(delay)
        status, content, content_type = self._answer(method, parts.path.removeprefix("/cgi-bin/"), query, body)
        if isinstance(body, dict) and content_type.startswith("application/json"):
            body["_answer"] = json.loads(content)
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(content)))
        handler.end_headers()
        handler.wfile.write(content)

    @staticmethod
    def _json(data: dict[str, Any]) -> tuple[int, bytes, str]:
        return 200, json.dumps(data, ensure_ascii=False).encode("utf-8"), "application/json; encoding=utf-8"

    def _error(self, errcode: int) -> tuple[int, bytes, str]:
        messages = {
            -1: "system error",
            40001: "invalid credential, access_token is invalid or not latest",
            40007: "invalid media_id",
            40013: "invalid appid",
            40016: "invalid button size",
            40037: "invalid template_id",
            40008: "invalid message type",
            44004: "empty content",
            45002: "content size out of limit",
            43101: "user refuse to accept the msg",
            47003: "argument invalid!",
            42001: "access_token expired",
            43004: "require subscribe",
            45009: "reach max api daily quota limit",
            45015: "response out of time limit or subscription is canceled",
            45047: "out of response count limit",
            47001: "data format error",
        }
        return self._json({"errcode": errcode, "errmsg": messages.get(errcode, "error")})

    def _answer(self, method: str, path: str, query: dict[str, str], body: Any) -> tuple[int, bytes, str]:
        if path == "gettoken":  # WeCom's token endpoint (corpid/corpsecret)
            query = {
                "appid": query.get("corpid", ""),
                "secret": query.get("corpsecret", ""),
                "grant_type": "client_credential",
            }
            path = "token"
        if path == "token":
            return self._token(query)
        token = query.get("access_token", "")
        with self._lock:
            if token not in self.tokens:
                return self._error(40001)
            if token in self.expired:
                return self._error(42001)
            pending = self.failures.get(path)
            if pending:
                return self._error(pending.pop(0))
        handlers = {
            ("POST", "message/custom/send"): self._custom_send,
            ("POST", "message/send"): self._wecom_send,
            ("POST", "message/template/send"): self._template_send,
            ("POST", "message/subscribe/bizsend"): self._subscribe_send,
            ("POST", "menu/create"): self._menu_create,
            ("GET", "media/get"): lambda _body: self._media_get(query),
            ("GET", "ticket/getticket"): lambda _body: self._ticket(query),
        }
        handler = handlers.get((method, path))
        if handler is None:
            return 404, b'{"errcode":-1,"errmsg":"not found"}', "application/json"
        return handler(body)

    def _token(self, query: dict[str, str]) -> tuple[int, bytes, str]:
        if query.get("appid") != self.appid:
            return self._error(40013)
        if query.get("secret") != self.secret or query.get("grant_type") != "client_credential":
            return self._error(40001)
        token = f"TOKEN_{uuid.uuid4().hex}"
        with self._lock:
            self.tokens[token] = time.monotonic() + 7200
        return self._json({"access_token": token, "expires_in": 7200})

    def _custom_send(self, body: Any) -> tuple[int, bytes, str]:
        if not isinstance(body, dict) or "touser" not in body or "msgtype" not in body:
            return self._error(47001)
        with self._lock:
            openid = str(body["touser"])
            if self.customer_quota is not None and self.customer_sent[openid] >= self.customer_quota:
                return self._error(45047)
            self.customer_sent[openid] += 1
        return self._json({"errcode": 0, "errmsg": "ok"})

    def _wecom_send(self, body: Any) -> tuple[int, bytes, str]:  # WeCom application message
        if not isinstance(body, dict) or "touser" not in body or "agentid" not in body:
            return self._error(47001)
        if body.get("msgtype") not in ("text", "textcard", "markdown", "news"):
            return self._error(40008)  # invalid message type
        if body["msgtype"] == "text":
            content = str((body.get("text") or {}).get("content") or "")
            if not content:
                return self._error(44004)  # empty content
            if len(content.encode("utf-8")) > 2048:
                return self._error(45002)  # content over WeCom's 2048 bytes
        return self._json({"errcode": 0, "errmsg": "ok", "invaliduser": ""})

    def _template_send(self, body: Any) -> tuple[int, bytes, str]:
        with self._lock:
            problem = template_problem(body, self.templates, self.https_only)
        if problem is not None:
            return self._json({"errcode": problem[0], "errmsg": problem[1]})
        return self._json({"errcode": 0, "errmsg": "ok", "msgid": int(time.time() * 1000)})

    def _subscribe_send(self, body: Any) -> tuple[int, bytes, str]:
        with self._lock:
            problem = subscription_problem(body, self.subscription_templates, self.consents, self.https_only)
            if problem is None:
                self.consents[(str(body["touser"]), str(body["template_id"]))] -= 1  # one acceptance, one notice
        if problem is not None:
            return self._json({"errcode": problem[0], "errmsg": problem[1]})
        return self._json({"errcode": 0, "errmsg": "ok", "msgid": int(time.time() * 1000)})

    def _ticket(self, query: dict[str, str]) -> tuple[int, bytes, str]:
        """The JS-SDK's jsapi_ticket (type=jsapi), valid 7200 seconds like WeChat's."""
        if query.get("type") != "jsapi":
            return self._error(40097)
        return self._json({"errcode": 0, "errmsg": "ok", "ticket": self.jsapi_ticket, "expires_in": 7200})

    def _menu_create(self, body: Any) -> tuple[int, bytes, str]:
        buttons = body.get("button") if isinstance(body, dict) else None
        if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
            return self._error(40016)
        for button in buttons:
            if len(button.get("sub_button") or []) > 5:
                return self._error(40016)
        self.menu = body
        return self._json({"errcode": 0, "errmsg": "ok"})

    def _media_get(self, query: dict[str, str]) -> tuple[int, bytes, str]:
        media = self.media.get(query.get("media_id", ""))
        if media is None:
            return self._error(40007)
        content, content_type = media
        return 200, content, content_type
