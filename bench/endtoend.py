"""Issue 14's end-to-end figures for two source trees of zoomsync, measured in one run.

Issue 14 removes zoomsync's patches of dlt internals; its acceptance compares, before and
after, on the same run: a full sync's wall time at Pro limits, a no-change rerun's wall
time, and a webhook event's receipt-to-row latency (median, p99) — none worse by more than
5%, and a speed change stays only if it saves at least 5% of one of them.

The "before" tree is a git revision (`--before`, default HEAD) unpacked by `git archive`
into a temporary directory (no worktree, nothing written to the repository); the "after"
tree is a directory (`--after`, default this checkout, uncommitted changes included). Each
measurement is a child process with cwd and PYTHONPATH = its tree and this interpreter, so
each side runs its own zoomsync, through its own bench scripts:

- full sync: `bench.pacing --json` (Pro limits, 50 ms latency, budget 1.0);
- no-change rerun: `bench.incremental --json --skip-changed --reruns 5`, at Pro limits
  with 50 ms latency (`--limits plan`), and with the limits out of the way (a secondary
  row); the figure is the median of the reruns after one full sync;
- webhooks: `bench.webhooks --json` (its defaults), median and p99 per burst.

A tree whose bench script lacks an option used here (any revision before this script's
commit: `bench.incremental` had no `--json`) runs a copy of this checkout's script instead,
against its own zoomsync. For each figure both sides run back to back, the order
alternating on each repetition (`--repeat`; `--cheap-runs` more for the figures that need
no Pro-paced full sync), so that machine drift hits both alike; the table shows medians.
Exits 0 whatever the figures say; 1 if a measurement failed, 2 if the trees cannot be set
up.

    .venv/bin/python -m bench.endtoend                       # HEAD vs this checkout, ~8 min
    .venv/bin/python -m bench.endtoend --before main~3 --repeat 3
    .venv/bin/python -m bench.endtoend --users 6 --meetings-per-user 1   # ~4.5 min
    .venv/bin/python -m bench.endtoend --json > endtoend.json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from bench._harness import add_account_args, render_table

HERE = Path(__file__).resolve().parents[1]  # the checkout this script lives in
MARGIN = 0.05  # issue 14: none worse by more than 5%; a speed change must save at least 5%
CHILD_TIMEOUT_S = 1800.0  # one measurement; the default account's full sync takes ~75 s
STOP_GRACE_S = 20.0  # after SIGINT, before SIGKILL: lets a child remove its temporary files

# Defaults: the whole script in ~7 minutes for two trees on 2 cores. A full sync at Pro
# limits is bound by MEDIUM (20 calls/s, ~3 per meeting instance): 12 users x 2 meetings
# make ~1,800 calls, ~70 s; bench.pacing's 20 x 2 (~2.5 min) would take ~12 minutes here,
# since each tree syncs the account in full twice (pacing, then before its rerun).
DEFAULT_USERS = 12
DEFAULT_MEETINGS_PER_USER = 2
DEFAULT_PARTICIPANTS_MEAN = 8
DEFAULT_WEBHOOK_MEETINGS = 40  # bench.webhooks' default
# One run of a small figure varies more than the 5% it is judged by (same code, this 2-core
# machine): a no-change rerun 1.0-3.0 s, a burst's median latency +-20%, and the medians
# of 5 reruns drift by 10% within minutes. Reruns are cheap once the full sync they need is
# done, and so are the processes of the figures that need no Pro-paced full sync: medians
# of several, alternating sides.
DEFAULT_RERUNS = 5
DEFAULT_CHEAP_RUNS = 3
# The benchmark setup of bench.pacing, spelled out so that a tree with other defaults
# measures the same thing.
PRO = ["--plan", "pro", "--latency-ms", "50", "--budget", "1.0"]


# -- the two trees --------------------------------------------------------------------------
@dataclass
class Tree:
    side: str  # "before" or "after"
    path: Path
    label: str  # what the table's header says about it
    commit: str | None
    uncommitted: int | None  # files `git status` lists (the after tree)
    copies: dict[str, str] = field(default_factory=dict)  # script -> why a copy ran instead


def git(*args: str, cwd: Path = HERE) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout.strip()


def setup_error(message: str) -> SystemExit:
    print(message, file=sys.stderr)
    return SystemExit(2)


@contextlib.contextmanager
def trees(before: str, after: Path, tmp: Path) -> Iterator[tuple[Tree, Tree]]:
    """The before tree unpacked from git into `tmp` (removed with it), and the after tree."""
    try:
        commit = git("rev-parse", "--verify", "--quiet", f"{before}^{{commit}}")
    except subprocess.CalledProcessError:
        raise setup_error(f"--before {before!r} is not a revision of {HERE}") from None
    path = tmp / "before"
    path.mkdir()
    archive = tmp / "before.tar"
    try:
        git("archive", "--format=tar", f"--output={archive}", commit)
    except subprocess.CalledProcessError as exc:
        raise setup_error(f"git archive {commit} failed: {exc.stderr.strip()}") from None
    with tarfile.open(archive) as tar:
        tar.extractall(path, filter="data")
    archive.unlink()
    short = git("rev-parse", "--short", commit)
    old = Tree("before", path, f"{before} = {short}" if before != short else short, commit, None)

    after = after.resolve()
    if not (after / "zoomsync").is_dir():
        raise setup_error(f"--after {after} is not a zoomsync source tree (no zoomsync/)")
    head: str | None = None
    dirty: int | None = None
    with contextlib.suppress(subprocess.CalledProcessError, FileNotFoundError):
        head = git("rev-parse", "HEAD", cwd=after)
        dirty = len(git("status", "--porcelain", cwd=after).splitlines())
    label = str(after)
    if head is not None:
        label += f" at {head[:7]}" + (f" + {dirty} uncommitted files" if dirty else "")
    new = Tree("after", after, label, head, dirty)
    for tree in (old, new):
        # Byte-compile both trees first: the unpacked one has no __pycache__, and a module
        # imported lazily inside a measured span (the first load, the first webhook batch)
        # would otherwise pay its compilation on one side only.
        subprocess.run([sys.executable, "-m", "compileall", "-q", "-j", "0", "zoomsync",
                        "bench"], cwd=tree.path, check=False, capture_output=True)
    yield old, new


# -- one measurement in a child process -----------------------------------------------------
@dataclass
class Job:
    """One kind of child run and the figures it yields."""

    name: str
    script: str  # bench/<script>.py
    needs: tuple[str, ...]  # options the tree's script must have, else a copy runs
    args: list[str]
    extract: Callable[[dict[str, Any]], dict[str, float]]  # figures from the child's JSON
    extras: Callable[[dict[str, Any]], dict[str, Any]]  # cross-checks kept in the JSON
    times: int = 1  # child runs per side and repeat (a cheap, noisy figure: more)


@dataclass
class Sample:
    job: str
    side: str
    repeat: int
    seconds: float  # the child process, start to exit
    figures: dict[str, float] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


def argv_for(job: Job, tree: Tree, tmp: Path) -> list[str]:
    """`-m bench.<script>` if the tree's script has every option the job uses; otherwise a
    copy of this checkout's script, run as a file against the tree's zoomsync."""
    own = tree.path / "bench" / f"{job.script}.py"
    text = own.read_text(encoding="utf-8") if own.exists() else ""
    missing = [o for o in job.needs if not re.search(rf"[\"']{re.escape(o)}[\"']", text)]
    if not missing:
        return ["-m", f"bench.{job.script}", *job.args]
    copy = tmp / f"{tree.side}-{job.script}.py"
    if not copy.exists():
        shutil.copyfile(HERE / "bench" / f"{job.script}.py", copy)
        tree.copies[job.script] = (f"its bench/{job.script}.py " + (
            f"has no {', '.join(missing)}" if own.exists() else "does not exist"))
    return [str(copy), *job.args]


def run_child(argv: list[str], tree: Tree, tmp: Path) -> tuple[int, str, str, float]:
    """Run `python argv` in the tree; (exit code, stdout, stderr, seconds). The child gets a
    session of its own, so that on Ctrl-C or a timeout its whole group (it may have started
    an emulator process) can be stopped, and nothing else."""
    scratch = tmp / f"tmp-{tree.side}"  # whatever a killed child leaves goes with `tmp`
    scratch.mkdir(exist_ok=True)
    env = dict(os.environ, PYTHONPATH=str(tree.path), TMPDIR=str(scratch),
               RUNTIME__DLTHUB_TELEMETRY="false")
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, *argv], cwd=tree.path, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=CHILD_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        out, err = stop_group(proc)
        return -1, out, err + f"\n(killed after {CHILD_TIMEOUT_S:.0f} s)", CHILD_TIMEOUT_S
    except BaseException:  # Ctrl-C, SIGTERM: stop the child, then let the caller clean up
        stop_group(proc)
        raise
    return proc.returncode, out, err, time.perf_counter() - started


def stop_group(proc: subprocess.Popen[str]) -> tuple[str, str]:
    """SIGINT to the child's process group (its cleanup runs), SIGKILL if it lingers."""
    for sig in (signal.SIGINT, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            return proc.communicate(timeout=STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            continue
    return "", ""


def measure(job: Job, tree: Tree, repeat: int, tmp: Path) -> Sample:
    code, out, err, seconds = run_child(argv_for(job, tree, tmp), tree, tmp)
    sample = Sample(job.name, tree.side, repeat, seconds)
    data = parse_json(out)
    if code != 0 or data is None:
        tail = "\n".join(err.strip().splitlines()[-15:])
        sample.error = f"exit {code}" + (f":\n{tail}" if tail else "")
        return sample
    try:
        sample.figures = job.extract(data)
        sample.extras = job.extras(data)
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        sample.error = f"unexpected JSON from bench.{job.script}: {type(exc).__name__}: {exc}"
    return sample


def parse_json(out: str) -> dict[str, Any] | None:
    """The JSON object a bench script printed (from the first line that opens one)."""
    start = next((m.start() for m in re.finditer(r"^\{", out, re.MULTILINE)), None)
    if start is None:
        return None
    try:
        data, _ = json.JSONDecoder().raw_decode(out, start)
    except json.JSONDecodeError:
        return None
    return data if isinstance(data, dict) else None


# -- what is measured -----------------------------------------------------------------------
@dataclass(frozen=True)
class Figure:
    key: str
    title: str
    time: bool  # a user's time (the 5% bar applies), else a count
    fmt: str


FIGURES = [
    Figure("full_sync", "full sync, Pro limits (s)", True, ".2f"),
    Figure("rerun_pro", "no-change rerun, Pro limits (s)", True, ".2f"),
    Figure("rerun_pro_calls", "  its API calls", False, ",.0f"),
    Figure("rerun_fast", "secondary: no-change rerun, limits out of the way (s)", True, ".2f"),
    Figure("webhook_median", "webhook receipt-to-row latency, median (s)", True, ".2f"),
    Figure("webhook_p99", "webhook receipt-to-row latency, p99 (s)", True, ".2f"),
]


def _reruns(data: dict[str, Any]) -> dict[str, Any]:
    """The no-change reruns of a `bench.incremental --json` run: median wall time and calls,
    rows loaded in all."""
    runs = [r for r in data["runs"][1:] if r["run"].startswith("rerun, nothing changed")]
    if not runs:
        raise ValueError("no no-change rerun in the output")
    return {"wall_s": statistics.median(float(r["wall_s"]) for r in runs),
            "calls": statistics.median(float(r["calls"]) for r in runs),
            "each_s": [r["wall_s"] for r in runs],
            "rows": sum(sum(r["rows"].values()) for r in runs)}


def jobs(args: argparse.Namespace) -> list[Job]:
    account = ["--users", str(args.users), "--meetings-per-user", str(args.meetings_per_user),
               "--participants-mean", str(args.participants_mean), "--seed", str(args.seed)]
    rerun_options = ("--json", "--limits", "--plan", "--latency-ms", "--budget", "--reruns",
                     "--skip-changed", "--users", "--meetings-per-user", "--participants-mean",
                     "--seed")
    reruns = ["--json", "--skip-changed", "--reruns", str(args.reruns)]

    def rerun_extras(data: dict[str, Any]) -> dict[str, Any]:
        full, rerun = data["runs"][0], _reruns(data)
        return {"full_sync_s": full["wall_s"], "full_sync_calls": full["calls"],
                "full_sync_rows": sum(full["rows"].values()), "reruns_s": rerun["each_s"],
                "rerun_rows": rerun["rows"]}

    return [
        Job("full sync, Pro limits", "pacing",
            ("--json", *PRO[::2], "--users", "--meetings-per-user", "--participants-mean",
             "--seed"), ["--json", *PRO, *account],
            lambda d: {"full_sync": float(d["wall_s"])},
            lambda d: {"calls": d["total_calls"], "rows": d["rows"],
                       "throttled": d["total_throttled_emulator"],
                       "dlt_steps": d.get("dlt_steps", {})}),
        Job("no-change rerun, Pro limits", "incremental", rerun_options,
            [*reruns, "--limits", "plan", *PRO, *account],
            lambda d: {"rerun_pro": _reruns(d)["wall_s"], "rerun_pro_calls": _reruns(d)["calls"]},
            rerun_extras),
        Job("no-change rerun, limits out of the way", "incremental", rerun_options,
            [*reruns, "--limits", "fast", *account],
            lambda d: {"rerun_fast": _reruns(d)["wall_s"]}, rerun_extras, times=args.cheap_runs),
        Job("webhooks", "webhooks", ("--json", "--meetings"),
            ["--json", "--meetings", str(args.webhook_meetings)],
            lambda d: {"webhook_median": float(d["median_s"]), "webhook_p99": float(d["p99_s"])},
            lambda d: {"events": d["events"], "delivered": d["delivered"],
                       "rows_ok": d["rows_ok"], "events_per_s": d["events_per_s"]},
            times=args.cheap_runs),
    ]


# -- the comparison -------------------------------------------------------------------------
@dataclass
class Row:
    key: str
    title: str
    before: float | None
    after: float | None
    ratio: float | None
    verdict: str  # "ok" if after <= (1 + MARGIN) x before, "WORSE" otherwise
    apart: str | None  # time figures: is |after - before| >= MARGIN x before?
    runs_before: list[float]
    runs_after: list[float]


def compare(samples: list[Sample]) -> list[Row]:
    rows = []
    for fig in FIGURES:
        runs = {side: [s.figures[fig.key] for s in samples
                       if s.side == side and fig.key in s.figures] for side in ("before", "after")}
        b = statistics.median(runs["before"]) if runs["before"] else None
        a = statistics.median(runs["after"]) if runs["after"] else None
        ratio = a / b if a is not None and b else None
        if a is None or b is None:
            verdict, apart = "failed", None
        else:
            verdict = "ok" if a <= (1 + MARGIN) * b else "WORSE"
            apart = None
            if fig.time:
                far = abs(a - b) >= MARGIN * b
                apart = ("yes, after slower" if a > b else "yes, after faster") if far else "no"
        rows.append(Row(fig.key, fig.title, b, a, ratio, verdict, apart, runs["before"],
                        runs["after"]))
    return rows


def checks(samples: list[Sample]) -> list[str]:
    """Notes where the two sides did not do the same work, or a rerun loaded rows."""
    notes = []

    def values(job: str, key: str, side: str) -> set[Any]:
        return {s.extras[key] for s in samples if s.job == job and s.side == side
                and key in s.extras}

    for job, key, what in (("full sync, Pro limits", "rows", "full sync: rows loaded"),
                           ("full sync, Pro limits", "calls", "full sync: API calls"),
                           ("no-change rerun, Pro limits", "full_sync_rows",
                            "full sync before the rerun: rows loaded")):
        b, a = values(job, key, "before"), values(job, key, "after")
        if b and a and b != a:
            notes.append(f"{what} differ: before {sorted(b)}, after {sorted(a)}")
    for s in samples:
        if s.extras.get("rerun_rows"):
            notes.append(f"{s.job}, {s.side}: the rerun loaded {s.extras['rerun_rows']} rows "
                         "(nothing had changed)")
        if s.extras.get("throttled"):
            notes.append(f"{s.job}, {s.side}: {s.extras['throttled']} calls got a 429")
        if s.extras.get("rows_ok") is False:
            notes.append(f"{s.job}, {s.side}: rows missing in DuckDB after the burst")
    return notes


def _fmt(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def render(rows: list[Row], samples: list[Sample], before: Tree, after: Tree,
           args: argparse.Namespace, notes: list[str], wall: float) -> str:
    fmt = {f.key: f.fmt for f in FIGURES}
    table = [[r.title, _fmt(r.before, fmt[r.key]), _fmt(r.after, fmt[r.key]),
              _fmt(r.ratio, ".3f"), r.verdict, r.apart or "-"] for r in rows]
    n = args.repeat
    out = [
        f"zoomsync end to end (issue 14): before = {before.label}, after = {after.label}",
        f"account {args.users} users x {args.meetings_per_user} meetings, participants mean "
        f"{args.participants_mean}, seed {args.seed}; Pro limits, 50 ms latency, budget 100%; "
        f"webhook bursts of {args.webhook_meetings} meetings",
        f"medians per side of: full sync {n} run(s); no-change rerun at Pro {n} x "
        f"{args.reruns} reruns, limits out of the way {n} x {args.cheap_runs} x {args.reruns}; "
        f"webhook latency {n} x {args.cheap_runs} bursts",
        "",
        render_table(["figure", "before", "after", "after/before",
                      f"verdict (<= {1 + MARGIN:.2f}x)", f">= {MARGIN:.0%} apart"], table,
                     right=[False, True, True, True, False, False]),
        "",
        f"verdict: ok if after <= {1 + MARGIN:.2f} x before, WORSE otherwise (none worse by "
        f"more than {MARGIN:.0%}). '{MARGIN:.0%} apart': the issue's bar for keeping a speed "
        f"change (it stays only if removing it costs at least {MARGIN:.0%}).",
        "",
        "Every run, in order (s):",
    ]

    def each(s: Sample) -> str:
        if s.error:
            return "failed"
        if "reruns_s" in s.extras:
            return "[" + " ".join(f"{v:.2f}" for v in s.extras["reruns_s"]) + "]"
        return "/".join(f"{v:.2f}" for k, v in s.figures.items() if not k.endswith("_calls"))

    for job in dict.fromkeys(s.job for s in samples):
        sides = {side: ", ".join(each(s) for s in samples if s.job == job and s.side == side)
                 for side in ("before", "after")}
        what = f"{job} (median/p99)" if job == "webhooks" else job
        out.append(f"  {what}: before {sides['before']}; after {sides['after']}")
    for tree in (before, after):
        for script, why in tree.copies.items():
            out.append(f"{tree.side}: {why}: ran a copy of {HERE}/bench/{script}.py against "
                       "its zoomsync")
    out += [f"note: {n}" for n in notes]
    for s in samples:
        if s.error:
            out.append(f"FAILED: {s.job}, {s.side} (run {s.repeat + 1}): {s.error}")
    out.append(f"script wall time: {wall / 60:.1f} min")
    return "\n".join(out)


# -- main -----------------------------------------------------------------------------------
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Issue 14's end-to-end figures (full sync and no-change rerun wall time "
                    "at Pro limits, webhook latency) for two source trees, in one run. "
                    "Prints one table; exits 0 whatever the figures say.")
    p.add_argument("--before", default="HEAD",
                   help="git revision of the before tree (default HEAD)")
    p.add_argument("--after", type=Path, default=HERE,
                   help=f"directory of the after tree (default this checkout, {HERE}, "
                        "uncommitted changes included)")
    add_account_args(p, users=DEFAULT_USERS, meetings_per_user=DEFAULT_MEETINGS_PER_USER,
                     participants_mean=DEFAULT_PARTICIPANTS_MEAN)
    p.add_argument("--webhook-meetings", type=int, default=DEFAULT_WEBHOOK_MEETINGS,
                   help=f"meetings in the webhook burst, 9 events each (default "
                        f"{DEFAULT_WEBHOOK_MEETINGS})")
    p.add_argument("--repeat", type=int, default=1,
                   help="runs per figure and side, alternating the order; medians (default 1)")
    p.add_argument("--reruns", type=int, default=DEFAULT_RERUNS,
                   help="no-change reruns after each full sync, 5 emulator minutes apart; "
                        f"the figure is their median (default {DEFAULT_RERUNS})")
    p.add_argument("--cheap-runs", type=int, default=DEFAULT_CHEAP_RUNS,
                   help="processes per side and repeat for the cheap figures (the rerun with "
                        "limits out of the way, ~15 s; a webhook burst, ~7 s), alternating; "
                        f"medians (default {DEFAULT_CHEAP_RUNS})")
    p.add_argument("--json", action="store_true", help="print the results as JSON only")
    args = p.parse_args(argv)
    if args.users < 4:
        p.error("--users must be at least 4 (the emulator needs one user of each status)")
    for name in ("repeat", "reruns", "cheap_runs"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1")
    return args


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds: children stopped, temporary trees removed


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    started = time.perf_counter()
    samples: list[Sample] = []
    try:
        with tempfile.TemporaryDirectory(prefix="zoomsync-endtoend-") as tmp_name:
            tmp = Path(tmp_name)
            with trees(args.before, args.after, tmp) as (before, after):
                todo = jobs(args)
                total = sum(job.times for job in todo) * args.repeat * 2
                for job in todo:
                    for i in range(args.repeat * job.times):
                        # before, after; then after, before: drift hits both sides alike
                        for tree in (before, after) if i % 2 == 0 else (after, before):
                            print(f"[{len(samples) + 1}/{total}] {job.name}, {tree.side} "
                                  f"({tree.label})…", end="", file=sys.stderr, flush=True)
                            sample = measure(job, tree, i, tmp)
                            samples.append(sample)
                            shown = ", ".join(f"{k} {v:.2f}" for k, v in sample.figures.items())
                            print(f" {shown or 'FAILED'} ({sample.seconds:.0f} s)",
                                  file=sys.stderr, flush=True)
    except KeyboardInterrupt:
        print("\ninterrupted: children stopped, temporary trees removed", file=sys.stderr)
        return 130
    wall = time.perf_counter() - started
    rows = compare(samples)
    notes = checks(samples)
    failures = [s for s in samples if s.error]
    if args.json:
        print(json.dumps({
            "before": {"rev": args.before, "commit": before.commit, "label": before.label,
                       "copies": before.copies},
            "after": {"path": str(after.path), "commit": after.commit,
                      "uncommitted_files": after.uncommitted, "label": after.label,
                      "copies": after.copies},
            "options": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
            "margin": MARGIN, "figures": [asdict(r) for r in rows],
            "samples": [asdict(s) for s in samples], "notes": notes, "wall_s": wall,
        }, indent=2))
    else:
        print(render(rows, samples, before, after, args, notes, wall))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
