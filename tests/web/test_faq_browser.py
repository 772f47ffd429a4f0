"""普法 entries in a real browser (Debian's chromium through Playwright), on SQLite and PostgreSQL.

An admin finds an entry by dispute type and words, is refused a check date in the future (in Chinese, nothing typed
lost), saves the edit, and the assistant's answer function then says the edited text; a question the assistant
declined shows on the unanswered page and is marked covered. Screenshots under results/screenshots/issue15/.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect
from stand_ins.browser import Served, new_page, sign_in
from stand_ins.console_accounts import add_account

from sharedcourt.cli.procs import free_port
from sharedcourt.faq.edits import today_in_china
from sharedcourt.faq.live import LiveKnowledgeBase
from sharedcourt.faq.service import answer_question
from sharedcourt.settings import Settings

pytestmark = pytest.mark.browser
SHOTS = Path(__file__).resolve().parents[2] / "results" / "screenshots" / "issue15"
QUESTION = "离婚后孩子抚养费一般怎么算"
EDITED = "抚养费由父母协议；协议不成的，按子女实际需要、父母负担能力和当地生活水平确定（控制台修改）。"
DECLINED = "外星人可以在地球上结婚吗"


async def _shot(page: Page, backend: str, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"{backend}-{name}.png"), full_page=True)


async def test_an_admin_edits_an_entry_and_sees_a_declined_question(
    database_url: str,
    sessions: Any,
    browser: Browser,
) -> None:
    backend = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    await add_account(sessions, "admin1", "admin")
    declined = await answer_question(sessions, DECLINED, refresh_seconds=0)
    assert declined.entry is None
    async with Served(Settings.from_env({"DATABASE_URL": database_url, "PORT": str(free_port())})) as app:
        page = await new_page(browser)
        await sign_in(page, app.url, "admin1")
        await page.click("text=普法条目")
        await page.select_option("select[name=dispute]", "family")
        await page.fill("input[name=q]", "抚养费")
        await page.click("#faq-search button[type=submit]")
        await expect(page.locator("#entries")).to_contain_text("seed-family-child-support")
        await _shot(page, backend, "01-entries")
        await page.click("text=seed-family-child-support")
        await page.fill("textarea[name=answer]", EDITED)
        tomorrow = (today_in_china() + dt.timedelta(days=1)).isoformat()
        await page.eval_on_selector(
            "input[name=checked]", "(el, v) => { el.removeAttribute('max'); el.value = v; }", tomorrow
        )
        await page.click("#entry-form button[type=submit]")
        await expect(page.locator("#errors")).to_contain_text("不能填将来的日期")
        await expect(page.locator("textarea[name=answer]")).to_have_value(EDITED)
        await _shot(page, backend, "02-refused-future-date")
        await page.fill("input[name=checked]", today_in_china().isoformat())
        await page.click("#entry-form button[type=submit]")
        await expect(page.locator("#saved")).to_contain_text("已保存条目 seed-family-child-support")
        await _shot(page, backend, "03-saved")

        said = await LiveKnowledgeBase(refresh_seconds=0).answer(sessions, QUESTION)
        assert said.entry is not None and said.entry.id == "seed-family-child-support"
        assert EDITED in "\n".join(r.text for r in said.replies)

        await page.click("text=未答问题")
        row = page.locator("#unanswered tr", has_text=DECLINED)
        await expect(row).to_have_count(1)
        await _shot(page, backend, "04-unanswered")
        await row.locator("input[name=entry_id]").fill("seed-family-child-support")
        await row.locator("button", has_text="标记已解答").click()
        await expect(page.locator(".notice")).to_contain_text(
            "已将 1 个问题标记为由条目 seed-family-child-support 解答"
        )
        await expect(page.locator("#unanswered tr", has_text=DECLINED)).to_have_count(0)
        await _shot(page, backend, "05-covered")
