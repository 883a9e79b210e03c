"""What a run shows a person: rows per table, API calls per label, skips, partial runs."""

from __future__ import annotations

from collections import Counter

from rich.console import Console
from rich.table import Table

from zoomsync.sync.report import RunReport

# Zoom's published per-label limits (calls per second; Resource-intensive per minute).
PLAN_LIMITS = {
    "pro": {"LIGHT": 30, "MEDIUM": 20, "HEAVY": 10, "RESOURCE_INTENSIVE": 10 / 60},
    "business": {"LIGHT": 80, "MEDIUM": 60, "HEAVY": 40, "RESOURCE_INTENSIVE": 20 / 60},
}


def render_report(report: RunReport, console: Console, *, plan: str = "pro",
                  budget: float = 0.8) -> None:
    rows = Table(title="Rows loaded", title_justify="left")
    rows.add_column("table")
    rows.add_column("rows", justify="right")
    for table, n in sorted(report.rows.items()):
        rows.add_row(table, f"{n:,}")
    console.print(rows)

    calls = Table(title=f"Zoom API calls ({plan} plan, pacing budget {budget:.0%})",
                  title_justify="left")
    for col in ("label", "calls", "calls/s", "limit/s", "429s", "retries", "waited s"):
        calls.add_column(col, justify="left" if col == "label" else "right")
    seconds = max(report.duration, 1e-6)
    for label, stats in sorted(report.calls.items()):
        if not stats.get("calls"):
            continue
        limit = PLAN_LIMITS.get(plan, {}).get(label)
        calls.add_row(label, f"{stats['calls']:,}", f"{stats['calls'] / seconds:.1f}",
                      f"{limit:g}" if limit else "?", str(stats.get("throttled", 0)),
                      str(stats.get("retries", 0)), f"{stats.get('wait_seconds', 0):.1f}")
    console.print(calls)

    if report.skipped:
        groups = Counter((s.stream, s.status, s.code) for s in report.skipped)
        example = {(s.stream, s.status, s.code): s for s in report.skipped}
        console.print(f"Skipped {len(report.skipped)} partitions Zoom would not serve "
                      "(asked again next run; `--json` lists them all):")
        for key, n in groups.most_common(10):
            s = example[key]
            console.print(f"  {s.stream}: {n} × HTTP {s.status} code {s.code}, e.g. "
                          f"{s.partition}: {s.message}", highlight=False, markup=False)
    if report.failures:
        console.print(f"Failed {len(report.failures)} lists or partitions, skipped with what "
                      "depends on them (read again next run; `--json` lists them all):")
        for f in report.failures[:10]:
            answer = f"HTTP {f.status}" if f.status else "no response"
            if f.code is not None:
                answer += f" code {f.code}"
            part = f" {f.partition}" if f.partition else ""
            console.print(f"  {f.stream}{part}: {f.request} -> {answer}: {f.answer}",
                          highlight=False, markup=False, soft_wrap=True)
    state = "complete" if report.ok else "PARTIAL"
    console.print(f"Run {state} in {report.duration:.1f} s.", highlight=False)
    for reason in report.reasons():
        console.print(f"  {reason}", highlight=False, markup=False)
