"""Monthly meter readings per account, shared by the water, power and gas systems.

Account attributes (number, holder name, address as the utility writes it) are drawn and dirtied
once, as they sit in the utility's customer database; each month's readings take from them, so
the same account reads the same way every month. Readings are cumulative meter values.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from citybrain.sim import dirt
from citybrain.sim.addresses import Style, mixed
from citybrain.sim.ids import concat, padded, suffixed
from citybrain.sim.systems.base import SystemContext, dirty, resend_rows
from citybrain.sim.usage import account_holders, metered, monthly_usage


@dataclass(frozen=True)
class UtilitySpec:
    """How one utility company names and delivers things."""

    system: str
    utility: str  # water | power | gas
    account_prefix: str
    columns: dict[str, str]  # role → column name
    styles: list[Style]
    date_format: str = "%Y-%m-%d"
    drift_month: int | None = None  # month from which the schema changes
    drift: dict[str, str] = field(default_factory=dict)


def accounts(ctx: SystemContext, spec: UtilitySpec) -> tuple[np.ndarray, pa.Table]:
    """Dwellings with an account, and the account table (number, holder, address)."""
    w = ctx.world
    rng = ctx.rng(spec.system, "accounts")
    dw = metered(w, spec.utility, rng)
    holder = account_holders(w, ctx.rng("holders"))[dw]
    names = w.pop.persons["name"].combine_chunks()
    holder_name = names.take(pa.array(np.clip(holder, 0, None)))
    firms = w.ent.table
    # offices are held by the firm registered there (or the park's management company)
    firm_of = np.full(len(w.geo.dwellings), -1, np.int64)
    firm_of[firms["dwelling_id"].to_numpy()[::-1]] = firms["enterprise_id"].to_numpy()[::-1]
    firm_name = firms["name"].combine_chunks().take(pa.array(np.clip(firm_of[dw], 0, None)))
    holder_name = pc.if_else(
        pa.array(holder >= 0),
        holder_name,
        pc.if_else(pa.array(firm_of[dw] >= 0), firm_name, "物业管理处"),
    )
    order = rng.permutation(dw.size)  # account numbers do not follow the map
    acct = concat(spec.account_prefix, padded(order + 1_000_000, 9))
    c = spec.columns
    table = pa.table(
        {
            c["account"]: acct,
            c["holder"]: holder_name,
            c["address"]: mixed(ctx.parts.take(dw), spec.styles, rng),
        }
    )
    table = dirty(
        ctx,
        spec.system,
        "accounts",
        table,
        c["account"],
        c["holder"],
        dirt.name_typos,
        rng,
        0.02,
        "name_typo",
    )
    table = dirty(
        ctx,
        spec.system,
        "accounts",
        table,
        c["account"],
        c["address"],
        dirt.old_road_names,
        rng,
        0.05,
        "old_road_name",
        aliases=_aliases(ctx),
    )
    table = dirty(
        ctx,
        spec.system,
        "accounts",
        table,
        c["account"],
        c["address"],
        dirt.full_width,
        rng,
        0.03,
        "full_width",
    )
    ctx.truth.link("dwelling", spec.system, "*", c["account"], acct, dw)
    ctx.truth.link("person", spec.system, "*", c["account"], acct, holder)
    return dw, table


def _aliases(ctx: SystemContext) -> dict[str, list[str]]:
    a = ctx.world.geo.road_aliases
    out: dict[str, list[str]] = {}
    for road, old in zip(a["road_name"].to_pylist(), a["old_name"].to_pylist(), strict=True):
        out.setdefault(road, []).append(old)
    return out


def road_aliases(ctx: SystemContext) -> dict[str, list[str]]:
    """Current road name → old names, from the register."""
    return _aliases(ctx)


def readings(ctx: SystemContext, spec: UtilitySpec) -> Iterator[tuple[int, pa.Table]]:
    """(month, readings table) for every month; memory is one month of accounts."""
    w = ctx.world
    dw, acct = accounts(ctx, spec)
    c = spec.columns
    meter = np.round(ctx.rng(spec.system, "meter").uniform(100, 5000, dw.size), 1)
    for m in range(w.months):
        rng = ctx.rng(spec.system, "month", str(m))
        use = monthly_usage(w, m, spec.utility)[dw]
        prev = meter.copy()
        meter = np.round(meter + use, 1)
        # meters are read on one of eight days; format those eight dates, not every row
        read_days = (w.month_starts[m] + np.arange(20, 28).astype("timedelta64[D]")).astype(
            "datetime64[s]"
        )
        read_text = pc.strftime(pa.array(read_days), format=spec.date_format)
        day_idx = rng.integers(0, 8, dw.size)
        label = w.month_label(m).replace("-", "")
        t = pa.table(
            {
                c["row_key"]: suffixed(acct[c["account"]], f"-{label}"),
                c["account"]: acct[c["account"]],
                c["holder"]: acct[c["holder"]],
                c["address"]: acct[c["address"]],
                c["period"]: pa.repeat(pa.scalar(w.month_label(m)), dw.size),
                c["read_date"]: read_text.take(pa.array(day_idx)),
                c["previous"]: prev,
                c["current"]: meter,
                c["usage"]: np.round(meter - prev, 1),
            }
        )
        # a few meters are not read this month (estimated later), a few rows are sent twice
        t = dirty(
            ctx,
            spec.system,
            label,
            t,
            c["row_key"],
            c["usage"],
            dirt.nulls,
            rng,
            0.004,
            "missing_value",
        )
        t = resend_rows(ctx, spec.system, label, t, c["row_key"], rng, 0.002)
        if spec.drift_month is not None and m >= spec.drift_month and spec.drift:
            t, change = dirt.drift_schema(t, rename=spec.drift)
            if m == spec.drift_month:
                ctx.truth.schema_change(
                    spec.system, w.month_label(m), change.renamed, change.added, change.dropped
                )
        yield m, t
