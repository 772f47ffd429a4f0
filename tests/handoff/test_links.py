"""Transcript links (sharedcourt.handoff.links): signed per person, expiring, refused when changed."""

from __future__ import annotations

import datetime as dt
import urllib.parse

import pytest

from sharedcourt.clients.dingtalk import Card
from sharedcourt.errors import AuthError
from sharedcourt.handoff.links import LinkQuery, TranscriptLinks, placeholder

NOW = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.timezone.utc)
LINKS = TranscriptLinks("link-secret", 24, "https://court.example/")


def _query(url: str) -> LinkQuery:
    params = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
    return LinkQuery(params["staff"], params["expires"], params["sig"])


def test_a_link_names_ticket_person_and_expiry_and_checks_until_it_expires() -> None:
    url = LINKS.url("T00007", "baiyun-director", NOW)
    assert url.startswith("https://court.example/handoff/tickets/T00007/transcript?staff=baiyun-director&expires=")
    query = _query(url)
    assert int(query.expires) == int((NOW + dt.timedelta(hours=24)).timestamp())
    LINKS.check("T00007", query, NOW)
    LINKS.check("t00007", query, NOW + dt.timedelta(hours=23, minutes=59))
    with pytest.raises(AuthError):
        LINKS.check("T00007", query, NOW + dt.timedelta(hours=24))


@pytest.mark.parametrize(
    ("number", "staff", "expires", "sig"),
    [
        ("T00008", None, None, None),
        (None, "baiyun-mediator-1", None, None),
        (None, None, "4102444800", None),
        (None, None, None, "f" * 64),
        (None, None, "", None),
        (None, "", None, None),
    ],
)
def test_any_change_refuses_the_link(
    number: str | None, staff: str | None, expires: str | None, sig: str | None
) -> None:
    good = _query(LINKS.url("T00007", "baiyun-director", NOW))
    changed = LinkQuery(
        good.staff if staff is None else staff,
        good.expires if expires is None else expires,
        good.sig if sig is None else sig,
    )
    with pytest.raises(AuthError):
        LINKS.check(number or "T00007", changed, NOW)


def test_another_secret_or_none_refuses() -> None:
    query = _query(LINKS.url("T00007", "baiyun-director", NOW))
    with pytest.raises(AuthError):
        TranscriptLinks("another-secret", 24).check("T00007", query, NOW)
    unsigned = TranscriptLinks("", 24)
    with pytest.raises(AuthError):
        unsigned.check("T00007", _query(unsigned.url("T00007", "baiyun-director", NOW)), NOW)


def test_a_card_gets_the_link_of_the_person_it_is_sent_to() -> None:
    card = Card(
        "居民请求人工服务 T00007", f"摘要\n\n[查看完整对话记录]({placeholder('T00007')})\n", (("接单", "接单 T00007"),)
    )
    mine = LINKS.personal(card, "baiyun-director", NOW)
    theirs = LINKS.personal(card, "qujiang-judge", NOW)
    assert "sharedcourt-transcript-link" not in mine.text and mine.buttons == card.buttons
    assert "staff=baiyun-director&" in mine.text and "staff=qujiang-judge&" in theirs.text
    link = mine.text.split("](")[1].split(")")[0]
    LINKS.check("T00007", _query(link), NOW)
    plain = Card("已接单", "没有链接")
    assert LINKS.personal(plain, "baiyun-director", NOW) is plain
