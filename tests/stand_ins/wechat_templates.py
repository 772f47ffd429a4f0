"""WeChat's checks of a template message body (message/template/send), as the stand-in applies them to every send.

Category templates (since 2023-05-04) have typed keywords; WeChat answers 40037 for a template id the account does
not have and 47003 ("argument invalid!") for a keyword the template lacks, a missing or empty value, or a value its
type cannot hold (thing: 20 characters; phrase: 5 Chinese characters; character_string: 32 letters, digits or
symbols; name: 10 characters; time: a time). Stricter than WeChat on purpose: `first`, `remark`, colours and emoji
(which WeChat now drops or shows as a box) are refused too, so a sender that still uses them fails its tests; and
every notice must lead back to the conversation: a template without an absolute http(s) `url` (a subscription
notice without one in `page`), or with plain http when the app's PUBLIC_URL is https, is refused (47001).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any
from urllib.parse import urlsplit

TOP_LEVEL = {"touser", "template_id", "url", "miniprogram", "data", "client_msg_id"}
LIMITS = {"thing": 20, "phrase": 5, "character_string": 32, "name": 10}
TIME = re.compile(r"^(\d{4}年\d{1,2}月\d{1,2}日 |\d{4}-\d{2}-\d{2} )?\d{1,2}:\d{2}(:\d{2})?$")
DATE = re.compile(r"^\d{4}年\d{1,2}月\d{1,2}日( \d{1,2}:\d{2})?$")
KEYWORD = re.compile(r"^([a-z_]+?)(\d+)$")


def _emoji(text: str) -> bool:
    return any(unicodedata.category(c) in ("So", "Cs") for c in text)


def _cjk(text: str) -> bool:
    return all("\u4e00" <= c <= "\u9fff" for c in text)


def value_problem(keyword: str, value: str) -> str | None:
    """Why WeChat refuses `value` for `keyword` (None when it takes it)."""
    match = KEYWORD.match(keyword)
    kind = match.group(1) if match else keyword
    if not value.strip():
        return "is empty"
    if _emoji(value) or "\n" in value:
        return "has emoji or a line break"
    if kind in LIMITS and len(value) > LIMITS[kind]:
        return f"exceeds {LIMITS[kind]} characters"
    if kind == "phrase" and not _cjk(value):
        return "is not Chinese"
    if kind == "character_string" and not all(c.isascii() and c.isprintable() and not c.isspace() for c in value):
        return "has characters other than letters, digits and symbols"
    if kind == "time" and not TIME.match(value):
        return "is not a time"
    if kind == "date" and not DATE.match(value):
        return "is not a date"
    return None


def link_problem(link: Any, https_only: bool) -> str | None:
    """Why a notice's link back (template `url`, subscription `page`) is refused (None when it is taken)."""
    if not isinstance(link, str) or not link:
        return "no link back to the conversation"
    parts = urlsplit(link)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in link):
        return f"{link!r} is not an absolute http(s) URL"
    if https_only and parts.scheme != "https":
        return f"{link!r} is not https"
    return None


def template_problem(
    body: Any, templates: dict[str, list[str]], https_only: bool = False, link_key: str = "url"
) -> tuple[int, str] | None:
    """(errcode, errmsg) WeChat answers for a template send body; None when it is accepted."""
    if not isinstance(body, dict) or "touser" not in body or "template_id" not in body:
        return 47001, "data format error"
    unknown = sorted(set(body) - TOP_LEVEL - {"_answer"})
    if unknown:
        return 47001, f"data format error hint: unknown field {unknown[0]}"
    problem = link_problem(body.get(link_key), https_only)
    if problem:
        return 47001, f"data format error hint: {link_key} {problem}"
    keywords = templates.get(str(body["template_id"]))
    if keywords is None:
        return 40037, "invalid template_id"
    data = body.get("data")
    if not isinstance(data, dict):
        return 47001, "data format error hint: data"
    for key in data:
        if key not in keywords:
            return 47003, f"argument invalid! data.{key} is not a keyword of the template"
    for keyword in keywords:
        field = data.get(keyword)
        if not isinstance(field, dict) or set(field) != {"value"}:
            return 47003, f"argument invalid! data.{keyword} must be {{'value': ...}}"
        problem = value_problem(keyword, str(field["value"]))
        if problem:
            return 47003, f"argument invalid! data.{keyword}.value {problem}"
    return None


SUBSCRIBE_TOP_LEVEL = {"touser", "template_id", "page", "miniprogram", "data"}


def subscription_problem(
    body: Any, templates: dict[str, list[str]], consents: dict[tuple[str, str], int], https_only: bool = False
) -> tuple[int, str] | None:
    """(errcode, errmsg) WeChat answers for a subscription notice (message/subscribe/bizsend); None: accepted.

    Same keyword rules as a template message; 43101 when the user has no acceptance of the template left."""
    if not isinstance(body, dict) or "touser" not in body or "template_id" not in body or "data" not in body:
        return 47001, "data format error"
    unknown = sorted(set(body) - SUBSCRIBE_TOP_LEVEL - {"_answer"})
    if unknown:
        return 47003, f"argument invalid! unknown field {unknown[0]}"
    if str(body["template_id"]) not in templates:
        return 40037, "invalid template_id"
    as_template = {k: v for k, v in body.items() if k != "miniprogram"}
    as_template["url"] = as_template.pop("page", None)
    problem = template_problem(as_template, templates, https_only)
    if problem is not None:
        return problem
    if consents.get((str(body["touser"]), str(body["template_id"])), 0) <= 0:
        return 43101, "user refuse to accept the msg"
    return None
