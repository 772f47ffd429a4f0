"""The cluster's members and haproxy config (sharedcourt.cli.cluster), without starting anything."""

from __future__ import annotations

import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from sharedcourt.cli.cluster import Cluster, check_cluster_settings, env_of, haproxy_bin, haproxy_config, members
from sharedcourt.errors import ConfigError
from sharedcourt.settings import Settings

PG = "postgresql://postgres@127.0.0.1:5432/sharedcourt_cluster"


def _settings(**env: str) -> Settings:
    base = {"DATABASE_URL": PG, "PORT": "9000", "CLUSTER_PORT_BASE": "9100", "RASA_JWT_SECRET": "j" * 32}
    return Settings.from_env({**base, "ACTION_SERVER_TOKEN": "a" * 32, **env}, env_file=Path("/nonexistent"))


def test_every_member_has_its_own_port_and_reaches_the_others_through_the_balancer() -> None:
    settings = _settings(CLUSTER_REPLICAS="3")
    cluster = members(settings)
    assert [m.name for m in cluster] == [f"{r}{i}" for r in ("actions", "rasa", "frontdoor") for i in (1, 2, 3)]
    assert len({m.port for m in cluster}) == 9
    assert {m.port for m in cluster if m.role == "frontdoor"} == {9101, 9102, 9103}
    for m in cluster:
        assert m.settings.database_url == PG and m.settings.public_url == "http://127.0.0.1:9000"
        if m.role == "frontdoor":
            assert m.settings.rasa_url == settings.rasa_url  # haproxy's Rasa frontend: every replica
            assert m.settings.action_server_url == settings.action_server_url
        if m.role == "rasa":
            assert m.settings.rasa_lock_store == "redis"
            assert m.settings.action_server_url == settings.action_server_url
        if m.role == "actions":
            assert m.settings.internal_url == "http://127.0.0.1:9000"  # the front doors through haproxy


def test_a_members_environment_reads_back_as_its_settings() -> None:
    for m in members(_settings(WECHAT_TOKEN="t", RASA_TIMEOUT="42.5")):
        again = Settings.from_env(env_of(m.settings), env_file=Path("/nonexistent"))
        assert replace(again, extra={}) == replace(m.settings, extra={})


def test_no_member_gets_an_empty_multiprocess_metrics_directory() -> None:
    # Present but empty, prometheus_client would write its value files into the member's working directory.
    for m in members(_settings(PROMETHEUS_MULTIPROC_DIR="")):
        assert "PROMETHEUS_MULTIPROC_DIR" not in env_of(m.settings)
    for m in members(_settings(PROMETHEUS_MULTIPROC_DIR="/run/sc-metrics")):
        assert env_of(m.settings)["PROMETHEUS_MULTIPROC_DIR"] == "/run/sc-metrics"


def test_the_config_balances_each_role_over_its_members_with_health_checks() -> None:
    config = haproxy_config(_settings())
    for name, port in [("frontdoor1", 9101), ("frontdoor2", 9102), ("rasa1", 9111), ("actions2", 9122)]:
        assert f"server {name} 127.0.0.1:{port} check" in config
    assert "bind 127.0.0.1:9000" in config and "bind 127.0.0.1:5005" in config and "bind 127.0.0.1:5055" in config
    assert config.count("balance roundrobin") == 3 and config.count("option httpchk") == 2
    assert "retry-on conn-failure" in config and "empty-response" not in config


def test_haproxy_accepts_the_generated_config(tmp_path: Path) -> None:
    path = tmp_path / "haproxy.cfg"
    path.write_text(haproxy_config(_settings()), encoding="utf-8")
    # `make pytest` installs haproxy (in /usr/sbin, often not on PATH): missing is a failure, not a skip.
    checked = subprocess.run([haproxy_bin(), "-c", "-f", str(path)], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_cluster_refuses_sqlite_and_empty_secrets() -> None:
    with pytest.raises(ConfigError, match="PostgreSQL"):
        check_cluster_settings(_settings(DATABASE_URL="sqlite:///x.db"))
    with pytest.raises(ConfigError, match="RASA_JWT_SECRET"):
        check_cluster_settings(_settings(RASA_JWT_SECRET=""))
    with pytest.raises(ConfigError, match="CLUSTER_REPLICAS"):
        check_cluster_settings(_settings(CLUSTER_REPLICAS="0"))


def test_a_killed_member_is_gone_from_the_stack_and_started_again(tmp_path: Path) -> None:
    cluster = Cluster(_settings(), Path("model.tar.gz"), tmp_path / "logs", tmp_path / "run")
    cluster.stack.start("frontdoor1", ["sleep", "60"], {})
    cluster.kill("frontdoor1")
    assert "frontdoor1" not in cluster.stack.procs
    cluster.stop()
