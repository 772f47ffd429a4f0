"""The WeCom API client: a token from `gettoken`, then an application text message."""

from __future__ import annotations

from stand_ins.wechat_server import WeChatStandIn

from sharedcourt.clients.wecom import WeComAPI

CORP = "ww0123456789abcdef"


async def test_application_text_is_sent_with_a_fetched_token() -> None:
    with WeChatStandIn(appid=CORP, secret="wecom-secret") as api:
        client = WeComAPI(CORP, "wecom-secret", api.base_url)
        await client.send_text("1000002", "zhangsan", "收到")
        assert len(api.calls("gettoken")) == 1
        sent = api.calls("message/send")
        assert (sent[0].body["touser"], sent[0].body["text"]["content"]) == ("zhangsan", "收到")
