"""WeChat category templates (类目模板, the rules since 2023-05-04): one template per notice purpose, typed keywords.

Every keyword of a category template is `<type><n>` (thing1, time2, character_string3, ...) and WeChat refuses a
value its type cannot hold (47003). `first`, `remark`, colours and emoji are no longer shown, so none is sent.
A layout maps keywords to a notice's named values (sharedcourt.messaging.notices); `layouts` refuses at start-up a
mapping whose value cannot fit its keyword (a site name in a 5-character `phrase`, Chinese in a `character_string`)
and `render` cuts every value to its type's limit, so a send is never refused for length.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sharedcourt.domain.clock import TZ
from sharedcourt.errors import ConfigError
from sharedcourt.messaging.notices import PURPOSE_VALUES, PURPOSES, VALUE_KINDS

# Keyword type -> the most characters WeChat takes (time and date take a formatted time instead).
LIMITS = {"thing": 20, "phrase": 5, "character_string": 32, "name": 10, "time": 20, "date": 20}
# Keyword type -> the value kinds it can hold (types not listed, e.g. amount or car_number, hold none of ours).
ACCEPTS = {
    "thing": {"text", "name", "status", "code", "time"},
    "phrase": {"status"},
    "character_string": {"code"},
    "name": {"name"},
    "time": {"time"},
    "date": {"time"},
}
KEYWORD = re.compile(r"^(thing|phrase|character_string|name|time|date|number|letter|symbol|amount|phone_number|"
                     r"car_number)([1-9][0-9]?)$")  # fmt: skip
ELLIPSIS = "…"


@dataclass(frozen=True)
class Layout:
    """One purpose's category template: its id and (keyword, value name) pairs in order."""

    purpose: str
    template_id: str
    fields: tuple[tuple[str, str], ...]


def keyword_type(keyword: str) -> str:
    """`thing` for `thing3`; ConfigError for a name that is not a category-template keyword."""
    match = KEYWORD.match(keyword)
    if match is None:
        raise ConfigError(f"{keyword!r} is not a category-template keyword (e.g. thing1, time2)")
    return match.group(1)


def parse_fields(purpose: str, spec: str) -> tuple[tuple[str, str], ...]:
    """'thing1=title,time2=when' -> pairs; ConfigError when a value cannot fit its keyword or is unknown."""
    pairs: list[tuple[str, str]] = []
    for part in filter(None, (p.strip() for p in spec.split(","))):
        keyword, sep, value = (s.strip() for s in part.partition("="))
        if not sep or not keyword or not value:
            raise ConfigError(f"template fields of {purpose}: {part!r} is not keyword=value")
        kind_of_keyword = keyword_type(keyword)
        if value not in PURPOSE_VALUES[purpose]:
            raise ConfigError(f"template fields of {purpose}: {purpose} notices have no value {value!r}")
        if VALUE_KINDS[value] not in ACCEPTS.get(kind_of_keyword, set()):
            raise ConfigError(f"template fields of {purpose}: {keyword} ({kind_of_keyword}) cannot hold {value!r}")
        if keyword in {k for k, _ in pairs}:
            raise ConfigError(f"template fields of {purpose}: {keyword} is mapped twice")
        pairs.append((keyword, value))
    if not pairs:
        raise ConfigError(f"template fields of {purpose}: no keyword is mapped")
    return tuple(pairs)


def layouts(settings: Any) -> dict[str, Layout]:
    """The configured layouts, by purpose (purposes without a template id are left out); ConfigError if wrong."""
    out: dict[str, Layout] = {}
    for purpose in PURPOSES:
        template_id = str(getattr(settings, f"wechat_template_{purpose}", "") or "").strip()
        spec = str(getattr(settings, f"wechat_template_{purpose}_fields", "") or "")
        fields = parse_fields(purpose, spec)  # checked even without an id: a wrong default fails at start-up
        if template_id:
            out[purpose] = Layout(purpose, template_id, fields)
    return out


def subscription_layouts(settings: Any) -> dict[str, Layout]:
    """The subscription notice (订阅通知) layouts by purpose: same keyword rules; ConfigError if wrong."""
    out: dict[str, Layout] = {}
    for purpose in PURPOSES:
        template_id = str(getattr(settings, f"wechat_subscribe_{purpose}", "") or "").strip()
        spec = str(getattr(settings, f"wechat_subscribe_{purpose}_fields", "") or "")
        fields = parse_fields(purpose, spec) if spec or template_id else ()
        if template_id:
            out[purpose] = Layout(purpose, template_id, fields)
    return out


def clean(text: str) -> str:
    """One line without emoji or control characters (WeChat shows emoji as a box)."""
    kept = []
    for char in text:
        category = unicodedata.category(char)
        if category in ("So", "Cs", "Co", "Cn") or char in "\ufe0f\u200d":
            continue
        kept.append(" " if category.startswith("C") or category in ("Zl", "Zp") else char)
    return re.sub(r"\s+", " ", "".join(kept)).strip()


def cut(text: str, limit: int) -> str:
    """At most `limit` characters, the cut shown with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + ELLIPSIS


def time_text(value: str) -> str:
    """An ISO time as WeChat's `time` type takes it: '2026年12月2日 09:30' (local time)."""
    moment = dt.datetime.fromisoformat(value).astimezone(TZ)
    return f"{moment.year}年{moment.month}月{moment.day}日 {moment:%H:%M}"


def field_value(keyword_kind: str, value_kind: str, value: str) -> str:
    """One value as its keyword type holds it, within the type's limit."""
    if value_kind == "time":
        text = time_text(value)
        return text if keyword_kind in ("time", "date") else cut(text, LIMITS[keyword_kind])
    if keyword_kind == "character_string":
        return cut("".join(c for c in value if c.isascii() and c.isprintable() and not c.isspace()), 32)
    return cut(clean(value), LIMITS[keyword_kind])


def render(layout: Layout, values: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """The template's `data`: every keyword filled; ValueError when a mapped value is missing or empty."""
    data: dict[str, dict[str, str]] = {}
    for keyword, name in layout.fields:
        raw = str(values.get(name) or "").strip()
        text = field_value(keyword_type(keyword), VALUE_KINDS[name], raw) if raw else ""
        if not text:
            raise ValueError(f"{layout.purpose}: no value for {keyword} ({name})")
        data[keyword] = {"value": text}
    return data
