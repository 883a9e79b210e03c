"""zoomsync refuses a dlt release its suite has not passed on, in one line (issue 14)."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest

from zoomsync.dlt_version import ALLOW_ENV, TESTED, check_dlt
from zoomsync.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def test_the_installed_dlt_is_a_tested_one() -> None:
    check_dlt()
    major, minor = (int(p) for p in version("dlt").split(".")[:2])
    assert (major, minor) in TESTED


@pytest.mark.parametrize("found", ["1.32.0", "1.30.2", "2.0.0", "1.31"])
def test_another_release_is_refused_naming_the_tested_range(
        found: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ALLOW_ENV, raising=False)
    if found == "1.31":
        check_dlt(found)  # a version string without a patch number is still 1.31
        return
    with pytest.raises(ConfigError) as caught:
        check_dlt(found)
    assert f"dlt {found} is installed" in str(caught.value)
    assert "tested with dlt 1.31.x only: pip install 'dlt>=1.31,<1.32'" in str(caught.value)


def test_scripts_test_dlt_latest_may_run_an_untested_release(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ALLOW_ENV, "1")
    check_dlt("1.40.0")


def test_pyproject_allows_exactly_the_tested_releases() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = [d for d in project["dependencies"] if d.startswith("dlt[")]
    specs += [d for deps in project["optional-dependencies"].values() for d in deps
              if d.startswith("dlt[")]
    first, last = min(TESTED), max(TESTED)
    wanted = f">={first[0]}.{first[1]},<{last[0]}.{last[1] + 1}"
    assert specs and all(s.endswith(wanted) for s in specs), specs


def test_a_run_with_an_untested_dlt_is_one_line_and_exit_2(tmp_path: Path) -> None:
    # A stand-in `dlt` distribution claiming 1.99.0, found first on the path.
    site = tmp_path / "site"
    meta = site / "dlt-1.99.0.dist-info"
    meta.mkdir(parents=True)
    (meta / "METADATA").write_text("Metadata-Version: 2.1\nName: dlt\nVersion: 1.99.0\n")
    code = ("import sys; sys.path.insert(0, sys.argv[1]);"
            "from zoomsync.cli import main; sys.argv = ['zoomsync', 'run']; main()")
    ended = subprocess.run([sys.executable, "-c", code, str(site)], capture_output=True,
                           text=True, timeout=120, cwd=tmp_path,
                           env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
                                "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
                                "ZOOM_ACCOUNT_ID": "a", "ZOOM_CLIENT_ID": "b",
                                "ZOOM_CLIENT_SECRET": "c"})
    assert ended.returncode == 2, ended.stderr
    assert "dlt 1.99.0 is installed, but zoomsync is tested with dlt 1.31.x only" in ended.stderr
    assert "Traceback" not in ended.stderr
