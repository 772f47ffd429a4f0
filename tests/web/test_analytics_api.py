"""`/console/api/stats` and the per-chart CSV (sharedcourt.web.analytics): the same figures as the page, by session
or API token, scoped to the viewer's counties, bad input refused in Chinese, every CSV masked and audited."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select
from stand_ins.stats_seed import PHONE, seed
from stand_ins.workspace_world import workspace_world

from sharedcourt.db.staff import AuditEvent, StaffAccount
from sharedcourt.review.stats_tables import TABLES
from sharedcourt.staff.tokens import create_token

RANGE = "from=2026-11-29&to=2026-12-02"


async def test_stats_json_by_session_and_token_scoped_and_checked(database_url: str, sessions: object) -> None:
    async with workspace_world(database_url) as world:
        await seed(world.app.state.sessions)
        admin = await world.person("guanli", "admin", scope="")
        dispatcher = await world.person("diaodu", "dispatcher", scope="330803")
        mediator = await world.person("tiaojie", "mediator")
        everywhere = (await world.get(admin, f"/console/api/stats?{RANGE}")).json()
        assert everywhere["headline"]["mediations"] == 3 and everywhere["escalation"]["requests"] == 6
        assert (await world.get(admin, f"/console/api/analytics?{RANGE}")).json() == everywhere, "the same figures"
        own = (await world.get(dispatcher, f"/console/api/stats?{RANGE}")).json()
        assert own["county"] == "330803" and own["acceptance"]["overall"]["requests"] == 2, "their county only"
        assert (await world.get(dispatcher, f"/console/api/stats?{RANGE}&county=330802")).status_code == 403
        assert (await world.get(mediator, f"/console/api/stats?{RANGE}")).status_code == 403
        for query, words in (
            ("from=2026-13-01", "from 应为日期"),
            ("to=yesterday", "to 应为日期"),
            ("from=2026-12-05&to=2026-12-01", "日期范围"),
            ("county=3308", "六位县（市、区）代码"),
            ("county=33080a", "六位县（市、区）代码"),
        ):
            bad = await world.get(admin, f"/console/api/stats?{query}")
            assert bad.status_code == 400 and words in bad.json()["error"], (query, bad.text)
        async with world.app.state.sessions() as session, session.begin():
            account = await session.scalar(select(StaffAccount).where(StaffAccount.username == "diaodu"))
            assert account is not None
            _, token = await create_token(session, account, "报表")
        world.client.cookies.clear()
        by_token = await world.client.get(f"/console/api/stats?{RANGE}", headers={"Authorization": f"Bearer {token}"})
        assert by_token.status_code == 200 and by_token.json() == own
        anonymous = await world.client.get(f"/console/api/stats?{RANGE}")
        assert anonymous.status_code == 403


async def test_every_chart_downloads_as_masked_audited_csv(database_url: str, sessions: object) -> None:
    async with workspace_world(database_url) as world:
        await seed(world.app.state.sessions)
        admin = await world.person("guanli", "admin", scope="")
        figures = (await world.get(admin, f"/console/api/stats?{RANGE}")).json()
        for name, table in TABLES.items():
            answer = await world.get(admin, f"/console/api/export/stats?chart={name}&{RANGE}")
            assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv"), name
            assert answer.content.startswith(b"\xef\xbb\xbf"), "UTF-8 with a BOM, so Excel reads Chinese"
            rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
            assert rows[0] == list(table.columns.values()), name
            assert len(rows) - 1 == len(table.rows(figures)), name
            assert PHONE not in answer.text, name
        disputes = list(csv.reader(io.StringIO((await world.get(
            admin, f"/console/api/export/stats?chart=disputes&{RANGE}")).content.decode("utf-8-sig"))))  # fmt: skip
        assert disputes[1] == ["2026-11", "330802", "柯城区", "邻里纠纷", "2"]
        headline = (await world.get(admin, f"/console/api/export/stats?chart=headline&{RANGE}")).text
        assert "在线立案,1" in headline and "指导调解,2" in headline
        bad = await world.get(admin, f"/console/api/export/stats?chart=nothing&{RANGE}")
        assert bad.status_code == 400 and "chart 应为" in bad.json()["error"]
        async with world.app.state.sessions() as session:
            audited = list(await session.scalars(select(AuditEvent).where(AuditEvent.target_kind == "stats")))
        assert len(audited) == len(TABLES) + 2
        assert {a.target_id for a in audited} == set(TABLES) and all(a.actor == "guanli" for a in audited)
        assert "2026-11-29 至 2026-12-02" in audited[0].reason and "全部" in audited[0].reason
