"""No key is stored where Airflow keeps state: not in the metadata database (a full dump of it, taken once
every other test of the leg has run), and on the production leg not in the Celery broker either (every key
Redis holds at the end, and every message that went through it while the leg ran, as Redis's MONITOR
recorded them).

Runs last in its leg (pytest takes the modules in name order), so the dump covers the scenario, the
event-driven story and the triggerer hand-over.
"""

from __future__ import annotations

import base64
import json
import re
import sqlite3
import subprocess

import pytest

from tests.deployment.scenario import CONN_ID, Deployment, Scenario
from tests.deployment.test_deployment_secrets import leaks

# A kombu message on Redis is JSON with a base64 body; MONITOR shows it as a quoted, escaped argument.
MONITOR_BODY = re.compile(r'\\"body\\": \\"([A-Za-z0-9+/=]+)\\"')


def database_dump(deployment: Deployment) -> str:
    if deployment.production:
        info = deployment.info
        url = info["database_url"].replace("postgresql+psycopg2://", "postgresql://")
        dumped = subprocess.run(
            [info["pg_dump"], "--no-owner", "--dbname", url], capture_output=True, text=True, timeout=120
        )
        assert dumped.returncode == 0, dumped.stderr
        return dumped.stdout
    with sqlite3.connect(deployment.airflow_home / "airflow.db", timeout=30) as database:
        return "\n".join(database.iterdump())


def test_no_key_in_a_dump_of_the_metadata_database(scenario: Scenario) -> None:
    dump = database_dump(scenario.deployment)
    # Not an empty or unrelated dump: the connection's row, the runs and their XComs are in it.
    assert CONN_ID in dump
    assert all(run.run_id in dump for run in scenario.runs.values())
    assert "production-readiness" in dump  # XComs of the fetches
    assert leaks(dump) == []


@pytest.fixture(scope="module")
def redis_client(deployment: Deployment):  # type: ignore[no-untyped-def]
    if not deployment.production:
        pytest.skip("the standalone leg has no broker")
    import redis

    client = redis.Redis.from_url(deployment.info["broker_url"], socket_timeout=10)
    yield client
    client.close()


def test_no_key_in_the_broker(scenario: Scenario, redis_client) -> None:  # type: ignore[no-untyped-def]
    """Every key Redis holds now, read whole whatever its type."""
    held: dict[str, object] = {}
    for key in redis_client.scan_iter(count=1000):
        kind = redis_client.type(key).decode()
        reader = {
            "string": redis_client.get,
            "list": lambda k: redis_client.lrange(k, 0, -1),
            "set": redis_client.smembers,
            "zset": lambda k: redis_client.zrange(k, 0, -1, withscores=True),
            "hash": redis_client.hgetall,
        }[kind]
        held[key.decode()] = reader(key)
    assert any(key.startswith("_kombu.binding.") for key in held), held  # Celery used this broker
    assert leaks(repr(held)) == []


def test_no_key_in_any_message_through_the_broker(scenario: Scenario) -> None:
    """Every task message the scheduler sent the worker (decoded), from Redis's MONITOR of the whole leg."""
    if not scenario.deployment.production:
        pytest.skip("the standalone leg has no broker")
    monitor = (scenario.deployment.component_logs / "redis-monitor.log").read_text(errors="replace")
    bodies = [base64.b64decode(body).decode(errors="replace") for body in MONITOR_BODY.findall(monitor)]
    tasks = [json.loads(body) for body in bodies if body.startswith("[")]
    ran = sum(1 for run in scenario.runs.values() for ti in run.task_instances if ti["try_number"])
    assert len(tasks) >= ran > 20  # each task instance went through the broker at least once
    assert leaks(monitor) == []
    assert leaks("\n".join(bodies)) == []
