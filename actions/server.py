"""The action server: rasa-sdk's Sanic app on BIND_HOST, refusing every caller without the shared secret.

rasa-sdk 3.6.2 checks nothing (a `token:` in endpoints.yml would travel as `?token=` and be ignored), so this
launcher replaces `python -m rasa_sdk`: Rasa sends `Authorization: Bearer $ACTION_SERVER_TOKEN`
(bot/endpoints.yml) and every route but /health answers 401 without it. Run: `python -m actions.server`
with rasa-sdk's own options (`--actions actions --port 5055`).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Sequence

from rasa_sdk import utils
from rasa_sdk.constants import APPLICATION_ROOT_LOGGER_NAME
from rasa_sdk.endpoint import create_app, create_argument_parser, create_ssl_context
from rasa_sdk.plugin import plugin_manager
from sanic import Sanic, response
from sanic.exceptions import SanicException
from sanic.request import Request
from sanic.response import HTTPResponse

from actions.wiring import settings, wiring
from sharedcourt.errors import ConfigError
from sharedcourt.sites.live import live

log = logging.getLogger(__name__)

# Probes (the front door's /healthz, `make run`) call these without the secret; they reveal nothing.
OPEN_PATHS = frozenset({"/health", "/ready"})
_SCHEME = "Bearer "


def authorized(header: str | None, token: str) -> bool:
    """Whether an Authorization header carries exactly `token` (constant time; an empty token never matches)."""
    if not token or not header or not header.startswith(_SCHEME):
        return False
    return hmac.compare_digest(header[len(_SCHEME) :].encode(), token.encode())


def build_app(token: str, actions_package: str = "actions", cors_origins: str | list[str] | None = None) -> Sanic:
    """rasa-sdk's app with the caller check, and error answers that never echo the request body."""
    if not token:
        raise ConfigError("ACTION_SERVER_TOKEN is empty: the action server would obey anyone; set it in .env")
    app: Sanic = create_app(actions_package, cors_origins=cors_origins or "", auto_reload=False)

    async def check_caller(request: Request) -> HTTPResponse | None:
        # Runs before the handler parses the JSON body; the refusal says nothing about what was sent.
        if request.path in OPEN_PATHS or authorized(request.headers.get("authorization"), token):
            return None
        log.warning("refused %s %s from %s: no valid action-server token", request.method, request.path, request.ip)
        return response.json({"error": "unauthorized"}, status=401)

    async def failed(request: Request, exception: Exception) -> HTTPResponse:
        # Replaces rasa-sdk's handler, which puts the whole request body (a resident's tracker) in the answer.
        if isinstance(exception, SanicException):
            return response.json({"error": str(exception)}, status=exception.status_code)
        log.error("action server error on %s %s", request.method, request.path, exc_info=exception)
        return response.json({"error": "internal error"}, status=500)

    app.register_middleware(check_caller, "request")
    app.error_handler.add(Exception, failed)
    return app


def keep_sites_fresh(app: Sanic) -> None:
    """Places and sites load as soon as the server listens and stay fresh in the background
    (sharedcourt.sites.live), so the first resident's turn does not pay the load; `/ready` answers 200 once loaded."""

    async def start(app: Sanic, _loop: asyncio.AbstractEventLoop) -> None:
        app.ctx.sites = asyncio.create_task(live.keep_fresh(wiring.db()))

    async def stop(app: Sanic, _loop: asyncio.AbstractEventLoop) -> None:
        app.ctx.sites.cancel()

    async def ready(_request: Request) -> HTTPResponse:
        return response.json({"status": "ready" if live.ready else "loading"}, status=200 if live.ready else 503)

    app.register_listener(start, "after_server_start")
    app.register_listener(stop, "before_server_stop")
    app.add_route(ready, "/ready", methods=["GET"])


def main(argv: Sequence[str] | None = None) -> int:
    """Start the action server on BIND_HOST with rasa-sdk's command-line options; returns when it stops."""
    args = create_argument_parser().parse_args(list(argv) if argv is not None else None)
    utils.configure_colored_logging(args.loglevel)
    utils.configure_file_logging(
        logging.getLogger(APPLICATION_ROOT_LOGGER_NAME), args.log_file, args.loglevel, args.logging_config_file
    )
    utils.update_sanic_log_level()
    current = settings()
    app = build_app(current.action_server_token, args.actions, args.cors)
    keep_sites_fresh(app)
    plugin_manager().hook.attach_sanic_app_extensions(app=app)
    ssl = create_ssl_context(args.ssl_certificate, args.ssl_keyfile, args.ssl_password)
    log.info("action server listening on %s:%s", current.bind_host, args.port)
    app.run(current.bind_host, args.port, ssl=ssl, workers=utils.number_of_sanic_workers())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
