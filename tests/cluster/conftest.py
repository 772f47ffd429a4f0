"""The cluster under test: `make cluster`'s topology with real processes, on its own PostgreSQL database.

Cluster tests are marked `cluster` and run only when selected (`-m cluster`, `make test-cluster`): a plain
`pytest` deselects them here, so the normal suite never starts six servers.
"""

from __future__ import annotations

import os
import re
import secrets
import socket
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
from stand_ins.wechat_push import WeChatPusher
from stand_ins.wechat_server import WeChatStandIn

from sharedcourt.cli.cluster import Cluster, running_cluster
from sharedcourt.cli.procs import free_port, free_port_base, model_path
from sharedcourt.settings import SECRET_KEYS, Settings

PG_SERVER = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS = urlsplit(os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15"))  # the lock store uses db 1
APPID = "wxcluster0000001"
TOKEN = "cluster-token"
SECRET = "cluster-secret"
RASA_LINE = re.compile(r"^rasa rasa/(\S+) (\d+) .* sender=(\S*) message=(\d*)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect cluster tests unless the marker expression names `cluster`."""
    if "cluster" in (config.getoption("markexpr") or ""):
        return
    dropped = [item for item in items if item.get_closest_marker("cluster")]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if not item.get_closest_marker("cluster")]


@dataclass
class ClusterSystem:
    """The running cluster, the WeChat API stand-in its front doors send to, and what the test reads."""

    cluster: Cluster
    api: WeChatStandIn
    pusher: WeChatPusher
    db_url: str  # psycopg URL of the cluster's database

    @property
    def url(self) -> str:
        """The balancer (haproxy) in front of the front doors."""
        return self.cluster.settings.public_url

    def frontdoor_url(self, index: int) -> str:
        """One front door directly, bypassing the balancer."""
        return f"http://{self.cluster.by_name[f'frontdoor{index}'].address}"

    def query(self, sql: str, *params: object) -> list[tuple[object, ...]]:
        """Rows of one query on the cluster's database."""
        with psycopg.connect(self.db_url) as conn:
            return list(conn.execute(sql, params).fetchall())

    def rasa_servers(self) -> dict[int, set[str]]:
        """From haproxy's log: which Rasa replica each message's REST turn reached (answered with 200)."""
        served: dict[int, set[str]] = defaultdict(set)
        log = (self.cluster.log_dir / "haproxy.log").read_text(encoding="utf-8", errors="replace")
        for line in log.splitlines():
            found = RASA_LINE.match(line)
            if found and found.group(2) == "200" and found.group(4):
                served[int(found.group(4))].add(found.group(1))
        return served

    def turns_in_rasa(self) -> dict[int, int]:
        """How many user turns Rasa's tracker store (PostgreSQL, shared by the replicas) holds per message id."""
        rows = self.query(
            "SELECT (data::json->'metadata'->>'message_id')::bigint, count(*) FROM events "
            "WHERE type_name = 'user' AND data::json->'metadata'->>'message_id' IS NOT NULL GROUP BY 1"
        )
        return {int(str(m)): int(str(c)) for m, c in rows}


@pytest.fixture(scope="module")
def cluster_system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClusterSystem]:
    """Two of each role behind haproxy on a fresh PostgreSQL database; everything stopped and dropped after."""
    model = Path(os.environ.get("SHAREDCOURT_MODEL") or model_path())
    if not model.exists():
        pytest.fail(f"no trained model for the current training data ({model.name}); run `make train` first")
    try:
        socket.create_connection((REDIS.hostname or "127.0.0.1", REDIS.port or 6379), timeout=3).close()
    except OSError:
        pytest.fail(f"Redis (Rasa's lock store) is not reachable at {REDIS.hostname}:{REDIS.port}")
    database = f"sc_cluster_{uuid.uuid4().hex[:10]}"
    server = PG_SERVER.rsplit("/", 1)[0]
    with psycopg.connect(PG_SERVER, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {database}")
    db_url = f"{server}/{database}"
    log_dir = tmp_path_factory.mktemp("cluster-logs")
    with WeChatStandIn(appid=APPID, secret=SECRET) as api:
        api.customer_quota = None  # the outbox test sends more than 5 per user; the quota is not its subject
        env = {
            "DATABASE_URL": db_url,
            "PORT": str(free_port()),
            "RASA_URL": f"http://127.0.0.1:{free_port()}",
            "ACTION_SERVER_URL": f"http://127.0.0.1:{free_port()}",
            "CLUSTER_PORT_BASE": str(free_port_base()),
            "RASA_LOCK_STORE": "redis",
            "RASA_LOCK_HOST": REDIS.hostname or "127.0.0.1",
            "RASA_LOCK_PORT": str(REDIS.port or 6379),
            # Under full load a turn queues for many seconds on 2 cores: wait for it rather than hold the message.
            "RASA_TIMEOUT": "60",
            # A message a killed front door left half-way is taken over after this (must exceed RASA_TIMEOUT).
            "RECOVER_AFTER_SECONDS": "90",
            "RETRY_INTERVAL": "1",
            "OUTBOX_INTERVAL": "0.5",
            # Every simulated resident comes from 127.0.0.1 through haproxy: address limits are for real networks.
            "WEBCHAT_PER_ADDRESS_PER_MINUTE": "0",
            "WEBCHAT_PER_SENDER_PER_MINUTE": "0",
            "WECHAT_TOKEN": TOKEN,
            "WECHAT_APPID": APPID,
            "WECHAT_SECRET": SECRET,
            "WECHAT_API_BASE": api.base_url,
            # Rasa's per-process pool (default 50 + 100) times two replicas would pass max_connections (100).
            "SQL_POOL_SIZE": "5",
            "SQL_MAX_OVERFLOW": "5",
            **{name.upper(): secrets.token_urlsafe(32) for name in SECRET_KEYS},
        }
        settings = Settings.from_env(env, env_file=Path("/nonexistent"))
        started = time.monotonic()
        try:
            with running_cluster(settings, model, log_dir, tmp_path_factory.mktemp("cluster-run")) as cluster:
                print(f"\ncluster up in {time.monotonic() - started:.0f} s (logs in {log_dir})", flush=True)
                yield ClusterSystem(cluster, api, WeChatPusher(TOKEN, APPID), db_url)
        finally:
            with psycopg.connect(PG_SERVER, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
