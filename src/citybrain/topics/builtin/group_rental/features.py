"""The dwelling × month feature table, built engine-neutrally in Ibis (runs on DuckDB and Spark).

Every aggregation happens in the engine; only the finished tables are pulled for scoring: the
numbers of every residential dwelling and month, and once per dwelling its names and places.
Months are handled as an integer index (``year * 12 + month - 1``) so that trailing windows are
plain window sums over a complete grid.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

if TYPE_CHECKING:
    from citybrain.core.engine import Engine

FEATURE_COLUMNS = (
    "water",
    "electricity",
    "gas",
    "registered",
    "permit_churn",
    "items",
    "phones",
    "complaints_dwelling",
    "complaints_unit",
    "area_m2",
)


def month_index(period: ir.StringValue) -> ir.IntegerValue:
    """``'2023-07'`` → 2023 * 12 + 6."""
    year = period.substr(0, 4).cast("int64")
    month = period.substr(5, 2).cast("int64")
    return year * 12 + month - 1


def date_month(value: ir.Value) -> ir.IntegerValue:
    stamp = value.cast("timestamp")
    return stamp.year().cast("int64") * 12 + stamp.month().cast("int64") - 1


def dwellings(address: ir.Table, readings: ir.Table) -> ir.Table:
    """Residential dwellings with their unit, building, estate, area, place and admin areas."""
    rows = address.filter(address.level == "dwelling")
    if "use" in address.columns:
        rows = rows.filter(rows.use.isnull() | (rows.use == "residential"))
    areas = readings.filter(readings.address_level == "dwelling").aggregate(
        by="address_id",
        grid_id=readings.grid_id.max(),
        community_id=readings.community_id.max(),
        street_id=readings.street_id.max(),
    )
    base = rows.select(
        address_id=rows.address_id,
        unit_id=rows.parent_id,
        estate_name=rows.estate_name.fill_null(""),
        building_no=rows.building_no.cast("string").fill_null(""),
        area_m2=rows.area_m2.cast("float64"),
        lon=rows.lon.cast("float64"),
        lat=rows.lat.cast("float64"),
        grid_code=rows.grid_code,
    )
    joined = base.left_join(areas, "address_id")
    return joined.select(
        "address_id",
        "unit_id",
        "estate_name",
        "building_no",
        "area_m2",
        "lon",
        "lat",
        grid_id=joined.grid_id.fill_null(joined.grid_code),
        community_id=joined.community_id.fill_null(joined.grid_code.substr(0, 12)),
        street_id=joined.street_id.fill_null(joined.grid_code.substr(0, 9)),
    )


def months(readings: ir.Table) -> ir.Table:
    periods = readings.select(period=readings.period).distinct()
    return periods.mutate(m=month_index(periods.period))


def _usage(readings: ir.Table) -> ir.Table:
    dwelling_readings = readings.filter(readings.address_level == "dwelling")
    dwelling_readings = dwelling_readings.mutate(
        m=month_index(dwelling_readings.period), usage=dwelling_readings.usage.cast("float64")
    )

    def of(utility: str) -> ir.FloatingScalar:
        return dwelling_readings.usage.sum(where=dwelling_readings.utility == utility)

    return dwelling_readings.aggregate(
        by=["address_id", "m"], water=of("water"), electricity=of("electricity"), gas=of("gas")
    )


def _deliveries(delivery: ir.Table) -> ir.Table:
    dwelling_deliveries = delivery.filter(delivery.address_level == "dwelling")
    dwelling_deliveries = dwelling_deliveries.mutate(m=month_index(dwelling_deliveries.period))
    return dwelling_deliveries.aggregate(
        by=["address_id", "m"],
        items=dwelling_deliveries.items.cast("float64").sum(),
        parcel_phones=dwelling_deliveries.recipient_phone.nunique(),
        food_phones=dwelling_deliveries.distinct_phones.cast("float64").max(),
    )


def _registry_steps(registration: ir.Table, permit: ir.Table, first: int) -> ir.Table:
    """+1 / −1 steps of registered people per dwelling and month (clamped to the first month)."""
    reg = registration.filter(registration.address_id.notnull())
    arrivals = reg.select(
        address_id=reg.address_id,
        m=ibis.greatest(date_month(reg.moved_in_date).fill_null(first), ibis.literal(first)),
        step=ibis.literal(1),
    )
    permits = permit.filter(permit.address_id.notnull() & permit.issued_date.notnull())
    end = ibis.least(
        date_month(permits.valid_until).fill_null(999_999),
        date_month(permits.cancelled_date).fill_null(999_999),
    )
    starts = permits.select(
        address_id=permits.address_id,
        m=ibis.greatest(date_month(permits.issued_date), ibis.literal(first)),
        step=ibis.literal(1),
    )
    ends = permits.select(address_id=permits.address_id, m=end + 1, step=ibis.literal(-1))
    steps = arrivals.union(starts).union(ends)
    return steps.aggregate(by=["address_id", "m"], step=steps.step.sum())


def _permit_events(permit: ir.Table) -> ir.Table:
    permits = permit.filter(permit.address_id.notnull())
    issued = permits.select(address_id=permits.address_id, m=date_month(permits.issued_date))
    cancelled = permits.filter(permits.cancelled_date.notnull())
    gone = cancelled.select(address_id=cancelled.address_id, m=date_month(cancelled.cancelled_date))
    events = issued.union(gone)
    return events.aggregate(by=["address_id", "m"], churn_events=events.count())


def _complaints(
    complaint: ir.Table, crowding: ir.Table, dwelling: ir.Table
) -> tuple[ir.Table, ir.Table]:
    """Crowding complaints per (dwelling, month) and per (unit, month), by the text classifier."""
    complaints = complaint.filter(complaint.address_id.notnull() & complaint.text.notnull())
    complaints = complaints.inner_join(crowding, "text")
    complaints = complaints.filter(complaints.crowding).mutate(m=date_month(complaints.received_at))
    at_dwelling = complaints.filter(complaints.address_level == "dwelling")
    by_dwelling = at_dwelling.aggregate(
        by=["address_id", "m"], dwelling_complaints=at_dwelling.count()
    )
    at_unit = complaints.filter(complaints.address_level == "unit")
    by_unit = at_unit.aggregate(
        by=[at_unit.address_id.name("unit_id"), "m"], unit_complaints=at_unit.count()
    )
    return by_dwelling, by_unit


def _attach(left: ir.Table, right: ir.Table, keys: list[str], columns: tuple[str, ...]) -> ir.Table:
    joined = left.left_join(right, keys)
    return joined.select(*left.columns, *columns)


def feature_table(
    engine: Engine,
    read: Callable[[str], ir.Table],
    crowding_texts: pa.Table,
    *,
    complaint_months: int = 6,
    churn_months: int = 12,
) -> FeatureTables:
    """One row per residential dwelling and month with every raw signal (nulls where unmetered),
    and the dwellings themselves.

    ``read`` hands over a declared input (``"std.complaint"``; the topic context's ``input``);
    ``crowding_texts`` holds (text, crowding bool) for the distinct complaint texts.
    """
    readings = read("std.utility_reading")
    address = read("std.standard_address")
    # pulled once (a row per dwelling): the numbers query joins it and `pull_features` reads
    # it, rather than each evaluating its aggregate over the dwellings' readings again
    dwelling = engine.register(
        "group_rental_dwellings", engine.to_arrow(dwellings(address, readings))
    )
    month = months(readings)
    first = month.m.min()
    grid = dwelling.cross_join(month)

    first_month = int(engine.to_arrow(month.aggregate(first=first)).column("first")[0].as_py())
    steps = _registry_steps(
        read("std.person_registration"),
        read("std.residence_permit"),
        first_month,
    )
    crowding = engine.register("group_rental_crowding_texts", crowding_texts)
    by_dwelling, by_unit = _complaints(read("std.complaint"), crowding, dwelling)

    monthly = _attach(grid, _usage(readings), ["address_id", "m"], ("water", "electricity", "gas"))
    monthly = _attach(
        monthly,
        _deliveries(read("std.delivery")),
        ["address_id", "m"],
        ("items", "parcel_phones", "food_phones"),
    )
    monthly = _attach(monthly, steps, ["address_id", "m"], ("step",))
    events = _permit_events(read("std.residence_permit"))
    monthly = _attach(monthly, events, ["address_id", "m"], ("churn_events",))
    monthly = _attach(monthly, by_dwelling, ["address_id", "m"], ("dwelling_complaints",))
    monthly = _attach(monthly, by_unit, ["unit_id", "m"], ("unit_complaints",))

    def trailing(column: ir.NumericColumn, rows: int | None) -> ir.NumericColumn:
        window = ibis.window(group_by="address_id", order_by="m", preceding=rows, following=0)
        return column.fill_null(0).sum().over(window)

    numbers = monthly.select(
        "address_id",
        "m",
        "water",
        "electricity",
        "gas",
        items=monthly["items"].fill_null(0.0),
        phones=ibis.greatest(
            monthly.parcel_phones.fill_null(0), monthly.food_phones.fill_null(0.0)
        ).cast("float64"),
        registered=ibis.greatest(trailing(monthly.step, None), 0).cast("float64"),
        permit_churn=trailing(monthly.churn_events, churn_months - 1).cast("float64"),
        complaints_dwelling=trailing(monthly.dwelling_complaints, complaint_months - 1).cast(
            "float64"
        ),
        complaints_unit=trailing(monthly.unit_complaints, complaint_months - 1).cast("float64"),
    )
    return FeatureTables(numbers, dwelling, month)


@dataclass(frozen=True)
class FeatureTables:
    """The engine's tables: ``numbers`` per dwelling and month (`FEATURE_COLUMNS` but the area),
    ``dwellings`` per dwelling (names, area, place), ``months`` (period, m)."""

    numbers: ir.Table
    dwellings: ir.Table
    months: ir.Table


#: per dwelling, what a finding says of its place
PLACE_COLUMNS = ("lon", "lat", "grid_id", "community_id", "street_id")


@dataclass
class Features:
    """The pulled features: ``frame`` has one row per dwelling and month, sorted by both, with
    the dwelling's names and period as categoricals (a code per row, not a string: the city's
    21.6 M rows would hold gigabytes of repeated text); ``places`` one row per dwelling, row
    ``dwelling[i]`` being that of ``frame`` row ``i``."""

    frame: pd.DataFrame
    places: pa.Table
    dwelling: NDArray[np.int64]


def _categorical(values: pa.ChunkedArray, codes: NDArray[np.int64]) -> pd.Categorical:
    """Per row the text of ``values[codes[row]]``, as codes into the distinct texts."""
    encoded = pc.dictionary_encode(values.combine_chunks())
    inverse = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    categories = pd.Index(encoded.dictionary.to_numpy(zero_copy_only=False), dtype=str)
    return pd.Categorical.from_codes(inverse[codes], categories=categories)


def pull_features(engine: Engine, tables: FeatureTables) -> Features:
    """Pull ``tables`` and join each row to its dwelling by position, not by repeated strings."""
    dwellings = engine.to_arrow(tables.dwellings.order_by("address_id"))
    months = engine.to_arrow(tables.months.order_by("m"))
    numbers = engine.to_arrow(tables.numbers.order_by(["address_id", "m"]))
    position = pc.index_in(numbers.column("address_id"), value_set=dwellings.column("address_id"))
    if position.null_count or pc.count_distinct(dwellings.column("address_id")).as_py() != len(
        dwellings
    ):
        raise ValueError("group_rental: dwellings and their monthly rows do not match one to one")
    dwelling = position.to_numpy().astype(np.int64)
    month = pc.index_in(numbers.column("m"), value_set=months.column("m")).to_numpy()
    numbers = numbers.drop_columns(["address_id"])
    frame = numbers.to_pandas(self_destruct=True)
    del numbers
    ids = dwellings.column("address_id").to_numpy(zero_copy_only=False)
    frame.insert(0, "address_id", pd.Categorical.from_codes(dwelling, pd.Index(ids, dtype=str)))
    periods = pd.Index(months.column("period").to_pylist(), dtype=str)
    frame.insert(1, "period", pd.Categorical.from_codes(month.astype(np.int64), periods))
    frame["estate_name"] = _categorical(dwellings.column("estate_name"), dwelling)
    frame["building_no"] = _categorical(dwellings.column("building_no"), dwelling)
    frame["area_m2"] = dwellings.column("area_m2").to_numpy(zero_copy_only=False)[dwelling]
    return Features(frame, dwellings.select(["address_id", *PLACE_COLUMNS]), dwelling)
