"""The staff booking JSON API (Bearer STAFF_TOKEN, the machine token): list, book, move, cancel bookings; close
days; list the reminders that never reached their resident."""

from __future__ import annotations

import datetime as dt
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from sharedcourt.booking import staff as booking_staff
from sharedcourt.booking.views import BookingView, view_of
from sharedcourt.db.base import utcnow
from sharedcourt.db.session import unit_of_work
from sharedcourt.errors import BadRequest, NotFound
from sharedcourt.web.auth import require_staff
from sharedcourt.web.payload import json_object


def booking_json(v: BookingView) -> dict[str, Any]:
    """A booking as the staff API answers it."""
    return {
        "id": v.id,
        "status": v.status,
        "case_number": v.case_number,
        "site_code": v.site_code,
        "site_name": v.site_name,
        "starts_at": v.starts_at.isoformat(),
        "ends_at": v.ends_at.isoformat(),
        "when": v.when_zh,
        "mediator": v.mediator,
        "channel": v.channel,
    }


async def staff_list(request: Request) -> JSONResponse:
    """GET /staff/bookings?site=CODE: a site's upcoming confirmed bookings and open callback requests."""
    require_staff(request)
    site = request.query_params.get("site", "")
    async with unit_of_work(request.app.state.sessions) as session:
        found = await booking_staff.site_bookings(session, site, utcnow())
    callbacks = [
        {"id": c.id, "phone": c.phone, "preference": c.preference, "created_at": c.created_at.isoformat()}
        for c in found.callbacks
    ]
    return JSONResponse({"bookings": [booking_json(b) for b in found.bookings], "callbacks": callbacks})


async def staff_book(request: Request) -> JSONResponse:
    """POST /staff/bookings {"case_id", "slot_id", "staff", "callback_id"?}: book for a resident, who is told."""
    require_staff(request)
    data = await json_object(request)
    case_id, slot_id, callback_id = data.get("case_id"), data.get("slot_id"), data.get("callback_id")
    if not isinstance(case_id, int) or not isinstance(slot_id, int):
        raise BadRequest("case_id and slot_id must be integers")
    if callback_id is not None and not isinstance(callback_id, int):
        raise BadRequest("callback_id must be an integer")
    staff = str(data.get("staff") or "工作人员")[:48]
    async with unit_of_work(request.app.state.sessions) as session:
        booking = await booking_staff.staff_book(
            session, case_id, slot_id, staff=staff, now=utcnow(), callback_id=callback_id
        )
        body = booking_json(await view_of(session, booking))
    return JSONResponse(body, status_code=201)


async def staff_failed_reminders(request: Request) -> JSONResponse:
    """GET /staff/reminders/failed?site=CODE (absent: every site): reminders and notices never delivered, why."""
    require_staff(request)
    site = request.query_params.get("site") or None
    async with unit_of_work(request.app.state.sessions) as session:
        found = await booking_staff.failed_reminders(session, site)
    rows = [
        {
            "reminder_id": u.reminder_id,
            "kind": u.kind,
            "reason": u.reason,
            "due_at": u.due_at.isoformat(),
            "booking": booking_json(u.booking),
        }
        for u in found
    ]
    return JSONResponse({"failed": rows})


async def staff_change(request: Request) -> JSONResponse:
    """POST /staff/bookings/{id}/move {"slot_id", "reason", "staff"} or /cancel {"reason", "staff"}."""
    require_staff(request)
    verb = request.path_params["verb"]
    if verb not in ("move", "cancel"):
        raise NotFound("unknown action")
    booking_id = int(request.path_params["booking_id"])
    data = await json_object(request)
    reason, staff = str(data.get("reason") or ""), str(data.get("staff") or "工作人员")[:48]
    slot_id = data.get("slot_id")
    if verb == "move" and not isinstance(slot_id, int):
        raise BadRequest("slot_id must be an integer")
    now = utcnow()
    async with unit_of_work(request.app.state.sessions) as session:
        if isinstance(slot_id, int) and verb == "move":
            result = await booking_staff.staff_move(session, booking_id, slot_id, staff=staff, reason=reason, now=now)
        else:
            result = await booking_staff.staff_cancel(session, booking_id, staff=staff, reason=reason, now=now)
        body = booking_json(await view_of(session, result))
    return JSONResponse(body)


async def staff_closure(request: Request) -> JSONResponse:
    """POST /staff/closures {"site_code" (absent: every site), "starts_on", "ends_on", "reason"}: close days.

    Answers the bookings still held on those days, which staff then move or cancel (with a reason).
    """
    require_staff(request)
    data = await json_object(request)
    try:
        first = dt.date.fromisoformat(str(data["starts_on"]))
        last = dt.date.fromisoformat(str(data.get("ends_on") or data["starts_on"]))
    except (KeyError, ValueError):
        raise BadRequest("starts_on / ends_on must be YYYY-MM-DD dates") from None
    if last < first:
        raise BadRequest("ends_on is before starts_on")
    site = data.get("site_code") or None
    async with unit_of_work(request.app.state.sessions) as session:
        closed = await booking_staff.close(session, site, first, last, str(data.get("reason") or "")[:255])
    return JSONResponse(
        {"closed_slots_with_bookings": closed.held_slots, "bookings": [booking_json(b) for b in closed.bookings]}
    )


def routes() -> list[BaseRoute]:
    """The staff booking routes."""
    return [
        Route("/staff/bookings", staff_list, methods=["GET"]),
        Route("/staff/bookings", staff_book, methods=["POST"]),
        Route("/staff/reminders/failed", staff_failed_reminders, methods=["GET"]),
        Route("/staff/closures", staff_closure, methods=["POST"]),
        Route("/staff/bookings/{booking_id:int}/{verb:str}", staff_change, methods=["POST"]),
    ]
