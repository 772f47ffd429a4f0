"""The mediators' and judges' web workspace (issue 13): inbox, ticket page with the live conversation, actions."""

from __future__ import annotations

from pathlib import Path

from starlette.routing import BaseRoute, Route
from starlette.templating import Jinja2Templates

from sharedcourt.settings import Settings
from sharedcourt.web.console_login import console_context
from sharedcourt.web.workspace.live import LivePages
from sharedcourt.web.workspace.pages import WorkspacePages

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def routes(settings: Settings) -> list[BaseRoute]:
    """The workspace's routes, all under /console/workspace."""
    templates = Jinja2Templates(directory=str(TEMPLATES), context_processors=[console_context])
    pages = WorkspacePages(templates)
    live = LivePages(pages)
    base = "/console/workspace"
    return [
        Route(base, pages.inbox, methods=["GET"]),
        Route(base + "/tickets/{number}", pages.ticket, methods=["GET"]),
        Route(base + "/tickets/{number}/events", live.events, methods=["GET"]),
        Route(base + "/tickets/{number}/{verb}", pages.act, methods=["POST"]),
        Route(base + "/evidence/{evidence_id:int}", live.evidence, methods=["GET"]),
    ]
