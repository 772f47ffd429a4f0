"""Imports every model so that `Base.metadata` is complete (Alembic, tests)."""

from sharedcourt.db.audit import DingTalkInbound, LinkOpening, SeenSignature
from sharedcourt.db.base import Base
from sharedcourt.db.booking import Booking, CallbackRequest, Reminder, ReminderOptOut, SiteClosure, Slot
from sharedcourt.db.case import Case, Evidence
from sharedcourt.db.conversation import Conversation, Message, Resident
from sharedcourt.db.faq import FaqEntryEdit, FaqUnanswered, PufaStreamReminder
from sharedcourt.db.jobs import JobRun
from sharedcourt.db.offers import DingTalkCard, StaffNotice
from sharedcourt.db.outbox import OutboxItem
from sharedcourt.db.site import Site, SiteStaff
from sharedcourt.db.staff import ApiToken, AuditEvent, RoleGrant, RosterEntry, StaffAccount, StaffSession
from sharedcourt.db.ticket import Rating, Ticket, TicketEvent
from sharedcourt.db.wechat import WeChatConsent, WeChatQuota, WeChatTurn

__all__ = [
    "ApiToken",
    "AuditEvent",
    "Base",
    "Booking",
    "CallbackRequest",
    "Case",
    "Conversation",
    "DingTalkCard",
    "DingTalkInbound",
    "Evidence",
    "FaqEntryEdit",
    "FaqUnanswered",
    "JobRun",
    "LinkOpening",
    "Message",
    "OutboxItem",
    "PufaStreamReminder",
    "Rating",
    "Reminder",
    "ReminderOptOut",
    "Resident",
    "RoleGrant",
    "RosterEntry",
    "SeenSignature",
    "Site",
    "SiteClosure",
    "SiteStaff",
    "Slot",
    "StaffAccount",
    "StaffNotice",
    "StaffSession",
    "Ticket",
    "TicketEvent",
    "WeChatConsent",
    "WeChatQuota",
    "WeChatTurn",
]
