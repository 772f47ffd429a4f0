"""Log lines from the settings: level, text or one JSON object per line, stdout or a rotated file.

Every line carries the request id of the HTTP request it was written for (taken from a well-formed incoming
`X-Request-ID`, else generated, and echoed in the response header) and, once the router knows it, the
conversation id. Both travel in context variables, so a line written deep in the router carries them too.
The lines never carry a request's body, headers or query: what a line says is what its logger chose to say.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
import logging.handlers
import re
import sys
import uuid
from pathlib import Path

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sharedcourt.settings import Settings

REQUEST_ID_HEADER = "X-Request-ID"
# A caller's id is kept only when it is short and plain: anything else could forge or break a log line.
WELL_FORMED = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{7,63}")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s %(conversation_id)s] %(message)s"
# uvicorn installs its own handlers before our factory runs; its lines go through ours instead.
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error")

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
_conversation_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("conversation_id", default=None)


def request_id() -> str | None:
    """The id of the HTTP request being served, None outside one."""
    return _request_id.get()


def bind_conversation(conversation_id: str) -> None:
    """Name the conversation the current request or task works on, for the lines that follow."""
    _conversation_id.set(conversation_id)


def accept_request_id(incoming: str | None) -> str:
    """The caller's id when well-formed, else a new one."""
    if incoming is not None and WELL_FORMED.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


class RequestId:
    """ASGI middleware: one request id per HTTP request, in the context for logs and in the response header."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the request with its id bound; other scopes (lifespan) pass through."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = next((v for k, v in scope["headers"] if k == b"x-request-id"), None)
        rid = accept_request_id(incoming.decode("latin-1") if incoming is not None else None)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = rid
            await send(message)

        rid_token = _request_id.set(rid)
        conversation_token = _conversation_id.set(None)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            _conversation_id.reset(conversation_token)
            _request_id.reset(rid_token)


class ContextFilter(logging.Filter):
    """Stamp each record with the request and conversation ids of the context that wrote it."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Always True: this filter adds, it never drops."""
        record.request_id = _request_id.get() or "-"
        record.conversation_id = _conversation_id.get() or "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, conversation_id when known."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON (a traceback goes in `exception`, escaped, never across lines)."""
        rid = getattr(record, "request_id", None) or _request_id.get()
        conversation = getattr(record, "conversation_id", None) or _conversation_id.get()
        entry: dict[str, object] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": None if rid in (None, "-") else rid,
        }
        if conversation not in (None, "-"):
            entry["conversation_id"] = conversation
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def formatter(settings: Settings) -> logging.Formatter:
    """The formatter LOG_FORMAT names."""
    return JsonFormatter() if settings.log_format == "json" else logging.Formatter(TEXT_FORMAT)


def handler(settings: Settings) -> logging.Handler:
    """stdout when LOG_FILE is empty (a supervisor collects it), else that file, rotated by size."""
    chosen: logging.Handler
    if settings.log_file:
        path = Path(settings.log_file)
        path.parent.mkdir(parents=True, exist_ok=True)
        chosen = logging.handlers.RotatingFileHandler(
            path, maxBytes=settings.log_max_bytes, backupCount=settings.log_backup_count, encoding="utf-8"
        )
    else:
        chosen = logging.StreamHandler(sys.stdout)
    chosen.setFormatter(formatter(settings))
    chosen.addFilter(ContextFilter())
    return chosen


def configure_logging(settings: Settings) -> logging.Handler:
    """Route every record through one handler at LOG_LEVEL (call from a factory); returns the handler."""
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
        old.close()
    installed = handler(settings)
    root.addHandler(installed)
    root.setLevel(settings.log_level)
    for name in UVICORN_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    return installed
