"""Sample data for the engine suite: every type the type policy names, with nulls and Chinese."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyarrow as pa
import pytest


@pytest.fixture
def sample() -> pa.Table:
    return pa.table(
        {
            "person_id": pa.array([1, 2, 3, 4], pa.int64()),
            "name": ["张三", "李四", None, "Ana"],
            "street": ["高新街道", "高新街道", "西湖街道", None],
            "age": pa.array([34, None, 7, 61], pa.int32()),
            "income": [5200.5, None, 0.0, 1e9],
            "deposit": pa.array(
                [Decimal("12.34"), None, Decimal("0.00"), Decimal("-99999.99")],
                pa.decimal128(10, 2),
            ),
            "born": [dt.date(1990, 1, 31), None, dt.date(2017, 2, 28), dt.date(1963, 12, 1)],
            "seen_at": pa.array(
                [dt.datetime(2024, 5, 1, 8, 30, 15, 123456), None, dt.datetime(2024, 1, 1), None],
                pa.timestamp("us"),
            ),
            "verified": [True, False, None, True],
        }
    )
