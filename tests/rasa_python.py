"""Run a script in the Rasa environment's interpreter (tests of bot/ code, which imports Rasa) and read its answer."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from sharedcourt.cli.procs import RASA_BIN, ROOT

RASA_PYTHON = RASA_BIN.parent / "python"


def run_in_rasa(script: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """The finished script (cwd: the project); the test fails with its stderr if it failed."""
    if not RASA_PYTHON.exists():
        pytest.fail(f"{RASA_PYTHON} missing: run `make install` first")
    done = subprocess.run(
        [str(RASA_PYTHON), "-c", script, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def answer(done: subprocess.CompletedProcess[str]) -> Any:
    """The JSON a script printed on its last line."""
    return json.loads(done.stdout.strip().splitlines()[-1])


def in_rasa(script: str, *args: str, timeout: float = 300) -> Any:
    """The JSON the script prints on its last line."""
    return answer(run_in_rasa(script, *args, timeout=timeout))
