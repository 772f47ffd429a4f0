"""WeChat's side of the callback: builds pushes exactly as WeChat's servers do (wechatpy's crypto in the sender
role) and opens passive replies, for tests that drive `/wechat/callback` over HTTP."""

from __future__ import annotations

import itertools
import random
import string
import time
from dataclasses import dataclass
from typing import Any

import xmltodict
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import WeChatSigner

_ids = itertools.count(int(time.time()) * 1000)


def sign(*parts: str) -> str:
    signer = WeChatSigner()
    signer.add_data(*parts)
    result: str = signer.signature
    return result


def next_msg_id() -> int:
    return 6_000_000_000_000_000_000 + next(_ids)


@dataclass
class Push:
    params: dict[str, str]
    body: bytes


class WeChatPusher:
    """Plaintext when `aes_key` is empty; safe mode otherwise (`compatible=True` adds the plaintext too)."""

    def __init__(self, token: str, appid: str, aes_key: str = "", account: str = "gh_0123456789ab") -> None:
        self.token = token
        self.appid = appid
        self.aes_key = aes_key
        self.account = account
        self.crypto = WeChatCrypto(token, aes_key, appid) if aes_key else None

    # ---- message bodies (the plaintext XML WeChat builds)
    def _xml(self, openid: str, msg_type: str, fields: dict[str, Any], create_time: int | None = None) -> str:
        parts = [
            f"<ToUserName><![CDATA[{self.account}]]></ToUserName>",
            f"<FromUserName><![CDATA[{openid}]]></FromUserName>",
            f"<CreateTime>{create_time or int(time.time())}</CreateTime>",
            f"<MsgType><![CDATA[{msg_type}]]></MsgType>",
        ]
        for name, value in fields.items():
            parts.append(
                f"<{name}>{value}</{name}>" if isinstance(value, int) else f"<{name}><![CDATA[{value}]]></{name}>"
            )
        return "<xml>" + "".join(parts) + "</xml>"

    def text(self, openid: str, content: str, msg_id: int | None = None) -> str:
        return self._xml(openid, "text", {"Content": content, "MsgId": msg_id or next_msg_id()})

    def voice(self, openid: str, media_id: str, recognition: str | None = None, msg_id: int | None = None) -> str:
        fields: dict[str, Any] = {"MediaId": media_id, "Format": "amr"}
        if recognition is not None:
            fields["Recognition"] = recognition
        fields["MsgId"] = msg_id or next_msg_id()
        return self._xml(openid, "voice", fields)

    def image(self, openid: str, media_id: str, msg_id: int | None = None) -> str:
        fields = {"PicUrl": f"http://mmbiz.qpic.cn/{media_id}", "MediaId": media_id, "MsgId": msg_id or next_msg_id()}
        return self._xml(openid, "image", fields)

    def location(self, openid: str, lat: float, lon: float, label: str, msg_id: int | None = None) -> str:
        fields: dict[str, Any] = {
            "Location_X": f"{lat:.6f}",
            "Location_Y": f"{lon:.6f}",
            "Scale": 15,
            "Label": label,
            "MsgId": msg_id or next_msg_id(),
        }
        return self._xml(openid, "location", fields)

    def event(self, openid: str, event: str, key: str | None = None, create_time: int | None = None) -> str:
        fields: dict[str, Any] = {"Event": event}
        if key is not None:
            fields["EventKey"] = key
        return self._xml(openid, "event", fields, create_time)

    def location_event(self, openid: str, lat: float, lon: float, create_time: int | None = None) -> str:
        """The periodic location report (Event LOCATION) WeChat pushes when the resident allowed it."""
        fields: dict[str, Any] = {"Event": "LOCATION", "Latitude": f"{lat:.6f}", "Longitude": f"{lon:.6f}"}
        fields["Precision"] = "65.000000"
        return self._xml(openid, "event", fields, create_time)

    def subscription_event(self, openid: str, event: str, items: list[tuple[str, str]], scene: int = 2) -> str:
        """A subscription notice event (pop-up choices, or a later refusal) as WeChat pushes it."""
        element = "SubscribeMsgPopupEvent" if event == "subscribe_msg_popup_event" else "SubscribeMsgChangeEvent"
        rows = "".join(
            f"<List><TemplateId><![CDATA[{t}]]></TemplateId><SubscribeStatusString><![CDATA[{status}]]>"
            f"</SubscribeStatusString><PopupScene>{scene}</PopupScene></List>"
            for t, status in items
        )
        xml = self._xml(openid, "event", {"Event": event}, int(time.time()) + next(_ids) % 100_000)
        return xml.replace("</xml>", f"<{element}>{rows}</{element}></xml>")

    # ---- the HTTP request
    def push(
        self,
        xml: str,
        *,
        timestamp: int | None = None,
        nonce: str | None = None,
        compatible: bool = False,
        encrypt: bool | None = None,
    ) -> Push:
        ts = str(timestamp if timestamp is not None else int(time.time()))
        nonce = nonce or "".join(random.choices(string.digits, k=10))
        params = {"signature": sign(self.token, ts, nonce), "timestamp": ts, "nonce": nonce}
        if self.crypto is None or encrypt is False:
            params["openid"] = "x"
            return Push(params, xml.encode("utf-8"))
        sealed = xmltodict.parse(self.crypto.encrypt_message(xml, nonce, ts))["xml"]
        encrypted = sealed["Encrypt"]
        params.update(encrypt_type="aes", msg_signature=sealed["MsgSignature"])
        inner = (
            xml[len("<xml>") : -len("</xml>")] if compatible else f"<ToUserName><![CDATA[{self.account}]]></ToUserName>"
        )
        body = f"<xml>{inner}<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
        return Push(params, body.encode("utf-8"))

    def url_check(self, echostr: str = "echo-4711") -> dict[str, str]:
        ts, nonce = str(int(time.time())), "1234567"
        return {"signature": sign(self.token, ts, nonce), "timestamp": ts, "nonce": nonce, "echostr": echostr}

    # ---- reading what the server answered
    def open_reply(self, body: bytes) -> dict[str, Any] | None:
        """The passive reply as a dict (decrypted and signature-checked in safe mode); None for `success`."""
        text = body.decode("utf-8")
        if text in ("success", ""):
            return None
        data = xmltodict.parse(text)["xml"]
        if "Encrypt" in data:
            assert self.crypto is not None
            expected = sign(self.token, data["TimeStamp"], data["Nonce"], data["Encrypt"])
            assert expected == data["MsgSignature"], "reply signature does not verify"
            plain = self.crypto.decrypt_message(data, data["MsgSignature"], data["TimeStamp"], data["Nonce"])
            data = xmltodict.parse(plain)["xml"]
        result: dict[str, Any] = data
        return result
