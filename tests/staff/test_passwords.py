"""Password hashes are argon2id, verify only the right password, and weak new passwords are refused."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from sharedcourt.staff import passwords
from sharedcourt.staff.passwords import hash_password, verify_password, weakness

GOOD = "Qz7!court-desk"


def test_production_hashes_are_memory_hard() -> None:
    production = passwords.production_hasher()  # the suite itself runs a cheaper one (tests/conftest.py)
    assert production.type.name == "ID" and production.memory_cost >= 64 * 1024 and production.time_cost >= 2


def test_a_hash_is_argon2id_salted_and_never_the_password() -> None:
    first, second = hash_password(GOOD), hash_password(GOOD)
    assert first.startswith("$argon2id$") and GOOD not in first
    assert first != second, "every hash has its own salt"


def test_only_the_right_password_verifies() -> None:
    stored = hash_password(GOOD)
    assert verify_password(stored, GOOD) == (True, None)
    assert verify_password(stored, GOOD[:-1]) == (False, None)
    assert verify_password(stored, "") == (False, None)
    assert verify_password("not a hash", GOOD) == (False, None)


def test_an_outdated_hash_is_rehashed_on_success(monkeypatch: pytest.MonkeyPatch) -> None:
    old = PasswordHasher(time_cost=2, memory_cost=2048, parallelism=2).hash(GOOD)
    ok, new = verify_password(old, GOOD)
    assert ok and new is not None and new != old
    assert verify_password(new, GOOD) == (True, None)
    assert verify_password(old, "wrong password!") == (False, None), "no rehash for a wrong password"


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("", "不能为空"),
        ("   ", "不能为空"),
        ("Short1!", "太短"),
        ("aaaaaaaaaaaa", "单一"),
        ("password123", "常见"),
        ("1234567890", "常见"),
        ("zhangsan-2026!", "用户名"),
    ],
)
def test_weak_passwords_are_refused_with_a_reason(password: str, why: str) -> None:
    problem = weakness(password, "zhangsan")
    assert problem is not None and why in problem


def test_a_long_varied_password_is_accepted() -> None:
    assert weakness(GOOD, "zhangsan") is None


def test_an_unknown_account_costs_a_verification(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = passwords.verify_password
    monkeypatch.setattr(passwords, "verify_password", lambda stored, pw: calls.append(pw) or real(stored, pw))
    passwords.spend_like_a_check("anything at all")
    assert calls == ["anything at all"]
