"""The Makefile's cleaning targets: `make clean` never touches the database, evidence files or logs; `make
clean-data` deletes them only after a typed yes on a terminal, or with CONFIRM=yes."""

from __future__ import annotations

import json
import os
import pty
import shutil
import subprocess
from pathlib import Path

import pytest

# What var/ holds: the SQLite database, evidence files (EVIDENCE_DIR's default) and the logs of `make run`.
KEPT = ("var", "sharedcourt.db", ".db", "evidence", "log")


def test_make_clean_names_no_database_evidence_or_log_path(repo_root: Path) -> None:
    dry = subprocess.run(["make", "-n", "clean"], cwd=repo_root, capture_output=True, text=True, timeout=60, check=True)
    words = dry.stdout.split()
    assert "rm" in words, f"control: the dry run lists the commands\n{dry.stdout}"
    touched = [w for w in words if any(k in w for k in KEPT)]
    assert touched == [], f"make clean would touch {touched}"


@pytest.fixture
def project(tmp_path: Path, repo_root: Path) -> Path:
    """A copy of the Makefile beside a var/ holding a database, an evidence file and a log."""
    shutil.copy(repo_root / "Makefile", tmp_path / "Makefile")
    for name in ("var/sharedcourt.db", "var/evidence/ab12.jpg", "var/log/frontdoor.log"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"keep me")
    return tmp_path


def _make(project: Path, *args: str, stdin: int | None = subprocess.DEVNULL) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CONFIRM", "MAKEFLAGS")}
    return subprocess.run(
        ["make", "-s", *args], cwd=project, stdin=stdin, capture_output=True, text=True, timeout=60, env=env
    )


def test_clean_data_refuses_without_a_terminal(project: Path) -> None:
    done = _make(project, "clean-data")
    assert done.returncode != 0
    assert "CONFIRM=yes" in done.stderr
    assert (project / "var" / "sharedcourt.db").read_bytes() == b"keep me"


def test_clean_data_with_confirm_yes_deletes_var(project: Path) -> None:
    assert _make(project, "clean-data", "CONFIRM=yes").returncode == 0
    assert not (project / "var").exists()


def _typed(project: Path, answer: bytes) -> int:
    leader, follower = pty.openpty()
    try:
        env = {k: v for k, v in os.environ.items() if k not in ("CONFIRM", "MAKEFLAGS")}
        command = ["make", "-s", "clean-data"]
        proc = subprocess.Popen(
            command, cwd=project, stdin=follower, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
        )
        os.write(leader, answer)
        proc.communicate(timeout=60)
        return proc.returncode
    finally:
        os.close(leader)
        os.close(follower)


@pytest.mark.parametrize("answer", [b"no\n", b"y\n", b"YES please\n", b"\n"])
def test_clean_data_on_a_terminal_keeps_everything_unless_yes_is_typed(project: Path, answer: bytes) -> None:
    assert _typed(project, answer) != 0
    assert (project / "var" / "evidence" / "ab12.jpg").exists()


def test_clean_data_on_a_terminal_deletes_after_yes(project: Path) -> None:
    assert _typed(project, b"yes\n") == 0
    assert not (project / "var").exists()


def test_install_fetches_the_pinned_echarts_from_npm_and_git_keeps_no_copy(repo_root: Path) -> None:
    lock = json.loads((repo_root / "frontend" / "package-lock.json").read_text(encoding="utf-8"))
    echarts = lock["packages"]["node_modules/echarts"]
    assert echarts["version"] == "5.6.0" and echarts["integrity"].startswith("sha512-")
    dry = subprocess.run(
        ["make", "-n", "-B", "sharedcourt/web/static/vendor/echarts.min.js"],
        cwd=repo_root, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert "npm ci" in dry.stdout and "dist/echarts.common.min.js" in dry.stdout
    tracked = subprocess.run(
        ["git", "ls-files", "sharedcourt/web/static/vendor"], cwd=repo_root, capture_output=True, text=True, check=True
    ).stdout.split()
    assert tracked and "sharedcourt/web/static/vendor/echarts.min.js" not in tracked
