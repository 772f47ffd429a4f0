"""GET /wechat/subscribe?t=<token>: the page where a WeChat resident agrees to subscription notices (订阅通知).

The token (sharedcourt.messaging.subscribe_link) is signed, expiring and names the resident, never the openid; a
bad or expired one gets a 403 page in Chinese. The page configures WeChat's JS-SDK (wx.config signed over the
jsapi_ticket for this exact URL) and shows the open tag `wx-open-subscribe` for the configured templates; WeChat
then pushes `subscribe_msg_popup_event`, recorded as consent by the callback (sharedcourt.channels.wechat.consent).
Outside WeChat the tag stays inert and the page's own text says to open it in WeChat.
"""

from __future__ import annotations

import html
import logging
import secrets

import requests
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route
from wechatpy.exceptions import WeChatClientException

from sharedcourt.booking.subscribe import template_ids
from sharedcourt.db.base import utcnow
from sharedcourt.db.conversation import Resident
from sharedcourt.errors import AuthError
from sharedcourt.messaging import subscribe_link

log = logging.getLogger(__name__)
JSSDK = "https://res.wx.qq.com/open/js/jweixin-1.6.0.js"
BACK = "请回到公众号对话；开庭前我们仍会在对话里提醒您。"
OUTSIDE = "请在微信中打开本页面：长按或复制链接，发送到微信后点开，再点“订阅提醒”。"


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        "<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>{html.escape(title)}</title></head><body><h1>{html.escape(title)}</h1>{body}</body></html>",
        status_code=status,
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


def _signed_url(request: Request) -> str:
    """The page's URL as the resident's browser has it (PUBLIC_URL + path + query): what wx.config signs."""
    public = request.app.state.settings.public_url.rstrip("/")
    query = request.url.query
    return f"{public}{subscribe_link.PATH}" + (f"?{query}" if query else "")


def _subscribe_body(config: dict[str, object], ids: list[str]) -> str:
    templates = html.escape(",".join(ids))
    return f"""<p id="outside">{html.escape(OUTSIDE)}</p>
<wx-open-subscribe template="{templates}" id="subscribe">
  <script type="text/wxtag-template"><button style="font-size:18px;padding:8px 24px">订阅提醒</button></script>
</wx-open-subscribe>
<p>同意后，开庭前我们会通过微信服务通知提醒您。您也可以随时在对话里说“不用提醒了”。</p>
<script src="{JSSDK}"></script>
<script>
wx.config({{debug: false, appId: "{html.escape(str(config["appId"]))}", timestamp: {int(str(config["timestamp"]))},
  nonceStr: "{html.escape(str(config["nonceStr"]))}", signature: "{html.escape(str(config["signature"]))}",
  jsApiList: [], openTagList: ["wx-open-subscribe"]}});
wx.ready(function () {{ document.getElementById("outside").style.display = "none"; }});
document.getElementById("subscribe").addEventListener("success", function () {{
  document.getElementById("subscribe").insertAdjacentHTML("afterend", "<p>已收到您的选择，谢谢。</p>");
}});
</script>"""


async def page(request: Request) -> Response:
    """The subscription page for the resident the token names."""
    settings = request.app.state.settings
    try:
        resident_id = subscribe_link.verify(settings.link_secret, request.query_params.get("t", ""), utcnow())
    except AuthError as exc:
        log.info("subscription page refused: %s", exc)
        return _page(
            "链接无效或已过期", "<p>这个订阅链接无效或已过期。请回到公众号对话，再说一次“我的预约”获取新链接。</p>", 403
        )
    async with request.app.state.sessions() as session:
        resident = await session.get(Resident, resident_id)
    ids = template_ids(settings)
    channel = getattr(request.app.state, "wechat", None)
    if resident is None or resident.channel != "wechat" or channel is None:
        return _page("链接无效或已过期", f"<p>这个订阅链接无效。{BACK}</p>", 403)
    if not ids:
        return _page("暂未开通订阅提醒", "<p>本公众号暂未开通订阅提醒，开庭前我们会在对话里提醒您。</p>", 404)
    timestamp = int(utcnow().timestamp())
    try:
        config = await channel.api.jsapi_config(_signed_url(request), secrets.token_hex(8), timestamp)
    except (WeChatClientException, requests.RequestException) as exc:
        log.warning("subscription page: no jsapi_ticket: %s", exc)
        return _page("暂时无法订阅", "<p>微信服务暂时不可用，请稍后再打开本页面。</p>", 503)
    return _page("订阅开庭提醒", _subscribe_body(config, ids))


def routes() -> list[Route]:
    """The subscription page (GET; HEAD answered by Starlette)."""
    return [Route(subscribe_link.PATH, page, methods=["GET"])]
