"""Metric hooks (sharedcourt.telemetry.metrics): Rasa failures by kind, handoff acceptance time and escalations,
outbox outcomes, and the multiprocess mode that sums several workers' files."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from stand_ins.handoff_world import make_world, requested

from sharedcourt.clients.rasa import RasaClient
from sharedcourt.errors import ConfigError
from sharedcourt.messaging.outbox import Item, Outbox, SendResult
from sharedcourt.messaging.router import Inbound, Router
from sharedcourt.telemetry.metrics import Metrics, check_mode, multiprocess_mode, reset_multiproc_dir


def _failing_rasa(exc: type[httpx.HTTPError]) -> RasaClient:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc("no answer", request=request)

    return RasaClient("http://rasa.test", "secret", transport=httpx.MockTransport(handler))


@pytest.mark.parametrize(("error", "kind"), [(httpx.ConnectError, "unavailable"), (httpx.ReadTimeout, "timeout")])
async def test_a_failed_turn_is_counted_by_kind_and_not_timed(
    sessions: async_sessionmaker[AsyncSession], error: type[httpx.HTTPError], kind: str
) -> None:
    metrics = Metrics(CollectorRegistry())
    router = Router(sessions, _failing_rasa(error), metrics=metrics)
    replies = await router.handle(Inbound(channel="webchat", user_id="m1", text="你好"))
    assert len(replies) == 1, "the holding reply"
    registry = metrics.registry
    assert registry.get_sample_value("sharedcourt_rasa_failures_total", {"kind": kind}) == 1
    other = "timeout" if kind == "unavailable" else "unavailable"
    assert registry.get_sample_value("sharedcourt_rasa_failures_total", {"kind": other}) is None
    assert registry.get_sample_value("sharedcourt_turn_seconds_count") == 0
    assert registry.get_sample_value("sharedcourt_messages_in_total", {"channel": "webchat"}) == 1
    assert registry.get_sample_value("sharedcourt_messages_out_total", {"channel": "webchat"}) == 1


async def test_handoff_acceptance_time_and_escalations(sessions: async_sessionmaker[AsyncSession]) -> None:
    world = make_world(sessions)
    registry = world.router.metrics.registry
    _, number = await requested(world)
    assert await world.service.tick(world.clock.advance(181)) == 1
    world.clock.advance(29)
    assert (await world.service.accept(number, "baiyun-mediator-1")).ok
    assert registry.get_sample_value("sharedcourt_handoff_escalations_total", {"to": "escalated"}) == 1
    assert registry.get_sample_value("sharedcourt_handoff_accept_seconds_count") == 1
    assert registry.get_sample_value("sharedcourt_handoff_accept_seconds_sum") == pytest.approx(210)
    assert registry.get_sample_value("sharedcourt_handoff_accept_seconds_bucket", {"le": "180.0"}) == 0
    assert registry.get_sample_value("sharedcourt_handoff_accept_seconds_bucket", {"le": "300.0"}) == 1
    # A second accept loses: nothing more is observed.
    assert not (await world.service.accept(number, "baiyun-director")).ok
    assert registry.get_sample_value("sharedcourt_handoff_accept_seconds_count") == 1


class Answering:
    def __init__(self, *results: SendResult) -> None:
        self.results = list(results)

    async def send(self, item: Item) -> SendResult:
        return self.results.pop(0)


async def test_outbox_outcomes_by_channel(sessions: async_sessionmaker[AsyncSession]) -> None:
    metrics = Metrics(CollectorRegistry())
    outbox = Outbox(sessions, metrics=metrics)
    outbox.register("wechat", Answering(SendResult("sent"), SendResult("held", "quota")))
    for text in ("一", "二"):
        await outbox.add("wechat", "oOutbox01", {"type": "text", "text": text})
    assert await outbox.run_once() == 1
    sample = metrics.registry.get_sample_value
    assert sample("sharedcourt_outbox_results_total", {"channel": "wechat", "outcome": "sent"}) == 1
    assert sample("sharedcourt_outbox_results_total", {"channel": "wechat", "outcome": "held"}) == 1


def test_a_multiproc_dir_the_client_did_not_see_is_refused() -> None:
    assert not multiprocess_mode(), "the test process runs without PROMETHEUS_MULTIPROC_DIR"
    check_mode("")
    with pytest.raises(ConfigError, match="PROMETHEUS_MULTIPROC_DIR"):
        check_mode("/tmp/never-seen-by-the-client")


WORKER = textwrap.dedent(
    """
    import sys
    from prometheus_client import CollectorRegistry
    from sharedcourt.telemetry.metrics import Metrics, check_mode, multiprocess_mode
    check_mode(sys.argv[1])
    assert multiprocess_mode()
    metrics = Metrics(CollectorRegistry())
    for _ in range(int(sys.argv[2])):
        metrics.message_in("wechat")
    metrics.turn(0.2)
    """
)
SCRAPER = textwrap.dedent(
    """
    import sys
    from prometheus_client import generate_latest
    from sharedcourt.telemetry.metrics import Metrics, scrape_registry
    sys.stdout.write(generate_latest(scrape_registry(Metrics(), sys.argv[1])).decode())
    """
)


def test_multiprocess_mode_sums_every_workers_counts(tmp_path: Path, repo_root: Path) -> None:
    shared = tmp_path / "prometheus"
    shared.mkdir()
    env = {"PROMETHEUS_MULTIPROC_DIR": str(shared), "PATH": "/usr/bin:/bin"}
    for count in ("3", "4"):
        subprocess.run(
            [sys.executable, "-c", WORKER, str(shared), count], cwd=repo_root, env=env, check=True, timeout=60
        )
    assert len(list(shared.glob("*.db"))) >= 2, "each worker wrote its own files"
    scraped = subprocess.run(
        [sys.executable, "-c", SCRAPER, str(shared)],
        cwd=repo_root,
        env=env,
        check=True,
        timeout=60,
        capture_output=True,
        text=True,
    ).stdout
    assert 'sharedcourt_messages_in_total{channel="wechat"} 7.0' in scraped
    assert "sharedcourt_turn_seconds_count 2.0" in scraped


def test_the_launcher_empties_the_shared_directory(tmp_path: Path) -> None:
    shared = tmp_path / "prometheus"
    reset_multiproc_dir(str(shared))
    assert shared.is_dir() and not list(shared.iterdir())
    (shared / "counter_123.db").write_bytes(b"old run")
    (shared / "notes.txt").write_text("not ours")
    reset_multiproc_dir(str(shared))
    assert [p.name for p in shared.iterdir()] == ["notes.txt"]
    reset_multiproc_dir("")  # unset: nothing to do
