"""Fixtures for case tests: a migrated ops database, a frozen clock, findings tables."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from sqlalchemy import Engine as SqlEngine

from citybrain.core.opsdb import connect, upgrade
from citybrain.topics import FINDINGS_SCHEMA

# Monday 2026-11-23 10:00 in Shanghai.
MONDAY_10 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


@dataclass
class FrozenClock:
    now: datetime = MONDAY_10

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now = self.now + timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def ops_engine(tmp_path: Path) -> Iterator[SqlEngine]:
    """A migrated SQLite ops database."""
    ops = connect(f"sqlite:///{tmp_path / 'ops.sqlite'}")
    upgrade(ops)
    yield ops
    ops.dispose()


def findings(rows: Sequence[dict[str, Any]]) -> pa.Table:
    """A findings table; each row needs only what it changes from the defaults."""
    base = {
        "topic": "group_rental",
        "subject_type": "dwelling",
        "period": "2026-10",
        "score": 0.9,
        "level": "high",
        "lon": 113.95,
        "lat": 22.54,
        "grid_id": "G1",
        "community_id": "C1",
        "street_id": "S1",
        "model_version": "1",
        "reasons": [
            {
                "signal": "electricity",
                "observed": 900.0,
                "expected": 200.0,
                "contribution": 0.6,
                "text_zh": "月用电900度，同类住户约200度",
                "text_en": "900 kWh a month, similar homes about 200",
            }
        ],
    }
    full = [{**base, **row} for row in rows]
    return pa.Table.from_pylist(full, schema=FINDINGS_SCHEMA)
