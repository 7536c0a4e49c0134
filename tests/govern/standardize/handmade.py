"""A hand-made raw zone (one person-registry system, a few loads) for engine-level tests."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from citybrain.govern.standardize import RawSource
from citybrain.ingest import Manifest, SourceContract

SYSTEM = "hukou_test"
_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def resident_id(n: int, birth: date, *, wrong: bool = False) -> str:
    body = f"510107{birth:%Y%m%d}{n % 1000:03d}"
    check = "10X98765432"[sum(int(d) * w for d, w in zip(body, _WEIGHTS, strict=True)) % 11]
    if wrong:
        check = "0" if check != "0" else "1"
    return body + check


def contract() -> SourceContract:
    return SourceContract.model_validate(
        {
            "id": SYSTEM,
            "name": "test registry",
            "owner": "区公安分局",
            "connector": {"kind": "csv", "path": "x.csv"},
            "standard": "person_registration",
            "keys": ["record_id"],
            "refresh": {"mode": "full", "schedule": "monthly"},
            "mapping": {"columns": [{"source": "性别", "target": "gender", "codes": {"男": "M"}}]},
        }
    )


def person_rows(n: int, *, dirt: float, seed: int = 1, first: int = 0) -> list[dict[str, object]]:
    """``n`` people; a share ``dirt`` gets a wrong check digit, no phone and a bad phone."""
    rnd = random.Random(seed)
    rows: list[dict[str, object]] = []
    for i in range(first, first + n):
        birth = date(1960, 1, 1) + timedelta(days=rnd.randrange(15000))
        dirty = rnd.random() < dirt
        rows.append(
            {
                "record_id": f"R{i:06d}",
                "name": f"张{i}",
                "gender": "M",
                "id_number": resident_id(i, birth, wrong=dirty),
                "birth_date": birth,
                "phone": None if dirty and i % 2 else ("1380000" if dirty else f"139{i:08d}"),
                "address": None,
            }
        )
    return rows


def write_load(lake: Path, load_id: str, rows: list[dict[str, object]], minute: int) -> None:
    folder = lake / "raw" / SYSTEM / f"load_id={load_id}"
    folder.mkdir(parents=True)
    table = pa.Table.from_pylist(
        [{**r, "_load_id": load_id, "_row": i + 1} for i, r in enumerate(rows)]
    )
    pq.write_table(table, folder / "part-00000.parquet")
    started = datetime(2026, 1, 1, 0, minute, tzinfo=UTC)
    Manifest(
        load_id=load_id, system=SYSTEM, connector="csv", source_file="x.csv",
        rows_read=len(rows), rows_landed=len(rows), started_at=started, columns=table.column_names,
        finished_at=started, status="completed",
    ).write(folder / "_manifest.json")  # fmt: skip


def raw_source(lake: Path) -> RawSource:
    from citybrain.govern.standardize import raw_sources

    (found,) = raw_sources(lake, [contract()])
    return found
