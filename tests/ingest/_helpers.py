"""Helpers shared by the ingest tests: sample data and CSV writing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from citybrain.ingest import SourceContract

WATER_MAPPING = """\
mapping:
  columns:
    - {source: 户号, target: account_no}
    - {source: 户主姓名, target: holder_name}
    - {source: 收费日期, target: charge_date, type: date, formats: ['%Y/%m/%d']}
    - {source: 用水量, target: volume_m3, type: float64}
    - {source: 状态, target: status, codes: {'1': active, '0': closed}}
keys: [account_no]
pii: [{column: holder_name, kind: name, sensitivity: high}]
"""
WATER_HEADER = ["户号", "户主姓名", "收费日期", "用水量", "状态"]


MakeContract = Callable[..., SourceContract]


def water_rows(n: int, start: int = 1) -> list[list[str]]:
    return [
        [
            f"A{i:06d}",
            f"住户{i}",
            f"2024/{i % 12 + 1:02d}/{i % 28 + 1:02d}",
            f"{i % 50}.5",
            str(i % 2),
        ]
        for i in range(start, start + n)
    ]


def write_csv(
    path: Path,
    rows: list[list[str]],
    *,
    encoding: str = "utf-8",
    sep: str = ",",
    header: list[str] | None = WATER_HEADER,
    title: str | None = None,
) -> Path:
    lines = [title] if title else []
    if header:
        lines.append(sep.join(header))
    lines.extend(sep.join(r) for r in rows)
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path
