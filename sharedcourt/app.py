"""The front door ASGI app: built by `create_app(settings)`, nothing at import."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from sharedcourt.booking import reminders
from sharedcourt.channels import dingtalk, dingtalk_cards, dingtalk_stream, webchat, wechat, wecom
from sharedcourt.clients.rasa import RasaClient
from sharedcourt.db.session import make_engine, make_sessionmaker
from sharedcourt.errors import AuthError, BadRequest, Conflict, NotFound, PayloadTooLarge, UpstreamError
from sharedcourt.faq import stream_optout, stream_reminders
from sharedcourt.handoff import roster_source
from sharedcourt.handoff import runtime as handoff
from sharedcourt.messaging.outbox import Outbox
from sharedcourt.messaging.router import Router
from sharedcourt.retention import schedule as retention
from sharedcourt.settings import Settings
from sharedcourt.telemetry.logs import RequestId, configure_logging
from sharedcourt.telemetry.metrics import Metrics, check_mode
from sharedcourt.web import analytics, console, probes, workspace
from sharedcourt.web import bookings as booking_api
from sharedcourt.web import handoff as handoff_web
from sharedcourt.web import metrics as metrics_web
from sharedcourt.web.limits import BodyLimit

log = logging.getLogger(__name__)

# Extra route factories registered by feature modules (WeChat, DingTalk, console); each gets the app.
RouteFactory = Callable[[Settings], list[BaseRoute]]


async def _bad_request(request: Request, exc: Exception) -> Response:
    status = 413 if isinstance(exc, PayloadTooLarge) else 400
    return JSONResponse({"error": str(exc)}, status_code=status)


async def _forbidden(request: Request, exc: Exception) -> Response:
    # Never echo why, and never log the body: the request did not authenticate.
    log.warning("rejected request to %s: %s", request.url.path, exc)
    return JSONResponse({"error": "forbidden"}, status_code=403)


async def _not_found(request: Request, exc: Exception) -> Response:
    return JSONResponse({"error": str(exc)}, status_code=404)


async def _conflict(request: Request, exc: Exception) -> Response:
    return JSONResponse({"error": str(exc)}, status_code=409)


async def _upstream(request: Request, exc: Exception) -> Response:
    return JSONResponse({"error": "upstream unavailable"}, status_code=503)


EXCEPTION_HANDLERS: dict[Any, Callable[[Request, Exception], Awaitable[Response]]] = {
    BadRequest: _bad_request,
    AuthError: _forbidden,
    NotFound: _not_found,
    Conflict: _conflict,
    UpstreamError: _upstream,
}


DRAIN_WORKERS = 4


async def _retry_loop(router: Router, interval: float, stale_after: dt.timedelta) -> None:
    """Answer kept messages once Rasa is back, and those a crashed process left half-way (after `stale_after`)."""
    while True:
        await asyncio.sleep(interval)
        try:
            await router.recover(stale_after)
            if await router.rasa.healthy():
                # Several conversations at once (each stays in order): one by one, 100 kept messages took minutes.
                await asyncio.gather(*(router.drain() for _ in range(DRAIN_WORKERS)))
        except Exception:
            log.exception("retry round failed")


def _background(app: Starlette, settings: Settings) -> list[asyncio.Task[None]]:
    """The loops beside requests: outbox sender, retry of kept messages, handoff tick, roster, reminders, purge."""
    state = app.state
    # A message still `received`/`processing` after RECOVER_AFTER_SECONDS was dropped by a crash.
    stale_after = dt.timedelta(seconds=settings.recover_after_seconds)
    return [
        asyncio.create_task(state.outbox.run(settings.outbox_interval)),
        asyncio.create_task(_retry_loop(state.router, settings.retry_interval, stale_after)),
        asyncio.create_task(handoff.tick_loop(state.handoff.service, settings.handoff_tick_seconds)),
        asyncio.create_task(
            roster_source.refresh_loop(state.handoff.service, state.sessions, settings.roster_refresh_seconds)
        ),
        reminders.start(
            settings, state.sessions, state.router, state.outbox, also_stop=(stream_optout.stop_with_booking_words,)
        ),
        stream_reminders.start(settings, state.sessions, state.router, state.outbox),
        retention.start(settings, state.sessions),
    ]


def create_app(
    settings: Settings,
    *,
    rasa_transport: httpx.AsyncBaseTransport | None = None,
    extra_routes: list[RouteFactory] | None = None,
    background: bool = True,
    dingtalk_transport: httpx.AsyncBaseTransport | None = None,
    action_transport: httpx.AsyncBaseTransport | None = None,
    stream_options: dict[str, Any] | None = None,
) -> Starlette:
    """The ASGI app; its lifespan builds the engine, clients and features and starts the background loops."""
    check_mode(settings.prometheus_multiproc_dir)
    metrics = Metrics()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url)
        sessions = make_sessionmaker(engine)
        rasa = RasaClient(
            settings.rasa_url, settings.rasa_jwt_secret, timeout=settings.rasa_timeout, transport=rasa_transport
        )
        router = Router(sessions, rasa, {webchat.CHANNEL: webchat.WebChatDeliverer()}, metrics=metrics)
        app.state.settings = settings
        app.state.engine = engine
        app.state.sessions = sessions
        app.state.rasa = rasa
        app.state.router = router
        app.state.outbox = outbox = Outbox(sessions, metrics=metrics)
        app.state.handoff = handoff.build(
            settings, sessions, router, dingtalk_transport=dingtalk_transport, outbox=outbox
        )
        wechat_channel = wechat.install(app, settings, router, outbox)
        wecom.install(app, settings, router, outbox, app.state.handoff.service)
        tasks = _background(app, settings) if background else []
        # A channel, not a loop: DINGTALK_MODE=stream receives on it even when `background` is off.
        tasks += dingtalk_stream.start(app.state, settings, **(stream_options or {}))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if wechat_channel is not None:
                await wechat_channel.close()
            await app.state.handoff.aclose()
            await rasa.aclose()
            await engine.dispose()

    # Outermost: the request id (every line and every answer, a 413 too carry it), then the body limit.
    limits = [Middleware(RequestId), Middleware(BodyLimit, max_bytes=settings.max_body_bytes)]
    app = Starlette(
        routes=_routes(settings, extra_routes),
        middleware=limits,
        lifespan=lifespan,
        exception_handlers=EXCEPTION_HANDLERS,
    )
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.action_transport = action_transport
    return app


def _routes(settings: Settings, extra_routes: list[RouteFactory] | None) -> list[BaseRoute]:
    """Every HTTP route of the front door, then the extra factories a test or deployment adds."""
    routes: list[BaseRoute] = [*probes.routes(), *metrics_web.routes(settings)]
    routes += [*webchat.routes(), *console.routes(settings)]
    routes += [*handoff_web.routes(), *dingtalk.routes(), *dingtalk_cards.routes()]
    routes += [*wechat.routes(settings), *wecom.routes(settings)]
    routes += booking_api.routes()
    routes += workspace.routes(settings) + analytics.routes(settings)
    for factory in extra_routes or []:
        routes.extend(factory(settings))
    return routes


def asgi() -> Starlette:
    """Entry point for uvicorn's --factory."""
    settings = Settings.from_env()
    configure_logging(settings)
    settings.check_secrets()  # refuse to serve with an empty or published secret
    return create_app(settings)
