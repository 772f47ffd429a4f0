"""Staff accounts, their role grants, console sessions and the audit log (issue 12)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sharedcourt.db.base import Base, created, intpk, str32, str64, str255, utcnow


class StaffAccount(Base):
    """One person who signs in to the console: login name, argon2 hash, chat identities, active flag."""

    __tablename__ = "staff_accounts"

    id: Mapped[intpk]
    username: Mapped[str64] = mapped_column(unique=True)
    display_name: Mapped[str64] = mapped_column(default="")
    password_hash: Mapped[str255]
    dingtalk_user_id: Mapped[str64 | None] = mapped_column(unique=True)
    wecom_user_id: Mapped[str64 | None] = mapped_column(unique=True)
    phone: Mapped[str32] = mapped_column(default="", server_default="")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[created]
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    grants: Mapped[list[RoleGrant]] = relationship(
        back_populates="account", cascade="all, delete-orphan", order_by="RoleGrant.id", lazy="selectin"
    )


class RoleGrant(Base):
    """One role a person holds within one scope (a site key, a county code, or '' for admin and auditor)."""

    __tablename__ = "staff_role_grants"
    __table_args__ = (UniqueConstraint("account_id", "role", "scope"),)

    id: Mapped[intpk]
    account_id: Mapped[int] = mapped_column(ForeignKey("staff_accounts.id", ondelete="CASCADE"), index=True)
    # admin, dispatcher, judge, mediator, lawyer, auditor (sharedcourt.staff.roles.ROLES)
    role: Mapped[str] = mapped_column(String(16))
    scope: Mapped[str32] = mapped_column(default="", server_default="")
    created_at: Mapped[created]

    account: Mapped[StaffAccount] = relationship(back_populates="grants")


class StaffSession(Base):
    """A console session: only the SHA-256 of its id is stored, so a database copy opens nothing."""

    __tablename__ = "staff_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("staff_accounts.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime]
    last_seen_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)  # the absolute end, whatever the activity
    ended_at: Mapped[dt.datetime | None]  # logout
    address: Mapped[str64] = mapped_column(default="", server_default="")


class ApiToken(Base):
    """A per-account bearer token for the console's JSON API; only the SHA-256 of the token is stored."""

    __tablename__ = "staff_api_tokens"

    id: Mapped[intpk]
    account_id: Mapped[int] = mapped_column(ForeignKey("staff_accounts.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str64] = mapped_column(default="", server_default="")
    created_at: Mapped[created]
    last_used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]


class AuditEvent(Base):
    """Who did what to which record, when, from where and why (login, login_failed, logout, reveal, export …)."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_target", "target_kind", "target_id"),)

    id: Mapped[intpk]
    at: Mapped[dt.datetime] = mapped_column(index=True)
    # The account, when one is known; `actor` keeps the login name (also a failed login's, as typed, cut short).
    account_id: Mapped[int | None] = mapped_column(ForeignKey("staff_accounts.id", ondelete="SET NULL"), index=True)
    actor: Mapped[str64] = mapped_column(default="", server_default="")
    action: Mapped[str] = mapped_column(String(32), index=True)
    target_kind: Mapped[str32] = mapped_column(default="", server_default="")
    target_id: Mapped[str64] = mapped_column(default="", server_default="")
    field: Mapped[str64] = mapped_column(default="", server_default="")
    reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    address: Mapped[str64] = mapped_column(default="", server_default="")


class RosterEntry(Base):
    """One person (or duty post) on the duty roster: which site and role, working hours, chat identities, account."""

    __tablename__ = "duty_roster"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # the roster id (`baiyun-mediator-1`)
    site_code: Mapped[str32] = mapped_column(default="", server_default="")  # '' for a county dispatch centre
    site_name: Mapped[str] = mapped_column(String(128), default="", server_default="")
    county: Mapped[str32] = mapped_column(default="", server_default="")
    # director, mediator, judge, lawyer, police, family_mediator, dispatch (sharedcourt.staff.roster.ROSTER_ROLES)
    role: Mapped[str] = mapped_column(String(24))
    name: Mapped[str64]
    dingtalk_user_id: Mapped[str64] = mapped_column(default="", server_default="")
    wecom_user_id: Mapped[str64] = mapped_column(default="", server_default="")
    # {"mon": ["08:30-12:00", "14:00-17:30"], "holiday": [...]} in China Standard Time; a day absent is off duty.
    hours: Mapped[dict[str, Any]] = mapped_column(default=dict)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("staff_accounts.id", ondelete="SET NULL"), index=True)
    position: Mapped[int] = mapped_column(default=0)  # roster order: people on duty are offered work in this order
    active: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


__all__ = ["ApiToken", "AuditEvent", "RoleGrant", "RosterEntry", "StaffAccount", "StaffSession"]
