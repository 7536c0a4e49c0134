"""Monthly meter readings per account, shared by the water, power and gas systems.

Account attributes (number, holder name, address as the utility writes it) are drawn and dirtied
once, as they sit in the utility's customer database; each month's readings take from them, so
the same account reads the same way every month. Readings are cumulative meter values.

Accounts are registered under real name: the customer file keeps the holder's own mobile (power,
water) or resident ID number (gas, from the safety contract) — blank for accounts opened before
real-name rules, sometimes a number the holder no longer uses, sometimes mistyped or masked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from citybrain.sim import dirt
from citybrain.sim.addresses import Style, mixed
from citybrain.sim.ids import concat, padded, suffixed
from citybrain.sim.systems.base import SystemContext, dirty, dirty_columns, resend_rows
from citybrain.sim.usage import account_holders, metered, monthly_usage


@dataclass(frozen=True)
class UtilitySpec:
    """How one utility company names and delivers things."""

    system: str
    utility: str  # water | power | gas
    account_prefix: str
    columns: dict[str, str]  # role → column name ("phone", "id_number": the holder's contact)
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
    table = dirty_columns(
        ctx,
        spec.system,
        "accounts",
        table,
        c["account"],
        rng,
        [
            (c["holder"], dirt.name_typos, 0.02, "name_typo"),
            (
                c["address"],
                partial(dirt.old_road_names, aliases=_aliases(ctx)),
                0.05,
                "old_road_name",
            ),
            (c["address"], dirt.full_width, 0.03, "full_width"),
        ],
    )
    table = _contacts(ctx, spec, table, holder)
    ctx.truth.link("dwelling", spec.system, "*", c["account"], acct, dw)
    ctx.truth.link("person", spec.system, "*", c["account"], acct, holder)
    return dw, table


#: Share of accounts whose customer file has no contact (opened before real-name rules).
CONTACT_BLANK: dict[str, float] = {"power": 0.22, "water": 0.35, "gas": 0.3}
#: The customer file's dirt on each contact: (function, rate, label) after the blanks.
CONTACT_DIRT: dict[str, tuple[tuple[Callable[..., dirt.Dirtied], float, str], ...]] = {
    "phone": (
        (dirt.stale_phones, 0.05, "stale_phone"),  # the holder has changed numbers since
        (dirt.phone_typos, 0.01, "phone_typo"),
        (dirt.phone_formats, 0.03, "phone_format"),
    ),
    "id_number": (
        (dirt.masked_ids, 0.04, "masked_id"),  # the export masks the middle digits
        (partial(dirt.wrong_check_digit, kind="id_number"), 0.01, "wrong_check_digit"),
    ),
}


def _contacts(
    ctx: SystemContext, spec: UtilitySpec, table: pa.Table, holder: np.ndarray
) -> pa.Table:
    """The holder's own phone or ID number beside the holder's name, with the customer file's
    dirt; firms' offices and the management office carry none. Each contact draws from its own
    stream, so the other columns keep their bytes."""
    c = spec.columns
    persons = ctx.world.pop.persons
    at = table.schema.get_field_index(c["holder"]) + 1
    for role in (r for r in CONTACT_DIRT if r in c):
        column = c[role]
        rng = ctx.rng(spec.system, "contact", role)
        own = persons[role].combine_chunks().take(pa.array(np.clip(holder, 0, None)))
        own = pc.if_else(pa.array(holder >= 0), own, pa.scalar(None, own.type))
        table = table.add_column(at, column, own)
        at += 1
        steps = ((dirt.nulls, CONTACT_BLANK[spec.utility], "missing_value"), *CONTACT_DIRT[role])
        for fn, rate, label in steps:
            extra = {"taken": persons["phone"]} if label == "stale_phone" else {}
            table = dirty(
                ctx, spec.system, "accounts", table, c["account"], column, fn, rng, rate, label,
                **extra,
            )  # fmt: skip
    return table


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
                **{c[r]: acct[c[r]] for r in CONTACT_DIRT if r in c},
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
