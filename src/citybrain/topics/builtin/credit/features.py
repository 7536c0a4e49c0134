"""The credit indicator system (守信通指标体系): one row per enterprise, computed in the engine.

Every indicator is one grouped aggregate per input table, joined on the USCC — ibis expressions, so
the same code runs on DuckDB and on Spark. Months are ``YYYY-MM`` periods turned into a month index
(year × 12 + month); "now" is the newest tax period in the lake.

=====================  ==========================================================================
group                  indicators
=====================  ==========================================================================
basic information      age in months, registered capital, registration status, individual business
tax compliance         months declared of the last 6 expected, revenue of the last 3 months
                       against the firm's own earlier months
social security        insured headcount of the last 3 months against earlier months, months
                       reported of the last 6 expected
judicial               dishonesty-list entries (失信被执行人)
administrative         penalties (行政处罚), their total amount, tax-arrears penalties
commitments            commitments kept, broken and awaiting their check (信用承诺)
=====================  ==========================================================================

Utility arrears and commendations are part of the indicator system the city asked for, but no
source in the lake holds them yet; they are left out rather than invented.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from citybrain.core.engine import Engine

ACTIVE_STATUSES = ("存续", "在业", "开业", "active")
BROKEN, KEPT, PENDING = "未履约", "已履约", "待核查"
RECENT, BASE_GAP, WINDOW = 3, 6, 6  # recent months; earlier months end BASE_GAP before now

#: model features (behaviour), then the record counts that rules score
MODEL_FEATURES = (
    "age_months",
    "log_capital",
    "tax_missing",
    "revenue_drop",
    "revenue_slope",
    "ss_missing",
    "headcount_drop",
    "headcount_slope",
)
RECORD_COUNTS = ("dishonest", "penalties", "tax_penalties", "broken", "kept", "pending")

Reader = Callable[[str], ir.Table]


def _month(period: ir.StringValue) -> ir.IntegerValue:
    return period.substr(0, 4).cast("int64") * 12 + period.substr(5, 2).cast("int64")


def _empty(**columns: str) -> ir.Table:
    return ibis.memtable(
        pa.table(
            {name: pa.array([], ibis.dtype(kind).to_pyarrow()) for name, kind in columns.items()}
        )
    )


def _monthly(table: ir.Table, value: str, now: ir.IntegerScalar, prefix: str) -> ir.Table:
    """Per USCC, against the firm's own history: months reported of the last WINDOW; the latest
    month's log value minus the median month's (``drop``); the log-linear trend per month
    (``slope``); the recent mean against the earlier mean (``ratio``, for the reason text)."""
    t = table.filter(table.uscc.notnull()).mutate(m=_month(table.period))
    per = t.group_by(["uscc", "m"]).aggregate(v=t[value].cast("float64").sum())
    per = per.mutate(lv=(ibis.greatest(per.v, 0.0) + 1.0).ln(), mf=per.m.cast("float64"))
    agg = per.group_by("uscc").aggregate(
        first_m=per.m.min(),
        seen=per.m.nunique(where=per.m > now - WINDOW),
        recent=per.v.mean(where=per.m > now - RECENT),
        base=per.v.mean(where=per.m <= now - BASE_GAP),
        last_lv=per.lv.max(where=per.m == now),
        median_lv=per.lv.median(),
        cov=per.mf.cov(per.lv, how="pop"),
        var=per.mf.var(how="pop"),
    )
    expected = ibis.least(ibis.literal(WINDOW), (now - agg.first_m + 1).cast("int64"))
    ratio = ibis.ifelse(agg.base > 0, agg.recent.fill_null(0.0) / agg.base, ibis.null("float64"))
    return agg.select(
        "uscc",
        **{
            f"{prefix}_missing": (expected - agg.seen).cast("float64"),
            f"{prefix}_drop": agg.last_lv - agg.median_lv,
            f"{prefix}_slope": ibis.ifelse(
                agg["var"] > 0, agg["cov"] / agg["var"], ibis.null("float64")
            ),
            f"{prefix}_ratio": ratio,
        },
    )


def _located(table: ir.Table, places: ir.Table | None) -> ir.Table:
    """Adds lon and lat of the registered address (null where it is not matched)."""
    if places is None:
        return table.mutate(lon=ibis.null("float64"), lat=ibis.null("float64"))
    points = places.select(
        place_id=places.address_id.cast("string"),
        lon=places.lon.cast("float64"),
        lat=places.lat.cast("float64"),
    ).distinct(on="place_id")
    joined = table.left_join(points, table.address_id == points.place_id)
    return joined.drop("place_id")


def _without(table: ir.Table, key: str, withdrawn: list[str] | None) -> ir.Table:
    if not withdrawn:
        return table
    return table.filter(~table[key].isin(withdrawn))


def feature_table(
    engine: Engine,
    read: Reader,
    withdrawn: dict[str, list[str]] | None = None,
    places: ir.Table | None = None,
) -> tuple[pa.Table, str]:
    """Every enterprise's indicators (sorted by USCC) and the reference period ``YYYY-MM``.

    ``withdrawn``: record ids that credit repair took back, by kind (penalty, dishonest,
    commitment); they count for nothing. ``places``: std.standard_address (address_id, lon, lat)
    to locate each enterprise's registered address, if the lake has it.
    """
    withdrawn = withdrawn or {}
    reg = read("std.enterprise_registration")
    tax = read("std.tax_declaration")
    ss = read("std.social_security")
    court = _without(read("std.dishonest_judgment"), "case_code", withdrawn.get("dishonest"))
    pen = _without(read("std.penalty"), "decision_no", withdrawn.get("penalty"))
    com = _without(read("std.commitment"), "commitment_id", withdrawn.get("commitment"))

    now_value = engine.to_arrow(tax.aggregate(now=_month(tax.period).max()))["now"][0].as_py()
    if now_value is None:
        raise ValueError("std.tax_declaration holds no periods: no reference month for credit")
    now_m = int(now_value)
    period = f"{(now_m - 1) // 12:04d}-{(now_m - 1) % 12 + 1:02d}"
    now = ibis.literal(now_m, "int64")

    ids = ibis.union(
        reg.select(uscc=reg.uscc.cast("string")),
        tax.select(uscc=tax.uscc.cast("string")),
        pen.select(uscc=pen.uscc.cast("string")),
        distinct=True,
    )
    ids = ids.filter(ids.uscc.notnull())

    ranked = reg.filter(reg.uscc.notnull()).mutate(
        _n=ibis.row_number().over(group_by="uscc", order_by=ibis.desc("established_date"))
    )
    first = ranked.filter(ranked._n == 0)
    year, month = (now_m - 1) // 12, (now_m - 1) % 12 + 1
    ref_date = ibis.literal(date(year + month // 12, month % 12 + 1, 1))  # the month after "now"
    basic = first.select(
        "uscc",
        name=first.name.cast("string"),
        status=first.status.cast("string"),
        industry_code=first.industry_code.cast("string"),
        street_id=first.street_id.cast("string")
        if "street_id" in first.columns
        else ibis.null("string"),
        community_id=(
            first.community_id.cast("string")
            if "community_id" in first.columns
            else ibis.null("string")
        ),
        grid_id=first.grid_id.cast("string") if "grid_id" in first.columns else ibis.null("string"),
        address_id=(
            first.address_id.cast("string")
            if "address_id" in first.columns
            else ibis.null("string")
        ),
        age_months=((ref_date - first.established_date.cast("date")).cast("int64") / 30.44),
        log_capital=(first.registered_capital.cast("float64").fill_null(0.0) + 1.0).ln(),
        inactive=ibis.ifelse(first.status.isin(ACTIVE_STATUSES), 0, 1),
        individual=ibis.ifelse(first.entity_type.contains("个体"), 1, 0),
    )

    taxes = _monthly(tax, "revenue", now, "tax").rename(
        revenue_drop="tax_drop", revenue_slope="tax_slope", revenue_ratio="tax_ratio"
    )
    social = _monthly(ss, "insured", now, "ss").rename(
        headcount_drop="ss_drop", headcount_slope="ss_slope", headcount_ratio="ss_ratio"
    )
    listed = court.filter(court.identifier.notnull())
    listed = listed.group_by(uscc=listed.identifier.cast("string")).aggregate(
        dishonest=listed.count()
    )
    pens = pen.filter(pen.uscc.notnull())
    pens = pens.group_by(uscc=pens.uscc.cast("string")).aggregate(
        penalties=pens.count(),
        penalty_amount=pens.amount.cast("float64").sum(),
        tax_penalties=pens.count(where=pens.violation.contains("税")),
    )
    coms = com.filter(com.uscc.notnull())
    coms = coms.group_by(uscc=coms.uscc.cast("string")).aggregate(
        broken=coms.count(where=coms.check_result == BROKEN),
        kept=coms.count(where=coms.check_result == KEPT),
        pending=coms.count(where=coms.check_result == PENDING),
    )

    joined = ids
    for part in (basic, taxes, social, listed, pens, coms):
        joined = joined.left_join(part, "uscc").drop("uscc_right")
    joined = _located(joined, places)
    counts = {c: joined[c].fill_null(0).cast("int64") for c in RECORD_COUNTS}
    joined = joined.mutate(
        **counts,
        penalty_amount=joined.penalty_amount.fill_null(0.0),
        registered=joined.inactive.notnull().cast("int64"),
        inactive=joined.inactive.fill_null(0).cast("int64"),
        individual=joined.individual.fill_null(0).cast("int64"),
    )
    return engine.to_arrow(joined.order_by("uscc")), period
