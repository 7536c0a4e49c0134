"""Every file the synthetic city delivers loads; the rows it broke are the rows we quarantine."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from citybrain.core.workspace import Workspace
from citybrain.ingest import ingest_sources

KINDS = {".csv": "csv", ".xlsx": "xlsx", ".jsonl": "jsonl", ".parquet": "parquet"}


@pytest.fixture(scope="module")
def sim_city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    generate = pytest.importorskip("citybrain.sim.generate").generate
    out = tmp_path_factory.mktemp("city") / "sim"
    generate("tiny", 1, out)
    return out


def _contracts(city: Path, folder: Path) -> list[Path]:
    """Contracts without a mapping (everything lands as delivered), one per system and format."""
    paths = []
    for system in sorted(p for p in city.iterdir() if p.is_dir() and p.name != "truth"):
        for ext, kind in KINDS.items():
            files = sorted(system.rglob(f"*{ext}"))
            if not files:
                continue
            system_id = f"{system.name}_{kind}".lower()
            path = folder / f"{system_id}.yaml"
            path.write_text(
                f"id: {system_id}\nname: {system.name}\nowner: sim\n"
                f"connector: {{kind: {kind}, path: '{files[0].parent}/*{ext}'}}\n",
                encoding="utf-8",
            )
            paths.append(path)
    return paths


def test_sim_city_files_load_and_broken_rows_match_the_truth(
    sim_city: Path, workspace: Workspace, tmp_path: Path
) -> None:
    summary = ingest_sources(workspace, _contracts(sim_city, tmp_path))
    assert summary.ok, summary.rows()
    for result in summary.results:
        for manifest in result.manifests:
            assert manifest.reconciled
    broken = duckdb.sql(
        f"SELECT path, kind, unnest(lines) AS line FROM '{sim_city}/truth/broken_files.parquet'"
    ).fetchall()
    quarantine = workspace.lake / "quarantine" / "*" / "*" / "*.parquet"
    found = {
        (str(Path(file).relative_to(sim_city)), line)
        for file, line in duckdb.sql(
            f"SELECT _file, _line FROM read_parquet('{quarantine}', union_by_name=true)"
        ).fetchall()
    }
    expected = {(path, line) for path, _, line in broken}
    assert expected <= found
