"""`make cluster`: several replicas of each role on one machine, behind Debian's haproxy.

Topology (deploy/README.md describes the same on several machines):
- haproxy listens on BIND_HOST at PORT (front doors), at RASA_URL's port (Rasa replicas) and at ACTION_SERVER_URL's
  port (action servers); round-robin, health-checked, a refused connection retried on another member;
- CLUSTER_REPLICAS front doors, Rasa replicas and action servers; member i (1-based) of each role listens on
  CLUSTER_PORT_BASE + i, + 10 + i and + 20 + i;
- every front door reaches Rasa and the action servers through haproxy, so each reaches every replica; Rasa
  replicas share the Redis lock store and the PostgreSQL tracker store; the action servers reach the front
  doors' internal API through haproxy.
Every process gets its whole configuration from its member's `Settings` (ports, BIND_HOST, secrets) in its
environment; nothing here reads the environment.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import signal
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import httpx

from sharedcourt.cli.procs import (
    LOGS,
    Stack,
    actions_cmd,
    actions_env,
    app_cmd,
    rasa_env,
    rasa_run_cmd,
    require_secrets,
    rss_mib,
)
from sharedcourt.errors import ConfigError, UpstreamError
from sharedcourt.settings import ROOT, Settings

ROLES = ("actions", "rasa", "frontdoor")
OFFSETS = {"frontdoor": 0, "rasa": 10, "actions": 20}
RUN_DIR = ROOT / "var" / "cluster"
HAPROXY_HEALTH = "/haproxy-health"


def env_of(settings: Settings) -> dict[str, str]:
    """Every setting as its environment variable: a member's process reads back exactly this `Settings`."""
    env = dict(settings.extra)
    for spec in dataclasses.fields(settings):
        if spec.name != "extra":
            env[spec.name.upper()] = str(getattr(settings, spec.name))
    if not settings.prometheus_multiproc_dir:
        # prometheus_client goes file-backed when the variable exists at all: empty wrote its files into the cwd.
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return env


def _port_of(url: str) -> int:
    port = httpx.URL(url).port
    if port is None:
        raise ConfigError(f"{url} names no port")
    return port


@dataclass(frozen=True)
class Member:
    """One process of the cluster: its role, its 1-based index and the settings it runs with."""

    role: str
    index: int
    settings: Settings

    @property
    def name(self) -> str:
        """`frontdoor1`, `rasa2`, …: the haproxy server name and the log file name."""
        return f"{self.role}{self.index}"

    @property
    def address(self) -> str:
        """host:port where the member listens."""
        return f"{self.settings.bind_host}:{self.port}"

    @property
    def port(self) -> int:
        """The member's own port."""
        if self.role == "frontdoor":
            return self.settings.port
        return _port_of(self.settings.rasa_url if self.role == "rasa" else self.settings.action_server_url)

    @property
    def health_url(self) -> str:
        """What haproxy and the launcher poll: 200 when the member serves."""
        path = {"frontdoor": "/livez", "rasa": "/", "actions": "/health"}[self.role]
        return f"http://{self.address}{path}"


def member(settings: Settings, role: str, index: int) -> Member:
    """Member `index` of `role`, its settings derived from the cluster's (the balancer's addresses)."""
    host, port = settings.bind_host, settings.cluster_port_base + OFFSETS[role] + index
    own = f"http://{host}:{port}"
    if role == "frontdoor":
        # Rasa and the action servers through haproxy; the public URL stays the balancer's.
        derived = replace(settings, port=port, app_internal_url=settings.internal_url)
    elif role == "rasa":
        derived = replace(settings, rasa_url=own, rasa_lock_store="redis")
    else:
        derived = replace(settings, action_server_url=own, app_internal_url=settings.internal_url)
    return Member(role, index, derived)


def members(settings: Settings) -> list[Member]:
    """Every member, action servers first (Rasa needs them), front doors last."""
    return [member(settings, role, i) for role in ROLES for i in range(1, settings.cluster_replicas + 1)]


def _backend(name: str, check: str | None, servers: list[Member], timeout_server: float, *extra: str) -> list[str]:
    # check None: a TCP connect check (the port is open once the process serves).
    lines = [
        f"backend {name}",
        "    balance roundrobin",
        *([f"    option httpchk GET {check}"] if check else []),
        f"    timeout server {timeout_server:.0f}s",
        *(f"    {line}" for line in extra),
    ]
    return lines + [f"    server {m.name} {m.address} check" for m in servers]


def haproxy_config(settings: Settings) -> str:
    """haproxy.cfg for the cluster: three balanced services, health checks, and a log line per request."""
    host, cluster = settings.bind_host, members(settings)
    by_role = {role: [m for m in cluster if m.role == role] for role in ROLES}
    turn = settings.rasa_timeout + 30  # a front door's answer waits for one Rasa turn
    webhook = "METH_POST { path /webhooks/rest/webhook }"
    lines = [
        "# Generated by `python -m sharedcourt.cli cluster` (sharedcourt/cli/cluster.py); edits are overwritten.",
        "global",
        "    log stdout format raw local0",
        "    maxconn 4096",
        "defaults",
        "    mode http",
        "    log global",
        "    option dontlognull",
        "    timeout connect 2s",
        "    timeout client 5m",
        "    timeout check 5s",
        # Only a refused connection is retried elsewhere: a request that reached a member may have run.
        "    retries 3",
        "    option redispatch",
        "    retry-on conn-failure",
        "    default-server inter 1s fall 2 rise 2",
        "frontend web",
        f"    bind {host}:{settings.port}",
        f"    monitor-uri {HAPROXY_HEALTH}",
        "    http-request capture req.hdr(X-Request-Id) len 64",
        '    log-format "web %ci %b/%s %ST %Tt %HM %HP request=%hr"',
        "    default_backend frontdoors",
        *_backend(
            "frontdoors",
            "/livez",  # the process serves; /readyz would take every door out while Rasa restarts
            by_role["frontdoor"],
            turn,
            "option forwardfor",
            "http-response set-header X-Served-By %s",
        ),
        "frontend rasa",
        f"    bind {host}:{_port_of(settings.rasa_url)}",
        "    option http-buffer-request",
        f"    http-request set-var(txn.sender) req.body,json_query('$.sender') if {webhook}",
        f"    http-request set-var(txn.message) req.body,json_query('$.metadata.message_id') if {webhook}",
        '    log-format "rasa %b/%s %ST %Tt %HM %HP sender=%[var(txn.sender)] message=%[var(txn.message)]"',
        "    default_backend rasa",
        # TCP checks: a replica busy with turns answers an HTTP check after seconds (it was taken out, both
        # replicas at once under load); Rasa opens its port only once its model is loaded.
        *_backend("rasa", None, by_role["rasa"], turn, "default-server inter 2s fall 2 rise 2"),
        "frontend actions",
        f"    bind {host}:{_port_of(settings.action_server_url)}",
        '    log-format "actions %b/%s %ST %Tt %HM %HP"',
        "    default_backend actions",
        # Rasa waits up to 300 s for a custom action (rasa DEFAULT_REQUEST_TIMEOUT).
        *_backend("actions", "/health", by_role["actions"], 300),
    ]
    return "\n".join(lines) + "\n"


def haproxy_bin() -> str:
    """The haproxy executable; ConfigError when it is not installed (`make haproxy` installs Debian's)."""
    found = shutil.which("haproxy") or next((p for p in ("/usr/sbin/haproxy",) if Path(p).exists()), None)
    if found is None:
        raise ConfigError("haproxy is not installed: run `make haproxy` (apt-get install haproxy)")
    return found


def check_cluster_settings(settings: Settings) -> None:
    """A cluster needs PostgreSQL (shared by every process) and the secrets every member checks."""
    if not settings.database_url.startswith("postgresql"):
        raise ConfigError("a cluster needs PostgreSQL: set DATABASE_URL=postgresql://… in .env")
    if settings.cluster_replicas < 1 or settings.cluster_replicas > 9:
        raise ConfigError("CLUSTER_REPLICAS must be from 1 to 9")
    require_secrets(settings, "rasa_jwt_secret", "action_server_token")


@dataclass
class Cluster:
    """The running cluster: haproxy and every member, each in its own process group."""

    settings: Settings
    model: Path
    log_dir: Path = LOGS
    run_dir: Path = RUN_DIR
    stack: Stack = field(init=False)

    def __post_init__(self) -> None:
        self.stack = Stack(self.settings, self.log_dir)
        self.by_name = {m.name: m for m in members(self.settings)}

    def start_haproxy(self) -> None:
        """Write the generated config and start haproxy in the foreground of its process group."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        config = self.run_dir / "haproxy.cfg"
        config.write_text(haproxy_config(self.settings), encoding="utf-8")
        self.stack.start("haproxy", [haproxy_bin(), "-db", "-f", str(config)], self.settings.extra)
        url = f"http://{self.settings.bind_host}:{self.settings.port}{HAPROXY_HEALTH}"
        self.stack.wait_healthy("haproxy", url, 30)

    def start_member(self, name: str) -> None:
        """Start one member (not waiting for it)."""
        m = self.by_name[name]
        if m.role == "rasa":
            env = {**rasa_env(m.settings), "RASA_JWT_SECRET": m.settings.rasa_jwt_secret}
            self.stack.start(name, rasa_run_cmd(m.settings, self.model), env)
        elif m.role == "actions":
            self.stack.start(name, actions_cmd(m.settings), {**env_of(m.settings), **actions_env(m.settings)})
        else:
            self.stack.start(name, app_cmd(m.settings), env_of(m.settings))

    def wait_member(self, name: str) -> float:
        """Wait until the member answers its health URL (Rasa loads its model: minutes on a busy machine)."""
        m = self.by_name[name]
        return self.stack.wait_healthy(name, m.health_url, 900 if m.role == "rasa" else 120)

    def start(self) -> None:
        """Migrate, then start haproxy and every member, and wait until all answer."""
        from sharedcourt.db.migrate import upgrade

        check_cluster_settings(self.settings)
        upgrade(self.settings.database_url)
        self.start_haproxy()
        for name in self.by_name:
            self.start_member(name)
        for name in self.by_name:
            self.wait_member(name)

    def kill(self, name: str) -> None:
        """SIGKILL a member's whole process group, as a crash would (no shutdown code runs)."""
        proc = self.stack.procs.pop(name)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    def restart(self, name: str) -> float:
        """Start a member again and wait until it answers; returns the seconds it took."""
        self.start_member(name)
        return self.wait_member(name)

    def stop(self) -> None:
        """Stop everything: members first (front doors, Rasa, actions), haproxy last."""
        for name in reversed(list(self.by_name)):
            self.stack.stop(name)
        self.stack.stop()


@contextlib.contextmanager
def running_cluster(
    settings: Settings, model: Path, log_dir: Path = LOGS, run_dir: Path = RUN_DIR
) -> Iterator[Cluster]:
    """Start the cluster; stop every process on exit."""
    cluster = Cluster(settings, model, log_dir, run_dir)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


def _report(cluster: Cluster, out: Mapping[str, str]) -> None:
    for name, proc in cluster.stack.procs.items():
        print(f"  {name:10s} pid {proc.pid:<7d} {rss_mib(proc.pid) or 0:.0f} MiB", flush=True)
    for key, value in out.items():
        print(f"{key:10s} {value}", flush=True)


def run_cluster(settings: Settings, model: Path) -> int:
    """`make cluster`: start everything, restart a member that exits (like systemd's Restart=always), Ctrl-C stops."""
    started = time.monotonic()
    stop = {"now": False}

    def _stop(signum: int, _frame: object) -> None:
        stop["now"] = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    print(f"starting {settings.cluster_replicas} of each role behind haproxy …", flush=True)
    with running_cluster(settings, model) as cluster:
        print(f"ready in {time.monotonic() - started:.0f} s", flush=True)
        urls = {"web chat:": f"{settings.public_url}/", "haproxy:": str(cluster.run_dir / "haproxy.cfg")}
        _report(cluster, {**urls, "logs:": f"{cluster.log_dir}/*.log    (Ctrl-C stops everything)"})
        while not stop["now"]:
            for name, proc in list(cluster.stack.procs.items()):
                if proc.poll() is None:
                    continue
                if name == "haproxy":
                    print(f"haproxy exited with {proc.returncode}; see {cluster.log_dir}/haproxy.log", file=sys.stderr)
                    return 1
                print(f"{name} exited with {proc.returncode}; restarting it", file=sys.stderr, flush=True)
                cluster.stack.procs.pop(name)
                with contextlib.suppress(UpstreamError):
                    cluster.restart(name)
            time.sleep(0.5)
        print("stopping …", flush=True)
    return 0
