"""dlt's load step starts a package's largest files first (largest_first.py), and loads
the same rows."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import duckdb
import pytest

from zoomsync.destinations.fastload import faster_load_step


def test_jobs_start_largest_first_and_every_row_arrives(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import dlt
    from dlt.load.load import Load

    faster_load_step()
    sizes = {"small": 3, "large": 3000, "medium": 300, "tiny": 1}
    resources = [dlt.resource([{"id": n, "text": f"{name} row {n}"} for n in range(count)],
                              name=name) for name, count in sizes.items()]
    pipeline = dlt.pipeline(pipeline_name="largest", pipelines_dir=str(tmp_path / "p"),
                            destination=dlt.destinations.duckdb(str(tmp_path / "l.duckdb")),
                            dataset_name="data")
    pipeline.extract(resources, loader_file_format="parquet")
    pipeline.normalize()
    started: list[tuple[str, int]] = []
    submit = Load.submit_job

    def recording_submit(self: Any, file_path: str, *args: Any, **kwargs: Any) -> Any:
        full = self.load_storage.normalized_packages.storage.make_full_path(file_path)
        started.append((os.path.basename(file_path).split(".")[0], os.path.getsize(full)))
        return submit(self, file_path, *args, **kwargs)

    monkeypatch.setattr(Load, "submit_job", recording_submit)
    monkeypatch.setenv("LOAD__WORKERS", "1")  # one at a time: the start order is the order
    pipeline.load()
    data = [(table, size) for table, size in started if table in sizes]
    assert [table for table, _ in data] == ["large", "medium", "small", "tiny"]
    assert [size for _, size in data] == sorted((size for _, size in data), reverse=True)
    with duckdb.connect(str(tmp_path / "l.duckdb")) as con:
        for name, count in sizes.items():
            assert con.execute(f"select count(*), count(distinct id) from data.{name}"
                               ).fetchone() == (count, count)
