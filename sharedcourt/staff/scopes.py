"""Which scopes a role may be granted in: a site key from the registry or a county code from the gazetteer."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from sharedcourt.db.site import Site
from sharedcourt.errors import BadRequest
from sharedcourt.sites.places import Gazetteer
from sharedcourt.staff.roles import GLOBAL_ROLES, ROLES


def county_codes() -> frozenset[str]:
    """The statistical codes of the counties (cities, districts) the gazetteer knows."""
    return frozenset(p.code for p in Gazetteer.load().counties())


async def check_grant(session: AsyncSession, role: str, scope: str) -> None:
    """Refuse an unknown role, a scope on admin/auditor, a missing scope, or a scope that is no site or county."""
    if role not in ROLES:
        raise BadRequest(f"没有这个角色：{role}（unknown role; one of {', '.join(ROLES)}）")
    if role in GLOBAL_ROLES:
        if scope:
            raise BadRequest(f"{role} 角色不限范围，请不要填写范围（role {role} takes no scope）")
        return
    if not scope:
        raise BadRequest(
            f"{role} 角色需要范围：站点编号或县（市、区）代码（role {role} needs a site key or county code）"
        )
    if scope in county_codes():
        return
    if await session.scalar(select(Site.code).where(Site.code == scope)) is None:
        raise BadRequest(
            f"范围 {scope} 既不是登记的站点编号，也不是县（市、区）代码（unknown site key or county code）"
        )
