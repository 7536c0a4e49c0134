"""A load killed mid-way leaves nothing partial visible; the re-run lands each row exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb

from citybrain.core.workspace import Workspace
from citybrain.ingest import LoadOptions, RawZone, load_file
from ingest._helpers import MakeContract, water_rows, write_csv

CHILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from citybrain.ingest import load_contract, load_file, LoadOptions

    def progress(event):
        if event.phase == "chunk" and event.rows_read >= 2000:
            print("midway", flush=True)
            time.sleep(60)

    contract = load_contract(Path(sys.argv[2]))
    load_file(Path(sys.argv[1]), contract, Path(sys.argv[3]),
              options=LoadOptions(chunk_bytes=32 * 1024), progress=progress)
    """
)


def test_killed_load_leaves_nothing_and_rerun_lands_each_row_once(
    workspace: Workspace, source_dir: Path, make_contract: MakeContract
) -> None:
    rows = water_rows(20_000)
    rows[7][2] = "bad date"
    path = write_csv(source_dir / "water.csv", rows)
    contract = make_contract("kind: csv\npath: water.csv")
    assert contract.origin is not None
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(workspace.lake), str(contract.origin), str(path)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "midway"
    staged = list((workspace.lake / "raw" / contract.id / "_staging").rglob("*.parquet"))
    assert staged, "the child should have written part of the load aside"
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)

    zone = RawZone(workspace.lake, contract.id)
    assert zone.partitions() == []
    assert not list((workspace.lake / "raw" / contract.id).glob("load_id=*"))
    assert not list((workspace.lake / "quarantine").rglob("load_id=*"))

    manifest = load_file(workspace.lake, contract, path, options=LoadOptions(chunk_bytes=32 * 1024))
    assert manifest.status == "completed"
    assert (manifest.rows_read, manifest.rows_landed, manifest.rows_quarantined) == (
        20_000,
        19_999,
        1,
    )
    assert not (workspace.lake / "raw" / contract.id / "_staging").exists() or not any(
        (workspace.lake / "raw" / contract.id / "_staging").iterdir()
    )
    glob = workspace.lake / "raw" / contract.id / "load_id=*" / "*.parquet"
    sql = f"SELECT count(*), count(DISTINCT _row) FROM '{glob}'"
    [(count, distinct)] = duckdb.sql(sql).fetchall()
    assert count == distinct == 19_999
    assert load_file(workspace.lake, contract, path).status == "skipped"
