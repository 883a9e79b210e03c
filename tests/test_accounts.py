"""Several Zoom accounts in one config file: parsing, secrets, and two accounts in one DuckDB."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from tests.conftest import UNLIMITED
from tests.sync.compare import PAIRS, differences, truth_rows, warehouse
from zoomsync.accounts import load_accounts
from zoomsync.destinations import resolve
from zoomsync.emulator.app import EmulatorConfig
from zoomsync.emulator.dataset import DatasetConfig
from zoomsync.emulator.oauth import Credentials
from zoomsync.emulator.server import RunningEmulator
from zoomsync.errors import ConfigError
from zoomsync.sync.runner import pipeline_name

STREAMS = "users,meetings,past_meetings,meeting_participants"
TWO = """
plan = "business"
[[accounts]]
name = "emea"
account_id = "acc_emea"
client_id = "cid_emea"
client_secret = "${EMEA_SECRET}"
budget = 0.4

[[accounts]]
name = "us"
account_id = "acc_us"
client_id = "cid_us"
client_secret = "literal-us-secret"
plan = "pro"
"""


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import os

    for name in list(os.environ):
        if name.startswith(("ZOOM_", "ZOOMSYNC_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "zoomsync.toml"
    path.write_text(text)
    return path


def test_each_account_gets_its_credentials_plan_budget_and_state(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMEA_SECRET", "emea-secret-value")
    monkeypatch.setenv("ZOOM_ACCOUNT_ID", "from-the-environment")  # an account's own wins
    monkeypatch.setenv("ZOOMSYNC_BUDGET", "0.7")
    emea, us = load_accounts(write(tmp_path, TWO))  # ./zoomsync.toml is also found alone
    assert (emea.account_name, emea.account_id, emea.client_id) == ("emea", "acc_emea",
                                                                    "cid_emea")
    assert emea.client_secret is not None
    assert emea.client_secret.get_secret_value() == "emea-secret-value"
    assert "emea-secret-value" not in repr(emea)
    assert (emea.plan, emea.budget) == ("business", 0.4)
    assert (us.plan, us.budget) == ("pro", 0.7)  # the environment, below the account's own
    assert emea.dataset_name == us.dataset_name == "zoom"  # column layout: shared tables
    names = {pipeline_name(s, resolve(s)) for s in (emea, us)}
    assert len(names) == 2 and all(n.startswith(("zoomsync_emea_", "zoomsync_us_"))
                                   for n in names)
    (only,) = load_accounts(only="us")
    assert only.account_name == "us"


def test_schema_layout_gives_each_account_its_dataset(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMEA_SECRET", "x")
    write(tmp_path, 'accounts_layout = "schema"\ndataset_name = "zm"\n' + TWO)
    assert [s.dataset_name for s in load_accounts()] == ["zm_emea", "zm_us"]


def test_an_unset_reference_fails_only_the_account_that_uses_it(tmp_path: Path) -> None:
    write(tmp_path, TWO)
    with pytest.raises(ConfigError, match=r"accounts\[emea\].*\$\{EMEA_SECRET\}, which is "
                                          "not set"):
        load_accounts()
    (us,) = load_accounts(only="us")
    assert us.account_id == "acc_us"


@pytest.mark.parametrize(("text", "message"), [
    (TWO.replace('name = "us"', 'name = "emea"'), "two accounts are named 'emea'"),
    (TWO.replace('name = "us"', 'name = "US East"'), "name: lower-case letters"),
    (TWO.replace('client_secret = "literal-us-secret"\n', ""), "client_secret: Field required"),
    (TWO.replace('plan = "pro"', 'plan = "gold"'), "accounts[us]: plan"),
    (TWO.replace('plan = "pro"', 'colour = "red"'), "colour: Extra inputs"),
    ('plann = "pro"\n' + TWO, "unknown setting 'plann'"),
    ("accounts = 3", "accounts must be a list"),
    ("plan = ", "is not valid TOML"),
])
def test_bad_config_is_one_clear_line_without_secrets(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, message: str) -> None:
    monkeypatch.setenv("EMEA_SECRET", "emea-secret-value")
    with pytest.raises(ConfigError) as caught:
        load_accounts(write(tmp_path, text))
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
    assert "literal-us-secret" not in str(caught.value)
    assert "emea-secret-value" not in str(caught.value)


def test_unknown_account_and_account_without_a_list(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="no accounts are configured"):
        load_accounts(only="emea")
    monkeypatch.setenv("EMEA_SECRET", "x")
    with pytest.raises(ConfigError, match=r"no such account in .*configured: emea, us"):
        load_accounts(write(tmp_path, TWO), only="apac")
    with pytest.raises(ConfigError, match=r"config file .*missing\.toml not found"):
        load_accounts(tmp_path / "missing.toml")


# Two accounts whose generated data share every id (same seed): only account_id separates them.
@pytest.fixture(scope="module")
def two() -> Iterator[tuple[RunningEmulator, RunningEmulator]]:
    running = []
    # One anchor for both: read twice, the clock could cross a second between them.
    anchor = datetime.now(UTC).replace(microsecond=0)
    for n in (1, 2):
        creds = Credentials(f"acct_{n}", f"client_{n}", f"secret_{n}_abcdef")
        config = EmulatorConfig(
            dataset=DatasetConfig(anchor=anchor, users=5,
                                  meetings_per_user=1, large_meetings=0,
                                  account_id=creds.account_id),
            credentials=creds, plan="business", limits=UNLIMITED, daily_cap=10_000_000,
            frozen_clock=True)
        running.append(RunningEmulator(config).start())
    yield running[0], running[1]
    for emu in running:
        emu.stop()


def config_for(emus: tuple[RunningEmulator, RunningEmulator], layout: str) -> str:
    text = f'accounts_layout = "{layout}"\nplan = "business"\nbudget = 1\n'
    for name, emu in zip(("one", "two"), emus, strict=True):
        creds = emu.emulator.config.credentials
        text += (f'[[accounts]]\nname = "{name}"\naccount_id = "{creds.account_id}"\n'
                 f'client_id = "{creds.client_id}"\n'
                 f'client_secret = "${{SECRET_{name.upper()}}}"\n'
                 f'api_url = "{emu.api_url}"\noauth_url = "{emu.oauth_url}"\n')
    return text


def run_cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZOOM_", "ZOOMSYNC_"))}
    env.update(HOME=str(tmp_path), SECRET_ONE="secret_1_abcdef", SECRET_TWO="secret_2_abcdef",
               ZOOMSYNC_DUCKDB_PATH=str(tmp_path / "w.duckdb"))
    return subprocess.run([sys.executable, "-m", "zoomsync", *args], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.timeout(120)
def test_two_accounts_in_one_duckdb_with_account_id_in_every_key(
        two: tuple[RunningEmulator, RunningEmulator], tmp_path: Path) -> None:
    write(tmp_path, config_for(two, "column"))
    r = run_cli(tmp_path, "run", "--streams", STREAMS)
    assert r.returncode == 0, r.stderr
    assert "account one" in r.stderr and "account two" in r.stderr
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        for table in STREAMS.split(","):
            truth_table, key = PAIRS[table]
            rows = warehouse(con, "zoom", table)
            for emu in two:
                account = emu.emulator.config.credentials.account_id
                mine = [{k: v for k, v in row.items() if k != "account_id"}
                        for row in rows if row["account_id"] == account]
                expected = truth_rows(emu.emulator, truth_table, key)
                assert differences(expected, mine, key) == [], (table, account)
                assert len(mine) == len(expected) > 0
            # Same ids in both accounts, yet no row overwrote the other's.
            keys = [tuple(row[k] for k in key) for row in rows]
            assert len(rows) == 2 * len(set(keys))
            key_sql = ", ".join(["account_id", *key])
            distinct = con.execute(f"select count(distinct ({key_sql})) from zoom.{table}"
                                   ).fetchone()[0]
            assert distinct == len(rows)
    # A rerun merges on (account_id, key): nothing doubles.
    again = run_cli(tmp_path, "run", "--streams", "users", "--account", "two")
    assert again.returncode == 0, again.stderr
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        counts = dict(con.execute("select account_id, count(*) from zoom.users group by 1"
                                  ).fetchall())
    assert counts == {e.emulator.config.credentials.account_id:
                      len(e.emulator.dataset.live_users()) for e in two}
    status = run_cli(tmp_path, "status")
    assert status.returncode == 0, status.stderr
    assert "account one" in status.stdout and "account two" in status.stdout
    assert "secret_" not in r.stderr + r.stdout + status.stdout + status.stderr


@pytest.mark.timeout(120)
def test_two_accounts_in_one_schema_each(two: tuple[RunningEmulator, RunningEmulator],
                                         tmp_path: Path) -> None:
    write(tmp_path, config_for(two, "schema"))
    r = run_cli(tmp_path, "run", "--streams", "users")
    assert r.returncode == 0, r.stderr
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        for name, emu in zip(("one", "two"), two, strict=True):
            rows = warehouse(con, f"zoom_{name}", "users")
            assert {row["account_id"] for row in rows} == {
                emu.emulator.config.credentials.account_id}
            assert len(rows) == len(emu.emulator.dataset.live_users())


@pytest.mark.timeout(120)
def test_check_checks_every_configured_account(
        two: tuple[RunningEmulator, RunningEmulator], tmp_path: Path) -> None:
    write(tmp_path, config_for(two, "column"))
    r = run_cli(tmp_path, "check", "--streams", "users")
    assert r.returncode == 0, r.stderr
    for name, emu in zip(("one", "two"), two, strict=True):
        account = emu.emulator.config.credentials.account_id
        assert f"account {name}\ncredentials: ok (account {account}," in r.stdout
    assert r.stdout.count("destination duckdb") == 2
    assert "secret_1_abcdef" not in r.stdout + r.stderr
    only = run_cli(tmp_path, "check", "--streams", "users", "--account", "two")
    assert only.returncode == 0, only.stderr
    assert "account one" not in only.stdout and "credentials: ok" in only.stdout
