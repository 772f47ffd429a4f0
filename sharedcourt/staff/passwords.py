"""Password hashes (argon2id, memory-hard, via argon2-cffi) and the strength rule for new passwords."""

from __future__ import annotations

import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 10
# The passwords every guesser tries first; lower case, compared after lower-casing.
COMMON = frozenset(
    {"password", "password1", "password123", "1234567890", "12345678910", "qwertyuiop", "1qaz2wsx3edc", "admin12345"}
)


def production_hasher() -> PasswordHasher:
    """argon2id with argon2-cffi's recommended parameters (RFC 9106 low-memory profile: 64 MiB, 3 passes)."""
    return PasswordHasher()


@functools.cache
def hasher() -> PasswordHasher:
    """The hasher in use (built on first use, not at import; the test suite swaps in a cheaper one)."""
    return production_hasher()


@functools.cache
def _decoy() -> str:
    return hasher().hash("decoy password never granted")


def weakness(password: str, username: str = "") -> str | None:
    """Why a new password is refused (Chinese, then English), or None when it is acceptable."""
    if not password.strip():
        return "密码不能为空（password is empty）"
    if len(password) < MIN_LENGTH:
        return f"密码太短，至少 {MIN_LENGTH} 个字符（password shorter than {MIN_LENGTH} characters）"
    if len(set(password)) < 4:
        return "密码字符过于单一（password repeats too few characters）"
    lowered = password.lower()
    if lowered in COMMON or (lowered.isdigit() and lowered in "01234567890123456789"):
        return "密码过于常见（password is a common one）"
    if username and username.lower() in lowered:
        return "密码不能包含用户名（password contains the user name）"
    return None


def hash_password(password: str) -> str:
    """An argon2id hash of `password` (salted; the salt and parameters live in the hash)."""
    return hasher().hash(password)


def verify_password(stored: str, password: str) -> tuple[bool, str | None]:
    """(matches, a new hash when the stored one uses outdated parameters); argon2 compares in constant time."""
    try:
        hasher().verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False, None
    return True, hash_password(password) if hasher().check_needs_rehash(stored) else None


def spend_like_a_check(password: str) -> None:
    """Do a verification's work for an unknown account, so timing does not tell which login names exist."""
    verify_password(_decoy(), password)
