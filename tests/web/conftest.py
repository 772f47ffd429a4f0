"""The real-browser pages' chromium, for tests/web and tests/web/workspace."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser
from stand_ins.browser import chromium


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Debian's chromium for one test; fails (not skips) when it is not installed."""
    async with chromium() as launched:
        yield launched
