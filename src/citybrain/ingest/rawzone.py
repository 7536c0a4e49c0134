"""The raw and quarantine zones of the lake: immutable load partitions, written aside and renamed.

Layout per system::

    raw/<system>/load_id=<id>/part-00000.parquet  + _manifest.json   (visible only when complete)
    raw/<system>/load_id=<id>/_messages.u64        (a stream load's message identities, if any)
    raw/<system>/_failed/<id>.json                                    (manifests of failed loads)
    quarantine/<system>/load_id=<id>/part-00000.parquet
    raw/<system>/_staging/<id>/, quarantine/<system>/_staging/<id>/   (work in progress)

A load commits by renaming its quarantine folder into place, then its raw folder (which holds the
manifest): the raw rename is the commit point. A killed load leaves only ``_staging`` folders and,
at worst, a quarantine folder without its raw twin; :meth:`RawZone.recover` removes both before the
next load of that system, under a per-system lock.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from citybrain.ingest.manifest import MANIFEST_FILE, Manifest

PARTITION = "load_id="
MESSAGES_FILE = "_messages.u64"  # a stream load's message identities (readers skip "_" files)
STAGING = "_staging"
FAILED = "_failed"


class RawZone:
    def __init__(self, lake: Path, system: str) -> None:
        self.system = system
        self.raw = lake / "raw" / system
        self.quarantine = lake / "quarantine" / system

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        self.raw.mkdir(parents=True, exist_ok=True)
        with (self.raw / ".lock").open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def recover(self) -> list[Path]:
        """Remove what killed loads left behind; return the paths removed."""
        removed: list[Path] = []
        for zone in (self.raw, self.quarantine):
            staging = zone / STAGING
            if staging.is_dir():
                removed.extend(staging.iterdir())
                shutil.rmtree(staging)
        if self.quarantine.is_dir():
            for part in self.quarantine.glob(PARTITION + "*"):
                # a quarantine part without its committed raw load (not a scan of every load: a
                # live stream commits a load per micro-batch)
                if not (self.raw / part.name / MANIFEST_FILE).is_file():
                    shutil.rmtree(part)
                    removed.append(part)
        return removed

    def partitions(self) -> list[Path]:
        if not self.raw.is_dir():
            return []
        return sorted(p for p in self.raw.glob(PARTITION + "*") if (p / MANIFEST_FILE).is_file())

    def manifests(self) -> list[Manifest]:
        return [Manifest.read(p / MANIFEST_FILE) for p in self.partitions()]

    def attachment(self, manifest: Manifest, name: str) -> bytes | None:
        """A file a load committed beside its parts (:meth:`LoadStaging.attach`), or None."""
        path = self.raw / f"{PARTITION}{manifest.load_id}" / name
        return path.read_bytes() if path.is_file() else None

    def failed_manifests(self) -> list[Manifest]:
        folder = self.raw / FAILED
        return [Manifest.read(p) for p in sorted(folder.glob("*.json"))] if folder.is_dir() else []

    def completed_with_size(self, size: int) -> bool:
        """Whether a completed load read a file of ``size`` bytes (only then can one have the same
        checksum)."""
        return any(m.input_bytes == size and m.status == "completed" for m in self.manifests())

    def completed_with_stat(self, source_file: str, stat: str) -> Manifest | None:
        """The completed load of ``source_file`` that recorded the same ``stat``
        (`Manifest.input_stat`): the very file, unchanged since it was landed."""
        for manifest in self.manifests():
            if (
                manifest.input_stat == stat
                and manifest.source_file == source_file
                and manifest.status == "completed"
            ):
                return manifest
        return None

    def completed_with_checksum(self, checksum: str) -> Manifest | None:
        for manifest in self.manifests():
            if manifest.input_checksum == checksum and manifest.status == "completed":
                return manifest
        return None

    def begin(self, load_id: str) -> LoadStaging:
        return LoadStaging(self, load_id)

    def record_failure(self, manifest: Manifest) -> Path:
        folder = self.raw / FAILED
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{manifest.load_id}.json"
        tmp = path.with_suffix(".tmp")
        manifest.write(tmp)
        tmp.rename(path)
        return path


#: zstd at its fastest level: half of snappy's parts on bike positions (15.2 against 30.1 bytes
#: a row) for about 0.07 CPU s more per million rows — at the city's 1.2 billion records the raw
#: zone is about 19 GB, not 38 (the std zone is zstd too)
RAW_COMPRESSION = "zstd"
RAW_LEVEL = {"zstd": 1}


class _PartWriter:
    """Parquet parts in one folder; a new part starts when the schema changes.

    Writing happens in the caller's thread: on a small machine a writer thread only adds contention
    (measured with benchmarks/ingest.py)."""

    def __init__(self, folder: Path, compression: str) -> None:
        self.folder = folder
        self.compression = compression
        self.writer: pq.ParquetWriter | None = None
        self.schema: pa.Schema | None = None
        self.parts: list[Path] = []
        self.rows = 0

    def write(self, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        self._write(table)
        self.rows += table.num_rows

    def _write(self, table: pa.Table) -> None:
        if (
            self.writer is not None
            and self.schema is not None
            and not table.schema.equals(self.schema)
        ):
            try:
                table = table.cast(self.schema)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError):
                self._close_part()
        if self.writer is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            path = self.folder / f"part-{len(self.parts):05d}.parquet"
            self.schema = table.schema
            self.writer = pq.ParquetWriter(
                path,
                table.schema,
                compression=self.compression,
                compression_level=RAW_LEVEL.get(self.compression),
                use_dictionary=dictionary_columns(table),
                write_statistics=statistics_columns(table.schema),
            )
            self.parts.append(path)
        self.writer.write_table(_defragmented(table), row_group_size=1 << 20)

    def _close_part(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    def close(self) -> None:
        self._close_part()

    def sync(self) -> int:
        total = 0
        for path in self.parts:
            _fsync(path)
            total += path.stat().st_size
        return total


def dictionary_columns(table: pa.Table, sample_rows: int = 10_000) -> list[str]:
    """Columns worth dictionary encoding: few distinct values in a sample of the first rows.

    Dictionary encoding a column of mostly unique values (ids, addresses, amounts) costs the writer
    a hash table per page and falls back to plain anyway; measured on benchmarks/ingest.py it was
    about a third of the write time."""
    sample = table.slice(0, sample_rows)
    n = sample.num_rows
    chosen = []
    for field in sample.schema:
        if pa.types.is_dictionary(field.type) or n == 0:
            chosen.append(field.name)
            continue
        if pa.types.is_nested(field.type):
            continue
        distinct = pc.count_distinct(sample.column(field.name), mode="all").as_py()
        if distinct <= max(n // 4, 1):
            chosen.append(field.name)
    return chosen


def statistics_columns(schema: pa.Schema) -> list[str]:
    """Columns whose min/max the writer records: all but plain text.

    Raw parts are read whole by standardize; min/max prune row groups only for dates, times and
    numbers (a delivery in time order), never for names, addresses or ids in 1M-row groups. The
    min/max of every text value was about a fifth of the write time (benchmarks/ingest.py)."""
    return [
        f.name
        for f in schema
        if not (pa.types.is_string(f.type) or pa.types.is_large_string(f.type))
    ]


FRAGMENT_ROWS = 1 << 16


def _defragmented(table: pa.Table) -> pa.Table:
    """``table`` in one piece when it is cut into many small ones (a chunk with its scattered bad
    rows sliced out is hundreds of zero-copy slices): the writer pays per piece."""
    pieces = max((c.num_chunks for c in table.columns), default=1)
    if pieces > 1 and table.num_rows < pieces * FRAGMENT_ROWS:
        return table.combine_chunks()
    return table


class LoadStaging:
    """One load in progress: parts are written aside and appear only on :meth:`commit`."""

    def __init__(self, zone: RawZone, load_id: str, compression: str = RAW_COMPRESSION) -> None:
        self.zone = zone
        self.load_id = load_id
        self.raw_stage = zone.raw / STAGING / load_id
        self.quarantine_stage = zone.quarantine / STAGING / load_id
        self.raw_final = zone.raw / f"{PARTITION}{load_id}"
        self.quarantine_final = zone.quarantine / f"{PARTITION}{load_id}"
        self.raw_stage.mkdir(parents=True, exist_ok=True)
        self.landed = _PartWriter(self.raw_stage, compression)
        self.rejected = _PartWriter(self.quarantine_stage, compression)

    @property
    def landed_schema(self) -> pa.Schema | None:
        return self.landed.schema

    def attach(self, name: str, data: bytes) -> None:
        """A file committed with the load, beside its parts (a name starting with ``_``, so
        Parquet readers of the partition skip it)."""
        if not name.startswith("_") or "/" in name:
            raise ValueError(f"attachment {name!r}: a plain name starting with '_'")
        path = self.raw_stage / name
        path.write_bytes(data)
        _fsync(path)

    def finish(self) -> None:
        """Wait for the writers and close the parts (the schema is known after this)."""
        self.landed.close()
        self.rejected.close()

    def commit(self, manifest: Manifest) -> Manifest:
        """Close, sync and rename into place; the manifest records the final paths and bytes."""
        self.finish()
        written = self.landed.sync() + self.rejected.sync()
        manifest.bytes_written = written
        manifest.raw_path = str(self.raw_final)
        manifest.quarantine_path = str(self.quarantine_final) if self.rejected.parts else None
        manifest.write(self.raw_stage / MANIFEST_FILE)
        _fsync(self.raw_stage)
        if self.rejected.parts:
            self.quarantine_final.parent.mkdir(parents=True, exist_ok=True)
            self.quarantine_stage.rename(self.quarantine_final)
            _fsync(self.quarantine_final.parent)
        self.raw_stage.rename(self.raw_final)
        _fsync(self.raw_final.parent)
        return manifest

    def abort(self) -> None:
        for writer in (self.landed, self.rejected):
            with contextlib.suppress(Exception):
                writer.close()
        shutil.rmtree(self.raw_stage, ignore_errors=True)
        shutil.rmtree(self.quarantine_stage, ignore_errors=True)


def _fsync(path: Path) -> None:
    """Flush a file, or a directory's entries, to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
