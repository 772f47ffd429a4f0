"""Process management: train the model when its inputs change, start and stop the three servers.

Used by `make run`, by the integration tests and by CLI commands that need a live Rasa.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from sharedcourt.errors import ConfigError, UpstreamError
from sharedcourt.settings import ROOT, Settings
from sharedcourt.telemetry.metrics import reset_multiproc_dir

RASA_BIN = ROOT / ".venv" / "rasa" / "bin" / "rasa"
RASA_PYTHON = ROOT / ".venv" / "rasa" / "bin" / "python"
APP_PYTHON = ROOT / ".venv" / "app" / "bin" / "python"
MODELS = ROOT / "models"
LOGS = ROOT / "var" / "log"
TRAINING_INPUTS = ("bot/config.yml", "bot/components", "bot/domain", "bot/stories", "bot/rules", "nlu_data")


def fingerprint(root: Path = ROOT) -> str:
    """Hash of everything `rasa train` reads; a new value means the model must be retrained."""
    digest = hashlib.sha256()
    for entry in TRAINING_INPUTS:
        path = root / entry
        files = (
            sorted(p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
            if path.is_dir()
            else [path]
        )
        for file in files:
            digest.update(str(file.relative_to(root)).encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def rasa_data(root: Path = ROOT) -> list[str]:
    """Rasa's training data: nlu_data without questions/ (read by the n-gram intent classifier only)."""
    nlu = sorted(str(p.relative_to(root)) for p in (root / "nlu_data").iterdir() if p.name != "questions")
    return [*nlu, "bot/stories", "bot/rules"]


def model_path(root: Path = ROOT) -> Path:
    """Where the model trained from the current inputs lives (named by their fingerprint)."""
    return root / "models" / f"sharedcourt-{fingerprint(root)}.tar.gz"


def train(root: Path = ROOT, *, force: bool = False) -> Path:
    """Train unless a model for exactly these inputs exists; returns the model path."""
    target = model_path(root)
    if target.exists() and not force:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    cmd = [
        str(RASA_BIN), "train",
        "--config", "bot/config.yml",
        "--domain", "bot/domain",
        "--data", *rasa_data(root),
        "--out", str(target.parent),
        "--fixed-model-name", target.name.removesuffix(".tar.gz"),
        # Rasa's cache cannot see extra_data (nlu_data/questions); our fingerprint above decides instead.
        "--force",
    ]  # fmt: skip
    # Progress goes to stderr: stdout of `cli train` is the model path (the Makefile reads it).
    print(f"training the Rasa model ({target.name}) …", file=sys.stderr, flush=True)
    started = time.monotonic()
    subprocess.run(cmd, cwd=root, check=True, env=rasa_env(Settings.from_env()), stdout=sys.stderr)
    print(f"model trained in {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
    for old in target.parent.glob("sharedcourt-*.tar.gz"):
        if old != target:
            old.unlink()
    return target


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def free_port_base(span: int = 30) -> int:
    """A base port whose offsets +1 … +span-1 are all free now (a cluster's members: CLUSTER_PORT_BASE)."""
    for _ in range(200):
        base = random.randrange(20000, 32000, 100)  # below Linux's ephemeral ports (32768-60999), free_port()'s
        try:
            for offset in range(1, span):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", base + offset))
        except OSError:
            continue
        return base
    raise UpstreamError("no free port range for the cluster")


def require_secrets(settings: Settings, *names: str) -> None:
    """Refuse to start a server whose caller check would have an empty secret (ConfigError names each key)."""
    missing = [name.upper() for name in names if not getattr(settings, name)]
    if missing:
        raise ConfigError(f"{', '.join(missing)} empty: set it in .env before starting the servers")


def rasa_env(settings: Settings) -> dict[str, str]:
    """Environment for `rasa` commands: the environment as read, plus what endpoints.yml reads."""
    env = dict(settings.extra)
    env.update(
        ACTION_ENDPOINT_URL=f"{settings.action_server_url}/webhook",
        # endpoints.yml sends it to the action server as `Authorization: Bearer …`.
        ACTION_SERVER_TOKEN=settings.action_server_token,
        RASA_TRACKER_URL=settings.rasa_tracker_url,
        RASA_LOCK_STORE=settings.rasa_lock_store,
        RASA_LOCK_HOST=settings.rasa_lock_host,
        RASA_LOCK_PORT=str(settings.rasa_lock_port),
        RASA_TELEMETRY_ENABLED="false",
        TF_CPP_MIN_LOG_LEVEL="2",
        SQLALCHEMY_SILENCE_UBER_WARNING="1",
    )
    return env


def _port(url: str) -> int:
    port = httpx.URL(url).port
    if port is None:
        raise ConfigError(f"{url} names no port")
    return port


@dataclass
class Stack:
    """The running processes of one system; stop() ends them all."""

    settings: Settings
    log_dir: Path = LOGS
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, name: str, cmd: list[str], env: Mapping[str, str]) -> None:
        """Start one process in its own process group, its output appended to `<log_dir>/<name>.log`."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        # The child keeps its own copy of the log descriptor; ours is closed once it has started.
        with (self.log_dir / f"{name}.log").open("ab") as log:
            # Own process group so Ctrl-C in the terminal reaches us first and we stop children in order.
            self.procs[name] = subprocess.Popen(
                cmd, cwd=ROOT, env=dict(env), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def wait_healthy(self, name: str, url: str, timeout: float) -> float:
        """Poll `url` until 200; raise if the process died or the time is up. Returns seconds waited."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            proc = self.procs[name]
            if proc.poll() is not None:
                raise UpstreamError(f"{name} exited with {proc.returncode}; see {self.log_dir / name}.log")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url, timeout=1.0).status_code == 200:
                    return time.monotonic() - started
            time.sleep(0.3)
        raise UpstreamError(f"{name} not healthy after {timeout:.0f} s ({url})")

    def stop(self, name: str | None = None) -> None:
        """Stop one process, or all in reverse start order: SIGTERM, then SIGKILL after 15 s."""
        names = [name] if name else list(reversed(self.procs))
        for n in names:
            proc = self.procs.pop(n, None)
            if proc is None or proc.poll() is not None:
                continue
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


# Runs in the Rasa environment: appends --jwt-secret from the environment in-process (out of `ps`).
RASA_BOOT = ROOT / "bot" / "boot" / "rasa_run.py"


def rasa_run_cmd(settings: Settings, model: Path) -> list[str]:
    """`rasa run` on BIND_HOST and the port of RASA_URL, its HTTP API open only to JWTs (secret from the env)."""
    # No --auth-token: Rasa reads that one from `?token=`, which lands in access logs.
    return [
        str(RASA_PYTHON), str(RASA_BOOT), "run",
        "--enable-api", "--jwt-method", "HS256",
        "-i", settings.bind_host, "-p", str(_port(settings.rasa_url)),
        "-m", str(model),
        "--credentials", "bot/credentials.yml",
        "--endpoints", "bot/endpoints.yml",
    ]  # fmt: skip


def start_rasa(stack: Stack, model: Path) -> None:
    """Start Rasa (rasa_run_cmd); refuses when a secret its callers or its action endpoint need is empty."""
    settings = stack.settings
    require_secrets(settings, "rasa_jwt_secret", "action_server_token")
    stack.start(
        "rasa", rasa_run_cmd(settings, model), {**rasa_env(settings), "RASA_JWT_SECRET": settings.rasa_jwt_secret}
    )


def app_env(settings: Settings) -> dict[str, str]:
    """Environment for our Python processes: the environment as read, with the addresses this stack uses."""
    env = dict(settings.extra)
    env.update(
        DATABASE_URL=settings.database_url,
        PORT=str(settings.port),
        RASA_URL=settings.rasa_url,
        RASA_JWT_SECRET=settings.rasa_jwt_secret,
        ACTION_SERVER_URL=settings.action_server_url,
    )
    return env


def actions_cmd(settings: Settings) -> list[str]:
    """The action server command: our launcher (actions/server.py), which checks the caller's token."""
    return [
        str(APP_PYTHON),
        "-m",
        "actions.server",
        "--actions",
        "actions",
        "--port",
        str(_port(settings.action_server_url)),
    ]


def actions_env(settings: Settings) -> dict[str, str]:
    """Environment of the action server: the app's, plus its bind address and the token it demands."""
    return {
        **app_env(settings),
        "APP_INTERNAL_URL": settings.internal_url,
        "BIND_HOST": settings.bind_host,
        "ACTION_SERVER_TOKEN": settings.action_server_token,
    }


def start_actions(stack: Stack) -> None:
    """The action server on BIND_HOST and the port of ACTION_SERVER_URL; it reaches the app at `internal_url`."""
    require_secrets(stack.settings, "action_server_token")
    stack.start("actions", actions_cmd(stack.settings), actions_env(stack.settings))


def app_cmd(settings: Settings) -> list[str]:
    """The front door under uvicorn on BIND_HOST and PORT."""
    return [
        str(APP_PYTHON), "-m", "uvicorn", "--factory", "sharedcourt.app:asgi",
        "--host", settings.bind_host, "--port", str(settings.port), "--no-access-log", "--ws", "none",
    ]  # fmt: skip


def start_app(stack: Stack) -> None:
    """The front door under uvicorn on BIND_HOST and PORT; its own lines go to a rotated file (LOG_FILE)."""
    # app.log keeps only what bypasses logging (a crash at start).
    log_file = stack.settings.log_file or str(stack.log_dir / "frontdoor.log")
    reset_multiproc_dir(stack.settings.prometheus_multiproc_dir)
    stack.start("app", app_cmd(stack.settings), {**app_env(stack.settings), "LOG_FILE": log_file})


@contextlib.contextmanager
def running(
    settings: Settings, *, model: Path, log_dir: Path = LOGS, rasa: bool = True, app: bool = True
) -> Iterator[Stack]:
    """Start action server, Rasa and the app; stop them all on exit."""
    from sharedcourt.db.migrate import upgrade

    upgrade(settings.database_url)
    stack = Stack(settings, log_dir)
    try:
        start_actions(stack)
        if rasa:
            start_rasa(stack, model)
        if app:
            start_app(stack)
        stack.wait_healthy("actions", f"{settings.action_server_url}/health", 60)
        if app:
            stack.wait_healthy("app", f"http://127.0.0.1:{settings.port}/", 60)
        if rasa:
            # ~40 s on an idle 2-core machine (docs/BENCHMARKS.md), but 323 s was measured under a load of 9.
            stack.wait_healthy("rasa", f"{settings.rasa_url}/", 600)
        yield stack
    finally:
        stack.stop()


def rss_mib(pid: int) -> float | None:
    """Resident memory of a process and its children (Linux /proc), in MiB."""
    total = 0
    pids = [pid]
    seen: set[int] = set()
    while pids:
        current = pids.pop()
        if current in seen:
            continue
        seen.add(current)
        try:
            status = Path(f"/proc/{current}/status").read_text()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
        pids.extend(int(c) for c in children)
    return total / 1024 if seen else None


def _hint_first_admin(settings: Settings) -> None:
    """Say once how to create the first console admin when the database has none (it is migrated by now)."""
    from sharedcourt.cli.staff import first_admin_hint

    hint = first_admin_hint(settings)
    if hint:
        print(hint, flush=True)


def run_forever(settings: Settings) -> int:
    """`make run`: migrate, train if needed, start everything, wait for Ctrl-C."""
    started = time.monotonic()
    model = train()
    print("starting the action server, Rasa and the front door …", flush=True)
    stop = {"now": False}

    def _stop(signum: int, _frame: object) -> None:
        stop["now"] = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    with running(settings, model=model) as stack:
        print(f"ready in {time.monotonic() - started:.0f} s", flush=True)
        for name, proc in stack.procs.items():
            print(f"  {name:8s} pid {proc.pid:<7d} {rss_mib(proc.pid) or 0:.0f} MiB", flush=True)
        print(f"web chat:  {settings.public_url}/", flush=True)
        print(f"ready:     {settings.public_url}/readyz", flush=True)
        print("logs:      var/log/*.log    (Ctrl-C stops everything)", flush=True)
        _hint_first_admin(settings)
        while not stop["now"]:
            for name, proc in stack.procs.items():
                if proc.poll() is not None:
                    print(f"{name} exited with {proc.returncode}; see var/log/{name}.log", file=sys.stderr)
                    return 1
            time.sleep(0.5)
        print("stopping …", flush=True)
    return 0
