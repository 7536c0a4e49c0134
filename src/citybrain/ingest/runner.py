"""Run several sources: each loads file by file, one broken source fails alone, and the summary
(a table for the CLI) says which failed and why.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

from citybrain.core.errors import UserError
from citybrain.core.workspace import Workspace
from citybrain.ingest.check import ContractError, check_contract
from citybrain.ingest.connectors import STREAM_KINDS, source_files
from citybrain.ingest.contract import SourceContract
from citybrain.ingest.load import LoadOptions, Progress, load_file
from citybrain.ingest.manifest import Manifest
from citybrain.ingest.rawzone import RawZone

log = logging.getLogger(__name__)


class LoadRecorder(Protocol):
    """Told about every load (completed, failed, or skipped as already landed — so that a load
    whose run was killed right after its commit still reaches the catalog), e.g. the catalog."""

    def record(self, contract: SourceContract, manifest: Manifest, zone: RawZone) -> None: ...


@dataclass
class SourceResult:
    system: str
    name: str = ""
    status: Literal["ok", "failed"] = "ok"
    manifests: list[Manifest] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0

    def _sum(self, attribute: str) -> int:
        return sum(int(getattr(m, attribute)) for m in self.manifests if m.status == "completed")

    @property
    def rows_read(self) -> int:
        return self._sum("rows_read")

    @property
    def rows_landed(self) -> int:
        return self._sum("rows_landed")

    @property
    def rows_quarantined(self) -> int:
        return self._sum("rows_quarantined")

    @property
    def loads(self) -> int:
        return sum(1 for m in self.manifests if m.status == "completed")

    @property
    def skipped(self) -> int:
        return sum(1 for m in self.manifests if m.status == "skipped")


@dataclass
class IngestSummary:
    """What ``ingest_sources`` did, one row per source; renders as a table."""

    results: list[SourceResult] = field(default_factory=list)

    columns = (
        "source",
        "status",
        "loads",
        "skipped",
        "rows read",
        "landed",
        "quarantined",
        "seconds",
        "error",
    )

    @property
    def ok(self) -> bool:
        return all(r.status == "ok" for r in self.results)

    @property
    def failed(self) -> list[SourceResult]:
        return [r for r in self.results if r.status == "failed"]

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def rows(self) -> list[tuple[str, ...]]:
        return [
            (
                r.system,
                r.status,
                str(r.loads),
                str(r.skipped),
                f"{r.rows_read:,}",
                f"{r.rows_landed:,}",
                f"{r.rows_quarantined:,}",
                f"{r.seconds:.1f}",
                r.error or "",
            )
            for r in self.results
        ]

    def __rich__(self) -> object:
        from rich.table import Table

        table = Table(title="ingest")
        for name in self.columns:
            table.add_column(name, justify="right" if name in ("loads", "rows read") else "left")
        for row in self.rows():
            table.add_row(*row, style=None if row[1] == "ok" else "red")
        return table


def _resolve(source: SourceContract | Path) -> SourceContract:
    if isinstance(source, SourceContract):
        return source
    result = check_contract(Path(source))
    if result.contract is None:
        raise ContractError(result)
    return result.contract


def load_source(
    workspace: Workspace,
    source: SourceContract | Path,
    *,
    options: LoadOptions | None = None,
    progress: Progress | None = None,
    recorder: LoadRecorder | None = None,
) -> SourceResult:
    """Load every file of one source; a failure is returned in the result, not raised."""
    t0 = time.perf_counter()
    label = source.id if isinstance(source, SourceContract) else Path(source).stem
    result = SourceResult(system=label)
    try:
        contract = _resolve(source)
        result.system, result.name = contract.id, contract.name
        zone = RawZone(workspace.lake, contract.id)
        lake = workspace.lake
        loads: Iterator[Manifest]
        if contract.connector.kind in STREAM_KINDS:
            # imported here: stream connectors pull in httpx, SQLAlchemy and paho, which a run of
            # file sources (and every CLI start) does without
            from citybrain.ingest.streams import stream_loads

            loads = stream_loads(lake, contract, options=options, progress=progress)
        else:
            loads = (
                load_file(lake, contract, path, options=options, progress=progress)
                for path in source_files(contract)
            )
        for manifest in loads:
            result.manifests.append(manifest)
            if recorder is not None:
                _record(recorder, contract, manifest, zone, result)
            if manifest.status == "failed":
                result.status, result.error = "failed", manifest.message
                break
    except UserError as exc:
        result.status, result.error = "failed", str(exc)
    except Exception as exc:  # a bug in one source must not stop the others
        log.exception("ingest of %s failed", label)
        result.status, result.error = "failed", f"internal error: {type(exc).__name__}: {exc}"
    result.seconds = time.perf_counter() - t0
    return result


def _record(
    recorder: LoadRecorder,
    contract: SourceContract,
    manifest: Manifest,
    zone: RawZone,
    result: SourceResult,
) -> None:
    """Tell the recorder; if it fails the data stays landed, and the source says so."""
    try:
        recorder.record(contract, manifest, zone)
    except Exception as exc:
        log.exception("could not record load %s", manifest.load_id)
        result.status = "failed"
        result.error = (
            f"load {manifest.load_id} landed but the catalog was not updated: "
            f"{type(exc).__name__}: {exc}"
        )


def ingest_sources(
    workspace: Workspace,
    sources: Sequence[SourceContract | Path],
    *,
    progress: Progress | None = None,
    recorder: LoadRecorder | None = None,
    options: LoadOptions | None = None,
    workers: int = 1,
) -> IngestSummary:
    """Load several sources; one broken source fails alone and the summary says why.

    ``workers`` > 1 loads that many sources at once (threads: Arrow and the Parquet writer release
    the GIL); on a small machine one at a time is as fast. Results keep the order of ``sources``.
    """

    def one(source: SourceContract | Path) -> SourceResult:
        return load_source(workspace, source, options=options, progress=progress, recorder=recorder)

    if workers <= 1 or len(sources) <= 1:
        return IngestSummary([one(source) for source in sources])
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ingest") as pool:
        return IngestSummary(list(pool.map(one, sources)))


def discover_sources(workspace: Workspace) -> list[Path]:
    """The contract files of a workspace: ``<workspace>/sources/*.yaml``."""
    folder = workspace.root / "sources"
    return sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]) if folder.is_dir() else []
