"""Retention periods: the settings as cut-off instants, and as the words the privacy notice says."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sharedcourt.settings import Settings

_DIGITS = "零一二三四五六七八九十"


def count_zh(n: int) -> str:
    """1-10 in Chinese numerals (一 … 十), larger counts in digits."""
    return _DIGITS[n] if 0 < n <= 10 else str(n)


def _measured(n: int) -> str:
    # Before a measure word two is 两 (两年, 两个月), never 二.
    return "两" if n == 2 else count_zh(n)


def period_zh(days: int) -> str:
    """A period as a resident reads it: whole years (一年, 两年), whole months (六个月), else days (45天)."""
    if days % 365 == 0:
        return f"{_measured(days // 365)}年"
    if days % 30 == 0:
        return f"{_measured(days // 30)}个月"
    return f"{days}天"


@dataclass(frozen=True)
class Cutoffs:
    """For each kind of record, the instant before which it is past its period (given `now`)."""

    now: dt.datetime
    enquiry: dt.datetime
    case: dt.datetime
    evidence: dt.datetime
    audit: dt.datetime
    outbox: dt.datetime
    replay: dt.datetime

    @classmethod
    def of(cls, settings: Settings, now: dt.datetime) -> Cutoffs:
        """The cut-offs of `settings`' periods at `now` (an aware instant)."""

        def back(days: int) -> dt.datetime:
            return now - dt.timedelta(days=days)

        return cls(
            now=now,
            enquiry=back(settings.retention_enquiry_days),
            case=back(settings.retention_case_days),
            # Evidence is enquiry or case material: never kept longer than the case period.
            evidence=back(min(settings.retention_evidence_days, settings.retention_case_days)),
            audit=back(settings.retention_audit_days),
            outbox=back(settings.retention_outbox_days),
            replay=back(settings.retention_replay_days),
        )
