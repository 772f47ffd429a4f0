"""Reading JSON request bodies at the HTTP edge: one object of clean text, or a BadRequest that says why.

Bad text policy: a body that is not UTF-8 JSON, or holds an unpaired surrogate (`"\\ud800"`), is refused with
400, so nothing half-read is stored. NUL and other control characters (C0 except newline and tab, DEL, C1) are
removed from every string and key; a carriage return becomes a newline. They carry no meaning in what residents
and staff type, PostgreSQL refuses NUL in text, and each removal is logged (a count, never the text).
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from starlette.requests import Request

from sharedcourt.errors import BadRequest

log = logging.getLogger(__name__)

NOT_JSON = "请求内容不是有效的 JSON 对象（body must be a UTF-8 JSON object）"
SURROGATE = "文字中有无法识别的字符（body holds an unpaired UTF-16 surrogate）"
_SURROGATES = re.compile("[\ud800-\udfff]")
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_LINE_ENDS = re.compile("\r\n?")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def clean_text(value: str) -> tuple[str, int]:
    """`value` without control characters (CR and CRLF become LF) and how many were removed."""
    value = _LINE_ENDS.sub("\n", value)
    cleaned, removed = _CONTROLS.subn("", value)
    return cleaned, removed


def _clean(value: Any, removed: list[int]) -> Any:
    """The same JSON value with every string cleaned; BadRequest on an unpaired surrogate."""
    if isinstance(value, str):
        if _SURROGATES.search(value):
            raise BadRequest(SURROGATE)
        cleaned, count = clean_text(value)
        removed[0] += count
        return cleaned
    if isinstance(value, list):
        return [_clean(item, removed) for item in value]
    if isinstance(value, dict):
        return {_clean(key, removed): _clean(item, removed) for key, item in value.items()}
    return value


def parse_object(body: bytes) -> dict[str, Any]:
    """One JSON object of clean text from raw bytes; BadRequest (400) when it cannot be."""
    try:
        data = json.loads(body.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise BadRequest(NOT_JSON) from None
    if not isinstance(data, dict):
        raise BadRequest(NOT_JSON)
    removed = [0]
    try:
        cleaned: dict[str, Any] = _clean(data, removed)
    except RecursionError:  # nesting as deep as the parser allows, plus our own frames
        raise BadRequest(NOT_JSON) from None
    if removed[0]:
        log.info("removed %d control characters from a JSON body", removed[0])
    return cleaned


async def json_object(request: Request) -> dict[str, Any]:
    """The request body as one JSON object of clean text; BadRequest when it is not JSON or not an object."""
    return parse_object(await request.body())
