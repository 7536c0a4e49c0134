"""The enterprise × month panel, built engine-neutrally in Ibis (DuckDB and Spark).

Every source row is tied to its golden enterprise through ``base.enterprise_link`` (source table
and key → golden id), so a declaration filed under a mistyped USCC or a social-security unit
without one still lands on the right firm. Premises' power and water are the meter readings at the
firm's registered address. Each firm's matrix row is numbered in the engine, so every input's
part is aggregated on two integers (row, month) and only those finished parts are pulled to Arrow;
the pivot to firms × months matrices is NumPy index arithmetic.
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


#: the firm's row in the panel (0, 1, … in golden-id order), numbered in the engine so that
#: every part is keyed by two integers, never by the golden id's string
ROW = "_row"


def indexed_firms(read: Reader) -> ir.Table:
    """`firms` with each firm's matrix row (``_row``, in golden-id order)."""
    table = firms(read)
    return table.mutate(**{ROW: ibis.row_number().over(order_by=table[GOLDEN]).cast("int64")})


def _rows(links: ir.Table, index: ir.Table, name: str) -> ir.Table:
    """The source keys of ``name`` with the matrix row of the firm each names."""
    mine = links.filter(links.source_table == name)
    rows = index.select(GOLDEN, ROW)
    keyed = mine.inner_join(rows, mine[GOLDEN] == rows[GOLDEN])
    return keyed.select(_key=keyed.source_key, **{ROW: keyed[ROW]})


def _by_row(links: ir.Table, index: ir.Table, table: ir.Table, name: str, key: str) -> ir.Table:
    """``table`` with the matrix row of each record's firm (records of no registered firm are
    left out: the panel has no row for them)."""
    keyed = table.mutate(_key=table[key].cast("string").strip())
    return keyed.inner_join(_rows(links, index, name), "_key").drop("_key")


def monthly(read: Reader, has: Callable[[str], bool], index: ir.Table) -> dict[str, ir.Table]:
    """Per input, one row per firm (``_row`` of ``index``) and month index ``m`` with that input's
    measures: each part is aggregated on two integers and pulled on its own (no union of wide,
    mostly-null rows, no string keys on the way out)."""
    links = read("base.enterprise_link")
    parts: dict[str, ir.Table] = {}
    tax = _by_row(links, index, read("std.tax_declaration"), "tax_declaration", "declaration_id")
    tax = tax.mutate(m=month_index(tax.period))
    filed = tax.declared_date.cast("timestamp")
    after = date_month(tax.declared_date) - tax.m
    late = (after > 1) | ((after == 1) & (filed.day() > FILING_DEADLINE_DAY))
    parts["tax"] = tax.aggregate(
        by=[ROW, "m"],
        revenue=tax.revenue.cast("float64").sum(),
        tax=tax.tax_payable.cast("float64").sum(),
        late=late.cast("float64").max(),
    )
    if has("std.social_security"):
        ss = _by_row(links, index, read("std.social_security"), "social_security", "record_id")
        ss = ss.mutate(m=month_index(ss.period))
        owing = (ss.insured.cast("float64") > 0) & (ss.contribution_base.cast("float64") == 0)
        parts["social_security"] = ss.aggregate(
            by=[ROW, "m"],
            insured=ss.insured.cast("float64").sum(),
            arrears=owing.cast("float64").max(),
        )
    if has("std.utility_reading"):
        premises = index.select(ROW, "address_id").filter(ibis._.address_id.notnull())
        r = read("std.utility_reading")
        r = r.filter(r.address_id.notnull() & r.utility.isin(["electricity", "water"]))
        r = r.mutate(m=month_index(r.period), usage=r.usage.cast("float64"))
        use = r.aggregate(
            by=["address_id", "m"],
            power=r.usage.sum(where=r.utility == "electricity"),
            water=r.usage.sum(where=r.utility == "water"),
        )
        joined = premises.inner_join(use, "address_id")
        parts["utility"] = joined.select(ROW, "m", "power", "water")
    if has("std.dishonest_judgment"):
        court = read("std.dishonest_judgment")
        court = _by_row(links, index, court, "dishonest_judgment", "case_code")
        court = court.mutate(m=date_month(court.registered_date))
        parts["court"] = court.aggregate(by=[ROW, "m"], court=court.count().cast("float64"))
    if has("std.penalty"):
        pen = _by_row(links, index, read("std.penalty"), "penalty", "decision_no")
        pen = pen.mutate(m=date_month(pen.decided_date))
        parts["penalty"] = pen.aggregate(by=[ROW, "m"], penalties=pen.count().cast("float64"))
    return parts


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
    """Pull the firm table and each input's long part and scatter them into matrices (no
    per-row Python)."""
    index = indexed_firms(read)
    firm_table = engine.to_arrow(index.order_by(ROW))
    longs = [engine.to_arrow(part) for part in monthly(read, has, index).values()]
    return pivot(firm_table.drop_columns([ROW]), longs)


def pivot(firm_table: pa.Table, longs: list[pa.Table]) -> Panel:
    """Matrices over the firms of ``firm_table`` (``_row`` of each long part is its row) and the
    tax months (the first part holds the revenue: the panel's backbone)."""
    n_firms = firm_table.num_rows
    # the panel's months: those with tax declarations (the backbone), a full range between
    months_seen = [
        _ints(long, "m")[np.isfinite(_column(long, "revenue"))]
        for long in longs
        if "revenue" in long.column_names
    ]
    seen = np.concatenate(months_seen) if months_seen else np.zeros(0, np.int64)
    first, last = (int(seen.min()), int(seen.max())) if seen.size else (0, -1)
    months = np.arange(first, last + 1, dtype=np.int64)
    values = {name: np.full((n_firms, months.size), np.nan) for name in MEASURES}
    for long in longs:
        row, m = _ints(long, ROW), _ints(long, "m")
        keep = (row >= 0) & (row < n_firms) & (m >= first) & (m <= last)
        at = (row[keep], m[keep] - first)
        for name in MEASURES:
            if name in long.column_names:
                column = _column(long, name)[keep]
                # a null measure (no reading of that kind that month) stays NaN
                present = np.isfinite(column)
                values[name][at[0][present], at[1][present]] = column[present]
    return Panel(firm_table, months, values)


def _ints(table: pa.Table, name: str) -> NDArray[np.int64]:
    return np.asarray(
        pc.fill_null(pc.cast(table.column(name), pa.int64()), -1).to_numpy(zero_copy_only=False),
        dtype=np.int64,
    )


def _column(table: pa.Table, name: str) -> NDArray[np.float64]:
    if name not in table.column_names:
        return np.full(table.num_rows, np.nan)
    return np.asarray(
        pc.cast(table.column(name), pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64
    )
