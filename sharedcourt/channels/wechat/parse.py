"""An authenticated push's XML -> `Incoming`: every field we use read and validated, one reader per type."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from wechatpy import parse_message

from sharedcourt.errors import BadRequest

_OPENID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_SCENE_PREFIX = "qrscene_"
_KEYED_EVENTS = ("subscribe", "subscribe_scan", "scan", "click", "view")
# Subscription notice events -> the element holding their `List` (one item: a dict; several: a list).
SUBSCRIPTION_EVENTS = {
    "subscribe_msg_popup_event": "SubscribeMsgPopupEvent",
    "subscribe_msg_change_event": "SubscribeMsgChangeEvent",
}
_MAX_CHOICES = 20


@dataclass
class Incoming:
    """One authenticated, parsed push, with every field read and checked."""

    msg: Any
    kind: str  # text, voice, image, location, link, video, file, event, other
    openid: str
    external_id: str
    text: str = ""
    event: str = ""
    key: str = ""
    media_id: str = ""
    url: str = ""
    title: str = ""
    latitude: float | None = None
    longitude: float | None = None
    label: str = ""
    recognition: str = ""
    raw: dict[str, Any] = field(default_factory=dict)
    choices: list[tuple[str, str, str]] = field(default_factory=list)  # subscription: (template, status, scene)


def _str(value: Any, limit: int = 4096) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadRequest("unexpected structure in a field")
    return value[:limit]


def _text(inc: Incoming) -> None:
    inc.kind, inc.text = "text", _str(inc.msg.content)


def _voice(inc: Incoming) -> None:
    inc.kind, inc.media_id = "voice", _str(inc.msg.media_id, 256)
    inc.recognition = _str(inc.msg.recognition).strip()


def _image(inc: Incoming) -> None:
    inc.kind, inc.media_id, inc.url = "image", _str(inc.msg.media_id, 256), _str(inc.msg.image, 1024)


def _location(inc: Incoming) -> None:
    inc.kind, inc.label = "location", _str(inc.msg.label, 255)
    inc.latitude, inc.longitude = float(inc.msg.location_x), float(inc.msg.location_y)


def _link(inc: Incoming) -> None:
    inc.kind, inc.url, inc.title = "link", _str(inc.msg.url, 1024), _str(inc.msg.title, 255)


def _video(inc: Incoming) -> None:
    inc.kind, inc.media_id = "video", _str(inc.msg.media_id, 256)


def _file(inc: Incoming) -> None:
    inc.kind, inc.title = "file", _str(inc.raw.get("Title"), 255)


def _event(inc: Incoming) -> None:
    inc.kind, inc.event = "event", _str(inc.raw.get("Event"), 64).lower()
    if inc.event in _KEYED_EVENTS:
        inc.key = _str(inc.raw.get("EventKey"), 1024)
        if inc.event == "subscribe" and inc.key.startswith(_SCENE_PREFIX):
            inc.event, inc.key = "subscribe_scan", inc.key[len(_SCENE_PREFIX) :]
    elif inc.event in SUBSCRIPTION_EVENTS:
        inc.choices = _choices(inc.raw.get(SUBSCRIPTION_EVENTS[inc.event]) or inc.raw)
    elif inc.event == "location":
        inc.latitude = float(inc.raw.get("Latitude") or "nan")
        inc.longitude = float(inc.raw.get("Longitude") or "nan")


def _choices(container: Any) -> list[tuple[str, str, str]]:
    """(template id, accept|reject, scene) per item of a subscription event's `List`."""
    if not isinstance(container, dict):
        raise BadRequest("unexpected structure in a subscription event")
    items = container.get("List")
    items = [items] if isinstance(items, dict) else items
    if not isinstance(items, list) or not 1 <= len(items) <= _MAX_CHOICES:
        raise BadRequest("bad subscription event list")
    out = []
    for item in items:
        if not isinstance(item, dict):
            raise BadRequest("unexpected structure in a subscription event")
        template_id, status = _str(item.get("TemplateId"), 128), _str(item.get("SubscribeStatusString"), 16)
        if not template_id or status not in ("accept", "reject"):
            raise BadRequest("bad subscription choice")
        out.append((template_id, status, _str(item.get("PopupScene"), 32)))
    return out


# MsgType -> what reads that type's fields; any other type stays kind "other".
_READERS: dict[str, Callable[[Incoming], None]] = {
    "text": _text,
    "voice": _voice,
    "image": _image,
    "location": _location,
    "link": _link,
    "video": _video,
    "shortvideo": _video,
    "file": _file,
    "event": _event,
}


def _header(text: str) -> tuple[Any, dict[str, Any], str, int, str, int]:
    """(message, raw fields, openid, CreateTime, MsgType, MsgId) as wechatpy reads them."""
    try:
        msg = parse_message(text)
        raw: dict[str, Any] = dict(msg._data)
        openid = _str(msg.source, 128)
        create_time = int(raw.get("CreateTime") or 0)
        msg_type = _str(raw.get("MsgType"), 64).lower()
        msg_id = int(raw.get("MsgId") or 0) if msg_type != "event" else 0
    except BadRequest:
        raise
    except Exception:  # noqa: BLE001 - wechatpy/xmltodict raise many types on hostile input
        raise BadRequest("not a WeChat message") from None
    return msg, raw, openid, create_time, msg_type, msg_id


def _check_coordinates(inc: Incoming) -> None:
    for coordinate, bound in ((inc.latitude, 90.0), (inc.longitude, 180.0)):
        if coordinate is not None and not -bound <= coordinate <= bound:
            raise BadRequest("coordinate out of range")


def parse_push(text: str) -> Incoming:
    """wechatpy's parser, then every field we use read and validated (any failure -> BadRequest)."""
    msg, raw, openid, create_time, msg_type, msg_id = _header(text)
    if not _OPENID.match(openid):
        raise BadRequest("bad FromUserName")
    if create_time <= 0 or create_time > 10**11:
        raise BadRequest("bad CreateTime")
    external_id = f"msg:{msg_id}" if msg_id else f"evt:{openid}:{create_time}"
    incoming = Incoming(msg=msg, kind="other", openid=openid, external_id=external_id, raw=raw)
    reader = _READERS.get(msg_type)
    try:
        if reader is not None:
            reader(incoming)
    except BadRequest:
        raise
    except Exception:  # noqa: BLE001 - a value of the wrong form (float("abc"), missing attribute)
        raise BadRequest("bad field value") from None
    _check_coordinates(incoming)
    return incoming
