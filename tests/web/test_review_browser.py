"""Transcript review in a real browser (Debian's chromium through Playwright), on SQLite and PostgreSQL.

An admin creates a mediator in the console (and an API token for them, then revokes it); the mediator signs in,
searches, opens a masked transcript and reveals a phone number with a reason; the auditor sees that reveal on the
audit page. Every page is kept as a screenshot under results/screenshots/issue12/.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect
from stand_ins.browser import Served, new_page
from stand_ins.console_accounts import PASSWORD
from stand_ins.review_world import KECHENG, SECRETS, World, build

from sharedcourt.cli.procs import free_port
from sharedcourt.settings import Settings

pytestmark = pytest.mark.browser
SHOTS = Path(__file__).resolve().parents[2] / "results" / "screenshots" / "issue12"
MEDIATOR_PASSWORD = "Mediator!pass-2026x"
REASON = "居民来电要求回拨，核实联系电话"


async def _shot(page: Page, backend: str, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"{backend}-{name}.png"), full_page=True)


async def _sign_in(page: Page, url: str, username: str, password: str, backend: str, shot: str = "") -> None:
    await page.goto(f"{url}/console/login")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", password)
    if shot:
        await _shot(page, backend, shot)
    await page.click("button[type=submit]")
    await expect(page.locator("header")).to_contain_text("退出登录")


async def test_admin_creates_a_mediator_who_reveals_a_phone_and_the_auditor_sees_it(
    database_url: str, sessions: Any, tmp_path: Path, browser: Browser
) -> None:
    backend = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    (tmp_path / "ev").mkdir()
    world: World = await build(sessions, tmp_path / "ev")
    env = {"DATABASE_URL": database_url, "PORT": str(free_port()), "EVIDENCE_DIR": str(tmp_path / "ev")}
    async with Served(Settings.from_env(env)) as app:
        admin = await new_page(browser)
        await _sign_in(admin, app.url, "admin1", PASSWORD, backend, "01-login")
        await _shot(admin, backend, "02-dashboard")
        await admin.click("text=账号管理")
        form = admin.locator("#create-account")
        await form.locator("input[name=username]").fill("mediator7")
        await form.locator("input[name=display_name]").fill("新新街道调解员")
        await form.locator("input[name=password]").fill(MEDIATOR_PASSWORD)
        await form.locator("select[name=role]").select_option("mediator")
        await form.locator("input[name=scope]").fill(KECHENG)
        await form.locator("button[type=submit]").click()
        await expect(admin.locator(".notice")).to_contain_text("已创建账号 mediator7")
        await _shot(admin, backend, "03-accounts")
        await admin.locator("tr", has_text="mediator7").locator("button", has_text="创建接口令牌").click()
        await expect(admin.locator("code.token")).to_contain_text("sc_")
        await _shot(admin, backend, "03b-token-created")
        await admin.locator("tr", has_text="mediator7").locator("button", has_text="撤销").click()
        await expect(admin.locator(".notice")).to_contain_text("已撤销 mediator7 的接口令牌")
        await expect(admin.locator("tr", has_text="mediator7").locator("button", has_text="撤销")).to_have_count(0)
        await _shot(admin, backend, "03c-token-revoked")

        mediator = await new_page(browser)
        await _sign_in(mediator, app.url, "mediator7", MEDIATOR_PASSWORD, backend)
        await mediator.click("text=会话记录")
        await mediator.fill("input[name=q]", "拖欠工资")
        await mediator.click("form.filters button[type=submit]")
        rows = mediator.locator("table.rows a")
        await expect(rows).to_have_count(1)  # the other county's conversation is outside the mediator's site
        await _shot(mediator, backend, "04-search")
        await rows.first.click()
        body = mediator.locator("main")
        await expect(body).to_contain_text("138****5678")
        for secret in SECRETS["kecheng"]:
            assert secret not in await body.inner_text()
        await _shot(mediator, backend, "05-transcript-masked")
        await mediator.select_option("select[name=field]", "phone")
        await mediator.fill("input[name=reason]", REASON)
        await mediator.click("form[action$='/reveal'] button[type=submit]")
        await expect(mediator.locator("#revealed")).to_contain_text("13812345678")
        await _shot(mediator, backend, "06-revealed")

        auditor = await new_page(browser)
        await _sign_in(auditor, app.url, "auditor1", PASSWORD, backend)
        await auditor.click("text=审计日志")
        await auditor.select_option("select[name=action]", "reveal")
        await auditor.click("form.filters button[type=submit]")
        row = auditor.locator("tr", has_text="mediator7")
        await expect(row).to_contain_text(REASON)
        await expect(row).to_contain_text(world.conversations["kecheng"][:8])
        await expect(row).to_contain_text("电话号码")
        assert "13812345678" not in await auditor.locator("main").inner_text()
        await _shot(auditor, backend, "07-audit")
