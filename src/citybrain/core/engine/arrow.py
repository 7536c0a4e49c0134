"""One type policy for data entering and leaving an engine, so both engines give identical Arrow.

- Integers, floats, booleans and dates keep the Arrow type of their Ibis type (``int32`` stays
  ``int32``). Decimals keep their scale and widen to precision 38, because the engines size the
  precision of sums differently (DuckDB 38, Spark 10 more than the input). Decimal arithmetic
  beyond sums (division, products) has engine-specific scales: cast the result explicitly.
- Strings are ``string`` and bytes are ``binary``, never the ``large_`` or view variants.
- Timestamps are ``timestamp[us]`` with no time zone, holding UTC wall-clock time. Zone-aware input
  is converted to UTC and the zone dropped; nanoseconds are truncated to microseconds, Spark's
  resolution. (Spark has no zone-less instant type that DuckDB reads back the same way.)
- Float aggregates (sum, avg) may differ in their last bits between engines, or between runs,
  since the order of addition depends on parallelism: round them where results are compared.
- Every result field is nullable: engines disagree about NOT NULL once an expression is applied.
- An input column with no type at all (only nulls) becomes ``string``, since Parquet cannot store
  Spark's void type.
"""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.schema as sch
import pandas as pd
import pyarrow as pa

_MICROS = pa.timestamp("us")


def canonical(dtype: dt.DataType) -> dt.DataType:
    """The Ibis type a lake column is stored and compared as."""
    if dtype.is_timestamp():
        return dt.Timestamp(nullable=True)
    return dtype.copy(nullable=True)


def canonical_schema(schema: sch.Schema) -> sch.Schema:
    return ibis.schema({name: canonical(dtype) for name, dtype in schema.items()})


def _plain(arrow_type: pa.DataType) -> pa.DataType:
    if pa.types.is_timestamp(arrow_type) or pa.types.is_date64(arrow_type):
        return _MICROS if pa.types.is_timestamp(arrow_type) else pa.date32()
    if pa.types.is_large_string(arrow_type) or pa.types.is_string_view(arrow_type):
        return pa.string()
    if pa.types.is_large_binary(arrow_type) or pa.types.is_binary_view(arrow_type):
        return pa.binary()
    if pa.types.is_dictionary(arrow_type):
        return _plain(arrow_type.value_type)
    if pa.types.is_null(arrow_type):
        return pa.string()
    return arrow_type


def _result_type(dtype: dt.DataType) -> pa.DataType:
    arrow_type = _plain(canonical(dtype).to_pyarrow())
    if pa.types.is_decimal(arrow_type):
        return pa.decimal128(38, arrow_type.scale)
    return arrow_type


def _cast(column: Any, target: pa.DataType) -> Any:
    if column.type == target:
        return column
    # Timestamps may lose nanoseconds by design; anything else must convert exactly.
    return column.cast(target, safe=not pa.types.is_timestamp(target))


def normalise_input(data: pa.Table | pd.DataFrame) -> pa.Table:
    """Arrow or pandas data as the engines should receive it."""
    table = data if isinstance(data, pa.Table) else pa.Table.from_pandas(data, preserve_index=False)
    fields = [pa.field(f.name, _plain(f.type)) for f in table.schema]
    columns = [_cast(col, f.type) for col, f in zip(table.columns, fields, strict=True)]
    return pa.Table.from_arrays(columns, schema=pa.schema(fields))


def normalise_result(table: pa.Table, schema: sch.Schema) -> pa.Table:
    """An engine's Arrow result in the shared type policy, given the expression's Ibis schema."""
    fields = [pa.field(name, _result_type(dtype)) for name, dtype in schema.items()]
    columns = [_cast(table.column(f.name), f.type) for f in fields]
    return pa.Table.from_arrays(columns, schema=pa.schema(fields))
