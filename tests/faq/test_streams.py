"""The 普法 live-stream schedule: loading, the county a message names, upcoming only, the reply."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from sharedcourt.domain.clock import TZ
from sharedcourt.errors import ConfigError
from sharedcourt.faq.streams import Stream, county_named, load, schedule_reply, upcoming

NOW = dt.datetime(2026, 12, 11, 12, 0, tzinfo=TZ)


def stream(county: str, day: int, title: str = "讲座") -> Stream:
    return Stream(county, title, dt.datetime(2026, 12, day, 19, 30, tzinfo=TZ), link="https://example.invalid/x")


STREAMS = [stream("柯城区", 10, "已结束"), stream("江山市", 12, "婚姻家庭"), stream("全市", 18, "交通事故")]


def test_the_shipped_schedule_loads_in_time_order() -> None:
    streams = load()
    assert streams and [s.start for s in streams] == sorted(s.start for s in streams)


def test_a_bad_item_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.yml"
    path.write_text("streams:\n  - county: 柯城区\n    title: 讲座\n    start: 明天\n    link: x\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="item 1"):
        load(path)
    path.write_text("streams:\n  - county: 柯城区\n    title: 讲座\n    start: 2026-12-10 19:30\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="a link or a place"):
        load(path)


def test_upcoming_for_a_county_includes_everyone_and_skips_past_streams() -> None:
    assert county_named("江山最近有普法直播吗", STREAMS) == "江山市"
    assert county_named("最近有什么普法直播", STREAMS) is None
    assert [s.title for s in upcoming(STREAMS, NOW, "江山市")] == ["婚姻家庭", "交通事故"]
    assert [s.title for s in upcoming(STREAMS, NOW, "柯城区")] == ["交通事故"]
    assert [s.title for s in upcoming(STREAMS, NOW)] == ["婚姻家庭", "交通事故"]


def test_the_reply_lists_when_what_and_how_to_watch() -> None:
    text = schedule_reply("江山有什么普法直播", NOW, STREAMS).text
    assert "江山市近期的普法直播" in text and "12月12日（周六）19:30 江山市《婚姻家庭》" in text
    assert "https://example.invalid/x" in text and "已结束" not in text
    later = dt.datetime(2027, 1, 1, tzinfo=TZ)
    assert "还没有安排" in schedule_reply("最近有什么普法直播", later, STREAMS).text
