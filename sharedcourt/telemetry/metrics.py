"""The front door's Prometheus metrics: built by `Metrics(registry)` in the app factory, never at import.

The router, outbox and handoff call the small hooks below; the gauges that describe the database (kept and held
messages, outbox depth and age, active conversations, bookings) are read at scrape time (`sharedcourt.web.metrics`).

Several processes: prometheus_client picks its value store at import, from `PROMETHEUS_MULTIPROC_DIR`. Unset (the
default: one uvicorn process per front door), each front door serves its own registry and is its own scrape
target. Set (one front door with several uvicorn workers), every worker writes its counters and histograms to
files in that directory and `/metrics` sums them with `MultiProcessCollector` (`scrape_registry`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from prometheus_client import CollectorRegistry, Counter, Histogram, values
from prometheus_client.multiprocess import MultiProcessCollector

from sharedcourt.errors import ConfigError, RasaTimeout, RasaUnavailable

PREFIX = "sharedcourt"
# A Rasa turn: 166 ms at p50 alone, seconds under load; RASA_TIMEOUT (10 s) ends the slowest.
TURN_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# A person accepting a handoff: HANDOFF_ACCEPT_SECONDS (180) per level of the chain, then the dispatch centre.
ACCEPT_BUCKETS = (10.0, 30.0, 60.0, 120.0, 180.0, 300.0, 600.0, 1200.0, 3600.0)

Escalation = Literal["escalated", "expired"]


class Metrics:
    """Every counter and histogram the front door updates, registered on `registry`."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = reg = registry if registry is not None else CollectorRegistry(auto_describe=True)
        self.messages_in = Counter(f"{PREFIX}_messages_in", "Inbound messages stored.", ["channel"], registry=reg)
        self.messages_out = Counter(
            f"{PREFIX}_messages_out", "Outbound messages stored for residents.", ["channel"], registry=reg
        )
        self.turn_seconds = Histogram(
            f"{PREFIX}_turn_seconds", "Seconds of one answered Rasa turn.", buckets=TURN_BUCKETS, registry=reg
        )
        self.rasa_failures = Counter(
            f"{PREFIX}_rasa_failures", "Rasa turns that failed: timeout or unavailable.", ["kind"], registry=reg
        )
        self.outbox_results = Counter(
            f"{PREFIX}_outbox_results", "Outbox send attempts by outcome.", ["channel", "outcome"], registry=reg
        )
        self.handoff_accept_seconds = Histogram(
            f"{PREFIX}_handoff_accept_seconds",
            "Seconds from a handoff request to a person accepting it.",
            buckets=ACCEPT_BUCKETS,
            registry=reg,
        )
        self.escalations = Counter(
            f"{PREFIX}_handoff_escalations", "Unaccepted handoffs moved on: escalated or expired.", ["to"], registry=reg
        )

    def message_in(self, channel: str) -> None:
        """One inbound message stored."""
        self.messages_in.labels(channel=channel).inc()

    def message_out(self, channel: str, count: int = 1) -> None:
        """Outbound messages stored for a resident."""
        if count > 0:
            self.messages_out.labels(channel=channel).inc(count)

    def turn(self, seconds: float) -> None:
        """One Rasa turn answered in `seconds`."""
        self.turn_seconds.observe(seconds)

    def rasa_failure(self, exc: RasaUnavailable) -> None:
        """A turn Rasa did not answer: a timeout (it may have run) or unavailable (it surely did not)."""
        self.rasa_failures.labels(kind="timeout" if isinstance(exc, RasaTimeout) else "unavailable").inc()

    def outbox_result(self, channel: str, outcome: str) -> None:
        """One outbox send attempt's outcome (sent, held, retry, failed, unknown)."""
        self.outbox_results.labels(channel=channel, outcome=outcome).inc()

    def handoff_accepted(self, seconds: float) -> None:
        """A person accepted a handoff `seconds` after it was requested."""
        self.handoff_accept_seconds.observe(max(seconds, 0.0))

    def escalation(self, to: Escalation) -> None:
        """An unaccepted handoff went to the next person (escalated) or to nobody (expired)."""
        self.escalations.labels(to=to).inc()


def multiprocess_mode() -> bool:
    """Whether prometheus_client chose its file-backed values at import (PROMETHEUS_MULTIPROC_DIR was set)."""
    return values.ValueClass is not values.MutexValue


def check_mode(multiproc_dir: str) -> None:
    """Refuse a PROMETHEUS_MULTIPROC_DIR the client did not see at import (it would silently count per process)."""
    if multiproc_dir and not multiprocess_mode():
        raise ConfigError("PROMETHEUS_MULTIPROC_DIR must be in the process environment before start, not only in .env")


def reset_multiproc_dir(multiproc_dir: str) -> None:
    """Create the shared directory empty before the workers start (files of an earlier run would be summed in)."""
    if not multiproc_dir:
        return
    path = Path(multiproc_dir)
    path.mkdir(parents=True, exist_ok=True)
    for old in path.glob("*.db"):
        old.unlink()


def scrape_registry(metrics: Metrics, multiproc_dir: str) -> CollectorRegistry:
    """What one scrape reads: this process's registry, or every worker's files summed (multiprocess mode)."""
    if not multiproc_dir:
        return metrics.registry
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=multiproc_dir)  # type: ignore[no-untyped-call]  # untyped in 0.25
    return registry
