"""systems.base: the streamed writer thread and the bulk-export switch."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from citybrain.sim import GenerateResult, generate
from citybrain.sim.formats import write_parquet
from citybrain.sim.scales import SCALES
from citybrain.sim.systems.base import write_streamed
from sim.readers import read_any, system_files


def _batches(n: int) -> Iterator[pa.Table]:
    for i in range(n):
        yield pa.table({"i": list(range(i * 10, i * 10 + 10))})


def test_streamed_write_keeps_order_and_counts(tmp_path: Path) -> None:
    path = tmp_path / "x.parquet"
    assert write_streamed(write_parquet, path, _batches(50)) == 500
    assert pq.read_table(path)["i"].to_pylist() == list(range(500))


def test_a_failing_generator_leaves_no_file(tmp_path: Path) -> None:
    def broken() -> Iterator[pa.Table]:
        yield from _batches(3)
        raise ValueError("generation broke")

    path = tmp_path / "x.parquet"
    with pytest.raises(ValueError, match="generation broke"):
        write_streamed(write_parquet, path, broken())
    assert not path.exists() and not list(tmp_path.iterdir())


def test_a_failing_writer_surfaces_its_error(tmp_path: Path) -> None:
    def write(path: Path, batches: Iterable[pa.Table]) -> int:
        next(iter(batches))
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_streamed(write, tmp_path / "x.parquet", _batches(100))


BULK_SYSTEMS = ["water_utility", "gas_utility", "parcel_express", "food_delivery_platform"]


def test_bulk_scale_hands_the_same_rows_over_as_parquet(
    tmp_path: Path, tiny_city: GenerateResult
) -> None:
    bulk = dataclasses.replace(SCALES["tiny"], bulk_parquet=True)
    systems = [*BULK_SYSTEMS, "bike_meituan"]
    out = generate(bulk, tiny_city.seed, tmp_path / "bulk", systems=systems)
    for system in [*BULK_SYSTEMS, "bike_hellobike", "bike_qingju"]:
        files = system_files(out.out, system)
        assert files and {p.suffix for p in files} == {".parquet"}, system
        assert out.rows[system] == tiny_city.rows[system], system
        text = system_files(tiny_city.out, system)
        assert {p.stem for p in files} == {p.stem for p in text}
        # same columns as the department's own format (the broken text files aside)
        assert set(pq.read_schema(files[0]).names) == set(read_any(text[0]).column_names)
