"""社区入户排查 sheets: dates written as 03月03日 resolve to one true day through the year the
sheet states (title and 排查批次 column)."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pyarrow.parquet as pq
from openpyxl import load_workbook

from sim.readers import read_xlsx


def test_visit_dates_resolve_through_the_stated_year(tiny_root: Path) -> None:
    sheets = sorted((tiny_root / "household_screening").glob("*.xlsx"))
    assert sheets
    episodes = pq.read_table(tiny_root / "truth" / "epidemic_episodes.parquet").to_pylist()
    meta = (tiny_root / "truth" / "manifest.json").read_text(encoding="utf-8")
    start = date.fromisoformat(re.search(r'"start": "(\d{4}-\d{2})', meta)[1] + "-01")  # type: ignore[index]
    for path in sheets:
        rnd = int(re.search(r"第(\d+)轮", path.name)[1])  # type: ignore[index]
        first = start + timedelta(days=int(episodes[rnd - 1]["start_day"]) + 3)
        title = str(next(load_workbook(path, read_only=True).active.iter_rows(values_only=True))[0])
        t = read_xlsx(path)
        (batch,) = set(t["排查批次"].to_pylist())
        year = int(batch[:4])
        assert batch == f"{year}年第{rnd}轮" and f"{year}年" in title
        for text in t["排查日期"].to_pylist():
            assert re.fullmatch(r"\d{2}月\d{2}日", text), text
            day = date(year, int(text[:2]), int(text[3:5]))
            assert first <= day <= first + timedelta(days=6), (path.name, text, first)
