"""Memory stays flat: a file many times the chunk size is never held whole."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from citybrain.core.workspace import Workspace
from ingest._helpers import MakeContract, water_rows, write_csv

CHILD = textwrap.dedent(
    """
    import json, resource, sys
    from pathlib import Path
    from citybrain.ingest import LoadOptions, load_contract, load_file

    lake, contract_path, small, big = (Path(a) for a in sys.argv[1:5])
    contract = load_contract(contract_path)
    options = LoadOptions(chunk_bytes=1 << 20, force=True)
    load_file(lake, contract, small, options=options)  # warm up: imports, allocator pools
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    manifest = load_file(lake, contract, big, options=options)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"growth_kb": after - before, "chunks": manifest.chunks,
                      "rows": manifest.rows_landed, "bytes": manifest.input_bytes}))
    """
)


@pytest.mark.slow
def test_peak_memory_does_not_grow_with_the_file(
    workspace: Workspace, source_dir: Path, make_contract: MakeContract
) -> None:
    rows = water_rows(20_000)
    small = write_csv(source_dir / "small.csv", rows[:5_000])
    big = source_dir / "big.csv"
    with big.open("wb") as out:
        out.write(",".join(["户号", "户主姓名", "收费日期", "用水量", "状态"]).encode() + b"\n")
        body = "".join(",".join(r) + "\n" for r in rows).encode()
        for _ in range(40):
            out.write(body)
    contract = make_contract("kind: csv\npath: big.csv", mapping="")
    assert contract.origin is not None
    args = [str(workspace.lake), str(contract.origin), str(small), str(big)]
    done = subprocess.run([sys.executable, "-c", CHILD, *args], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    assert figures["rows"] == 800_000 and figures["chunks"] > 20
    # the file is ~30 MB and ~100 MB as Arrow; a 1 MB chunk pipeline must stay far below that
    assert figures["growth_kb"] < 48 * 1024, figures
