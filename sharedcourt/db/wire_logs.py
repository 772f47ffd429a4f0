"""Keep the drivers' wire logs out of every log file: they print SQL parameters and secret URLs.

At DEBUG, aiosqlite and psycopg print each statement with its parameters (residents' words, phone and ID
numbers), SQLAlchemy prints result rows, and urllib3 prints the URLs wechatpy calls (`/cgi-bin/token?...&secret=`).
SQLAlchemy's statement log hides parameters (`hide_parameters=True` on every engine, db.session). These records
are dropped at the logger that makes them, whatever level an operator sets on the root or on the driver's logger.
"""

from __future__ import annotations

import logging

# Each logger that prints wire data, and the lowest level of its that carries none.
WIRE_LOGGERS = {
    "sqlalchemy.engine.Engine": logging.INFO,  # DEBUG prints every result row; INFO is the statement alone
    "aiosqlite": logging.WARNING,
    "psycopg": logging.WARNING,
    "psycopg.pool": logging.WARNING,
    "urllib3.connectionpool": logging.WARNING,
    "httpcore.http11": logging.WARNING,
}


class DropWireDetail(logging.Filter):
    """Drop a wire logger's records below `floor` (they carry parameters, rows or URLs)."""

    def __init__(self, floor: int) -> None:
        super().__init__()
        self.floor = floor

    def filter(self, record: logging.LogRecord) -> bool:
        """True keeps the record."""
        return record.levelno >= self.floor


def quiet_wire_logs() -> None:
    """Install the filter on each wire logger once (idempotent; call from a factory, never at import)."""
    for name, floor in WIRE_LOGGERS.items():
        logger = logging.getLogger(name)
        if not any(isinstance(f, DropWireDetail) for f in logger.filters):
            logger.addFilter(DropWireDetail(floor))
