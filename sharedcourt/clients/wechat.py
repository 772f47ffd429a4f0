"""WeChat Official Account API client: wechatpy's `WeChatClient`, pointed at `WECHAT_API_BASE`.

wechatpy does the HTTP calls, the error codes and the token caching; this module adds what it lacks:
- one token refresher at a time (a thread lock in-process; a Redis lock across processes when REDIS_URL is set,
  with wechatpy's RedisStorage as the token store), and a refresher that finds a fresh token already stored by
  someone else uses it instead of fetching again (every fetch invalidates the previous token);
- early refresh (`REFRESH_MARGIN` seconds before expiry);
- 40001/40014/42001 refresh and retry once (wechatpy's `auto_retry`);
- async wrappers: wechatpy is synchronous, so every call runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from dataclasses import dataclass
from typing import Any

from wechatpy import WeChatClient
from wechatpy.session.memorystorage import MemoryStorage

REFRESH_MARGIN = 300  # seconds before expiry at which a token is replaced
RECENT_FETCH = 30  # a token fetched this recently by someone else is taken as fresh


@dataclass(frozen=True)
class Media:
    """A downloaded media file (or, for video, WeChat's JSON answer with its URL)."""

    content: bytes
    content_type: str
    json: dict[str, Any] | None = None  # video media answer with {"video_url": ...} instead of bytes


class _Client(WeChatClient):  # type: ignore[misc]
    """wechatpy's client with our API base and a locked, early, shared refresh."""

    def __init__(self, appid: str, secret: str, api_base: str, *, session: Any, lock: Any, timeout: float) -> None:
        super().__init__(appid, secret, session=session, timeout=timeout, auto_retry=True)
        self.API_BASE_URL = f"{api_base}/cgi-bin/"
        self._token_url = f"{api_base}/cgi-bin/token"
        self._lock = lock
        self._used = threading.local()
        self.fetches = 0

    @property
    def _fetched_key(self) -> str:
        return f"{self.appid}_access_token_fetched_at"

    def _handle_result(
        self, res: Any, method: Any = None, url: Any = None, result_processor: Any = None, **kw: Any
    ) -> Any:
        # Remember which token a failing call used, so a refresher can tell whether it is already replaced.
        params = kw.get("params")
        if isinstance(params, dict):
            self._used.token = params.get("access_token")
        return super()._handle_result(res, method, url, result_processor, **kw)

    @property
    def access_token(self) -> Any:
        token = self.session.get(self.access_token_key)
        fetched_at = self.session.get(self._fetched_key)
        expires_in = self.session.get(f"{self.appid}_access_token_expires_in")
        if token and fetched_at and expires_in and time.time() < fetched_at + expires_in - REFRESH_MARGIN:
            return token
        self.fetch_access_token()
        return self.session.get(self.access_token_key)

    def fetch_access_token(self) -> Any:
        with self._lock:
            token = self.session.get(self.access_token_key)
            fetched_at = self.session.get(self._fetched_key) or 0
            failed = getattr(self._used, "token", None)
            if token and token != failed and time.time() - fetched_at < RECENT_FETCH:
                return {"access_token": token}  # someone else refreshed while we waited for the lock
            result = self._fetch_access_token(
                url=self._token_url,
                params={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret},
            )
            self.fetches += 1
            expires_in = int(result.get("expires_in", 7200))
            self.session.set(self._fetched_key, time.time(), expires_in)
            self.session.set(f"{self.appid}_access_token_expires_in", expires_in, expires_in)
            self._used.token = None
            return result


class _RedisLock:
    def __init__(self, redis: Any, name: str) -> None:
        self._lock = redis.lock(name, timeout=30, blocking_timeout=30)

    def __enter__(self) -> None:
        self._lock.acquire()

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(Exception):
            self._lock.release()


class _LockPair:
    """A thread lock, then (if any) the cross-process lock: one refresher in the process and in the cluster."""

    def __init__(self, distributed: Any | None) -> None:
        self._local = threading.Lock()
        self._distributed = distributed

    def __enter__(self) -> None:
        self._local.acquire()
        if self._distributed is not None:
            try:
                self._distributed.__enter__()
            except BaseException:
                self._local.release()
                raise

    def __exit__(self, *exc: object) -> None:
        try:
            if self._distributed is not None:
                self._distributed.__exit__(*exc)
        finally:
            self._local.release()


def _storage(redis_url: str, appid: str) -> tuple[Any, Any | None]:
    if not redis_url:
        return MemoryStorage(), None
    import redis
    from wechatpy.session.redisstorage import RedisStorage

    client = redis.Redis.from_url(redis_url)
    return RedisStorage(client, prefix="wechatpy"), _RedisLock(client, f"wechatpy:{appid}:token-refresh")


class WeChatAPI:
    """The calls the channel makes, as coroutines."""

    def __init__(
        self,
        appid: str,
        secret: str,
        api_base: str = "https://api.weixin.qq.com",
        *,
        redis_url: str = "",
        timeout: float = 5.0,
        storage: Any | None = None,
        lock: Any | None = None,
    ) -> None:
        if storage is None:
            storage, lock = _storage(redis_url, appid)
        self.client = _Client(
            appid, secret, api_base.rstrip("/"), session=storage, lock=_LockPair(lock), timeout=timeout
        )

    async def send_text(self, openid: str, text: str) -> dict[str, Any]:
        """A customer-service text message to one user."""
        result: dict[str, Any] = await asyncio.to_thread(self.client.message.send_text, openid, text)
        return result

    async def send_template(
        self, openid: str, template_id: str, data: dict[str, Any], url: str | None = None
    ) -> dict[str, Any]:
        """A template message to one user (outside the customer-service window)."""
        result: dict[str, Any] = await asyncio.to_thread(
            self.client.message.send_template, openid, template_id, data, url
        )
        return result

    async def send_subscription(
        self, openid: str, template_id: str, data: dict[str, Any], page: str | None = None
    ) -> dict[str, Any]:
        """A one-time subscription notice (订阅通知, message/subscribe/bizsend) the user agreed to receive."""
        result: dict[str, Any] = await asyncio.to_thread(
            self.client.message.send_subscribe_message, openid, template_id, data, page=page
        )
        return result

    async def jsapi_config(self, url: str, noncestr: str, timestamp: int) -> dict[str, Any]:
        """wx.config for the page at `url`: the signature over the cached jsapi_ticket (wechatpy's JS-SDK helpers)."""

        def call() -> dict[str, Any]:
            ticket = self.client.jsapi.get_jsapi_ticket()
            signature = self.client.jsapi.get_jsapi_signature(noncestr, ticket, timestamp, url)
            return {"appId": self.client.appid, "timestamp": timestamp, "nonceStr": noncestr, "signature": signature}

        return await asyncio.to_thread(call)

    async def download_media(self, media_id: str) -> Media:
        """A temporary media file a user sent (photo, voice, video)."""

        def call() -> Media:
            res = self.client.media.download(media_id)
            if isinstance(res, dict):  # video: {"video_url": ...}
                return Media(b"", "application/json", res)
            return Media(res.content, res.headers.get("Content-Type", "application/octet-stream"))

        return await asyncio.to_thread(call)

    async def create_menu(self, menu: dict[str, Any]) -> dict[str, Any]:
        """Replace the Official Account menu."""
        result: dict[str, Any] = await asyncio.to_thread(self.client.menu.create, menu)
        return result

    def create_menu_sync(self, menu: dict[str, Any]) -> dict[str, Any]:
        """Replace the Official Account menu (for the synchronous CLI)."""
        result: dict[str, Any] = self.client.menu.create(menu)
        return result
