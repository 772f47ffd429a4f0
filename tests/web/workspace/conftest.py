"""The workspace browser tests' screenshot folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from stand_ins.browser import shots_dir


@pytest.fixture
def shots() -> Path:
    """results/screenshots/issue13/ (the workspace's issue)."""
    return shots_dir("issue13")
