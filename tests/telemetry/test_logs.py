"""Logs (sharedcourt.telemetry.logs): JSON lines that parse, a request id on every line of its request (kept when
well-formed, replaced otherwise, echoed in the response), the conversation id once known, stdout or rotated files."""

from __future__ import annotations

import contextvars
import io
import json
import logging
import logging.handlers
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from stand_ins.secure_app import secure_app

from sharedcourt.db.wire_logs import DropWireDetail, quiet_wire_logs
from sharedcourt.errors import ConfigError
from sharedcourt.settings import Settings
from sharedcourt.telemetry.logs import (
    UVICORN_LOGGERS,
    ContextFilter,
    JsonFormatter,
    accept_request_id,
    bind_conversation,
    configure_logging,
    handler,
)

GENERATED = re.compile(r"[0-9a-f]{32}")


def _settings(tmp_path: Path, **env: str) -> Settings:
    return Settings.from_env(env, env_file=tmp_path / "absent.env")


@pytest.fixture
def json_file(tmp_path: Path) -> Iterator[Path]:
    """Every record at INFO and above, as the app writes it with LOG_FORMAT=json and LOG_FILE set."""
    path = tmp_path / "log" / "frontdoor.log"
    installed = handler(_settings(tmp_path, LOG_FORMAT="json", LOG_FILE=str(path)))
    root = logging.getLogger()
    level = root.level
    root.addHandler(installed)
    root.setLevel(logging.INFO)
    try:
        yield path
    finally:
        root.removeHandler(installed)
        root.setLevel(level)
        installed.close()


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize(
    ("incoming", "kept"),
    [
        ("3f2a9c1e-5b7d-4e21-9a0b-1c2d3e4f5a6b", True),
        ("lb-20240601T101500-0001", True),
        ("abc", False),
        ("x" * 65, False),
        ("bad id with spaces", False),
        ('evil"\n{"level":"CRITICAL"}', False),
        ("", False),
        (None, False),
    ],
)
def test_a_well_formed_request_id_is_kept_anything_else_replaced(incoming: str | None, kept: bool) -> None:
    chosen = accept_request_id(incoming)
    assert (chosen == incoming) is kept
    if not kept:
        assert GENERATED.fullmatch(chosen)


async def test_request_id_is_echoed_and_carried_into_every_line_of_its_request(
    database_url: str, sessions: object, json_file: Path
) -> None:
    rid = "lb-7f3a9c1e5b7d4e21"
    async with secure_app(database_url) as stack:
        response = await stack.client.post("/webchat/messages", json={"text": "你好"}, headers={"X-Request-ID": rid})
        assert response.status_code == 200
        assert response.headers["x-request-id"] == rid
        bad = await stack.client.post("/webchat/messages", json={"text": "在吗"}, headers={"X-Request-ID": "a b"})
        other = await stack.client.get("/livez")
    replaced = bad.headers["x-request-id"]
    assert GENERATED.fullmatch(replaced) and replaced != "a b"
    assert GENERATED.fullmatch(other.headers["x-request-id"]) and other.headers["x-request-id"] != replaced
    lines = _lines(json_file)
    mine = [line for line in lines if line["request_id"] == rid]
    assert mine, "control: the request wrote lines (its call to Rasa at least)"
    assert all({"time", "level", "logger", "message", "request_id"} <= set(line) for line in lines)
    turn = [line for line in mine if "rasa.test" in str(line["message"])]
    assert turn and all(isinstance(line.get("conversation_id"), str) for line in turn), turn
    assert any(line["request_id"] == replaced for line in lines), "the replaced id is the one logged"
    assert not any(line["request_id"] == "a b" for line in lines)


def test_json_lines_parse_and_keep_a_traceback_on_one_line(tmp_path: Path, json_file: Path) -> None:
    log = logging.getLogger("sharedcourt.test_logs")

    def write() -> None:
        bind_conversation("c0ffee")
        log.info('第%s条 "quoted" line\nwith a newline', 1)
        try:
            raise ValueError("boom")
        except ValueError:
            log.exception("failed")

    # In a copy of the context: the conversation bound here must not follow later tests.
    contextvars.copy_context().run(write)
    raw = json_file.read_text(encoding="utf-8").splitlines()
    assert len(raw) == 2, raw
    first, second = (json.loads(line) for line in raw)
    assert first["message"] == '第1条 "quoted" line\nwith a newline'
    assert (first["level"], first["logger"], first["request_id"]) == ("INFO", "sharedcourt.test_logs", None)
    assert first["conversation_id"] == "c0ffee"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", str(first["time"]))
    assert "ValueError: boom" in second["exception"] and second["level"] == "ERROR"


def test_text_format_names_the_ids_too(tmp_path: Path) -> None:
    installed = handler(_settings(tmp_path))
    assert isinstance(installed, logging.StreamHandler) and installed.stream is sys.stdout
    out = io.StringIO()
    installed.setStream(out)
    record = logging.LogRecord("sharedcourt.x", logging.WARNING, __file__, 1, "hello %s", ("you",), None)
    installed.handle(record)
    assert re.fullmatch(r"\S+ \S+ WARNING sharedcourt\.x \[- \S+\] hello you\n", out.getvalue()), out.getvalue()


def test_rotated_files_keep_the_configured_count(tmp_path: Path) -> None:
    path = tmp_path / "frontdoor.log"
    installed = handler(_settings(tmp_path, LOG_FILE=str(path), LOG_MAX_BYTES="300", LOG_BACKUP_COUNT="2"))
    assert isinstance(installed, logging.handlers.RotatingFileHandler)
    try:
        for i in range(40):
            installed.handle(logging.LogRecord("x", logging.INFO, __file__, 1, "line %d of the test", (i,), None))
    finally:
        installed.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["frontdoor.log", "frontdoor.log.1", "frontdoor.log.2"]
    assert all(p.stat().st_size <= 300 for p in tmp_path.iterdir())


def test_configure_logging_sets_the_level_routes_uvicorn_and_keeps_the_wire_filters(tmp_path: Path) -> None:
    root = logging.getLogger()
    saved = (root.level, list(root.handlers))
    uvicorn = [
        (logging.getLogger(n), logging.getLogger(n).propagate, list(logging.getLogger(n).handlers))
        for n in UVICORN_LOGGERS
    ]
    quiet_wire_logs()
    try:
        installed = configure_logging(_settings(tmp_path, LOG_LEVEL="debug", LOG_FORMAT="json"))
        assert root.handlers == [installed] and root.level == logging.DEBUG
        assert isinstance(installed.formatter, JsonFormatter)
        assert any(isinstance(f, ContextFilter) for f in installed.filters)
        for name in UVICORN_LOGGERS:
            assert logging.getLogger(name).propagate and not logging.getLogger(name).handlers
        assert any(isinstance(f, DropWireDetail) for f in logging.getLogger("aiosqlite").filters)
    finally:
        for h in list(root.handlers):
            root.removeHandler(h)
        for h in saved[1]:
            root.addHandler(h)
        root.setLevel(saved[0])
        for logger, propagate, handlers in uvicorn:
            logger.propagate = propagate
            logger.handlers[:] = handlers


@pytest.mark.parametrize(("key", "value"), [("LOG_LEVEL", "LOUD"), ("LOG_FORMAT", "xml"), ("LOG_MAX_BYTES", "big")])
def test_bad_log_settings_fail_loudly(tmp_path: Path, key: str, value: str) -> None:
    with pytest.raises(ConfigError, match=key):
        _settings(tmp_path, **{key: value})
