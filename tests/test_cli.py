"""The `zoomsync` command as a user runs it: a real process, real sockets, exit codes."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx

from zoomsync.emulator.server import free_port


def run_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "zoomsync", *args], capture_output=True,
                          text=True, timeout=timeout)


def test_emulator_command_serves_a_token_and_a_page_of_users() -> None:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "zoomsync", "emulator", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                token = httpx.post(
                    f"{base}/oauth/token", auth=("emu_client_id", "emu_client_secret"),
                    data={"grant_type": "account_credentials", "account_id": "emu_account_0001"})
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline, proc.stderr.read() if proc.poll() else "slow"
                time.sleep(0.2)
        assert token.status_code == 200
        body = token.json()
        assert body["token_type"] == "bearer" and body["expires_in"] == 3599
        users = httpx.get(f"{base}/v2/users", params={"page_size": 5},
                          headers={"Authorization": f"Bearer {body['access_token']}"})
        assert users.status_code == 200
        assert len(users.json()["users"]) == 5
        assert users.json()["next_page_token"]
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    assert f"ZOOM_API_URL=http://127.0.0.1:{port}/v2" in out
    assert f"ZOOM_OAUTH_URL=http://127.0.0.1:{port}/oauth/token" in out
    assert "ZOOM_CLIENT_SECRET=emu_client_secret" in out


def test_bad_plan_is_one_line_and_exit_code_2() -> None:
    r = run_cli("emulator", "--plan", "gold")
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [
        "error: --plan 'gold' is not a plan: use pro or business"]
    assert "Traceback" not in r.stderr


def test_bad_date_is_one_line_and_exit_code_2() -> None:
    r = run_cli("emulator", "--now", "yesterday")
    assert r.returncode == 2
    assert len(r.stderr.strip().splitlines()) == 1 and "--now 'yesterday'" in r.stderr


def test_export_truth_writes_every_table(tmp_path: Path) -> None:
    r = run_cli("emulator", "--export-truth", str(tmp_path / "truth"), "--now", "2026-11-01")
    assert r.returncode == 0, r.stderr
    files = {p.name for p in (tmp_path / "truth").iterdir()}
    assert {"manifest.json", "users.jsonl", "meeting_participants.jsonl"} <= files


def test_unwritable_export_directory_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    r = run_cli("emulator", "--export-truth", str(blocker / "sub"))
    assert r.returncode == 2
    assert len(r.stderr.strip().splitlines()) == 1 and "cannot write the ground truth" in r.stderr


def test_bad_fault_spec_is_one_line() -> None:
    r = run_cli("emulator", "--faults", "error_5xx=2")
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [
        "error: --faults: error_5xx must be a probability in [0, 1], got 2.0"]
    r = run_cli("emulator", "--faults", "meteor=0.1")
    assert r.returncode == 2 and "unknown fault 'meteor'" in r.stderr


def test_bad_fault_target_is_one_line_naming_the_modes() -> None:
    r = run_cli("emulator", "--fault-target", "/users=meteor")
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [
        "error: --fault-target '/users=meteor': unknown fault target mode 'meteor'; use one "
        "of repeat_token, endless_tokens, always_503, not_json, no_list_key, repeat_rows"]
    r = run_cli("emulator", "--faults", "revoke_every=-1")
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == ["error: --faults: revoke_every must be >= 0, got -1"]


def test_a_finished_command_does_not_wait_for_a_thread_stuck_on_the_network() -> None:
    """A request on the wire outlives a stopped run's cancel: Python would join its thread
    before exiting, and the run would hang after its last line (issue 13)."""
    import subprocess
    import sys
    import time

    code = ("import threading, time\n"
            "threading.Thread(target=time.sleep, args=(600,)).start()  # not a daemon\n"
            "from zoomsync.cli.ending import exit_within\n"
            "exit_within(3, grace=0.5)\n"
            "raise SystemExit(3)\n")
    started = time.monotonic()
    ended = subprocess.run([sys.executable, "-c", code], timeout=60)
    assert ended.returncode == 3
    assert time.monotonic() - started < 30  # not the thread's 600 s
