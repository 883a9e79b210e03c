"""Does zoomsync use the account's rate budget well?

A full sync (`zoomsync.sync.runner.run`) of a benchmark dataset served by the emulator on
127.0.0.1, at the plan's real limits (no overrides) with added latency per response, the
client pacing at `--budget` of the plan, into DuckDB in a temporary directory. Prints one
table: per rate label and in total, calls and achieved calls/s against the limit (over the
label's busy span and over the whole run), 429s, API calls per 1,000 rows, peak RSS, and
the share of wall time with no request to the emulator in flight. Targets are printed
next to the values with PASS/FAIL; the exit status is 0 whatever they say, 1 only if the
sync itself fails or is partial.

From the repository root:

    .venv/bin/python -m bench.pacing                # defaults: Pro, 50 ms, budget 100%
    .venv/bin/python -m bench.pacing --users 10 --meetings-per-user 2   # a quick look
    .venv/bin/python -m bench.pacing --detail       # + per-endpoint timeline, idle gaps
    .venv/bin/python -m bench.pacing --json         # machine output only
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench._harness import (
    EmulatorProcess,
    EmulatorThread,
    Flight,
    RecordingTransport,
    RssSampler,
    add_account_args,
    busy_intervals,
    idle_gaps,
    peak_rss_mb,
    render_table,
    vm_hwm_mb,
)
from zoomsync.config import Settings
from zoomsync.emulator.app import EmulatorConfig
from zoomsync.emulator.dataset import DatasetConfig
from zoomsync.emulator.endpoints import ENDPOINTS
from zoomsync.emulator.limits import PLAN_LIMITS, WINDOW_SECONDS
from zoomsync.emulator.oauth import DEFAULT_CREDENTIALS as CREDS
from zoomsync.emulator.routing import match
from zoomsync.errors import ZoomSyncError
from zoomsync.sync.report import RunReport
from zoomsync.zoom import Pacer, ZoomClient, ZoomCredentials
from zoomsync.zoom.pacing import LABELS

# The targets (DESIGN.md "Pacing, not just retrying"; bench/README.md).
TARGET_BINDING = 0.90  # achieved/limit on the binding label, over its busy span: at least
TARGET_429 = 0.01  # 429s as a share of calls: at most
TARGET_RSS_MB = 400.0  # peak RSS: at most
TARGET_OUTSIDE = 0.15  # share of wall time with no request in flight: at most

# Defaults sized so that, at Pro limits on a 2-core machine, the run takes 1-3 minutes
# (measured: ~2.5) and the binding label, MEDIUM (three calls per meeting instance and ~16
# per user; ~2,500 calls here, ~125 s at 20/s), is busy for most of it: long enough for a
# ratio over its busy span to mean something. Recurring meetings make ~40 instances per
# host over the emulator's 8 months, so the instance count, not the user count, sets it.
DEFAULT_USERS = 20
DEFAULT_MEETINGS_PER_USER = 2
DEFAULT_PARTICIPANTS_MEAN = 8
SHORT = {"LIGHT": "LIGHT", "MEDIUM": "MEDIUM", "HEAVY": "HEAVY",
         "RESOURCE_INTENSIVE": "RES_INTENSIVE"}


@dataclass
class LabelResult:
    """One rate label's numbers. Rates are per second; ratios are achieved / limit."""

    label: str
    limit_per_s: float
    limit_text: str
    calls: int  # admitted by the emulator (its counters)
    calls_seen: int  # admitted responses the transport saw (a cross-check of `calls`)
    busy_s: float | None  # first to last admitted call's send time
    rate_busy: float | None
    ratio_busy: float | None
    rate_run: float
    ratio_run: float
    seconds_at_limit: float  # calls / limit: how long the label must take at best
    throttled_client: int
    throttled_emulator: int
    share_429: float | None
    binding: bool = False


@dataclass
class Result:
    """Everything the script measured, as `--json` prints it."""

    plan: str
    budget: float
    latency_ms: int
    workers: int
    dataset: dict[str, Any]
    emulator: str
    wall_s: float
    api_span_s: float | None  # first to last API call, any label
    labels: list[LabelResult]
    binding: str | None
    total_calls: int
    total_throttled_client: int
    total_throttled_emulator: int
    share_429: float | None
    token_requests: int
    rows: int
    rows_by_table: dict[str, int]
    calls_per_1000_rows: float | None
    peak_rss_mb: float
    vm_hwm_mb: float | None
    rss_sampled_peak_mb: float | None  # can miss a spike shorter than the sampling interval
    rss_peak_at_s: float | None  # when the sampled RSS peaked, from the start of the run
    rss_at_start_mb: float | None
    busy_s: float
    outside_share: float
    outside_before_first_s: float
    outside_gaps_s: float
    outside_after_last_s: float
    mean_in_flight: float
    dlt_steps: dict[str, float]
    report_ok: bool
    report_reasons: list[str]
    skipped: int
    targets: list[dict[str, Any]] = field(default_factory=list)
    endpoints: list[dict[str, Any]] = field(default_factory=list)
    largest_gaps: list[dict[str, float]] = field(default_factory=list)
    rss_curve: list[tuple[float, float]] = field(default_factory=list)  # (s, MB), ~1 a second


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        result, _ = bench(args)
    except ZoomSyncError as exc:  # the sync failed: nothing to measure
        print(f"the sync failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(asdict(result), indent=2))
    else:
        print(render(result, detail=args.detail))
    if not result.report_ok:
        print("The sync was partial: " + "; ".join(result.report_reasons), file=sys.stderr)
        return 1
    return 0


def bench(args: argparse.Namespace) -> tuple[Result, list[Flight]]:
    """One full sync against a fresh emulator; the measurements and every HTTP exchange."""
    # Import dlt and the source before the clock starts: a CLI pays this once per process,
    # and it is not time the sync spends outside the API.
    import dlt  # noqa: F401

    import zoomsync.sync.source  # noqa: F401
    from zoomsync.sync.runner import run

    anchor = datetime.now(UTC).replace(microsecond=0)  # the emulator's clock = the client's
    dataset = DatasetConfig(seed=args.seed, anchor=anchor, users=args.users,
                            meetings_per_user=args.meetings_per_user,
                            participants_mean=args.participants_mean)
    config = EmulatorConfig(dataset=dataset, plan=args.plan, latency_ms=args.latency_ms)
    server_cls = EmulatorThread if args.emulator_in_process else EmulatorProcess
    with tempfile.TemporaryDirectory(prefix="zoomsync-bench-") as tmp, server_cls(config) as emu:
        settings_kwargs: dict[str, Any] = dict(
            account_id=CREDS.account_id, client_id=CREDS.client_id,
            client_secret=CREDS.client_secret, api_url=emu.api_url, oauth_url=emu.oauth_url,
            plan=args.plan, budget=args.budget, duckdb_path=Path(tmp) / "bench.duckdb",
            pipelines_dir=Path(tmp) / "pipelines")
        if args.workers is not None:
            settings_kwargs["workers"] = args.workers
        # No .env: a developer's local file must not change what the benchmark measures.
        settings = Settings(_env_file=None, **settings_kwargs)  # type: ignore[call-arg]
        transport = RecordingTransport()
        client = ZoomClient(ZoomCredentials(CREDS.account_id, CREDS.client_id,
                                            CREDS.client_secret),
                            api_url=settings.api_url, oauth_url=settings.oauth_url,
                            pacer=Pacer(plan=settings.plan, budget=settings.budget),
                            transport=transport)
        if not args.json:
            print(f"Syncing {dataset.users} users x {dataset.meetings_per_user} meetings "
                  f"(participants mean {dataset.participants_mean}, seed {dataset.seed}) from "
                  f"the emulator at {emu.base_url}: {args.plan} limits, {args.latency_ms} ms "
                  f"latency, budget {args.budget:.0%}, {settings.workers} workers…",
                  file=sys.stderr, flush=True)
        with client, RssSampler() as rss:
            started = time.perf_counter()
            report = run(settings, client=client)  # raises if the sync fails: exit 1
            finished = time.perf_counter()
        counters = emu.counters()
        steps = dlt_steps(Path(tmp) / "pipelines")
    flights = transport.flights()
    result = measure(args, settings.workers, dataset, report, client_stats=report.calls,
                     counters=counters, flights=flights, started=started, finished=finished,
                     steps=steps, rss=rss)
    return result, [replace(f, start=f.start - started, end=f.end - started) for f in flights]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Full sync against the emulator at the plan's limits: how well does "
                    "zoomsync use the rate budget? Prints one table; exits 0 whatever the "
                    "targets say.")
    add_account_args(p, users=DEFAULT_USERS, meetings_per_user=DEFAULT_MEETINGS_PER_USER,
                     participants_mean=DEFAULT_PARTICIPANTS_MEAN)
    p.add_argument("--latency-ms", type=int, default=50,
                   help="latency the emulator adds to each API response (default 50)")
    p.add_argument("--budget", type=float, default=1.0,
                   help="share of the plan's limits the client paces at (default 1.0)")
    p.add_argument("--plan", choices=sorted(PLAN_LIMITS), default="pro",
                   help="the emulator's and the client's plan (default pro)")
    p.add_argument("--workers", type=int, default=None,
                   help="concurrent Zoom calls (default: Settings' default)")
    p.add_argument("--emulator-in-process", action="store_true",
                   help="serve the emulator from a thread of this process instead of a child "
                        "process (its CPU and memory then count against the sync)")
    p.add_argument("--detail", action="store_true",
                   help="also print each endpoint's calls and busy span, and the largest gaps")
    p.add_argument("--json", action="store_true", help="print the results as JSON only")
    args = p.parse_args(argv)
    if args.users < 4:
        p.error("--users must be at least 4 (the emulator needs one user of each status)")
    if not 0 < args.budget <= 1:
        p.error("--budget is a share of the plan's limits in (0, 1]")
    return args


def label_of(flight: Flight) -> tuple[str, str]:
    """(rate label, path template) from the emulator's own endpoint table, as it counts them;
    ("OAUTH", ...) for token requests."""
    if not flight.path.startswith("/v2/"):
        return "OAUTH", flight.path
    found = match(flight.path.removeprefix("/v2"), ENDPOINTS)
    if found is None:
        return "UNKNOWN", flight.path
    return ENDPOINTS[found[0]].label, found[0]


def dlt_steps(pipelines_dir: Path) -> dict[str, float]:
    """Seconds per dlt step (extract, normalize, load) from the pipeline's saved trace."""
    import dlt

    names = [p.name for p in pipelines_dir.iterdir() if p.is_dir()] if pipelines_dir.exists() \
        else []
    if len(names) != 1:
        return {}
    trace = dlt.attach(pipeline_name=names[0], pipelines_dir=str(pipelines_dir)).last_trace
    if trace is None:
        return {}
    return {step.step: (step.finished_at - step.started_at).total_seconds()
            for step in trace.steps if step.finished_at is not None}


def measure(args: argparse.Namespace, workers: int, dataset: DatasetConfig, report: RunReport, *,
            client_stats: dict[str, dict[str, float]], counters: dict[str, Any],
            flights: list[Flight], started: float, finished: float,
            steps: dict[str, float], rss: RssSampler) -> Result:
    wall = finished - started
    by_label: dict[str, list[Flight]] = defaultdict(list)
    by_template: dict[str, list[Flight]] = defaultdict(list)
    for flight in flights:
        label, template = label_of(flight)
        by_label[label].append(flight)
        by_template[f"{label} {template}"].append(flight)

    labels: list[LabelResult] = []
    for label in LABELS:
        limit, window = PLAN_LIMITS[args.plan][label], WINDOW_SECONDS[label]
        per_s = limit / window
        emu = counters["labels"][label]
        admitted = [f for f in by_label.get(label, []) if f.status not in (0, 429)]
        n = int(emu["calls"])
        busy = rate_busy = ratio_busy = None
        if len(admitted) >= 2:
            busy = admitted[-1].start - admitted[0].start
            # n calls at the limit are n - 1 intervals apart: (n - 1) / span is the rate,
            # where n / span would flatter a short label.
            rate_busy = (len(admitted) - 1) / busy if busy > 0 else None
            ratio_busy = rate_busy / per_s if rate_busy is not None else None
        throttled_emu = int(emu["throttled"])
        sent = n + throttled_emu
        labels.append(LabelResult(
            label=label, limit_per_s=per_s,
            limit_text=f"{limit:g}/{'min' if window == 60 else 's'}",
            calls=n, calls_seen=len(admitted), busy_s=busy, rate_busy=rate_busy,
            ratio_busy=ratio_busy, rate_run=n / wall, ratio_run=n / wall / per_s,
            seconds_at_limit=n / per_s,
            throttled_client=int(client_stats.get(label, {}).get("throttled", 0)),
            throttled_emulator=throttled_emu,
            share_429=throttled_emu / sent if sent else None))
    binding = max((lr for lr in labels if lr.calls), key=lambda lr: lr.seconds_at_limit,
                  default=None)
    if binding is not None:
        binding.binding = True

    spans = [(max(f.start, started), min(f.end, finished)) for f in flights]
    busy_iv = busy_intervals([s for s in spans if s[1] > s[0]])
    busy_s = sum(e - s for s, e in busy_iv)
    gaps = idle_gaps(busy_iv, started, finished)
    before = busy_iv[0][0] - started if busy_iv else wall
    after = finished - busy_iv[-1][1] if busy_iv else 0.0
    outside = wall - busy_s
    in_flight_s = sum(e - s for s, e in spans if e > s)

    peak = rss.peak()
    sends = [f.start for k, v in by_label.items() if k in LABELS for f in v]
    api_span = max(sends) - min(sends) if len(sends) >= 2 else None
    total_calls = sum(lr.calls for lr in labels)
    t_client = sum(lr.throttled_client for lr in labels)
    t_emu = sum(lr.throttled_emulator for lr in labels)
    api_requests = sum(len(v) for k, v in by_label.items() if k not in ("OAUTH",))
    rows_by_table = dict(sorted(report.rows.items()))
    rows = sum(rows_by_table.values())

    result = Result(
        plan=args.plan, budget=args.budget, latency_ms=args.latency_ms, workers=workers,
        dataset={"users": dataset.users, "meetings_per_user": dataset.meetings_per_user,
                 "participants_mean": dataset.participants_mean, "seed": dataset.seed,
                 "anchor": dataset.anchor.isoformat()},
        emulator="in this process" if args.emulator_in_process else "in a child process",
        wall_s=wall, api_span_s=api_span, labels=labels, binding=binding.label if binding else None,
        total_calls=total_calls, total_throttled_client=t_client,
        total_throttled_emulator=t_emu,
        share_429=t_emu / (total_calls + t_emu) if total_calls + t_emu else None,
        token_requests=len(by_label.get("OAUTH", [])), rows=rows, rows_by_table=rows_by_table,
        calls_per_1000_rows=1000 * api_requests / rows if rows else None,
        peak_rss_mb=peak_rss_mb(), vm_hwm_mb=vm_hwm_mb(),
        rss_sampled_peak_mb=peak[1] if peak else None,
        rss_peak_at_s=peak[0] - started if peak else None,
        rss_at_start_mb=rss.samples[0][1] if rss.samples else None, busy_s=busy_s,
        outside_share=outside / wall if wall > 0 else 0.0,
        outside_before_first_s=before, outside_gaps_s=outside - before - after,
        outside_after_last_s=after, mean_in_flight=in_flight_s / busy_s if busy_s else 0.0,
        dlt_steps=steps, report_ok=report.ok, report_reasons=report.reasons(),
        skipped=len(report.skipped))
    result.targets = targets(result, binding)
    result.rss_curve = [(round(t - started, 2), round(mb, 1)) for t, mb in rss.samples[::4]]
    for key, group in sorted(by_template.items(), key=lambda kv: kv[1][0].start):
        label, template = key.split(" ", 1)
        durations = [f.end - f.start for f in group]
        result.endpoints.append({
            "label": label, "template": template, "requests": len(group),
            "throttled": sum(f.status == 429 for f in group),
            "first_s": group[0].start - started, "last_s": group[-1].start - started,
            "median_ms": 1000 * statistics.median(durations)})
    result.largest_gaps = [{"at_s": s - started, "seconds": e - s}
                           for s, e in sorted(gaps, key=lambda g: g[0] - g[1])[:8]]
    return result


def targets(r: Result, binding: LabelResult | None) -> list[dict[str, Any]]:
    def verdict(ok: bool | None) -> str:
        return "n/a" if ok is None else "PASS" if ok else "FAIL"

    ratio = binding.ratio_busy if binding else None
    # The target is 90% of what the client may use: of the limit at budget 100%, of
    # budget x limit when it is told to leave the rest to the account's other apps.
    floor = TARGET_BINDING * r.budget
    goal = f">= {floor:.0%}" + ("" if r.budget == 1 else f" ({TARGET_BINDING:.0%} of budget)")
    return [
        {"id": "binding", "name": f"{binding.label if binding else '-'} (binding) "
                                  "achieved/limit over its busy span",
         "value": ratio, "goal": goal,
         "result": verdict(None if ratio is None else ratio >= floor)},
        {"id": "429", "name": "429s / calls (emulator)", "value": r.share_429,
         "goal": f"<= {TARGET_429:.0%}",
         "result": verdict(None if r.share_429 is None else r.share_429 <= TARGET_429)},
        {"id": "rss", "name": "peak RSS (MB, ru_maxrss)", "value": r.peak_rss_mb,
         "goal": f"<= {TARGET_RSS_MB:.0f}", "result": verdict(r.peak_rss_mb <= TARGET_RSS_MB)},
        {"id": "outside", "name": "wall time outside the API", "value": r.outside_share,
         "goal": f"<= {TARGET_OUTSIDE:.0%}", "result": verdict(r.outside_share <= TARGET_OUTSIDE)},
    ]


def _pct(x: float | None, digits: int = 1) -> str:
    return "-" if x is None else f"{100 * x:.{digits}f}%"


def _num(x: float | None, fmt: str = ".1f") -> str:
    return "-" if x is None else format(x, fmt)


def render(r: Result, *, detail: bool = False) -> str:
    labels = r.labels
    names = [SHORT[lr.label] + (" *" if lr.binding else "") for lr in labels]
    header = ["metric", *names, "total", "target", "result"]
    t = {x["id"]: x for x in r.targets}
    blank = [""] * 2

    def row(name: str, cells: list[str], total: str = "", target: str = "",
            result: str = "") -> list[str]:
        return [name, *cells, total, target, result]

    rows = [
        row("calls (admitted by the emulator)", [f"{lr.calls:,}" for lr in labels],
            f"{r.total_calls:,}", *blank),
        row(f"{r.plan} limit", [lr.limit_text for lr in labels], "-", *blank),
        row("  = calls/s", [_num(lr.limit_per_s, ".3g") for lr in labels], "-", *blank),
        row("seconds at the limit (calls/limit)", [_num(lr.seconds_at_limit)
                                                   for lr in labels], "-", *blank),
        row("busy span, first to last call (s)", [_num(lr.busy_s) for lr in labels],
            _num(r.api_span_s), *blank),
        row("calls/s over busy span", [_num(lr.rate_busy, ".2f") for lr in labels], "-",
            *blank),
        row("achieved/limit over busy span", [_pct(lr.ratio_busy) for lr in labels], "-",
            t["binding"]["goal"] + " on *", t["binding"]["result"]),
        row("calls/s over the whole run", [_num(lr.rate_run, ".2f") for lr in labels],
            _num(r.total_calls / r.wall_s, ".2f"), *blank),
        row("achieved/limit over the whole run", [_pct(lr.ratio_run) for lr in labels], "-",
            *blank),
        row("429s (client stats)", [str(lr.throttled_client) for lr in labels],
            str(r.total_throttled_client), *blank),
        row("429s (emulator counters)", [str(lr.throttled_emulator) for lr in labels],
            str(r.total_throttled_emulator), *blank),
        row("429s / calls", [_pct(lr.share_429, 2) for lr in labels], _pct(r.share_429, 2),
            t["429"]["goal"], t["429"]["result"]),
        row("rows loaded (all tables)", [""] * 4, f"{r.rows:,}", *blank),
        row("API calls per 1,000 rows", [""] * 4, _num(r.calls_per_1000_rows), *blank),
        row("peak RSS, ru_maxrss (MB)", [""] * 4, _num(r.peak_rss_mb, ".0f"),
            t["rss"]["goal"], t["rss"]["result"]),
        row("peak RSS, VmHWM (MB)", [""] * 4, _num(r.vm_hwm_mb, ".0f"), *blank),
        row("  RSS sampled 4/s: at start, peak (at s)", [""] * 4,
            f"{_num(r.rss_at_start_mb, '.0f')}, {_num(r.rss_sampled_peak_mb, '.0f')} "
            f"({_num(r.rss_peak_at_s)})", *blank),
        row("wall time outside the API", [""] * 4, _pct(r.outside_share),
            t["outside"]["goal"], t["outside"]["result"]),
        row("  before the first call (s)", [""] * 4, _num(r.outside_before_first_s), *blank),
        row("  gaps between calls (s)", [""] * 4, _num(r.outside_gaps_s), *blank),
        row("  after the last call (s)", [""] * 4, _num(r.outside_after_last_s), *blank),
        row("mean requests in flight when busy", [""] * 4, _num(r.mean_in_flight, ".2f"),
            *blank),
    ]
    if r.dlt_steps:
        rows.append(row("dlt extract / normalize / load (s)", [""] * 4, " / ".join(
            _num(r.dlt_steps.get(s)) for s in ("extract", "normalize", "load")), *blank))
    out = [
        f"zoomsync pacing: {r.plan} plan, budget {r.budget:.0%}, {r.latency_ms} ms latency, "
        f"{r.workers} workers; {r.dataset['users']} users x {r.dataset['meetings_per_user']} "
        f"meetings, participants mean {r.dataset['participants_mean']}, seed "
        f"{r.dataset['seed']}; emulator {r.emulator}; wall {r.wall_s:.1f} s",
        render_table(header, rows, right=[False, *[True] * (len(header) - 1)]),
        "* binding label: the most seconds of calls at its limit.",
    ]
    mismatched = [lr.label for lr in labels if lr.calls != lr.calls_seen]
    if mismatched:
        out.append("note: the transport saw a different number of admitted calls than the "
                   f"emulator counted for {', '.join(mismatched)}")
    if not r.report_ok:
        out.append("PARTIAL RUN: " + "; ".join(r.report_reasons))
    if detail:
        out += ["", "Per endpoint, in order of first call (seconds from the start of the run):",
                render_table(["label", "endpoint", "requests", "429s", "first s", "last s",
                              "median ms"],
                             [[e["label"], e["template"], f"{e['requests']:,}",
                               str(e["throttled"]), _num(e["first_s"]), _num(e["last_s"]),
                               _num(e["median_ms"], ".0f")] for e in r.endpoints],
                             right=[False, False, True, True, True, True, True]),
                "", "Largest gaps with no request in flight:",
                render_table(["at s", "seconds"], [[_num(g["at_s"]), _num(g["seconds"], ".2f")]
                                                   for g in r.largest_gaps])]
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
