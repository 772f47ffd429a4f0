"""A local stand-in for DingTalk's servers (api.dingtalk.com and the robot webhooks), speaking their wire format.

Serves:
- POST /v1.0/oauth2/accessToken {"appKey","appSecret"} -> {"accessToken","expireIn"} (400 on wrong credentials)
- POST /v1.0/robot/oToMessages/batchSend (header x-acs-dingtalk-access-token; 401 InvalidAuthentication on a bad
  token) {"robotCode","userIds","msgKey","msgParam": "<JSON string>"} -> {"processQueryKey", ...}
- POST /robot/sendBySession?session=… (the sessionWebhook handed out in callbacks) -> {"errcode":0}
- POST /robot/send?access_token=…&timestamp=…&sign=… (a signed custom group robot) -> {"errcode":0} or 310000
- POST /v1.0/card/instances/createAndDeliver and PUT /v1.0/card/instances (token checked): interactive cards,
  kept in `cards` by outTrackId with every update applied by key (`DeliveredCard`)
- POST /v1.0/gateway/connections/open (Stream mode), answered by the attached `gateway` (stand_ins.dingtalk_gateway)
It records everything, can be told to fail (`fail_next[path] = [500, …]`), and plays the people: `say()` posts a
signed robot callback to the app, as DingTalk does when a person types to the robot, and `press()` presses a
card button (its dtmd://dingtalkclient/sendMessage link sends the button's text to the robot the same way).
Every callback it signs has a new timestamp (the app refuses a replayed (timestamp, sign) pair).
`Listener` is any other HTTP server (an SSRF target): it records every request it gets.

    with DingTalkStandIn(app_key="k", app_secret="s") as dt:
        settings DINGTALK_API_BASE = dt.base_url
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import urllib.parse
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

_TS_LOCK = threading.Lock()
_LAST_TS = [0]


def fresh_timestamp() -> str:
    """Now in milliseconds, never the same twice in this process (DingTalk signs each delivery anew)."""
    with _TS_LOCK:
        _LAST_TS[0] = max(_LAST_TS[0] + 1, int(time.time() * 1000))
        return str(_LAST_TS[0])


def dingtalk_sign(secret: str, timestamp: str) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


@dataclass
class Sent:
    """One robot message a person received (one-to-one API, session webhook or group webhook)."""

    route: str  # "robot", "session", "group"
    users: list[str]
    msg_key: str
    param: dict[str, Any]
    at: float = field(default_factory=time.monotonic)

    @property
    def title(self) -> str:
        return str(self.param.get("title", ""))

    @property
    def text(self) -> str:
        return str(self.param.get("text") or self.param.get("content") or "")

    def buttons(self) -> dict[str, str]:
        """Button title -> the text pressing it sends to the robot."""
        found: dict[str, str] = {}
        if "singleTitle" in self.param:
            found[self.param["singleTitle"]] = _content(self.param["singleURL"])
        for i in range(1, 6):
            if f"actionTitle{i}" in self.param:
                found[self.param[f"actionTitle{i}"]] = _content(self.param[f"actionURL{i}"])
        for btn in self.param.get("btns", []):
            found[btn["title"]] = _content(btn["actionURL"])
        return found


def _content(url: str) -> str:
    parsed = urllib.parse.urlsplit(url)
    assert parsed.scheme == "dtmd", url
    return urllib.parse.parse_qs(parsed.query)["content"][0]


@dataclass
class DeliveredCard:
    """One interactive card: to whom, its variables now (updates applied by key), how presses come back."""

    out_track_id: str
    user: str
    params: dict[str, str]
    callback_type: str
    route_key: str
    updates: int = 0

    def buttons(self) -> dict[str, str]:
        """Button text -> the action id a press sends."""
        found = json.loads(self.params.get("sys_full_json_obj") or "{}").get("msgButtons", [])
        return {b["text"]: b["id"] for b in found if b.get("request")}

    def press_body(self, action: str, user: str | None = None) -> dict[str, Any]:
        """A press as DingTalk sends it (Stream frame data, or the HTTP callback body)."""
        content = {"cardPrivateData": {"actionIds": [action], "params": {}}}
        return {
            "type": "actionCallback",
            "corpId": "ding-corp",
            "userId": user or self.user,
            "outTrackId": self.out_track_id,
            "spaceType": "IM_ROBOT",
            "spaceId": user or self.user,
            "userIdType": 1,
            "content": json.dumps(content, ensure_ascii=False),
        }


class DingTalkStandIn:
    def __init__(
        self, app_key: str = "ding-test-key", app_secret: str = "ding-test-secret", robot_code: str = "robot-test"
    ) -> None:
        self.app_key = app_key
        self.app_secret = app_secret
        self.robot_code = robot_code
        self.group_secret = "SEC-group-test"
        self.requests: list[tuple[str, str, Any]] = []
        self.sent: list[Sent] = []
        self.tokens: set[str] = set()
        self.cards: dict[str, DeliveredCard] = {}
        self.gateway: Any = None  # a stand_ins.dingtalk_gateway.Gateway, for Stream mode
        self.fail_next: dict[str, list[int]] = defaultdict(list)
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---- control ----------------------------------------------------------------------------------------
    def __enter__(self) -> DingTalkStandIn:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        handler = type("Handler", (_Handler,), {"standin": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def settings(self) -> dict[str, str]:
        return {
            "DINGTALK_APP_KEY": self.app_key,
            "DINGTALK_APP_SECRET": self.app_secret,
            "DINGTALK_ROBOT_CODE": self.robot_code,
            "DINGTALK_API_BASE": self.base_url,
        }

    def messages_for(self, user: str) -> list[Sent]:
        with self._lock:
            return [s for s in self.sent if user in s.users]

    def wait_for(self, user: str | None, contains: str, *, timeout: float = 10.0, after: int = 0) -> Sent:
        """Block until `user` (anyone if None) has received a message (index >= after among theirs) with `contains`."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                theirs = [s for s in self.sent if user is None or user in s.users][after:]
                for sent in theirs:
                    if contains in sent.text or contains in sent.title:
                        return sent
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [(s.title, s.text[:80]) for s in theirs]
                    raise AssertionError(f"{user} got no message with {contains!r} in {timeout}s; got {seen}")
                self._cond.wait(left)

    # ---- the people: a robot callback as DingTalk sends it ----------------------------------------------
    def callback_body(
        self, staff_id: str, text: str, *, session_valid: bool = True, webhook: str | None = None
    ) -> dict[str, Any]:
        now_ms = int(time.time() * 1000)
        session = uuid.uuid4().hex
        return {
            "msgtype": "text",
            "text": {"content": text},
            "msgId": f"msg{uuid.uuid4().hex}",
            "createAt": now_ms,
            "conversationType": "1",
            "conversationId": f"cid{staff_id}",
            "senderId": f"$:LWCP_v1:${staff_id}",
            "senderNick": staff_id,
            "senderCorpId": "ding-corp",
            "senderStaffId": staff_id,
            "chatbotUserId": "$:LWCP_v1:$robot",
            "chatbotCorpId": "ding-corp",
            "robotCode": self.robot_code,
            "isAdmin": False,
            "isInAtList": True,
            "sessionWebhook": webhook or f"{self.base_url}/robot/sendBySession?session={session}",
            "sessionWebhookExpiredTime": now_ms + (90 * 60 * 1000 if session_valid else -1000),
        }

    def signed_headers(self, timestamp: str | None = None, secret: str | None = None) -> dict[str, str]:
        ts = timestamp if timestamp is not None else fresh_timestamp()
        return {
            "timestamp": ts,
            "sign": dingtalk_sign(secret or self.app_secret, ts),
            "content-type": "application/json",
        }

    def say(self, app_url: str, staff_id: str, text: str, *, session_valid: bool = True) -> httpx.Response:
        body = self.callback_body(staff_id, text, session_valid=session_valid)
        return httpx.post(
            f"{app_url}/dingtalk/callback",
            content=json.dumps(body, ensure_ascii=False).encode(),
            headers=self.signed_headers(),
            timeout=30,
        )

    def press(self, app_url: str, staff_id: str, message: Sent, button: str) -> httpx.Response:
        return self.say(app_url, staff_id, message.buttons()[button])

    def card_for(self, user: str, number: str, *, timeout: float = 10.0) -> DeliveredCard:
        """Block until `user` has an interactive card for ticket `number`."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for card in self.cards.values():
                    if card.user == user and number in card.params.get("title", ""):
                        return card
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{user} got no card for {number}; cards: {list(self.cards)}")
                self._cond.wait(left)

    # ---- server side ------------------------------------------------------------------------------------
    def _record(self, sent: Sent) -> None:
        with self._cond:
            self.sent.append(sent)
            self._cond.notify_all()


class _Handler(BaseHTTPRequestHandler):
    standin: DingTalkStandIn

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _authorised(self) -> bool:
        if self.headers.get("x-acs-dingtalk-access-token") in self.standin.tokens:
            return True
        self._reply(401, {"code": "InvalidAuthentication", "message": "不合法的access_token"})
        return False

    def _create_card(self, body: dict[str, Any]) -> None:
        s = self.standin
        if not self._authorised():
            return
        space = str(body.get("openSpaceId") or "")
        deliver = body.get("imRobotOpenDeliverModel") or {}
        ok = space.startswith("dtv1.card//IM_ROBOT.") and deliver.get("robotCode") == s.robot_code
        if not ok or not body.get("cardTemplateId") or body.get("outTrackId") in s.cards:
            self._reply(400, {"code": "param.error", "message": "openSpaceId/robotCode/cardTemplateId/outTrackId"})
            return
        card = DeliveredCard(
            out_track_id=str(body["outTrackId"]),
            user=space.removeprefix("dtv1.card//IM_ROBOT."),
            params=dict(body["cardData"]["cardParamMap"]),
            callback_type=str(body.get("callbackType") or ""),
            route_key=str(body.get("callbackRouteKey") or ""),
        )
        with s._cond:
            s.cards[card.out_track_id] = card
            s._cond.notify_all()
        self._reply(200, {"success": True, "result": {"outTrackId": card.out_track_id}})

    def do_PUT(self) -> None:
        s = self.standin
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        with s._lock:
            s.requests.append((self.path, "", body))
        if self.path != "/v1.0/card/instances" or not self._authorised():
            if self.path != "/v1.0/card/instances":
                self._reply(404, {"code": "NotFound", "message": self.path})
            return
        with s._cond:
            card = s.cards.get(str(body.get("outTrackId")))
            if card is None:
                self._reply(400, {"code": "card.notExist", "message": "outTrackId"})
                return
            card.params.update(body["cardData"]["cardParamMap"])
            card.updates += 1
            s._cond.notify_all()
        self._reply(200, {"success": True, "result": True})

    def _reply(self, status: int, data: dict[str, Any]) -> None:
        body = json.dumps(data, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json;charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        s = self.standin
        url = urllib.parse.urlsplit(self.path)
        query = {k: v[0] for k, v in urllib.parse.parse_qs(url.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            self._reply(400, {"code": "InvalidParameter", "message": "body is not JSON"})
            return
        with s._lock:
            s.requests.append((url.path, url.query, body))
            failures = s.fail_next.get(url.path)
            status = failures.pop(0) if failures else None
        if status is not None:
            self._reply(status, {"code": "ServiceUnavailable", "message": "stand-in told to fail"})
            return
        if url.path == "/v1.0/oauth2/accessToken":
            if body.get("appKey") != s.app_key or body.get("appSecret") != s.app_secret:
                self._reply(400, {"code": "invalidClientIdOrSecret", "message": "无效的appKey或appSecret"})
                return
            token = uuid.uuid4().hex
            with s._lock:
                s.tokens.add(token)
            self._reply(200, {"accessToken": token, "expireIn": 7200})
        elif url.path == "/v1.0/robot/oToMessages/batchSend":
            if self.headers.get("x-acs-dingtalk-access-token") not in s.tokens:
                self._reply(401, {"code": "InvalidAuthentication", "message": "不合法的access_token"})
                return
            if body.get("robotCode") != s.robot_code or not body.get("userIds") or "msgKey" not in body:
                self._reply(400, {"code": "InvalidParameter", "message": "robotCode/userIds/msgKey"})
                return
            param = json.loads(body["msgParam"])
            s._record(Sent("robot", list(body["userIds"]), body["msgKey"], param))
            self._reply(
                200, {"processQueryKey": uuid.uuid4().hex, "invalidStaffIdList": [], "flowControlledStaffIdList": []}
            )
        elif url.path == "/v1.0/gateway/connections/open" and s.gateway is not None:
            status, data = s.gateway.open(body)
            self._reply(status, data)
        elif url.path == "/v1.0/card/instances/createAndDeliver":
            self._create_card(body)
        elif url.path in ("/robot/sendBySession", "/robot/send"):
            if url.path == "/robot/send":
                ts, sign = query.get("timestamp", ""), query.get("sign", "")
                if not ts or not hmac.compare_digest(sign, dingtalk_sign(s.group_secret, ts)):
                    self._reply(200, {"errcode": 310000, "errmsg": "sign not match"})
                    return
            msgtype = body.get("msgtype", "")
            param = dict(body.get(msgtype) or {})
            users = list((body.get("at") or {}).get("atUserIds") or ["group"])
            s._record(Sent("session" if url.path == "/robot/sendBySession" else "group", users, msgtype, param))
            self._reply(200, {"errcode": 0, "errmsg": "ok"})
        else:
            self._reply(404, {"code": "NotFound", "message": url.path})


class Listener:
    """Any other HTTP server (a host an attacker names): answers 200 to everything and records what it got."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str]] = []
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def _any(self) -> None:
                listener.requests.append((self.command, self.path))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            do_GET = do_POST = do_PUT = _any

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> Listener:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"
