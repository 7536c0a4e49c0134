"""Monthly truth of every enterprise: does it exist yet, revenue, tax, headcount, power.

Distressed firms decline from their start month (revenue first, headcount after a lag); seasonal
caterers dip and recover; new firms ramp up — the last two are what an early-warning model must not
mistake for distress. Month-to-month noise is multiplicative.

Real distress shows before revenue collapses: most distressed firms (not all) start, some months
before the onset, to fall behind on social-security contributions (欠缴), to file tax late (after
the 15th of the next month) and to use less power at their premises. Healthy firms do each of these
now and then too. The precursors draw from their own random streams, so every other value of the
city is unchanged by them.

The city's policy catalogue (政策目录, `POLICY_CATALOGUE`) and which firms qualify for each policy
at the last month (`policy_eligibility`) are computed here from the monthly values the tax and
social-security systems deliver.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from citybrain.sim.rng import rng_for
from citybrain.sim.world import World

if TYPE_CHECKING:
    from citybrain.sim.systems.base import SystemContext

_CATERING_SEASON = np.array([1.25, 1.3, 0.9, 0.95, 1.0, 0.85, 0.8, 0.8, 0.95, 1.15, 1.0, 1.2])


@dataclass(frozen=True)
class FirmMonth:
    """Per-enterprise values for one month (arrays as long as the enterprise table)."""

    alive: np.ndarray
    revenue: np.ndarray  # 万元
    tax: np.ndarray  # 万元
    headcount: np.ndarray
    power_factor: np.ndarray


def activity(world: World, m: int) -> np.ndarray:
    """How busy each enterprise is in month m relative to normal (0 before it exists): the
    decline after distress and the ramp-up of new firms, without noise (premises' power use
    follows it)."""
    e = world.ent.table
    est = e["established_month"].to_numpy()
    start = e["distress_start"].to_numpy()
    since = np.where((start >= 0) & (m >= start), m - start + 1, 0)
    ramp = np.clip((m - est + 1) / 6, 0.15, 1.0)
    # before the onset a firm with precursors already winds down a little (power falls first)
    begin = precursor_start(world)
    before = (begin != NO_PRECURSOR) & (m >= begin) & ((start < 0) | (m < start))
    early = np.maximum(0.93 ** np.where(before, m - begin + 1, 0), 0.75)
    level: np.ndarray = np.where(est <= m, (0.78**since) ** 0.7 * ramp * early, 0.0)
    return level


#: `precursor_start` of a firm that shows none
NO_PRECURSOR = np.iinfo(np.int64).min
#: share of distressed firms whose precursors show, and their lead over the onset (months)
_PRECURSOR_SHARE = 0.85
_PRECURSOR_LEAD = (3, 7)  # integers in [3, 7)


def precursor_start(world: World) -> np.ndarray:
    """Month each distressed firm starts to show precursors (may lie before the first month),
    or `NO_PRECURSOR` (healthy firms, and distressed ones that collapse without warning)."""
    e = world.ent.table
    start = e["distress_start"].to_numpy()
    rng = rng_for(world.seed, "economy", "precursors")
    n = start.size
    lead = rng.integers(*_PRECURSOR_LEAD, n)
    shows = rng.random(n) < _PRECURSOR_SHARE
    out: np.ndarray = np.where((start >= 0) & shows, start - lead, NO_PRECURSOR)
    return out


def _in_precursor(world: World, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Per firm: showing precursors in month m (before the onset), and distressed by month m."""
    e = world.ent.table
    start = e["distress_start"].to_numpy()
    begin = precursor_start(world)
    showing = (begin != NO_PRECURSOR) & (m >= begin)
    distressed = (start >= 0) & (m >= start)
    return showing & ~distressed, distressed


def late_filing(world: World, m: int) -> np.ndarray:
    """Per firm: its tax declaration for month m is filed after the deadline (the 15th of the next
    month). Healthy firms are late now and then; a firm in trouble often is."""
    rng = rng_for(world.seed, "economy", "late_filing", str(m))
    n = len(world.ent.table)
    before, distressed = _in_precursor(world, m)
    p = np.where(before, 0.55, np.where(distressed, 0.65, 0.02))
    late: np.ndarray = rng.random(n) < p
    return late


def filing_days(world: World, m: int, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Days after the first of the next month each firm of ``rows`` files month m's declaration:
    0-14 on time, 15-44 late (drawn from ``rng`` for the on-time day, its own stream for late)."""
    on_time = rng.integers(0, 15, rows.size)
    late = late_filing(world, m)[rows]
    extra = rng_for(world.seed, "economy", "late_days", str(m)).integers(15, 45, rows.size)
    days: np.ndarray = np.where(late, extra, on_time).astype("timedelta64[D]")
    return days


def in_arrears(world: World, m: int) -> np.ndarray:
    """Per firm: social-security contributions for month m unpaid (欠缴: staff on the rolls, no
    contribution base declared). Arrears of a firm in trouble start within a month or two of its
    precursors and mostly persist; a healthy firm misses a month now and then."""
    e = world.ent.table
    n = len(e)
    rng0 = rng_for(world.seed, "economy", "arrears")
    delay = rng0.integers(0, 2, n)
    begin = precursor_start(world)
    start = e["distress_start"].to_numpy()
    owing = (begin != NO_PRECURSOR) & (m >= begin + delay)
    owing |= (start >= 0) & (m >= start + 1)  # after the collapse, most owe whether or not warned
    rng = rng_for(world.seed, "economy", "arrears", str(m))
    p = np.where(owing, 0.85, 0.005)
    out: np.ndarray = rng.random(n) < p
    return out


def premises_activity(world: World, m: int) -> np.ndarray:
    """Activity of the firm whose premises each dwelling is (1 where no firm is registered)."""
    e = world.ent.table
    dw = e["dwelling_id"].to_numpy()
    level = np.ones(len(world.geo.dwellings))
    # where several firms share a room, the first registered one sets the level
    level[dw[::-1]] = activity(world, m)[::-1]
    return level


def firm_month(world: World, m: int, rng: np.random.Generator) -> FirmMonth:
    e = world.ent.table
    n = len(e)
    est = e["established_month"].to_numpy()
    alive = est <= m
    start = e["distress_start"].to_numpy()
    since = np.where((start >= 0) & (m >= start), m - start + 1, 0)
    decline = 0.78**since
    ramp = np.clip((m - est + 1) / 6, 0.15, 1.0)
    season = np.where(
        e["seasonal"].to_numpy(), _CATERING_SEASON[(world.scale.start_month - 1 + m) % 12], 1.0
    )
    revenue = e["revenue_base"].to_numpy() * decline * ramp * season * rng.lognormal(0, 0.18, n)
    head_decline = 0.88 ** np.maximum(since - 1, 0)
    headcount = np.maximum(
        0,
        np.round(
            e["employees"].to_numpy() * head_decline * np.clip(ramp * 1.5, 0, 1)
            + rng.normal(0, 0.6, n)
        ),
    ).astype(np.int64)
    rate = np.where(e["individual"].to_numpy(), 0.01, 0.045)
    tax = revenue * rate * rng.lognormal(0, 0.1, n)
    return FirmMonth(alive, np.round(revenue, 2), np.round(tax, 3), headcount, decline**0.7 * ramp)


#: The city's policy catalogue (政策目录) as the topic reads it: rules over enterprise attributes at
#: the latest month. `policy_eligibility` below computes the same rules from the world's own values.
POLICY_CATALOGUE = """\
# 示例高新区 政策目录: who each policy is for (rules over enterprise attributes, latest month)
policies:
  employment_stabilisation:
    zh: 稳岗补贴
    en: employment-stabilisation subsidy
    department: 区人社局
    when:
      individual: false
      insured: {min: 10}
      insured_ratio_6m: {min: 1.0}
      arrears_3m: {max: 0}
  rent_relief:
    zh: 小微企业房租减免
    en: rent relief for small firms in difficulty
    department: 区经信局
    when:
      revenue_3m: {max: 30}
      revenue_ratio_3m: {max: 0.7}
  rd_credit:
    zh: 研发费用加计扣除
    en: R&D expense super-deduction
    department: 区科技局
    when:
      individual: false
      industry_code: {prefix: [I65, M73, C39, C27]}
      age_months: {min: 12}
  shared_staff_out:
    zh: 共享用工（富余员工输出）
    en: shared employment (lend surplus staff)
    department: 区人社局
    when:
      insured_change_3m: {max: -3}
    partners:
      insured_change_3m: {min: 3}
  shared_staff_in:
    zh: 共享用工（用工缺口输入）
    en: shared employment (take on staff)
    department: 区人社局
    when:
      insured_change_3m: {min: 3}
    partners:
      insured_change_3m: {max: -3}
"""


def policy_eligibility(world: World) -> pa.Table:
    """Which firms qualify for each policy of `POLICY_CATALOGUE` at the last month, from the
    monthly values the tax and social-security systems deliver (same random streams)."""
    e = world.ent.table
    n = len(e)
    last = world.months - 1
    individual = e["individual"].to_numpy()
    revenue = np.full((n, world.months), np.nan)
    insured = np.full((n, world.months), np.nan)
    arrears = np.zeros((n, world.months), bool)
    for m in range(world.months):
        f = firm_month(world, m, rng_for(world.seed, "system", "economy", str(m)))
        revenue[f.alive, m] = f.revenue[f.alive]
        unit = f.alive & ~individual
        insured[unit, m] = f.headcount[unit]
        arrears[:, m] = unit & in_arrears(world, m) & (f.headcount > 0)  # as the data shows it

    def at(matrix: np.ndarray, back: int) -> np.ndarray:
        return matrix[:, last - back] if last - back >= 0 else np.full(n, np.nan)

    def window(back: int) -> np.ndarray:
        lo, hi = last - back - 2, last - back + 1
        if lo < 0:
            return np.full(n, np.nan)
        out: np.ndarray = revenue[:, lo:hi].mean(axis=1)  # NaN unless declared every month
        return out

    with np.errstate(divide="ignore", invalid="ignore"):
        ratio_6m = at(insured, 0) / at(insured, 6)
        revenue_ratio = window(0) / window(3)
    change_3m = at(insured, 0) - at(insured, 3)
    arrears_3m = arrears[:, max(0, last - 2) :].sum(axis=1)
    age = last - e["established_month"].to_numpy()
    code = e["industry_code"].to_numpy(zero_copy_only=False).astype(str)
    rd_industry = np.zeros(n, bool)
    for prefix in ("I65", "M73", "C39", "C27"):
        rd_industry |= np.char.startswith(code, prefix)
    with np.errstate(invalid="ignore"):
        shedding = change_3m <= -3
        hiring = change_3m >= 3
        rules = {
            "employment_stabilisation": ~individual
            & (at(insured, 0) >= 10)
            & (ratio_6m >= 1.0)
            & (arrears_3m <= 0),
            "rent_relief": (window(0) <= 30) & (revenue_ratio <= 0.7),
            "rd_credit": ~individual & rd_industry & (age >= 12),
            "shared_staff_out": shedding & hiring.any(),
            "shared_staff_in": hiring & shedding.any(),
        }
    parts = []
    for name, eligible in rules.items():
        rows = np.flatnonzero(eligible)
        parts.append(
            pa.table(
                {
                    "policy": pa.array([name] * rows.size, pa.string()),
                    "enterprise_id": e["enterprise_id"].take(pa.array(rows)),
                    "uscc": e["uscc"].take(pa.array(rows)),
                    "month": pa.array([world.month_label(last)] * rows.size, pa.string()),
                }
            )
        )
    return pa.concat_tables(parts)


def precursor_table(world: World) -> pa.Table:
    """Per distressed firm: the onset month and the month its precursors start (null: none)."""
    e = world.ent.table
    begin = precursor_start(world)
    start = e["distress_start"].to_numpy()
    rows = np.flatnonzero(start >= 0)
    shown = begin[rows] != NO_PRECURSOR
    return pa.table(
        {
            "enterprise_id": e["enterprise_id"].take(pa.array(rows)),
            "uscc": e["uscc"].take(pa.array(rows)),
            "onset_month": pa.array(_labels(world, start[rows]), pa.string()),
            "precursor_month": pa.array(
                _labels(world, np.where(shown, begin[rows], 0)), pa.string(), mask=~shown
            ),
        }
    )


def _labels(world: World, m: np.ndarray) -> np.ndarray:
    """Month labels, also for months before the first (``m`` < 0)."""
    first = world.month_starts[0].astype("datetime64[M]")
    out: np.ndarray = (first + m.astype("timedelta64[M]")).astype(str)
    return out


def write_economy_truth(ctx: SystemContext) -> None:
    """The policy catalogue beside the city's systems (``policy_catalogue.yaml``, what the zone
    publishes), and the truth: ``policy_eligibility`` and ``enterprise_precursors``."""
    (ctx.out / "policy_catalogue.yaml").write_text(POLICY_CATALOGUE, encoding="utf-8")
    ctx.truth.write("policy_eligibility", policy_eligibility(ctx.world))
    ctx.truth.write("enterprise_precursors", precursor_table(ctx.world))
