"""The suite's own test order for xdist workers (tests/fixtures/schedule.py)."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
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


class _Worker:
    """Plays xdist worker 0 of three for an in-process run; keeps the final collection order."""

    def __init__(self) -> None:
        self.order: list[str] = []

    def pytest_configure(self, config: pytest.Config) -> None:
        config.workerinput = {"workercount": 3, "workerid": "gw0"}  # type: ignore[attr-defined]

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.order = [item.nodeid for item in session.items]


def test_the_shares_are_cut_after_markers_deselected_tests(tmp_path: Path) -> None:
    # make test runs -m "not cluster": pytest deselects in its own pytest_collection_modifyitems.
    # The order must be made after that, or each deselected test in the first shares moves the
    # later shares' starts (the resume test ended share 0 instead of starting share 1).
    (tmp_path / "pytest.ini").write_text("[pytest]\nmarkers =\n    cluster: a Spark cluster\n")
    quick = "".join(f"def test_{n}():\n    pass\n" for n in range(8))
    cluster = "import pytest\n\n@pytest.mark.cluster\ndef test_c():\n    pass\n"
    for path, text in {
        "tests/a/test_cluster.py": cluster,
        "tests/a/test_quick.py": quick,
        "tests/govern/resolve/test_pipeline.py": "def test_p():\n    pass\n",
        "tests/pipeline/test_resume.py": "def test_r():\n    pass\n",
    }.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    worker = _Worker()
    args = ["-q", "--collect-only", "-p", "no:xdist", "-p", "no:cacheprovider", "-p",
            "no:faulthandler", "-p", "fixtures.schedule", "-m", "not cluster", "--rootdir",
            str(tmp_path), "-c", str(tmp_path / "pytest.ini"), str(tmp_path / "tests")]  # fmt: skip
    # as pytester does: the inner run's test modules (imported by their base names) and the
    # folders it put on sys.path leave with it
    saved_path, modules = list(sys.path), dict(sys.modules)
    try:
        assert pytest.main(args, plugins=[worker]) == 0
    finally:
        sys.path[:] = saved_path
        for name in set(sys.modules) - set(modules):
            del sys.modules[name]
    assert len(worker.order) == 10 and not any("cluster" in n for n in worker.order)
    sizes = share_sizes(len(worker.order), 3)
    starts = {worker.order[0], worker.order[sizes[0]], worker.order[sizes[0] + sizes[1]]}
    assert "tests/pipeline/test_resume.py::test_r" in starts
    assert "tests/govern/resolve/test_pipeline.py::test_p" in starts
