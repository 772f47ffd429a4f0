"""Roles and scopes as the Shared Courts organise them, and `Caller`: who is asking and what they may do."""

from __future__ import annotations

from dataclasses import dataclass

ADMIN = "admin"
AUDITOR = "auditor"
ROLES = (ADMIN, "dispatcher", "judge", "mediator", "lawyer", AUDITOR)
# Roles that hold for everything: their scope is always ''.
GLOBAL_ROLES = frozenset({ADMIN, AUDITOR})
ROLE_ZH = {
    ADMIN: "管理员",
    "dispatcher": "指挥中心调度",
    "judge": "法官",
    "mediator": "庭务主任/调解员",
    "lawyer": "共享律师",
    AUDITOR: "审计员",
}


@dataclass(frozen=True)
class Grant:
    """One role within one scope (a site key, a county code, or '' for admin and auditor)."""

    role: str
    scope: str = ""


@dataclass(frozen=True)
class Caller:
    """A signed-in person: account id, names and every grant they hold."""

    account_id: int
    username: str
    display_name: str
    grants: tuple[Grant, ...] = ()

    @property
    def is_admin(self) -> bool:
        """Admins may do everything."""
        return any(g.role == ADMIN for g in self.grants)

    @property
    def name(self) -> str:
        """What pages show: the display name, else the login name."""
        return self.display_name or self.username

    def can(self, role: str, scope: str | None = None) -> bool:
        """Whether the caller acts as `role` (in `scope` when given: that exact scope or a global grant); admin can."""
        if self.is_admin:
            return True
        return any(g.role == role and (scope is None or g.scope in ("", scope)) for g in self.grants)

    def scopes_for(self, role: str) -> frozenset[str]:
        """The scopes in which the caller holds `role` ('' means everywhere; an admin holds every role there)."""
        if self.is_admin:
            return frozenset({""})
        return frozenset(g.scope for g in self.grants if g.role == role)
