"""bench/procmem.py: memory of process trees and of PostgreSQL's and Redis's processes, read from a fake /proc."""

from __future__ import annotations

import importlib.util
import os
import sys
import time
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("procmem", ROOT / "bench" / "procmem.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["procmem"] = module  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    return module


pm = _load()


def fake(proc: Path, pid: int, comm: str, rss: int | None, pss: int | None, children: dict[int, list[int]]) -> None:
    """A /proc/<pid> with status, smaps_rollup (unless pss is None) and children per thread id."""
    d = proc / str(pid)
    d.mkdir(parents=True)
    (d / "comm").write_text(f"{comm}\n")
    (d / "cmdline").write_bytes(comm.encode() + b"\0")
    (d / "status").write_text(f"Name:\t{comm}\n" + (f"VmRSS:\t {rss} kB\n" if rss is not None else ""))
    if pss is not None:
        (d / "smaps_rollup").write_text(f"00-ff ---p 0 00:00 0 [rollup]\nRss:  {rss} kB\nPss:   {pss} kB\n")
    for tid, kids in children.items():
        (d / "task" / str(tid)).mkdir(parents=True)
        (d / "task" / str(tid) / "children").write_text(" ".join(map(str, kids)))


def test_a_tree_sums_its_processes_including_children_of_other_threads(tmp_path: Path) -> None:
    fake(tmp_path, 10, "python", 1000, 600, {10: [11], 12: [13]})  # 13 forked from thread 12
    fake(tmp_path, 11, "python", 200, 100, {11: []})
    fake(tmp_path, 13, "python", 50, 30, {13: []})
    assert sorted(pm.descendants(10, tmp_path)) == [10, 11, 13]
    assert pm.tree_mem(10, tmp_path) == pm.Mem(1250, 730)


def test_pss_unknown_when_one_rollup_is_unreadable_and_gone_or_kernel_processes_count_nothing(tmp_path: Path) -> None:
    fake(tmp_path, 20, "python", 300, None, {20: [21, 22]})
    fake(tmp_path, 21, "kthread", None, None, {21: []})
    assert pm.tree_mem(20, tmp_path) == pm.Mem(300, None)  # 22 is gone, 21 has no VmRSS
    assert pm.tree_mem(99, tmp_path) is None


def test_postgres_processes_are_told_apart_by_their_command_line() -> None:
    assert pm.classify_postgres("/usr/lib/postgresql/15/bin/postgres -D /var/lib/postgresql/15/main", "b1") == "server"
    assert pm.classify_postgres("postgres: 15/main: checkpointer", "b1") == "server"
    assert pm.classify_postgres("postgres: 15/main: autovacuum worker b1", "b1") == "server"
    assert pm.classify_postgres("postgres: 15/main: postgres b1 127.0.0.1(51234) idle", "b1") == "backend"
    assert pm.classify_postgres("postgres: 15/main: postgres b1 [local] SELECT", "b1") == "backend"
    assert pm.classify_postgres("postgres: 15/main: postgres test 127.0.0.1(51299) idle", "b1") == "other"


def test_servers_leave_out_other_databases_backends(tmp_path: Path) -> None:
    fake(tmp_path, 30, "postgres", 100, 40, {})
    fake(tmp_path, 31, "postgres", 80, 10, {})
    fake(tmp_path, 32, "postgres", 90, 20, {})
    fake(tmp_path, 33, "redis-server", 12, 11, {})
    (tmp_path / "31" / "cmdline").write_bytes(b"postgres: 15/main: postgres b1 127.0.0.1(5) idle\0")
    (tmp_path / "32" / "cmdline").write_bytes(b"postgres: 15/main: postgres test 127.0.0.1(6) idle\0")
    (tmp_path / "self").mkdir()
    assert pm.servers_mem("b1", tmp_path) == {
        "postgres server": pm.Mem(100, 40),
        "postgres backends (this run)": pm.Mem(80, 10),
        "redis-server": pm.Mem(12, 11),
    }


def test_the_total_is_the_peak_of_simultaneous_sums_not_the_sum_of_peaks() -> None:
    peaks = pm.Peaks()
    peaks.add({"a": pm.Mem(100, 50), "b": pm.Mem(10, 5)})
    peaks.add({"a": pm.Mem(20, 10), "b": pm.Mem(90, 45)})
    assert (peaks.rss, peaks.pss) == ({"a": 100, "b": 90}, {"a": 50, "b": 45})
    assert (peaks.total_rss, peaks.total_pss) == (110, 55)
    peaks.add({"a": pm.Mem(5, None)})
    assert (peaks.pss["a"], peaks.total_pss) == (50, 55)  # a sample without PSS leaves the PSS peaks alone
    other = pm.Peaks()
    other.add({"c": pm.Mem(300, 200)})
    peaks.merge(other)
    assert (peaks.rss["c"], peaks.total_rss, peaks.total_pss, peaks.samples) == (300, 300, 200, 4)


def test_this_process_is_readable_in_the_real_proc() -> None:
    mem = pm.read_mem(os.getpid())
    assert mem is not None and mem.rss > 1000 and (mem.pss is None or 0 < mem.pss <= mem.rss)


def test_a_cheap_sample_reads_rss_only_and_the_peak_from_vmhwm(tmp_path: Path) -> None:
    fake(tmp_path, 40, "python", 500, 400, {40: []})
    (tmp_path / "40" / "status").write_text("Name:\tpython\nVmHWM:\t  900 kB\nVmRSS:\t  500 kB\n")
    assert pm.tree_mem(40, tmp_path, pss=False) == pm.Mem(500, None)
    assert pm.tree_mem(40, tmp_path, pss=False, key="VmHWM") == pm.Mem(900, None)
    assert pm.tree_mem(40, tmp_path) == pm.Mem(500, 400)


def test_the_sampler_reads_pss_every_nth_sample_and_once_more_at_the_end() -> None:
    asked: list[bool] = []

    def sample(pss: bool) -> dict[str, object]:
        asked.append(pss)
        return {"a": pm.Mem(len(asked), len(asked) if pss else None)}

    sampler = pm.Sampler(sample, interval=0.001, pss_every=3)
    sampler.start()
    while len(asked) < 7:
        time.sleep(0.005)
    peaks = sampler.stop()
    assert asked[:7] == [True, False, False, True, False, False, True] and asked[-1] is True
    assert peaks.rss["a"] == len(asked) == peaks.pss["a"]


def test_cpu_seconds_are_user_plus_system_time_even_with_spaces_in_the_name() -> None:
    stat = "4242 (rasa run (x)) S 1 4242 4242 0 -1 4194560 9 0 0 0 250 50 7 3 20 0 40 0 100 2000 300"
    assert pm.stat_cpu_seconds(stat, 100) == 3.0  # (250 + 50) ticks at 100 Hz; children's 7 + 3 not counted


def test_this_process_has_used_some_cpu() -> None:
    assert pm.tree_cpu_seconds(os.getpid()) > 0
