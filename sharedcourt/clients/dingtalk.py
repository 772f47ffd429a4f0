"""The one httpx client for DingTalk (浙政钉): access token, robot one-to-one messages, session and group webhooks.

Wire formats (open.dingtalk.com):
- POST {base}/v1.0/oauth2/accessToken {"appKey","appSecret"} -> {"accessToken","expireIn"}
- POST {base}/v1.0/robot/oToMessages/batchSend, header x-acs-dingtalk-access-token,
  {"robotCode","userIds":[...],"msgKey":"sampleMarkdown"|"sampleActionCard…","msgParam":"<JSON string>"}
- sessionWebhook (from an inbound callback): POST {"msgtype":"text"|"markdown"|"actionCard", ...}
- group robot webhook: ...&timestamp=<ms>&sign=urlencode(base64(hmac_sha256(secret, f"{ts}\\n{secret}")))
Card buttons are `dtmd://dingtalkclient/sendMessage?content=…` links: pressing one sends that text to the robot,
so a button press arrives at /dingtalk/callback exactly like the typed command.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import time
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from sharedcourt.errors import UpstreamError

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = httpx.Timeout(5.0, connect=2.0)
TOKEN_MARGIN = 300.0  # refresh the token five minutes before DingTalk says it expires
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
CARD_KEYS = {1: "sampleActionCard", 2: "sampleActionCard2", 3: "sampleActionCard3", 4: "sampleActionCard4"}
# Where DingTalk's sessionWebhooks live; a callback naming any other host is never contacted (SSRF).
DINGTALK_HOSTS = frozenset({"oapi.dingtalk.com", "api.dingtalk.com"})


class DingTalkError(UpstreamError):
    """DingTalk refused or could not be reached."""


def sign(secret: str, timestamp: str) -> str:
    """Base64(HmacSHA256(key=secret, msg=timestamp + "\\n" + secret)); callbacks and group webhooks both use it."""
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def command_link(text: str) -> str:
    """A card-button URL that makes the pressing user send `text` to the robot."""
    return "dtmd://dingtalkclient/sendMessage?content=" + urllib.parse.quote(text)


@dataclass(frozen=True)
class Card:
    """A message for a person: markdown text and optional command buttons (title, command text)."""

    title: str
    text: str
    buttons: Sequence[tuple[str, str]] = field(default_factory=tuple)

    def robot_message(self) -> tuple[str, dict[str, str]]:
        """(msgKey, msgParam) for the robot one-to-one API."""
        buttons = list(self.buttons)[:4]
        if not buttons:
            return "sampleMarkdown", {"title": self.title, "text": self.text}
        if len(buttons) == 1:
            title, command = buttons[0]
            return "sampleActionCard", {
                "title": self.title,
                "text": self.text,
                "singleTitle": title,
                "singleURL": command_link(command),
            }
        param = {"title": self.title, "text": self.text}
        for i, (title, command) in enumerate(buttons, start=1):
            param[f"actionTitle{i}"] = title
            param[f"actionURL{i}"] = command_link(command)
        return CARD_KEYS[len(buttons)], param

    def webhook_body(self) -> dict[str, Any]:
        """Body for a sessionWebhook or a group robot webhook."""
        if not self.buttons:
            return {"msgtype": "markdown", "markdown": {"title": self.title, "text": self.text}}
        return {
            "msgtype": "actionCard",
            "actionCard": {
                "title": self.title,
                "text": self.text,
                "btnOrientation": "0",
                "btns": [{"title": t, "actionURL": command_link(c)} for t, c in self.buttons],
            },
        }


class DingTalkClient:
    """Token cache plus retrying sends; one instance (one connection pool) per DingTalk tenant."""

    def __init__(
        self,
        base_url: str,
        app_key: str,
        app_secret: str,
        robot_code: str,
        *,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
        attempts: int = 3,
        backoff: float = 0.2,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app_key = app_key
        self.app_secret = app_secret
        self.robot_code = robot_code
        self.attempts = attempts
        self.backoff = backoff
        self._monotonic = monotonic
        self._http = httpx.AsyncClient(base_url=base_url, timeout=timeout, transport=transport)
        self._token: str | None = None
        self._token_until = 0.0
        self._token_lock = asyncio.Lock()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def _post(
        self, url: str, body: dict[str, Any], headers: dict[str, str] | None = None, method: str = "POST"
    ) -> httpx.Response:
        """POST (or `method`) with retries on transport errors, 429 and 5xx; other statuses are returned."""
        last: Exception | None = None
        for attempt in range(self.attempts):
            if attempt:
                await asyncio.sleep(self.backoff * (2 ** (attempt - 1)))
            try:
                response = await self._http.request(method, url, json=body, headers=headers)
            except httpx.TransportError as exc:
                last = exc
                continue
            if response.status_code in RETRY_STATUS:
                last = DingTalkError(f"{method} {url}: HTTP {response.status_code}")
                continue
            return response
        raise DingTalkError(f"{method} {url} failed after {self.attempts} attempts: {last!r}")

    async def api(self, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """An OpenAPI call with the access token (fetched again once on 401); DingTalkError unless HTTP 200."""
        for refresh in (False, True):
            token = await self.access_token(refresh=refresh)
            response = await self._post(path, body, headers={"x-acs-dingtalk-access-token": token}, method=method)
            if response.status_code == 401 and not refresh:
                continue  # token revoked early: fetch a new one once
            if response.status_code != 200:
                raise DingTalkError(f"{method} {path} refused: HTTP {response.status_code} {response.text[:200]}")
            result: dict[str, Any] = response.json() if response.content else {}
            return result
        raise DingTalkError(f"{method} {path} refused after refreshing the token")  # pragma: no cover

    async def access_token(self, *, refresh: bool = False) -> str:
        """The cached access token, fetched again when it is about to expire or `refresh` is set."""
        async with self._token_lock:
            if not refresh and self._token and self._monotonic() < self._token_until:
                return self._token
            response = await self._post(
                "/v1.0/oauth2/accessToken", {"appKey": self.app_key, "appSecret": self.app_secret}
            )
            data = response.json() if response.content else {}
            token = data.get("accessToken")
            if response.status_code != 200 or not token:
                raise DingTalkError(f"access token refused: HTTP {response.status_code} {data.get('code', '')}")
            self._token = str(token)
            self._token_until = self._monotonic() + float(data.get("expireIn", 7200)) - TOKEN_MARGIN
            return self._token

    async def send_to_users(self, user_ids: Sequence[str], card: Card) -> dict[str, Any]:
        """Robot one-to-one message to DingTalk users (by staff id)."""
        msg_key, msg_param = card.robot_message()
        body = {
            "robotCode": self.robot_code,
            "userIds": list(user_ids),
            "msgKey": msg_key,
            "msgParam": json.dumps(msg_param, ensure_ascii=False),
        }
        result = await self.api("POST", "/v1.0/robot/oToMessages/batchSend", body)
        if result.get("invalidStaffIdList"):
            log.warning("dingtalk: invalid staff ids %s", result["invalidStaffIdList"])
        return result

    def webhook_allowed(self, url: str) -> bool:
        """Whether `url` is on DingTalk's API hosts (HTTPS) or on this client's own API base (a stand-in in tests)."""
        try:
            target = httpx.URL(url)
        except (httpx.InvalidURL, TypeError):
            return False
        if target.userinfo:
            return False
        if target.scheme == "https" and target.host in DINGTALK_HOSTS and target.port in (None, 443):
            return True
        base = self._http.base_url
        return bool(target.host) and (target.scheme, target.host, target.port) == (base.scheme, base.host, base.port)

    async def reply_webhook(self, url: str, card: Card, at_user: str | None = None) -> None:
        """Reply through an inbound message's sessionWebhook (valid until sessionWebhookExpiredTime); a URL off
        DingTalk's hosts is refused without being contacted."""
        if not self.webhook_allowed(url):
            raise DingTalkError("session webhook is not on DingTalk's API host")
        body = card.webhook_body()
        if at_user:
            body["at"] = {"atUserIds": [at_user]}
        response = await self._post(url, body)
        data = response.json() if response.content else {}
        if response.status_code != 200 or data.get("errcode", 0) != 0:
            raise DingTalkError(f"session webhook refused: HTTP {response.status_code} {data}")

    async def send_group(self, webhook_url: str, secret: str, card: Card, *, now_ms: int | None = None) -> None:
        """A custom group robot (signed webhook), e.g. a dispatch centre's duty group."""
        timestamp = str(now_ms if now_ms is not None else int(time.time() * 1000))
        signed = f"{webhook_url}&timestamp={timestamp}&sign={urllib.parse.quote_plus(sign(secret, timestamp))}"
        response = await self._post(signed, card.webhook_body())
        data = response.json() if response.content else {}
        if response.status_code != 200 or data.get("errcode", 0) != 0:
            raise DingTalkError(f"group webhook refused: HTTP {response.status_code} {data}")
