"""What the check reads besides Azure: durations, clouds, the endpoints file, the table's probe keys."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from checks.clouds import cloud_profile
from checks.durations import human_duration, parse_duration
from checks.endpoints import EndpointsError, parse_endpoints, read_endpoints
from checks.jobs import jobs_for, subjects_for
from checks.outputs import read_outputs_file
from checks.targets import TargetsError, load_targets, parse_targets

FIXTURES = Path(__file__).parent / "fixtures" / "checks"
EXAMPLE = Path(__file__).resolve().parent.parent / "checks" / "endpoints.example.yaml"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("15m", timedelta(minutes=15)),
        ("90s", timedelta(seconds=90)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("2.5s", timedelta(seconds=2.5)),
        ("PT15M", timedelta(minutes=15)),
        ("pt1h", timedelta(hours=1)),
        ("P1D", timedelta(days=1)),
        ("300", timedelta(seconds=300)),
        ("0s", timedelta(0)),
    ],
)
def test_durations_in_both_notations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "fortnight", "15 minutes", "P", "PT", "-5m"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_human_durations() -> None:
    assert human_duration(timedelta(minutes=15)) == "15 min"
    assert human_duration(timedelta(hours=2)) == "2 h"
    assert human_duration(timedelta(seconds=45)) == "45 s"


def test_cloud_profiles_and_overrides() -> None:
    china = cloud_profile("china", logs_endpoint="https://127.0.0.1:9")
    assert china.logs_endpoint == "https://127.0.0.1:9"
    assert china.logs_audience == "https://api.loganalytics.azure.cn"
    assert china.arm_endpoint == "https://management.chinacloudapi.cn"
    with pytest.raises(ValueError, match="unknown cloud 'mars'"):
        cloud_profile("mars")


def test_the_example_endpoints_file_is_valid() -> None:
    endpoints = read_endpoints(EXAMPLE)
    assert endpoints.redis is not None and endpoints.redis.password_env == "FIN_REDIS_PASSWORD"
    assert endpoints.database is not None and endpoints.database.dsn_env == "FIN_DATABASE_DSN"


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"services": {"api": {"url": "http://x"}}}, "services.api.[key]"),
        ({"services": {"backend": {"url": "ftp://x"}}}, "must start with http:// or https://"),
        ({"services": {"backend": {"paths": ["health"]}}}, "paths must start with '/'"),
        ({"redis": {"port": 70000}}, "redis.port"),
        ({"redis": {"passwordEnv": "not a name"}}, "redis.passwordEnv"),
        ({"database": {"dsn": "postgresql://u:p@h/db"}}, "database.dsn"),
        ({"probes": {"http": {"ratePerSecond": 0}}}, "probes.http.ratePerSecond"),
    ],
)
def test_an_invalid_endpoints_file_names_the_offending_key(document: dict, message: str) -> None:
    with pytest.raises(EndpointsError) as error:
        parse_endpoints(document, "e.yaml")
    assert message in str(error.value)
    assert "postgresql://u:p@h/db" not in str(error.value), "a DSN written inline is refused without echoing it"


def test_unreadable_endpoints_files(tmp_path: Path) -> None:
    with pytest.raises(EndpointsError, match="does not exist"):
        read_endpoints(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("redis: [unclosed", encoding="utf-8")
    with pytest.raises(EndpointsError, match="not valid YAML"):
        read_endpoints(broken)


def test_probe_paths_in_the_target_table() -> None:
    table = load_targets()
    http = next(m for m in table.get("api-latency").measure if m.source == "probe")
    page = next(m for m in table.get("page-load").measure if m.source == "probe")
    assert http.default_paths() == ["{healthPath}"] and page.default_paths() == ["/"]
    source = (Path(__file__).resolve().parent.parent / "checks" / "targets.yaml").read_text(encoding="utf-8")
    with pytest.raises(TargetsError, match="a probe path starts with '/'"):
        parse_targets(source.replace('paths: ["{healthPath}"]', 'paths: ["health"]'))


def test_scopes_resolve_against_the_stack_outputs() -> None:
    dev = read_outputs_file(FIXTURES / "outputs-dev.json")
    staging = read_outputs_file(FIXTURES / "outputs-staging.json")
    assert len(subjects_for("container-groups", dev)) == 1, "one group runs both containers"
    assert [s.service for s in subjects_for("services", staging)] == ["backend", "web"]
    assert subjects_for("database", dev) == []
    dev_jobs = jobs_for(load_targets(), dev)
    assert [j.measure.source for j in dev_jobs["cache-hit-rate"]] == ["metrics", "probe"], "managed tier only"
    assert [j.measure.source for j in dev_jobs["api-latency"]] == ["logs", "probe"], "no ACA metric on groups"
