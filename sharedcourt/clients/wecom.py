"""WeCom (企业微信) API client: wechatpy's enterprise `WeChatClient`, pointed at `WECOM_API_BASE`.

wechatpy is synchronous, so calls run in a worker thread; one token refresher at a time in the process. Every
request carries an explicit timeout (connect and read), so a silent WeCom never holds a handoff step.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import requests
from wechatpy.enterprise import WeChatClient
from wechatpy.exceptions import WeChatClientException

from sharedcourt.errors import UpstreamError

TIMEOUT = 5.0  # seconds, per request: WeCom answers in well under a second when it is up
TEXT_LIMIT_BYTES = 2048  # WeCom's limit for a text message's content


class _Client(WeChatClient):  # type: ignore[misc]
    """wechatpy's WeCom client pointed at WECOM_API_BASE, one token refresher at a time."""

    def __init__(self, corp_id: str, secret: str, api_base: str, timeout: float) -> None:
        super().__init__(corp_id, secret, timeout=timeout)
        self.API_BASE_URL = f"{api_base}/cgi-bin/"
        self._token_url = f"{api_base}/cgi-bin/gettoken"
        self._lock = threading.Lock()

    def fetch_access_token(self) -> Any:
        """Fetch a new access token (serialised by the lock)."""
        with self._lock:
            return self._fetch_access_token(
                url=self._token_url, params={"corpid": self.corp_id, "corpsecret": self.secret}
            )


class WeComAPI:
    """The calls the WeCom channel and the handoff make, as coroutines."""

    def __init__(
        self, corp_id: str, secret: str, api_base: str = "https://qyapi.weixin.qq.com", *, timeout: float = TIMEOUT
    ) -> None:
        self.client = _Client(corp_id, secret, api_base, timeout)

    async def send_text(self, agent_id: str, user_id: str, text: str) -> dict[str, Any]:
        """An application text message from app `agent_id` to one member (wechatpy's errors pass through)."""
        result: dict[str, Any] = await asyncio.to_thread(self.client.message.send_text, agent_id, user_id, text)
        return result

    async def tell(self, agent_id: str, user_id: str, text: str) -> None:
        """`send_text`, with any failure (WeCom error, network, timeout) raised as UpstreamError."""
        try:
            await self.send_text(agent_id, user_id, text)
        except WeChatClientException as exc:
            raise UpstreamError(f"WeCom {exc.errcode}: {exc.errmsg}") from exc
        except requests.RequestException as exc:
            raise UpstreamError(f"WeCom request: {type(exc).__name__}") from exc
