"""The manifest of one load: what came in, what landed, what went to quarantine and why."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

MANIFEST_FILE = "_manifest.json"
LoadStatus = Literal["completed", "failed", "skipped"]


class DriftReport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    policy: Literal["fail", "quarantine", "evolve"]
    unknown: list[str] = Field(default_factory=list)
    missing: list[str] = Field(default_factory=list)


class StreamCheck(BaseModel):
    """What a stream load saw of loss at the source: its sequence numbers and the broker's own
    counters. ``sequence_last`` carries each publisher's highest number to the next load."""

    model_config = ConfigDict(extra="forbid")

    sequence_last: dict[str, int] = Field(default_factory=dict)
    sequence_gaps: int = 0  # numbers skipped: messages published but never received
    sequence_repeats: int = 0  # numbers at or below the last one: redeliveries (at-least-once)
    broker_dropped_counter: int | None = None  # $SYS/broker/publish/messages/dropped when closed
    broker_dropped: int = 0  # its rise since the previous load (the whole broker, every client)
    session_lost: bool = False  # the broker had forgotten our durable session and its queue
    # Messages of the load before, delivered again after a restart (it committed but its
    # acknowledgement did not reach the broker): acknowledged now, not landed a second time.
    redelivered: int = 0


class Manifest(BaseModel):
    """One load of one file. ``rows_read == rows_landed + rows_quarantined`` always holds."""

    model_config = ConfigDict(extra="forbid")

    load_id: str
    system: str
    source_name: str = ""
    owner: str = ""
    connector: str
    source_file: str
    input_bytes: int = 0
    input_checksum: str = ""
    # The file as the file system knew it when it was read (`citybrain.ingest.load.stat_key`),
    # recorded only when it did not change around the load: a later load of the same path with
    # the same key is skipped without reading the file again. Empty: it must be hashed.
    input_stat: str = ""
    encoding: str | None = None
    contract_hash: str = ""
    rows_read: int = 0
    rows_landed: int = 0
    rows_quarantined: int = 0
    quarantined_by_reason: dict[str, int] = Field(default_factory=dict)
    # Expected but not received (a stream's sequence gaps, or its broker's drops): not in
    # rows_read, so rows_read + rows_missing is what the source sent.
    rows_missing: int = 0
    missing_by_reason: dict[str, int] = Field(default_factory=dict)
    stream: StreamCheck | None = None
    bytes_written: int = 0
    raw_path: str | None = None
    quarantine_path: str | None = None
    columns: list[str] = Field(default_factory=list)
    schema_hash: str | None = None
    watermark: str | None = None
    drift: DriftReport | None = None
    chunks: int = 0
    started_at: datetime
    finished_at: datetime | None = None
    timings: dict[str, float] = Field(default_factory=dict)
    status: LoadStatus = "failed"
    message: str | None = None
    warnings: list[str] = Field(default_factory=list)

    @property
    def reconciled(self) -> bool:
        return self.rows_read == self.rows_landed + self.rows_quarantined

    def write(self, path: Path) -> None:
        path.write_text(self.model_dump_json(indent=2), encoding="utf-8")

    @classmethod
    def read(cls, path: Path) -> Manifest:
        return cls.model_validate(json.loads(path.read_text(encoding="utf-8")))
