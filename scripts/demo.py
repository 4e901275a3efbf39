"""`make demo`: run every example DAG end to end with `airflow dags test` and show what they did.

Against the bundled simulator (started on a free loopback port, with drift so the gate visibly waits), or
against real Datadog when DD_API_KEY and DD_APP_KEY are set. Uses a throwaway AIRFLOW_HOME with SQLite
under .demo/, stops the simulator at the end, and exits non-zero if any DAG failed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / ".demo"
HOME = DEMO / "airflow-home"
SNAPSHOTS = DEMO / "snapshots"
LOGS = DEMO / "logs"
CONN_ENV = "AIRFLOW_CONN_DATADOG_SCORECARDS_DEFAULT"


def main() -> int:
    started = time.monotonic()
    shutil.rmtree(DEMO, ignore_errors=True)
    for folder in (HOME, SNAPSHOTS, LOGS):
        folder.mkdir(parents=True)
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(HOME),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "example_dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{HOME / 'airflow.db'}",
        "SCORECARDS_GATE_POKE_INTERVAL": "1",
    }
    real = bool(os.environ.get("DD_API_KEY") and os.environ.get("DD_APP_KEY"))
    simulators: list[subprocess.Popen[str]] = []
    failed: list[str] = []
    try:
        conns: dict[str, str] = {}
        if real:
            site = os.environ.get("DD_SITE", "datadoghq.com")
            print(f"Using real Datadog ({site}) from DD_API_KEY/DD_APP_KEY")
            env.pop(CONN_ENV, None)  # the hook falls back to the DD_* variables
        else:
            main_sim, url, conns["main"] = start_simulator("main", [])
            # The gate gets a simulator whose outcomes improve with every request, so it visibly waits.
            gate_sim, gate_url, conns["gate"] = start_simulator("gate", ["--improve-every-requests", "2"])
            simulators += [main_sim, gate_sim]
            print(f"Using the bundled Scorecards simulator at {url} (and {gate_url} for the gate)")
        os.environ.update(env)
        migrate = [sys.executable, "-m", "airflow", "db", "migrate"]
        step("Creating the Airflow database (SQLite)", migrate, env, "db-migrate")
        for dag_id, logical_date, conf, simulator in plan_runs(real):
            if simulator == "advance":
                advance(conns["main"])
                continue
            run_env = env if real else {**env, CONN_ENV: conns[simulator]}
            label = f"{dag_id} {logical_date or ''}".strip()
            command = [sys.executable, "-m", "airflow", "dags", "test", dag_id]
            if logical_date:
                command.append(logical_date)
            if conf:
                command += ["-c", json.dumps(conf)]
            if not step(f"Running {label}", command, run_env, label.replace(" ", "_")):
                failed.append(label)
        print()
        show_results()
    finally:
        for process in simulators:
            process.terminate()
            process.wait(timeout=10)
        if simulators:
            print("Simulators stopped.")
    print(f"Demo finished in {time.monotonic() - started:.0f} s; logs in {LOGS.relative_to(ROOT)}/")
    if failed:
        print(f"FAILED: {', '.join(failed)}")
        return 1
    return 0


def start_simulator(name: str, options: list[str]) -> tuple[subprocess.Popen[str], str, str]:
    """Start ``scorecards-simulator`` on a free loopback port; return it, its URL and a connection for it."""
    from airflow_provider_scorecards.simulator import DEFAULT_API_KEY, DEFAULT_APP_KEY

    port_file = DEMO / f"simulator-{name}.port"
    log = LOGS / f"simulator-{name}.log"
    command = [
        sys.executable,
        "-m",
        "airflow_provider_scorecards.simulator.cli",
        "--seed",
        "7",
        "--entities",
        "500",
        "--port-file",
        str(port_file),
        *options,
    ]
    with log.open("w") as handle:
        process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 30
    while not (port_file.exists() and port_file.read_text()):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise SystemExit(f"The simulator did not start; see {log}")
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port_file.read_text()}"
    conn = {
        "conn_type": "datadogscorecards",
        "password": DEFAULT_API_KEY,
        "extra": {"app_key_secret": DEFAULT_APP_KEY, "api_url": url},
    }
    return process, url, json.dumps(conn)


def advance(conn: str) -> None:
    """A week passes: outcomes in the main simulator improve one step."""
    import requests

    settings = json.loads(conn)
    response = requests.post(
        settings["extra"]["api_url"] + "/_simulator/advance",
        headers={"DD-API-KEY": settings["password"]},
        params={"steps": 1},
        timeout=10,
    )
    response.raise_for_status()
    print(f"- A week passes in the simulator (drift step {response.json()['step']})")


EXPORT_WEEKS = 4
"""Weekly exports the demo runs (the last one today): enough history for the trend picture, and a
baseline of a week earlier for every run after the first."""


def plan_runs(real: bool) -> list[tuple[str, str | None, dict[str, Any], str]]:
    import pendulum

    today = pendulum.today("UTC")
    export_conf = {"output_root": f"file://{SNAPSHOTS}"}
    gate_conf: dict[str, Any] = {}
    if real:  # gate on a service that exists in your organisation, at a bound it already meets
        gate_conf = real_gate_conf()
    runs: list[tuple[str, str | None, dict[str, Any], str]] = []
    # Exports a week apart, oldest first, with a week of drift in the simulator between them: the report
    # shows the week-over-week change, the regression check compares with the week before, and the trend
    # picture has several weeks to draw. (Real Datadog does not drift on demand: the dates still differ.)
    for weeks_ago in range(EXPORT_WEEKS - 1, -1, -1):
        date = today.subtract(weeks=weeks_ago).to_date_string()
        runs.append(("scorecards_export", date, export_conf, "main"))
        if weeks_ago and not real:
            runs.append(("", None, {}, "advance"))
    runs += [
        # Downstream of the by-team snapshot asset: run by hand here, it reads the latest asset event.
        ("scorecards_snapshot_consumer", None, {}, "main"),
        ("scorecards_deploy_gate", None, gate_conf, "gate"),
        ("scorecards_team_fanout", None, {}, "main"),
    ]
    if not real:  # their services are the simulator's; against Datadog, adapt those examples to yours
        runs.append(("scorecards_gate_rollout", None, {}, "main"))
        runs.append(("scorecards_close_the_loop", None, {}, "main"))  # writes: never to a real org unasked
    return runs


def real_gate_conf() -> dict[str, Any]:
    from airflow_provider_scorecards.client.query import ScoresQuery
    from airflow_provider_scorecards.hooks.scorecards import DatadogScorecardsHook

    with DatadogScorecardsHook() as hook:
        (best,) = (
            hook.get_conn()
            .fetch(
                ScoresQuery.build("by-entity", scorecard_ids=["production-readiness"], sort="-score"),
                max_results=1,
            )
            .records
        )
    return {"service_id": best["id"], "min_score": best["score"], "min_observability_score": 0.0}


def step(title: str, command: list[str], env: dict[str, str], log_name: str) -> bool:
    started = time.monotonic()
    print(f"- {title} ...", end="", flush=True)
    log = LOGS / f"{log_name}.log"
    with log.open("w") as handle:
        result = subprocess.run(command, env=env, stdout=handle, stderr=subprocess.STDOUT, check=False)
    ok = result.returncode == 0 and "state=failed" not in log.read_text()
    print(f" {'ok' if ok else 'FAILED'} ({time.monotonic() - started:.1f} s)")
    return ok


def show_results() -> None:
    """Read what the runs pushed from the demo's Airflow database and print it readably."""
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:

        def latest(dag_id: str) -> Any:
            return session.query(DagRun).filter(DagRun.dag_id == dag_id).order_by(DagRun.id.desc()).first()

        def xcom(run: Any, task_id: str, key: str = "return_value") -> Any:
            rows = (
                session.query(XComModel)
                .filter(
                    XComModel.dag_id == run.dag_id,
                    XComModel.run_id == run.run_id,
                    XComModel.task_id == task_id,
                    XComModel.key == key,
                )
                .order_by(XComModel.map_index)
                .all()
            )
            values = [XComModel.deserialize_value(row) for row in rows]
            return values[0] if len(values) == 1 else values or None

        def task_instance(run: Any, task_id: str) -> Any:
            return (
                session.query(TaskInstance)
                .filter(
                    TaskInstance.dag_id == run.dag_id,
                    TaskInstance.run_id == run.run_id,
                    TaskInstance.task_id == task_id,
                )
                .first()
            )

        export = latest("scorecards_export")
        if export is not None:
            print(f"== scorecards_export: {export.state}")
            report = xcom(export, "report")
            if report:
                print(report["text"])
                for aggregation, path in report["snapshots"].items():
                    print(f"  snapshot {aggregation}: {path}")
            summary = xcom(export, "fetch_by_entity", "summary")
            if summary:
                print(
                    f"  by-entity: {summary['count']} scores, mean {summary['mean_score']}, "
                    f"min {summary['min_score']}, max {summary['max_score']}"
                )
            check = task_instance(export, "no_regression_since_last_week")
            if check is not None:
                teams = xcom(export, "no_regression_since_last_week") or []
                print(
                    f"  no regression since last week (max_drop 0.05): {check.state}"
                    + (f", {len(teams)} teams within the allowance" if teams else "")
                )
            if report and report.get("trend"):
                print(f"\nTrend picture: {report['trend'].removeprefix('file://')}")
        consumer = latest("scorecards_snapshot_consumer")
        if consumer is not None:
            print(f"\n== scorecards_snapshot_consumer: {consumer.state}")
            digest = xcom(consumer, "digest")
            if digest and digest.get("text"):
                print(f"  {digest['text']}")
                print(f"  (asset event of {digest['producer']})")
        gate_run = latest("scorecards_deploy_gate")
        if gate_run is not None:
            print(f"\n== scorecards_deploy_gate: {gate_run.state}")
            conf = gate_run.conf or {}
            service = conf.get("service_id", "service:checkout-api")
            fetched = xcom(gate_run, "fetch_scores") or []
            before = next((r["score"] for r in fetched if r["id"] == service), None)
            gate_ti = task_instance(gate_run, "wait_for_readiness")
            records = xcom(gate_run, "wait_for_readiness")
            waited = (
                (gate_ti.end_date - gate_ti.start_date).total_seconds()
                if gate_ti and gate_ti.end_date
                else None
            )
            verdict = (
                "PASSED"
                if gate_ti is not None and gate_ti.state == "success"
                else f"NOT PASSED ({gate_ti.state if gate_ti else '?'})"
            )
            print(
                f"  gate on {service}: {verdict}"
                + (f" after waiting {waited:.1f} s" if waited is not None else "")
            )
            if before is not None:
                print(f"  score when the run started: {before:.2f}")
            if records:
                print(f"  score when the gate opened: {records[0]['score']:.2f}")
            for task_id, label in (("deploy", "deploy"), ("deploy_canary", "fail-fast check, then canary")):
                outcome = xcom(gate_run, task_id) or task_instance(gate_run, task_id).state
                print(f"  {label}: {outcome}")
        fanout = latest("scorecards_team_fanout")
        if fanout is not None:
            print(f"\n== scorecards_team_fanout: {fanout.state}")
            for row in xcom(fanout, "summary") or []:
                print(f"  {row['team']:<16} {len(row['failing_rules'])} failing rules")
        rollout = latest("scorecards_gate_rollout")
        if rollout is not None:
            print(f"\n== scorecards_gate_rollout: {rollout.state}")
            for task_id in ("shadow_stricter_bar", "gate_with_waiver", "approve_deploy"):
                document = xcom(rollout, task_id, "verdict") or {}
                mode = "dry run" if document.get("dry_run") else "enforced"
                outcome = "met" if document.get("met") else "NOT met"
                print(
                    f"  {task_id:<20} {mode}, {outcome}; failing {document.get('failing')}, "
                    f"waived {document.get('waived')}"
                )
                for entity, rules in (document.get("explanations") or {}).items():
                    names = ", ".join(str(rule.get("rule_name")) for rule in rules)
                    print(f"    {entity} fails: {names}")
        loop = latest("scorecards_close_the_loop")
        if loop is not None:
            print(f"\n== scorecards_close_the_loop: {loop.state}")
            for service, result in (xcom(loop, "data_quality") or {}).items():
                state = result if isinstance(result, str) else result["state"]
                print(f"  data quality of {service}: {state}")
            reported = xcom(loop, "report") or {}
            print(f"  posted {reported.get('posted')} outcomes to custom rule {reported.get('rule_id')}")
            gate = task_instance(loop, "gate")
            seen = xcom(loop, "gate") or []
            read = f" (its score on the rule: {seen[0]['score']:.2f})" if seen else ""
            print(f"  the gate read it back: {gate.state if gate else '?'}{read}")
            print(f"  deploy: {xcom(loop, 'deploy') or task_instance(loop, 'deploy').state}")


if __name__ == "__main__":
    sys.exit(main())
