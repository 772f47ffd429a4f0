"""The analytics page and JSON (sharedcourt.web.analytics): figures for the caller's counties only, a bad range
refused in Chinese, and ECharts served by the app itself (no CDN)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from stand_ins.analytics_seed import seed
from stand_ins.workspace_world import workspace_world

WEEK = "from=2026-12-01&to=2026-12-07"


async def test_figures_within_scope_and_refusals(database_url: str, sessions: async_sessionmaker[AsyncSession]) -> None:
    async with workspace_world(database_url) as world:
        await seed(world.app.state.sessions)
        president = await world.person("yuanzhang", "judge", scope="330802")
        admin = await world.person("guanli", "admin", scope="")
        mediator = await world.person("tiaojie", "mediator")
        data = (await world.get(president, f"/console/api/analytics?{WEEK}")).json()
        assert data["county"] == "330802", "a scoped judge gets their own county by default"
        assert data["acceptance"]["overall"]["p50_seconds"] == 90.0 and data["escalation"]["expired"] == 1
        assert (await world.get(president, f"/console/api/analytics?{WEEK}&county=330803")).status_code == 403
        everywhere = (await world.get(admin, f"/console/api/analytics?{WEEK}")).json()
        assert everywhere["county"] == "" and everywhere["escalation"]["requests"] == 6
        assert (await world.get(mediator, f"/console/api/analytics?{WEEK}")).status_code == 403
        assert (await world.get(mediator, "/console/analytics")).status_code == 403
        bad = await world.get(president, "/console/analytics?from=2026-12-09&to=2026-12-01")
        assert bad.status_code == 400 and "日期范围" in bad.text
        page = await world.get(president, f"/console/analytics?{WEEK}")
        assert page.status_code == 200 and '<script src="/console/static/echarts.min.js">' in page.text
        assert "http://" not in page.text.split("<main>")[1] and "https://" not in page.text.split("<main>")[1]
        assert "<td>白云</td><td>5</td><td>3</td><td>3</td><td>90.0</td><td>150.0</td>" in page.text
        library = await world.client.get("/console/static/echarts.min.js")
        assert library.status_code == 200 and b"Apache Software Foundation" in library.content[:2000]
