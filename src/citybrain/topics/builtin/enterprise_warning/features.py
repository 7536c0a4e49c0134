"""The enterprise × month panel, built engine-neutrally in Ibis (DuckDB and Spark).

Every source row is tied to its golden enterprise through ``base.enterprise_link`` (source table
and key → golden id), so a declaration filed under a mistyped USCC or a social-security unit
without one still lands on the right firm. Premises' power and water are the meter readings at the
firm's registered address. Only the finished long table (one row per firm and month with data) is
pulled to Arrow; the pivot to a firms × months matrix is NumPy index arithmetic.
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
from citybrain.topics import InputSpec

GOLDEN = "golden_enterprise_id"

#: what the monthly panel of a firm reads: its golden id, registration, tax and (optionally) its
#: social security — declared once for every topic built on the panel
PANEL_INPUTS = (
    InputSpec(zone="base", table="enterprise_link",
              columns=("source_table", "source_key", GOLDEN)),
    InputSpec(table="enterprise_registration",
              columns=("registration_id", "uscc", "name", "industry_code",
                       "established_date", "registered_capital")),
    InputSpec(table="tax_declaration",
              columns=("declaration_id", "period", "revenue", "tax_payable",
                       "declared_date")),
    InputSpec(table="social_security",
              columns=("record_id", "period", "insured", "contribution_base"),
              optional=True),
)  # fmt: skip
#: panel columns, each a firms × months matrix after `pivot`; ``late`` is 1 where the month's
#: tax declaration was filed after the deadline (the 15th of the next month), ``arrears`` 1 where
#: social security shows staff on the rolls but no contribution base (欠缴)
MEASURES = (
    "revenue", "tax", "insured", "power", "water", "court", "penalties", "late", "arrears"
)  # fmt: skip
#: day of the next month by which a month's tax is declared
FILING_DEADLINE_DAY = 15

Reader = Callable[[str], ir.Table]


def month_index(period: ir.StringValue) -> ir.IntegerValue:
    """``'2023-07'`` → 2023 * 12 + 6."""
    return period.substr(0, 4).cast("int64") * 12 + period.substr(5, 2).cast("int64") - 1


def date_month(value: ir.Value) -> ir.IntegerValue:
    stamp = value.cast("timestamp")
    return stamp.year().cast("int64") * 12 + stamp.month().cast("int64") - 1


def month_label(index: NDArray[np.int64]) -> NDArray[np.str_]:
    """Month index → ``'2023-07'`` (an empty array stays empty)."""
    if index.size == 0:
        return np.zeros(0, dtype="<U7")
    year, month = np.divmod(np.asarray(index, dtype=np.int64), 12)
    return np.char.add(
        np.char.add(year.astype(str), "-"), np.char.zfill((month + 1).astype(str), 2)
    )


def _linked(links: ir.Table, table: ir.Table, name: str, key: str) -> ir.Table:
    """``table`` with the golden id of each row (rows whose key no link names are dropped)."""
    # a std table's key names one record (the contract's ``keys``): one link per key
    mine = links.filter(links.source_table == name).select(
        _key=links.source_key, **{GOLDEN: links[GOLDEN]}
    )
    keyed = table.mutate(_key=table[key].cast("string").strip())
    return keyed.inner_join(mine, "_key").drop("_key")


def firms(read: Reader) -> ir.Table:
    """Golden firm, industry, founding month, premises and area, from the market registry."""
    links = read("base.enterprise_link")
    reg = _linked(links, read("std.enterprise_registration"), "enterprise_registration",
                  "registration_id")  # fmt: skip
    return reg.aggregate(
        by=GOLDEN,
        uscc=reg.uscc.max(),
        name=reg.name.max(),
        industry_code=reg.industry_code.max(),
        registered_capital=reg.registered_capital.cast("float64").max(),
        founded=date_month(reg.established_date).min(),
        address_id=reg.address_id.max(),
        grid_id=reg.grid_id.max(),
        community_id=reg.community_id.max(),
        street_id=reg.street_id.max(),
    )


def monthly(read: Reader, has: Callable[[str], bool]) -> ir.Table:
    """One row per golden firm and month index ``m``: every measure (null where none)."""
    links = read("base.enterprise_link")
    parts: list[ir.Table] = []
    tax = _linked(links, read("std.tax_declaration"), "tax_declaration", "declaration_id")
    tax = tax.mutate(m=month_index(tax.period))
    filed = tax.declared_date.cast("timestamp")
    after = date_month(tax.declared_date) - tax.m
    late = (after > 1) | ((after == 1) & (filed.day() > FILING_DEADLINE_DAY))
    parts.append(
        tax.aggregate(
            by=[GOLDEN, "m"],
            revenue=tax.revenue.cast("float64").sum(),
            tax=tax.tax_payable.cast("float64").sum(),
            late=late.cast("float64").max(),
        )
    )
    if has("std.social_security"):
        ss = _linked(links, read("std.social_security"), "social_security", "record_id")
        ss = ss.mutate(m=month_index(ss.period))
        owing = (ss.insured.cast("float64") > 0) & (ss.contribution_base.cast("float64") == 0)
        parts.append(
            ss.aggregate(
                by=[GOLDEN, "m"],
                insured=ss.insured.cast("float64").sum(),
                arrears=owing.cast("float64").max(),
            )
        )
    if has("std.utility_reading"):
        premises = firms(read).select(GOLDEN, "address_id").filter(ibis._.address_id.notnull())
        r = read("std.utility_reading")
        r = r.filter(r.address_id.notnull() & r.utility.isin(["electricity", "water"]))
        r = r.mutate(m=month_index(r.period), usage=r.usage.cast("float64"))
        use = r.aggregate(
            by=["address_id", "m"],
            power=r.usage.sum(where=r.utility == "electricity"),
            water=r.usage.sum(where=r.utility == "water"),
        )
        joined = premises.inner_join(use, "address_id")
        parts.append(joined.select(GOLDEN, "m", "power", "water"))
    if has("std.dishonest_judgment"):
        court = read("std.dishonest_judgment")
        court = _linked(links, court, "dishonest_judgment", "case_code")
        court = court.mutate(m=date_month(court.registered_date))
        parts.append(court.aggregate(by=[GOLDEN, "m"], court=court.count().cast("float64")))
    if has("std.penalty"):
        pen = _linked(links, read("std.penalty"), "penalty", "decision_no")
        pen = pen.mutate(m=date_month(pen.decided_date))
        parts.append(pen.aggregate(by=[GOLDEN, "m"], penalties=pen.count().cast("float64")))
    # one long union (each part padded with nulls), then one aggregation per firm and month
    padded = [
        p.select(
            GOLDEN,
            m=p.m.cast("int64"),
            **{
                c: (p[c].cast("float64") if c in p.columns else ibis.null().cast("float64"))
                for c in MEASURES
            },
        )
        for p in parts
    ]
    long = ibis.union(*padded, distinct=False)
    return long.aggregate(by=[GOLDEN, "m"], **{c: long[c].max() for c in MEASURES})


@dataclass(frozen=True)
class Panel:
    """Firms × months matrices (NaN where a firm reports nothing that month) and firm columns."""

    firms: pa.Table  # one row per firm, in matrix row order
    months: NDArray[np.int64]  # month index of each matrix column
    values: dict[str, NDArray[np.float64]]

    @property
    def shape(self) -> tuple[int, int]:
        return (self.firms.num_rows, self.months.size)


def build_panel(engine: Engine, read: Reader, has: Callable[[str], bool]) -> Panel:
    """Pull the long table and the firm table and pivot into matrices (no per-row Python)."""
    firm_table = engine.to_arrow(firms(read))
    long = engine.to_arrow(monthly(read, has))
    return pivot(firm_table, long)


def pivot(firm_table: pa.Table, long: pa.Table) -> Panel:
    """Matrices over the firms of ``firm_table`` and the tax months of ``long``."""
    ids = firm_table.column(GOLDEN)
    row = pc.index_in(long.column(GOLDEN), value_set=ids).to_numpy(zero_copy_only=False)
    m = long.column("m").to_numpy(zero_copy_only=False)
    known = ~np.isnan(row.astype(np.float64)) if row.dtype == object else row >= 0
    row = np.where(known, row, -1).astype(np.int64)
    # the panel's months: those with tax declarations (the backbone), a full range between
    has_tax = known & ~np.isnan(_column(long, "revenue"))
    if has_tax.any():
        first, last = int(m[has_tax].min()), int(m[has_tax].max())
    else:
        first, last = 0, -1
    months = np.arange(first, last + 1, dtype=np.int64)
    keep = known & (m >= first) & (m <= last)
    values: dict[str, NDArray[np.float64]] = {}
    for name in MEASURES:
        matrix = np.full((firm_table.num_rows, months.size), np.nan)
        if name in long.column_names:
            column = _column(long, name)
            matrix[row[keep], m[keep] - first] = column[keep]
        values[name] = matrix
    return Panel(firm_table, months, values)


def _column(table: pa.Table, name: str) -> NDArray[np.float64]:
    if name not in table.column_names:
        return np.full(table.num_rows, np.nan)
    return np.asarray(
        pc.cast(table.column(name), pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64
    )
