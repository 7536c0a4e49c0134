"""A second `citybrain run` after 1 % new data recomputes only the steps that depend on it, and
ends with what a full recomputation of the same data makes.

The tiny city's enterprise systems and address register, plus one bike company's positions: new
positions (1 % of its rows) must not resolve enterprises again nor rerun the enterprise topics,
only land the bike company's new file (the other sources' ingest steps are skipped), standardise
the bike table (appending the new rows), score quality, rerun the two bike topics on the new day
alone (`citybrain.pipeline.topic_increment`), cases and the report.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import yaml

from citybrain.pipeline import run_pipeline
from pipeline.tinycity import SYSTEMS, city, city_workspace, outputs

__all__ = ["city"]  # the module's fixture
pytestmark = [pytest.mark.slow, pytest.mark.duckdb, pytest.mark.timeout(1800)]

BIKES = "bike_meituan"


def test_a_run_after_one_percent_new_positions_recomputes_only_what_depends_on_them(
    tmp_path: Path, city: Path
) -> None:
    systems = (*SYSTEMS, BIKES, "bike_parking_zones")
    workspace = city_workspace(tmp_path / "ws", city, systems=systems)
    # the bike company's deliveries in a folder of the test's own, so it can deliver more
    deliveries = tmp_path / BIKES
    shutil.copytree(city / BIKES, deliveries)
    contract = workspace.root / "sources" / f"{BIKES}.yaml"
    spec = yaml.safe_load(contract.read_text("utf-8"))
    spec["connector"]["path"] = str(deliveries / Path(spec["connector"]["path"]).name)
    contract.write_text(yaml.safe_dump(spec, allow_unicode=True), "utf-8")

    first = run_pipeline(workspace)
    assert first.status == "succeeded" and not any(r.skipped for r in first.steps)

    # 1 % new rows: the last positions of the latest month, a day later, as a new delivery
    files = sorted(deliveries.glob("*.parquet"))
    total = sum(pq.read_metadata(f).num_rows for f in files)
    latest = pq.read_table(files[-1])
    new = latest.slice(latest.num_rows - total // 100)
    for column, shift in (("ts", 86_400), ("record_id", 10_000_000)):
        moved = pc.add(new.column(column), pa.scalar(shift, pa.int64()))
        new = new.set_column(new.schema.get_field_index(column), column, moved)
    pq.write_table(new, deliveries / "bike_location_2023-04.parquet")

    second = run_pipeline(workspace)
    assert second.status == "succeeded"
    ran = [r.name for r in second.steps if not r.skipped]
    skipped = [r.name for r in second.steps if r.skipped]
    print(f"\nran again: {ran}\nskipped: {skipped}")
    assert {"standardize", "quality", "topic:shared_bikes", "cases", "report"} <= set(ran)
    assert {"resolve", "topic:policy_push", "topic:enterprise_warning"} <= set(skipped)
    # the sources that delivered nothing new are not even looked at; the bikes' new file lands
    assert "ingest:bike_meituan" in ran
    assert {f"ingest:{s}" for s in systems if s != BIKES} <= set(skipped)
    (landed,) = [r for r in second.steps if r.name == f"ingest:{BIKES}"]
    assert f"{total // 100:,} rows landed" in landed.summary, landed.summary
    (standardize,) = [r for r in second.steps if r.name == "standardize"]
    assert "1 std tables" in standardize.summary and "unchanged kept" in standardize.summary
    for name in ("topic:shared_bikes", "topic:bike_rebalancing"):  # only the new day's findings
        (topic,) = [r for r in second.steps if r.name == name]
        assert "days recomputed" in topic.summary, topic.summary
    incremental = outputs(workspace)

    full = run_pipeline(workspace, start="standardize")  # everything again, nothing skipped
    assert full.status == "succeeded" and not any(r.skipped for r in full.steps)
    recomputed = outputs(workspace)
    assert sorted(recomputed) == sorted(incremental)
    differ = [key for key in incremental if recomputed[key] != incremental[key]]
    assert not differ, f"the incremental run differs from a full one in {differ}"
