"""The suite's own test order for xdist workers (tests/fixtures/schedule.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import pytest

from fixtures.schedule import scheduled, share_sizes


@dataclass
class FakeItem:
    nodeid: str
    spark: bool = False

    def get_closest_marker(self, name: str) -> object | None:
        return object() if name == "spark" and self.spark else None


def test_every_test_stays_once_and_each_share_starts_with_its_long_modules() -> None:
    items = [FakeItem(f"tests/a/test_{n:03}.py::t") for n in range(60)]
    items[10] = FakeItem("tests/pipeline/test_resume.py::t")
    items[40:42] = [FakeItem("tests/govern/resolve/test_pipeline.py::t[duckdb]")] * 2
    items[50] = FakeItem("tests/x/test_engines.py::t[spark]", spark=True)
    ordered = cast(list[Any], scheduled(cast(list[pytest.Item], items), 3))

    assert sorted(map(id, ordered)) == sorted(map(id, items))
    sizes = share_sizes(len(items), 3)
    starts = [0, sizes[0], sizes[0] + sizes[1]]
    heads = {ordered[s].nodeid.split("::")[0] for s in starts}
    assert heads == {
        "tests/pipeline/test_resume.py",
        "tests/govern/resolve/test_pipeline.py",
        "tests/x/test_engines.py",  # the Spark tests, together in a share of their own here
    }
    assert sizes == [20, 20, 20] and share_sizes(7, 3) == [2, 2, 3]
