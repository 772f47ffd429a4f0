"""The privacy notice says the periods the purge applies, read from the same settings."""

from __future__ import annotations

from dataclasses import replace

from sharedcourt.channels.wechat.texts import privacy_notice, welcome
from sharedcourt.settings import Settings


def test_the_default_notice_promises_three_years_for_cases_and_one_for_enquiries() -> None:
    notice = privacy_notice(Settings())
    assert "案件材料在案件办结后保存三年，未形成案件的咨询记录保存一年，到期删除" in notice


def test_changing_the_settings_changes_the_notice() -> None:
    changed = replace(Settings(), retention_case_days=730, retention_enquiry_days=180, retention_evidence_days=365)
    notice = privacy_notice(changed)
    assert "案件办结后保存两年（其中照片、文件保存一年）" in notice
    assert "咨询记录保存六个月" in notice
    assert "三年" not in notice
    assert welcome(changed).endswith(notice)
