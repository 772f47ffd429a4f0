"""`Caller.can` and `scopes_for`: exact scopes, global grants, several roles, admin everywhere."""

from __future__ import annotations

from sharedcourt.staff.roles import Caller, Grant


def _caller(*grants: Grant) -> Caller:
    return Caller(1, "zhangsan", "张三", grants)


def test_a_scoped_role_holds_only_in_its_scopes() -> None:
    caller = _caller(Grant("mediator", "GX330802005"), Grant("mediator", "GX330802006"), Grant("lawyer", "330803"))
    assert caller.can("mediator") and caller.can("mediator", "GX330802005")
    assert not caller.can("mediator", "GX330802007")
    assert not caller.can("judge") and not caller.can("lawyer", "330802")
    assert caller.scopes_for("mediator") == {"GX330802005", "GX330802006"}
    assert caller.scopes_for("judge") == frozenset()
    assert not caller.is_admin


def test_a_global_grant_holds_in_every_scope() -> None:
    auditor = _caller(Grant("auditor"))
    assert auditor.can("auditor", "330802") and not auditor.can("mediator", "330802")
    assert auditor.scopes_for("auditor") == {""}


def test_an_admin_can_everything() -> None:
    admin = _caller(Grant("admin"))
    assert admin.is_admin and admin.can("judge", "FY330802") and admin.can("auditor")
    assert admin.scopes_for("dispatcher") == {""}


def test_the_name_shown_falls_back_to_the_login_name() -> None:
    assert _caller().name == "张三"
    assert Caller(2, "lisi", "").name == "lisi"
