"""The Shared Court site registry: every site, its opening hours, the dispute types it serves and its people."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sharedcourt.db.base import Base, intpk, str32, str64, str255, utcnow

SITE_LEVELS = ("village", "town", "county_court", "intermediate_court", "special", "high_court", "special_court")
STAFF_ROLES = ("director", "mediator", "judge", "lawyer", "police", "family_mediator")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Site(Base):
    """One Shared Court site (a village or town site, a court, or a special site for some dispute types)."""

    __tablename__ = "sites"
    # Reference data: loaded by the migration and kept between tests (tests/conftest.py clears other tables).
    __table_args__ = (
        Index("ix_sites_place_code", "place_code"),
        Index("ix_sites_parent_code", "parent_code"),
        {"info": {"reference_data": True}},
    )

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    # village, town, county_court, intermediate_court, special, high_court, special_court (互联网、铁路运输、海事法院)
    level: Mapped[str] = mapped_column(String(24))
    parent_code: Mapped[str32 | None]
    # The statistical code of the place it serves (village 12 digits, town 9, county 6, city 4).
    place_code: Mapped[str32 | None]
    address: Mapped[str255] = mapped_column(default="")
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    # {"mon": ["08:30-12:00", "14:00-17:30"], ...}; a day absent is closed.
    opening_hours: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Dispute codes (sharedcourt.domain.disputes); empty means every mediable type.
    dispute_types: Mapped[list[Any]] = mapped_column(default=list)
    phone: Mapped[str64] = mapped_column(default="")
    director: Mapped[str64] = mapped_column(default="")  # 庭务主任
    judge: Mapped[str64] = mapped_column(default="")  # paired judge
    active: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    staff: Mapped[list[SiteStaff]] = relationship(
        back_populates="site", cascade="all, delete-orphan", order_by="SiteStaff.id", lazy="selectin"
    )

    def serves(self, dispute_code: str | None) -> bool:
        """Whether the site takes this dispute type (a site with no list takes every type)."""
        return not self.dispute_types or (dispute_code is not None and dispute_code in self.dispute_types)


class SiteStaff(Base):
    """A person at a site: 庭务主任, mediators (with how many cases each takes per slot), judge, lawyer, police."""

    __tablename__ = "site_staff"
    __table_args__ = {"info": {"reference_data": True}}  # noqa: RUF012

    id: Mapped[intpk]
    site_code: Mapped[str] = mapped_column(ForeignKey("sites.code", ondelete="CASCADE"), index=True)
    name: Mapped[str64]
    # director, mediator, judge, lawyer, police, family_mediator
    role: Mapped[str] = mapped_column(String(24))
    capacity: Mapped[int] = mapped_column(default=1)  # cases per slot
    phone: Mapped[str64] = mapped_column(default="")
    dingtalk_user_id: Mapped[str64 | None]
    active: Mapped[bool] = mapped_column(default=True)

    site: Mapped[Site] = relationship(back_populates="staff")
