"""WeChat Official Account channel: `install` wires it into the app, `routes` serves `/wechat/callback` and
`/wechat/subscribe`.

Modules: `auth` (signatures, safe mode, hostile XML), `parse` (push -> `Incoming`), `turns` (what each push
does), `claims` (passive reply or outbox), `render` (replies -> WeChat text/XML), `delivery` (outbox sender
and router deliverer), `templates`, `consent` and `notify` (subscription and category-template notices, their
fallback), `subscribe` (the page where a resident agrees to subscription notices), `quota` (48-hour
customer-service quota), `evidence` (media), `menu`, `texts` (copy).
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.routing import Route

from sharedcourt.channels.callback import attach, callback_routes
from sharedcourt.channels.wechat import subscribe
from sharedcourt.channels.wechat.channel import WeChatChannel
from sharedcourt.channels.wechat.delivery import CHANNEL, WeChatDeliverer, WeChatSender
from sharedcourt.channels.wechat.templates import layouts, subscription_layouts
from sharedcourt.clients.wechat import WeChatAPI
from sharedcourt.messaging.outbox import Outbox
from sharedcourt.messaging.router import Router
from sharedcourt.settings import Settings

__all__ = ["CHANNEL", "WeChatChannel", "configured", "install", "routes"]

PATH = "/wechat/callback"


def configured(settings: Settings) -> bool:
    """Whether the Official Account is configured (token and AppId)."""
    return bool(settings.wechat_token and settings.wechat_appid)


def install(app: Starlette, settings: Settings, router: Router, outbox: Outbox) -> WeChatChannel | None:
    """Lifespan wiring: the channel, its outbox sender and the router's deliverer for "wechat"."""
    if not configured(settings):
        return None
    api = WeChatAPI(
        settings.wechat_appid, settings.wechat_secret, settings.wechat_api_base, redis_url=settings.redis_url
    )
    templates = layouts(settings)  # refuses, at start-up, a template field that cannot hold its value
    channel = WeChatChannel(settings, router, outbox, api)
    subscriptions = subscription_layouts(settings)
    sender = WeChatSender(router.sessions, api, templates, notice_link(settings), subscriptions)
    return attach(app, CHANNEL, channel, router, outbox, (sender, WeChatDeliverer(router.sessions, outbox)))


def notice_link(settings: Settings) -> str:
    """Where a tap on a notice opens: WECHAT_NOTICE_URL, else the web chat page under PUBLIC_URL."""
    return settings.wechat_notice_url or f"{settings.public_url.rstrip('/')}/"


def routes(settings: Settings) -> list[Route]:
    """GET (URL check) and POST (pushes) of the callback, when configured."""
    return [*callback_routes(PATH, CHANNEL), *subscribe.routes()] if configured(settings) else []
