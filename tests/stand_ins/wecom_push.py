"""WeCom's side of the callback: builds pushes exactly as WeCom's servers do (plaintext XML sealed with wechatpy's
enterprise `WeChatCrypto`: AES-256-CBC with the CorpId appended, `msg_signature` over token, timestamp, nonce and
the ciphertext; the envelope carries ToUserName, Encrypt and AgentID) and opens the encrypted passive replies,
checking their signature, for tests that drive `/wecom/callback` over HTTP."""

from __future__ import annotations

import random
import string
import time
from typing import Any

import xmltodict
from wechatpy.enterprise.crypto import WeChatCrypto

from stand_ins.wechat_push import Push, next_msg_id, sign


class WeComPusher:
    """One WeCom self-built app (CorpId, AgentID) pushing to the app's callback."""

    def __init__(self, token: str, aes_key: str, corp_id: str, agent_id: str = "1000002") -> None:
        self.token = token
        self.corp_id = corp_id
        self.agent_id = agent_id
        self.crypto = WeChatCrypto(token, aes_key, corp_id)

    def text(self, user: str, content: str, msg_id: int | None = None) -> str:
        """The plaintext XML of a member's text message to the app."""
        return (
            f"<xml><ToUserName><![CDATA[{self.corp_id}]]></ToUserName>"
            f"<FromUserName><![CDATA[{user}]]></FromUserName><CreateTime>{int(time.time())}</CreateTime>"
            f"<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{content}]]></Content>"
            f"<MsgId>{msg_id or next_msg_id()}</MsgId><AgentID>{self.agent_id}</AgentID></xml>"
        )

    def image(self, user: str, media_id: str) -> str:
        """The plaintext XML of a member's picture."""
        return (
            f"<xml><ToUserName><![CDATA[{self.corp_id}]]></ToUserName>"
            f"<FromUserName><![CDATA[{user}]]></FromUserName><CreateTime>{int(time.time())}</CreateTime>"
            f"<MsgType><![CDATA[image]]></MsgType><PicUrl><![CDATA[https://wework.qpic.cn/{media_id}]]></PicUrl>"
            f"<MediaId><![CDATA[{media_id}]]></MediaId><MsgId>{next_msg_id()}</MsgId>"
            f"<AgentID>{self.agent_id}</AgentID></xml>"
        )

    def push(self, xml: str, *, timestamp: int | None = None, nonce: str | None = None) -> Push:
        """The POST WeCom sends: query msg_signature/timestamp/nonce, the encrypted envelope as body."""
        ts = str(timestamp if timestamp is not None else int(time.time()))
        nonce = nonce or "".join(random.choices(string.digits, k=10))
        sealed = xmltodict.parse(self.crypto.encrypt_message(xml, nonce, ts))["xml"]
        body = (
            f"<xml><ToUserName><![CDATA[{self.corp_id}]]></ToUserName>"
            f"<Encrypt><![CDATA[{sealed['Encrypt']}]]></Encrypt><AgentID><![CDATA[{self.agent_id}]]></AgentID></xml>"
        )
        return Push({"msg_signature": sealed["MsgSignature"], "timestamp": ts, "nonce": nonce}, body.encode())

    def open_reply(self, body: bytes) -> dict[str, Any] | None:
        """The passive reply decrypted (its msg_signature checked first); None for `success`."""
        text = body.decode("utf-8")
        if text in ("success", ""):
            return None
        data = xmltodict.parse(text)["xml"]
        assert sign(self.token, data["TimeStamp"], data["Nonce"], data["Encrypt"]) == data["MsgSignature"]
        plain = self.crypto.decrypt_message(data, data["MsgSignature"], data["TimeStamp"], data["Nonce"])
        reply: dict[str, Any] = xmltodict.parse(plain)["xml"]
        return reply
