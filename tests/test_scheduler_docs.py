"""The ready examples in docs/scheduling.md and docs/accounts.md stay correct."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from croniter import croniter

from zoomsync.accounts import load_accounts
from zoomsync.scheduler import Schedule

DOCS = Path(__file__).resolve().parents[1] / "docs"


def blocks(name: str, language: str) -> list[str]:
    text = (DOCS / name).read_text()
    return re.findall(rf"```{language}\n(.*?)```", text, re.S)


def test_cron_line_and_cron_options_are_valid() -> None:
    (cron,) = blocks("scheduling.md", "cron")
    line = next(x for x in cron.splitlines() if x and not x.startswith("#"))
    assert croniter.is_valid(" ".join(line.split()[:5]))
    assert "zoomsync run" in line
    text = (DOCS / "scheduling.md").read_text()
    for expression in re.findall(r'--cron "([^"]+)"', text):
        assert Schedule.parse(cron=expression).kind == "cron"


def test_kubernetes_cronjob_forbids_concurrency_and_keeps_state() -> None:
    (manifest,) = blocks("scheduling.md", "yaml")
    job = yaml.safe_load(manifest)
    assert (job["apiVersion"], job["kind"]) == ("batch/v1", "CronJob")
    assert job["spec"]["concurrencyPolicy"] == "Forbid"
    assert croniter.is_valid(job["spec"]["schedule"])
    pod = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never" and pod["terminationGracePeriodSeconds"] >= 60
    (container,) = pod["containers"]
    env = {e["name"]: e["value"] for e in container["env"]}
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert env["ZOOMSYNC_PIPELINES_DIR"].startswith(mounts["state"])
    assert pod["volumes"][0]["persistentVolumeClaim"]["claimName"]


def test_systemd_units_and_airflow_dag_are_well_formed() -> None:
    service, timer, scheduler = blocks("scheduling.md", "ini")
    assert "Type=oneshot" in service and "ExecStart=" in service
    assert "SuccessExitStatus=75" in service
    assert "OnCalendar=*:0/15" in timer and "WantedBy=timers.target" in timer
    assert "--every 15m" in scheduler and "RestartPreventExitStatus=2 75" in scheduler
    (dag,) = blocks("scheduling.md", "python")
    compile(dag, "dag.py", "exec")
    assert "skip_on_exit_code=75" in dag and "max_active_runs=1" in dag


def test_the_accounts_example_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (example,) = blocks("accounts.md", "toml")
    for name in ("WAREHOUSE_URL", "EMEA_ZOOM_CLIENT_SECRET", "US_ZOOM_CLIENT_SECRET"):
        monkeypatch.setenv(name, "postgresql://u:p@h/db" if name == "WAREHOUSE_URL" else "s")
    path = tmp_path / "zoomsync.toml"
    path.write_text(example)
    emea, us = load_accounts(path)
    assert (emea.account_name, emea.plan, emea.budget) == ("emea", "business", 0.4)
    assert (us.account_name, us.plan, us.destination) == ("us", "pro", "postgres")
