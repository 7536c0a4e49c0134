"""Atomic writes: a failed or killed writer never leaves a half-written table visible."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pyarrow as pa
import pytest

from citybrain.core import lake as lake_mod
from citybrain.core.engine import Engine, open_engine

DEAD_PID = 999_999_999  # above any pid_max, so never a live process


def _hidden(zone_dir: Path) -> list[str]:
    return sorted(p.name for p in zone_dir.iterdir() if p.name.startswith("."))


def test_input_failing_partway_leaves_the_old_table(engine: Engine, sample: pa.Table) -> None:
    engine.write(sample, "std", "person")
    people = engine.table("std", "person")
    # Fails at run time, on the rows whose name is not a number.
    broken = people.mutate(age=people.name.cast("int64"))

    with pytest.raises(Exception):  # noqa: B017 - each engine raises its own conversion error
        engine.write(broken, "std", "person")

    assert engine.to_arrow(engine.table("std", "person")).num_rows == 4
    assert _hidden(engine.lake_root / "std") == []


def test_leftovers_of_a_dead_writer_are_cleaned_by_the_next_write(
    engine: Engine, sample: pa.Table
) -> None:
    zone = engine.lake_root / "std"
    engine.write(sample, "std", "person")
    leftover = zone / f".person.{DEAD_PID}-abc123.tmp"
    leftover.mkdir()
    (leftover / "part-half.parquet").write_bytes(b"PAR1 truncated")

    assert engine.list_tables("std") == ["person"]
    engine.write(sample.slice(0, 2), "std", "person")

    assert _hidden(zone) == []
    assert engine.to_arrow(engine.table("std", "person")).num_rows == 2


def test_leftovers_of_a_live_writer_are_not_touched(tmp_path: Path) -> None:
    table_dir = tmp_path / "std" / "person"
    table_dir.mkdir(parents=True)
    # pid 1 is always alive: its temp folder may be a write in progress.
    in_progress = tmp_path / "std" / ".person.1-abc123.tmp"
    in_progress.mkdir()

    lake_mod.recover(table_dir)

    assert in_progress.is_dir()


def test_a_committed_write_killed_between_renames_is_rolled_forward(tmp_path: Path) -> None:
    table_dir = tmp_path / "std" / "person"
    table_dir.mkdir(parents=True)
    (table_dir / "part-old.parquet").write_text("old")
    pending = lake_mod.PendingWrite(table_dir, f"{DEAD_PID}-abc123")
    pending.tmp.mkdir()
    (pending.tmp / "part-new.parquet").write_text("new")
    pending.marker.write_text('{"mode": "replace"}')
    table_dir.rename(pending.old)  # killed right after the first rename: no table visible

    lake_mod.recover(table_dir)

    assert [p.name for p in table_dir.iterdir()] == ["part-new.parquet"]
    assert _hidden(tmp_path / "std") == []


@pytest.mark.duckdb
def test_a_commit_that_fails_midway_is_finished_by_the_next_reader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = open_engine("duckdb", tmp_path, database=":memory:")
    engine.write(pa.table({"v": [1]}), "std", "t")
    real_rename = Path.rename
    calls: list[Path] = []

    def rename_then_fail(self: Path, target: Path) -> Path:
        calls.append(self)
        if len(calls) == 2:  # the old table is aside, the new one not yet in place
            raise OSError("disk gone")
        return real_rename(self, target)

    monkeypatch.setattr(Path, "rename", rename_then_fail)
    with pytest.raises(OSError, match="disk gone"):
        engine.write(pa.table({"v": [2, 2]}), "std", "t")
    monkeypatch.undo()

    assert engine.to_arrow(engine.table("std", "t")).num_rows == 2
    assert _hidden(tmp_path / "std") == []


KILLED_WRITER = """
import os, sys
from pathlib import Path
import pyarrow as pa
from citybrain.core import lake
from citybrain.core.engine import open_engine

engine = open_engine("duckdb", Path(sys.argv[1]), database=":memory:")
engine.write(pa.table({"v": [1]}), "std", "t")
if sys.argv[2] == "before_commit":
    lake.commit = lambda pending, mode: os._exit(9)
else:  # killed between moving the old table aside and moving the new one in
    real_rename = Path.rename
    def rename(self, target):
        real_rename(self, target)
        os._exit(9)
    Path.rename = rename
engine.write(pa.table({"v": [2, 2]}), "std", "t")
"""


@pytest.mark.duckdb
@pytest.mark.parametrize(("moment", "rows"), [("before_commit", 1), ("between_renames", 2)])
def test_killed_writer_process(tmp_path: Path, moment: str, rows: int) -> None:
    script = textwrap.dedent(KILLED_WRITER)
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path), moment], check=False)
    assert done.returncode == 9
    assert _hidden(tmp_path / "std") != []  # the kill left something behind

    with open_engine("duckdb", tmp_path, database=":memory:") as engine:
        # Uncommitted data is dropped; committed data is finished by the next reader or writer.
        assert engine.to_arrow(engine.table("std", "t")).num_rows == rows
        engine.write(pa.table({"v": [3]}), "std", "t", mode="append")
        assert engine.to_arrow(engine.table("std", "t")).num_rows == rows + 1
    assert _hidden(tmp_path / "std") == []
    assert [p.name for p in (tmp_path / "std").iterdir()] == ["t"]
