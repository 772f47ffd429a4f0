"""The mediators' and judges' web workspace (issue 13): inbox, ticket page with the live conversation, actions."""

from __future__ import annotations

from pathlib import Path

from starlette.routing import BaseRoute, Route
from starlette.templating import Jinja2Templates

from sharedcourt.settings import Settings
from sharedcourt.web.console_login import console_context
from sharedcourt.web.workspace.board import BoardPages
from sharedcourt.web.workspace.calendar import CalendarPages
from sharedcourt.web.workspace.cases import CasePages
from sharedcourt.web.workspace.live import LivePages
from sharedcourt.web.workspace.pages import WorkspacePages

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def routes(settings: Settings) -> list[BaseRoute]:
    """The workspace's routes (under /console/workspace), the case page, the site calendar and the county board."""
    templates = Jinja2Templates(directory=str(TEMPLATES), context_processors=[console_context])
    pages = WorkspacePages(templates)
    live = LivePages(pages)
    cases, calendar, board = CasePages(templates), CalendarPages(templates), BoardPages(templates)
    base = "/console/workspace"
    return [
        Route(base, pages.inbox, methods=["GET"]),
        Route(base + "/tickets/{number}", pages.ticket, methods=["GET"]),
        Route(base + "/tickets/{number}/events", live.events, methods=["GET"]),
        Route(base + "/tickets/{number}/{verb}", pages.act, methods=["POST"]),
        Route(base + "/evidence/{evidence_id:int}", live.evidence, methods=["GET"]),
        Route("/console/cases/{case_id:int}", cases.case, methods=["GET"]),
        Route("/console/cases/{case_id:int}/reveal", cases.reveal_form, methods=["POST"]),
        Route("/console/sites/{key}/calendar", calendar.calendar, methods=["GET"]),
        Route("/console/sites/{key}/calendar/{verb}", calendar.change, methods=["POST"]),
        Route("/console/board", board.board, methods=["GET"]),
    ]
