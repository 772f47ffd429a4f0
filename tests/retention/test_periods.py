"""Periods in words and as cut-offs; the settings refuse periods and hours that make no sense."""

from __future__ import annotations

from pathlib import Path

import pytest
from stand_ins.retention_world import NOW, ago

from sharedcourt.errors import ConfigError
from sharedcourt.retention.periods import Cutoffs, period_zh
from sharedcourt.settings import Settings


@pytest.mark.parametrize(
    ("days", "words"), [(365, "一年"), (730, "两年"), (1095, "三年"), (180, "六个月"), (60, "两个月"), (45, "45天")]
)
def test_periods_read_as_a_resident_says_them(days: int, words: str) -> None:
    assert period_zh(days) == words


def test_cutoffs_follow_the_settings_and_evidence_never_outlives_cases() -> None:
    cut = Cutoffs.of(Settings(retention_enquiry_days=100, retention_case_days=400, retention_evidence_days=900), NOW)
    assert (cut.enquiry, cut.case, cut.evidence) == (ago(100), ago(400), ago(400))


@pytest.mark.parametrize(
    ("key", "value"), [("RETENTION_CASE_DAYS", "0"), ("RETENTION_ENQUIRY_DAYS", "-5"), ("PURGE_HOUR", "24")]
)
def test_settings_refuse_empty_periods_and_impossible_hours(tmp_path: Path, key: str, value: str) -> None:
    with pytest.raises(ConfigError, match=key):
        Settings.from_env({key: value}, env_file=tmp_path / "absent.env")


def test_settings_read_the_periods(tmp_path: Path) -> None:
    environ = {"RETENTION_ENQUIRY_DAYS": "180", "RETENTION_OUTBOX_DAYS": "14", "PURGE_HOUR": "0"}
    settings = Settings.from_env(environ, env_file=tmp_path / "absent.env")
    assert (settings.retention_enquiry_days, settings.retention_outbox_days, settings.purge_hour) == (180, 14, 0)
