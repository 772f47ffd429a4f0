"""GET /metrics: Prometheus text, answered to loopback and to the METRICS_ALLOW scrapers only (403 otherwise).

Two parts: the counters and histograms this process (or, in multiprocess mode, every worker sharing
PROMETHEUS_MULTIPROC_DIR) updated, and gauges read from the database at scrape time. Each database query is
bounded (a capped count, an indexed first row, the newest rows only), so a scrape costs the same on a big table.
Every front door reports the same database gauges: aggregate them across targets with max(), not sum().
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from sharedcourt.db.base import utcnow
from sharedcourt.db.booking import Booking
from sharedcourt.db.conversation import Message
from sharedcourt.db.outbox import OutboxItem
from sharedcourt.settings import Settings
from sharedcourt.telemetry.metrics import PREFIX, scrape_registry

log = logging.getLogger(__name__)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
# A count stops here: past it the number says "at least this many" and the query stays cheap.
COUNT_CAP = 100_000
# Only the newest rows are looked at for "recent" gauges (messages, bookings): an index walk, never a scan.
RECENT_ROWS = 10_000
ACTIVE_WINDOW = dt.timedelta(minutes=15)
BOOKING_WINDOW = dt.timedelta(hours=24)
FORWARDED = ("forwarded", "x-forwarded-for", "x-real-ip")


def networks(allow: str) -> list[Network]:
    """METRICS_ALLOW as networks (a bare address is a /32 or /128)."""
    return [ipaddress.ip_network(p.strip(), strict=False) for p in allow.split(",") if p.strip()]


def scraper_allowed(host: str | None, headers: Iterable[str], allowed: Sequence[Network]) -> bool:
    """Loopback (unless a proxy forwarded the request) or an allowed address may scrape."""
    try:
        address = ipaddress.ip_address(host or "")
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    # A load balancer on this host connects from loopback: a forwarded request is judged by the allow-list only.
    proxied = any(name.lower() in FORWARDED for name in headers)
    if address.is_loopback and not proxied:
        return True
    return any(address in network for network in allowed)


async def _waiting(session: AsyncSession) -> dict[str, int]:
    """Inbound messages kept for Rasa (pending) and outbound ones held by a channel's quota (held)."""
    rows = select(Message.status).where(Message.status.in_(("pending", "held"))).limit(COUNT_CAP).subquery()
    counts = dict((await session.execute(select(rows.c.status, func.count()).group_by(rows.c.status))).tuples().all())
    return {state: int(counts.get(state, 0)) for state in ("pending", "held")}


async def _outbox(session: AsyncSession, now: dt.datetime) -> tuple[dict[str, int], float]:
    """Outbox items by state (due, scheduled, sending, held) and how long the most overdue one has waited."""
    state = case(
        (and_(OutboxItem.status == "queued", OutboxItem.next_attempt_at > now), "scheduled"),
        (OutboxItem.status == "queued", "due"),
        else_=OutboxItem.status,
    ).label("state")
    waiting = OutboxItem.status.in_(("queued", "sending", "held"))
    rows = select(state).where(waiting).limit(COUNT_CAP).subquery()
    counts = dict((await session.execute(select(rows.c.state, func.count()).group_by(rows.c.state))).tuples().all())
    oldest = await session.scalar(
        select(OutboxItem.next_attempt_at)
        .where(OutboxItem.status == "queued", OutboxItem.next_attempt_at <= now)
        .order_by(OutboxItem.next_attempt_at)
        .limit(1)
    )
    age = (now - oldest).total_seconds() if oldest is not None else 0.0
    return {s: int(counts.get(s, 0)) for s in ("due", "scheduled", "sending", "held")}, max(age, 0.0)


async def _active(session: AsyncSession, now: dt.datetime) -> int:
    """Conversations with a message in the last ACTIVE_WINDOW (among the newest RECENT_ROWS messages)."""
    newest = select(Message.conversation_id, Message.created_at).order_by(Message.id.desc()).limit(RECENT_ROWS)
    recent = newest.subquery()
    query = select(func.count(func.distinct(recent.c.conversation_id))).where(
        recent.c.created_at >= now - ACTIVE_WINDOW
    )
    return int(await session.scalar(query) or 0)


async def _bookings(session: AsyncSession, now: dt.datetime) -> dict[str, int]:
    """Bookings made in the last BOOKING_WINDOW by their status now (among the newest RECENT_ROWS)."""
    newest = select(Booking.status, Booking.created_at).order_by(Booking.id.desc()).limit(RECENT_ROWS).subquery()
    query = (
        select(newest.c.status, func.count())
        .where(newest.c.created_at >= now - BOOKING_WINDOW)
        .group_by(newest.c.status)
    )
    return {str(status): int(n) for status, n in (await session.execute(query)).tuples()}


def _gauge(name: str, documentation: str, values: Mapping[str, float] | float, label: str = "") -> GaugeMetricFamily:
    if isinstance(values, Mapping):
        family = GaugeMetricFamily(f"{PREFIX}_{name}", documentation, labels=[label])
        for key, value in sorted(values.items()):
            family.add_metric([key], value)
        return family
    return GaugeMetricFamily(f"{PREFIX}_{name}", documentation, value=values)


async def database_gauges(sessions: async_sessionmaker[AsyncSession], now: dt.datetime) -> list[GaugeMetricFamily]:
    """Every database-derived gauge, read now; only `database_up` = 0 when the database does not answer."""
    try:
        async with sessions() as session:
            waiting = await _waiting(session)
            outbox, oldest = await _outbox(session, now)
            active = await _active(session, now)
            bookings = await _bookings(session, now)
    except Exception as exc:  # noqa: BLE001 - a scrape reports the database down, it never fails for it
        log.warning("metrics: database gauges unavailable: %s", type(exc).__name__)
        return [_gauge("database_up", "1 when the database answered this scrape.", 0)]
    return [
        _gauge("database_up", "1 when the database answered this scrape.", 1),
        _gauge("messages_waiting", "Messages kept for Rasa (pending) or held by a quota (held).", waiting, "state"),
        _gauge("outbox_items", "Outbox items: due, scheduled for later, sending, held.", outbox, "state"),
        _gauge("outbox_oldest_due_seconds", "Seconds the most overdue queued outbox item has waited.", oldest),
        _gauge("active_conversations", "Conversations with a message in the last 15 minutes.", active),
        _gauge("bookings_recent", "Bookings made in the last 24 hours, by status now.", bookings, "status"),
    ]


class Fixed(Collector):
    """Yields metric families computed before the scrape (a collector's collect() cannot await)."""

    def __init__(self, families: list[GaugeMetricFamily]) -> None:
        self.families = families

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """The families, as computed."""
        yield from self.families


def routes(settings: Settings) -> list[BaseRoute]:
    """GET /metrics, with the allow-list parsed once."""
    allowed = networks(settings.metrics_allow)

    async def metrics(request: Request) -> Response:
        """Prometheus text format for allowed scrapers; 403 for everyone else."""
        host = request.client.host if request.client else None
        if not scraper_allowed(host, request.headers.keys(), allowed):
            return PlainTextResponse("forbidden\n", status_code=403)
        state = request.app.state
        own = generate_latest(scrape_registry(state.metrics, settings.prometheus_multiproc_dir))
        database = CollectorRegistry(auto_describe=False)
        database.register(Fixed(await database_gauges(state.sessions, utcnow())))
        return Response(own + generate_latest(database), media_type=CONTENT_TYPE_LATEST)

    return [Route("/metrics", metrics)]
