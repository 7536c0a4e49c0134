"""公用事业欠费催缴 — the utilities' monthly dunning list of residents' overdue water, power and gas
bills (one UTF-8 CSV), and the planted later default of each account holder (truth).

Every person carries a latent financial strain (``credit_strain``, standard normal, its own random
stream). Each month, each account a person holds is overdue with a probability rising with the
strain; an overdue account appears on that month's list with the months it is behind (more for a
strained holder), the amount owed and whether it was paid by the time of the export. The truth
``person_credit_outcomes`` says for every account holder whether a serious default (bills sent to
enforcement, a court listing) follows in the six months after the lake's period — drawn from the
same strain, so what the list shows predicts it, but not exactly.

The list is keyed by the account number the meter readings carry (户号); it is as dirty as the
billing export: holder names mistyped, a few amounts blank, some notices sent twice.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from citybrain.sim import dirt
from citybrain.sim.formats import write_csv
from citybrain.sim.ids import concat, padded
from citybrain.sim.rng import rng_for
from citybrain.sim.systems.base import SystemContext, dirty_columns, resend_rows, row_keys
from citybrain.sim.usage import account_holders, metered
from citybrain.sim.world import World

SYSTEM = "utility_arrears"
FILE = "欠费催缴清单.csv"
#: (system, utility, account prefix, list label, usual monthly bill in yuan) — as the readings'
#: builders (water.py, power.py, gas.py) number their accounts
UTILITIES = (
    ("water_utility", "water", "SW", "水费", 45.0),
    ("power_grid", "power", "30", "电费", 120.0),
    ("gas_utility", "gas", "RQ", "燃气费", 60.0),
)
#: monthly overdue probability: sigmoid(LATE_A + LATE_B · strain)
LATE_A, LATE_B = -3.2, 1.7
#: months behind on a notice: 1 + Poisson(BEHIND_A · exp(BEHIND_B · strain)); about one holder in
#: ten has a notice 3 or more months behind within a year
BEHIND_A, BEHIND_B = 0.1, 1.0
#: later serious default: sigmoid(DEFAULT_A + DEFAULT_B · strain)
DEFAULT_A, DEFAULT_B = -4.2, 2.6
HORIZON_MONTHS = 6


def _sigmoid(x: np.ndarray) -> np.ndarray:
    out: np.ndarray = 1.0 / (1.0 + np.exp(-x))
    return out


def credit_strain(world: World) -> np.ndarray:
    """Each person's latent financial strain (standard normal; its own stream)."""
    n = len(world.pop.persons)
    out: np.ndarray = rng_for(world.seed, "person_credit", "strain").standard_normal(n)
    return out


def person_accounts(ctx: SystemContext, system: str, utility: str, prefix: str) -> pa.Table:
    """The accounts of one utility that a person holds: number and holder (person id).

    Draws the account numbers exactly as ``utility.accounts`` does (same streams, same order),
    without its truth side effects."""
    w = ctx.world
    rng = ctx.rng(system, "accounts")
    dw = metered(w, utility, rng)
    holder = account_holders(w, ctx.rng("holders"))[dw]
    order = rng.permutation(dw.size)
    acct = concat(prefix, padded(order + 1_000_000, 9))
    keep = np.flatnonzero(holder >= 0)
    return pa.table({"account": acct.take(pa.array(keep)), "person": holder[keep]})


def build(ctx: SystemContext) -> None:
    w = ctx.world
    rng = ctx.rng(SYSTEM)
    strain = credit_strain(w)
    names = w.pop.persons["name"].combine_chunks()
    parts: list[pa.Table] = []
    holders: list[np.ndarray] = []
    for system, utility, prefix, label, bill in UTILITIES:
        acc = person_accounts(ctx, system, utility, prefix)
        person = acc["person"].to_numpy()
        holders.append(person)
        z = strain[person]
        late = rng.random((w.months, person.size)) < _sigmoid(LATE_A + LATE_B * z)
        m_idx, a_idx = np.nonzero(late)
        zz = z[a_idx]
        behind = 1 + rng.poisson(BEHIND_A * np.exp(BEHIND_B * zz))
        monthly = bill * rng.lognormal(0.0, 0.35, a_idx.size)
        paid = rng.random(a_idx.size) < _sigmoid(1.5 - 1.2 * zz)
        day = w.month_starts[m_idx] + rng.integers(5, 25, a_idx.size).astype("timedelta64[D]")
        parts.append(
            pa.table(
                {
                    "m": m_idx,
                    "户号": acc["account"].take(pa.array(a_idx)),
                    "户名": names.take(pa.array(person[a_idx])),
                    "费用类别": pa.repeat(pa.scalar(label), a_idx.size),
                    "欠费月数": behind,
                    "欠费金额": np.round(monthly * behind, 2),
                    "缴费状态": pa.array(np.where(paid, "已缴清", "未缴清")),
                    "催缴日期": pc.strftime(
                        pa.array(day.astype("datetime64[s]")), format="%Y-%m-%d"
                    ),
                    "_person": person[a_idx],
                }
            )
        )
    t = pa.concat_tables(parts).sort_by([("m", "ascending"), ("户号", "ascending")])
    n = t.num_rows
    t = t.add_column(0, "通知单号", row_keys("QFCJ", 0, n, 8)).drop(["m"])
    person = t["_person"].to_numpy()
    t = t.drop(["_person"])
    ctx.truth.link("person", SYSTEM, "催缴", "通知单号", t["通知单号"], person)
    t = dirty_columns(
        ctx,
        SYSTEM,
        "催缴",
        t,
        "通知单号",
        rng,
        [
            ("户名", dirt.name_typos, 0.02, "name_typo"),
            ("欠费金额", dirt.nulls, 0.01, "missing_value"),
        ],
    )
    t = resend_rows(ctx, SYSTEM, "催缴", t, "通知单号", rng, 0.01)
    ctx.count(SYSTEM, write_csv(ctx.dir(SYSTEM) / FILE, t, encoding="utf-8"))

    held = np.unique(np.concatenate(holders))
    outcome = rng_for(w.seed, "person_credit", "outcome")  # apart from the list's draws
    default = outcome.random(held.size) < _sigmoid(DEFAULT_A + DEFAULT_B * strain[held])
    ctx.truth.write(
        "person_credit_outcomes",
        pa.table(
            {
                "person_id": held,
                "id_number": w.pop.persons["id_number"].combine_chunks().take(pa.array(held)),
                "serious_default": default,
                "horizon_months": pa.repeat(pa.scalar(HORIZON_MONTHS), held.size),
                "strain": strain[held],
            }
        ),
    )
