"""Monthly economic indicators by industry (GB/T 4754 section) and by street, with MoM and YoY.

The firm-level series come from the enterprises' own declarations, tied to golden firms through
``base.enterprise_link`` and placed by the market registry (industry, registered street); the
district's reported indicators (``std.economic_indicator``) are kept beside them as the
``district`` dimension. Aggregation is one Ibis expression per source; the change rates and the
swing tests are NumPy over the series × months matrix.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from citybrain.core.engine import Engine
from citybrain.topics.builtin.enterprise_warning.features import GOLDEN, _linked, month_index

Reader = Callable[[str], ir.Table]

DISTRICT_INDICATORS = (
    "tax_revenue",
    "business_revenue",
    "new_entities",
    "insured_employees",
    "electricity",
    "fixed_investment",
    "retail_sales",
)


def places(read: Reader) -> ir.Table:
    links = read("base.enterprise_link")
    reg = _linked(links, read("std.enterprise_registration"), "enterprise_registration",
                  "registration_id")  # fmt: skip
    return reg.aggregate(
        by=GOLDEN,
        industry=reg.industry_code.max().substr(0, 1),
        street=reg.street_id.max(),
    )


def firm_series(read: Reader, has: Callable[[str], bool]) -> ir.Table:
    """Long table: dimension (industry | street), key, indicator, m, value."""
    links = read("base.enterprise_link")
    places_ = places(read)
    tax = _linked(links, read("std.tax_declaration"), "tax_declaration", "declaration_id")
    tax = tax.mutate(m=month_index(tax.period)).inner_join(places_, GOLDEN)
    parts: list[ir.Table] = []
    insured: ir.Table | None = None
    if has("std.social_security"):
        ss = _linked(links, read("std.social_security"), "social_security", "record_id")
        insured = ss.mutate(m=month_index(ss.period)).inner_join(places_, GOLDEN)
    for dimension in ("industry", "street"):
        key = tax[dimension]
        t = tax.filter(key.notnull())
        agg = t.aggregate(
            by=[t[dimension].name("key"), "m"],
            revenue=t.revenue.cast("float64").sum(),
            tax=t.tax_payable.cast("float64").sum(),
            firms=t[GOLDEN].nunique().cast("float64"),
        )
        for name in ("revenue", "tax", "firms"):
            parts.append(_long(agg, dimension, name))
        if insured is not None:
            s = insured.filter(insured[dimension].notnull())
            agg2 = s.aggregate(
                by=[s[dimension].name("key"), "m"], insured=s.insured.cast("float64").sum()
            )
            parts.append(_long(agg2, dimension, "insured"))
    if has("std.economic_indicator"):
        e = read("std.economic_indicator")
        e = e.filter(e.period.notnull()).mutate(
            m=month_index(e.period), key=ibis.literal("district")
        )
        e = e.aggregate(by=["key", "m"], **{c: e[c].cast("float64").max() for c in
                                           DISTRICT_INDICATORS if c in e.columns})  # fmt: skip
        for name in DISTRICT_INDICATORS:
            if name in e.columns:
                parts.append(_long(e, "district", name))
    return ibis.union(*parts)


def _long(agg: ir.Table, dimension: str, name: str) -> ir.Table:
    return agg.select(
        dimension=ibis.literal(dimension),
        key=agg.key.cast("string"),
        indicator=ibis.literal(name),
        m=agg.m.cast("int64"),
        value=agg[name].cast("float64"),
    )


@dataclass(frozen=True)
class Changes:
    """Series × months: values, month-on-month and year-on-year change (shares), and the robust
    z of each month's step against the series' own earlier steps."""

    series: pa.Table  # dimension, key, indicator — one row per matrix row
    months: NDArray[np.int64]
    values: NDArray[np.float64]
    mom: NDArray[np.float64]
    yoy: NDArray[np.float64]
    z: NDArray[np.float64]


def changes(long: pa.Table) -> Changes:
    label = pc.binary_join_element_wise(
        long.column("dimension"), long.column("key"), long.column("indicator"), "\x1f"
    )
    names, series_row = np.unique(
        np.asarray(label.to_numpy(zero_copy_only=False)).astype(str), return_inverse=True
    )
    m = long.column("m").to_numpy()
    months = np.arange(int(m.min()), int(m.max()) + 1) if m.size else np.zeros(0, np.int64)
    values = np.full((names.size, months.size), np.nan)
    if m.size:
        values[series_row, m - months[0]] = long.column("value").to_numpy(zero_copy_only=False)
    mom = np.full(values.shape, np.nan)
    yoy = np.full(values.shape, np.nan)
    step = np.full(values.shape, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        if months.size > 1:
            mom[:, 1:] = values[:, 1:] / values[:, :-1] - 1.0
            step[:, 1:] = np.log(values[:, 1:] / values[:, :-1])
        if months.size > 12:
            yoy[:, 12:] = values[:, 12:] / values[:, :-12] - 1.0
    step = np.where(np.isfinite(step), step, np.nan)
    z = np.full(values.shape, np.nan)
    for t in range(4, months.size):
        # each month's step against the series' own earlier steps (at least three of them)
        centre, spread = _robust(step[:, 1:t])
        with np.errstate(divide="ignore", invalid="ignore"):
            z[:, t] = (step[:, t] - centre) / spread
    parts = np.array([n.split("\x1f") for n in names.tolist()], dtype=object).reshape(-1, 3)
    series = pa.table(
        {
            "dimension": pa.array(parts[:, 0].astype(str), pa.string()),
            "key": pa.array(parts[:, 1].astype(str), pa.string()),
            "indicator": pa.array(parts[:, 2].astype(str), pa.string()),
        }
    )
    return Changes(series, months, values, mom, yoy, z)


def _robust(past: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Median and MAD-based spread of each row's finite values (NaN with fewer than three);
    the spread is at least 1 % so that a flat series does not make every wiggle a swing."""
    count = np.isfinite(past).sum(axis=1)
    enough = count >= 3
    centre = np.full(past.shape[0], np.nan)
    spread = np.full(past.shape[0], np.nan)
    if enough.any():
        rows = past[enough]
        med = np.nanmedian(rows, axis=1)
        dev = np.nanmedian(np.abs(rows - med[:, None]), axis=1) / 0.6744897501960817
        centre[enough] = med
        spread[enough] = np.maximum(dev, 0.01)
    return centre, spread


def pull(engine: Engine, read: Reader, has: Callable[[str], bool]) -> pa.Table:
    return engine.to_arrow(firm_series(read, has))
