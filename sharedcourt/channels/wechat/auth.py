"""Who may push: body size, signature and timestamp window, safe-mode (AES) checks, hostile-XML refusal.

Nothing in a push is trusted, stored or logged before these checks pass. WeCom uses the same pieces.
"""

from __future__ import annotations

import hmac
import re
import time
from typing import Any

import xmltodict  # type: ignore[import-untyped]
from starlette.requests import Request
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.utils import WeChatSigner

from sharedcourt.errors import AuthError, BadRequest, ConfigError, PayloadTooLarge
from sharedcourt.settings import Settings

TIMESTAMP_WINDOW = 300  # seconds either side of now

_HOSTILE = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY|ELEMENT|ATTLIST|NOTATION)", re.IGNORECASE)
_DECLARED = re.compile(r"^\s*<\?xml[^>]*encoding\s*=\s*[\"']([^\"']+)[\"']", re.IGNORECASE)
_AES_KEY = re.compile(r"[A-Za-z0-9]{43}")


def same(expected: str, given: str) -> bool:
    """Constant-time string comparison for signatures."""
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))


def signature(token: str, *parts: str) -> str:
    """WeChat's SHA-1 over the sorted strings (wechatpy's signer)."""
    signer = WeChatSigner()
    signer.add_data(token, *parts)
    result: str = signer.signature
    return result


def check_window(timestamp: str, now: float | None = None, window: int = TIMESTAMP_WINDOW) -> None:
    """Refuse a push whose (digit-only) timestamp is outside the window around now."""
    if abs((time.time() if now is None else now) - int(timestamp)) > window:
        raise AuthError("timestamp outside the window")


def check_query(
    token: str, params: Any, *, now: float | None = None, window: int = TIMESTAMP_WINDOW
) -> tuple[str, str]:
    """Verify `signature`, `timestamp`, `nonce`; returns (timestamp, nonce) or raises AuthError."""
    sig = params.get("signature") or ""
    timestamp = params.get("timestamp") or ""
    nonce = params.get("nonce") or ""
    if not (sig and timestamp and nonce) or not timestamp.isdigit() or len(timestamp) > 12 or len(nonce) > 64:
        raise AuthError("missing or malformed signature parameters")
    check_window(timestamp, now, window)
    if not same(signature(token, timestamp, nonce), sig):
        raise AuthError("bad signature")
    return timestamp, nonce


def guard_xml(raw: bytes) -> str:
    """Refuse what no WeChat push contains before any parser sees it: DTDs, entities, non-UTF-8."""
    if _HOSTILE.search(raw):
        raise BadRequest("document type declarations are not accepted")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("body is not UTF-8") from None
    declared = _DECLARED.match(text)
    if declared and declared.group(1).lower().replace("_", "-") not in ("utf-8", "utf8"):
        raise BadRequest("only UTF-8 is accepted")
    if "\x00" in text or not text.strip():
        raise BadRequest("empty or binary body")
    return text


def envelope(text: str) -> dict[str, Any]:
    """The fields under `<xml>` of a guarded body (any parse failure -> BadRequest)."""
    try:
        data = xmltodict.parse(text)
    except Exception:  # noqa: BLE001 - expat and xmltodict raise several types; all mean "malformed"
        raise BadRequest("malformed XML") from None
    root = data.get("xml") if isinstance(data, dict) else None
    if not isinstance(root, dict):
        raise BadRequest("no <xml> root")
    return root


def refuse_declared_oversize(request: Request, limit: int) -> None:
    """413 on a Content-Length over the limit, before anything else is looked at."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge("body over the size limit")


async def read_body(request: Request, limit: int) -> bytes:
    """The body, streamed and cut off (413) as soon as it passes the limit."""
    refuse_declared_oversize(request, limit)
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise PayloadTooLarge("body over the size limit")
    return bytes(body)


Refusals = tuple[type[Exception], ...]


def decrypt(crypto: Any, params: tuple[str, str, str], encrypt: str, refused: Refusals, why: str) -> str:
    """wechatpy's decrypt of an `<Encrypt>` text (params: msg_signature, timestamp, nonce); refusals -> 403."""
    try:
        text: str = crypto.decrypt_message({"Encrypt": encrypt}, *params)
    except refused:
        raise AuthError(why) from None
    except Exception:  # noqa: BLE001 - corrupt ciphertext (padding, base64, length, UTF-8)
        raise AuthError("undecryptable Encrypt") from None
    return text


def check_aes_key(key: str, name: str) -> None:
    """An EncodingAESKey is 43 letters and digits; anything else is a configuration mistake."""
    if not _AES_KEY.fullmatch(key):
        raise ConfigError(f"{name} must be the 43-character EncodingAESKey")


def make_crypto(settings: Settings) -> WeChatCrypto | None:
    """Safe mode's crypto when WECHAT_AES_KEY is set, else None (plaintext mode)."""
    if not settings.wechat_aes_key:
        return None
    check_aes_key(settings.wechat_aes_key, "WECHAT_AES_KEY")
    return WeChatCrypto(settings.wechat_token, settings.wechat_aes_key, settings.wechat_appid)


class PushAuth:
    """Checks one Official Account push and returns its plaintext XML."""

    def __init__(self, token: str, crypto: WeChatCrypto | None) -> None:
        self.token = token
        self.crypto = crypto

    def open(self, params: Any, body: bytes) -> tuple[str, bool]:
        """Everything before the body is trusted; returns the plaintext XML and whether it was encrypted."""
        timestamp, nonce = check_query(self.token, params)
        encrypted = (params.get("encrypt_type") or "raw").lower() == "aes"
        if self.crypto is not None and not encrypted:
            raise AuthError("safe mode: plaintext push refused")
        if encrypted and self.crypto is None:
            raise AuthError("encrypted push without an AES key configured")
        text = guard_xml(body)
        if not encrypted:
            return text, False
        encrypt = envelope(text).get("Encrypt")
        msg_signature = params.get("msg_signature") or ""
        if not isinstance(encrypt, str) or not encrypt or not msg_signature:
            raise AuthError("no Encrypt or msg_signature")
        if not same(signature(self.token, timestamp, nonce, encrypt), msg_signature):
            raise AuthError("bad msg_signature")
        refused = (InvalidSignatureException, InvalidAppIdException)
        signed = (msg_signature, timestamp, nonce)
        text = decrypt(self.crypto, signed, encrypt, refused, "bad msg_signature or AppId")
        return guard_xml(text.encode("utf-8")), True
