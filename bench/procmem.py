"""Memory of running processes read from Linux /proc, for the benchmarks: RSS and PSS of a process and its children.

RSS counts every page a process maps, shared or not: summing it over processes counts shared libraries and
PostgreSQL's shared buffers once per process. PSS (`/proc/<pid>/smaps_rollup`, readable for our own processes and
for every process as root) divides each shared page among the processes that map it, so PSS adds up to what the
processes together hold. Where PSS is not readable, it is None and only RSS is reported.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

PROC = Path("/proc")
MIB = 1024  # kB per MiB
# A PostgreSQL backend: "postgres: 15/main: <user> <database> <address>(<port>) <state>" (or [local]).
PG_BACKEND = re.compile(r"^postgres: [^:]+: (\S+) (\S+) (\S+\(\d+\)|\[local\])")


@dataclass(frozen=True)
class Mem:
    """Resident memory in kB; pss None when smaps_rollup could not be read."""

    rss: int
    pss: int | None

    def __add__(self, other: Mem) -> Mem:
        pss = None if self.pss is None or other.pss is None else self.pss + other.pss
        return Mem(self.rss + other.rss, pss)


def field_kb(text: str, key: str) -> int | None:
    """The kB value of a `Key:   123 kB` line of /proc/<pid>/status or smaps_rollup."""
    for line in text.splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1])
    return None


def read_mem(pid: int, proc: Path = PROC, *, pss: bool = True, key: str = "VmRSS") -> Mem | None:
    """RSS (or another status field: VmHWM) and PSS of one process; None when it is gone or a kernel thread.

    Reading smaps_rollup walks the process's page tables (~0.1 s for a 900 MiB Rasa on a busy machine), so a
    sampler reads PSS less often than RSS (pss=False: pss None).
    """
    try:
        rss = field_kb((proc / str(pid) / "status").read_text(), key)
    except OSError:
        return None
    if rss is None or not pss:
        return None if rss is None else Mem(rss, None)
    try:
        return Mem(rss, field_kb((proc / str(pid) / "smaps_rollup").read_text(), "Pss"))
    except OSError:
        return Mem(rss, None)


def descendants(pid: int, proc: Path = PROC) -> list[int]:
    """The process and every process below it (children of any of its threads)."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        if current in found:
            continue
        found.append(current)
        for children in (proc / str(current) / "task").glob("*/children"):
            try:
                todo.extend(int(c) for c in children.read_text().split())
            except OSError:
                continue
    return found


def tree_mem(pid: int, proc: Path = PROC, *, pss: bool = True, key: str = "VmRSS") -> Mem | None:
    """RSS and PSS summed over a process and its descendants; None when the process is gone."""
    parts = [m for m in (read_mem(p, proc, pss=pss, key=key) for p in descendants(pid, proc)) if m is not None]
    if not parts:
        return None
    total = parts[0]
    for part in parts[1:]:
        total = total + part
    return total


def stat_cpu_seconds(stat: str, hz: int) -> float:
    """User + system CPU seconds of a /proc/<pid>/stat line (all its threads); the name in () may hold spaces."""
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / hz  # utime and stime: fields 14 and 15 of proc(5)


def tree_cpu_seconds(pid: int, proc: Path = PROC) -> float:
    """CPU seconds used so far by a process and its living descendants."""
    hz, total = os.sysconf("SC_CLK_TCK"), 0.0
    for p in descendants(pid, proc):
        try:
            total += stat_cpu_seconds((proc / str(p) / "stat").read_text(), hz)
        except (OSError, IndexError):
            continue
    return total


def classify_postgres(cmdline: str, database: str) -> str:
    """`backend` (a connection to `database`), `other` (a connection to another database) or `server`."""
    found = PG_BACKEND.match(cmdline)
    if found is None:
        return "server"  # the postmaster, checkpointer, writers, autovacuum, replication launcher
    return "backend" if found.group(2) == database else "other"


def processes_named(comm: str, proc: Path = PROC) -> dict[int, str]:
    """Every process whose command name is `comm`: pid -> its command line (spaces for NULs)."""
    found = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() != comm:
                continue
            found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
        except OSError:
            continue
    return found


def servers_mem(database: str, proc: Path = PROC, *, pss: bool = True) -> dict[str, Mem]:
    """PostgreSQL's server processes, its backends for `database`, and redis-server, each group summed."""
    groups: dict[str, list[int]] = {"postgres server": [], "postgres backends (this run)": [], "redis-server": []}
    for pid, cmdline in processes_named("postgres", proc).items():
        kind = classify_postgres(cmdline, database)
        if kind != "other":
            groups["postgres server" if kind == "server" else "postgres backends (this run)"].append(pid)
    groups["redis-server"] = list(processes_named("redis-server", proc))
    out = {}
    for name, pids in groups.items():
        parts = [m for m in (read_mem(p, proc, pss=pss) for p in pids) if m is not None]
        if parts:
            total = parts[0]
            for part in parts[1:]:
                total = total + part
            out[name] = total
    return out


def _max(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else max(a, b)


@dataclass
class Peaks:
    """Peak RSS and PSS per name over samples, and the peak of the sum over names taken at the same time."""

    rss: dict[str, int] = field(default_factory=dict)
    pss: dict[str, int | None] = field(default_factory=dict)
    total_rss: int = 0
    total_pss: int | None = None
    samples: int = 0

    def add(self, sample: Mapping[str, Mem]) -> None:
        """One sample: every name's memory at (about) the same moment."""
        self.samples += 1
        for name, mem in sample.items():
            self.rss[name] = max(self.rss.get(name, 0), mem.rss)
            self.pss[name] = _max(self.pss.get(name), mem.pss)
        self.total_rss = max(self.total_rss, sum(m.rss for m in sample.values()))
        if all(m.pss is not None for m in sample.values()):
            self.total_pss = _max(self.total_pss, sum(m.pss or 0 for m in sample.values()))

    def merge(self, other: Peaks) -> None:
        """The peaks of both (rounds of the same configuration)."""
        for name, rss in other.rss.items():
            self.rss[name] = max(self.rss.get(name, 0), rss)
            self.pss[name] = _max(self.pss.get(name), other.pss.get(name))
        self.total_rss = max(self.total_rss, other.total_rss)
        self.total_pss = _max(self.total_pss, other.total_pss)
        self.samples += other.samples


class Sampler:
    """A thread calling `sample(pss)` every `interval` seconds into `peaks` until stop(); PSS every `pss_every`-th."""

    def __init__(self, sample: Callable[[bool], Mapping[str, Mem]], interval: float = 2.0, pss_every: int = 5) -> None:
        self.sample, self.interval, self.pss_every = sample, interval, pss_every
        self.peaks = Peaks()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peaks.add(self.sample(self.peaks.samples % self.pss_every == 0))
            self._stop.wait(self.interval)

    def start(self) -> None:
        """Begin sampling."""
        self._thread.start()

    def stop(self) -> Peaks:
        """End sampling (one last sample) and return the peaks."""
        self._stop.set()
        self._thread.join()
        self.peaks.add(self.sample(True))
        return self.peaks
