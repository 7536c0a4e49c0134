"""A small hand-made economy for the economy topics' tests: golden firms with their registry,
monthly declarations, social security, premises' meters, court listings and penalties, project
progress reports and the district's indicators — written to a workspace's lake and catalog, with
the truth of which firms fall into distress (and when) beside it.

Everything is drawn with NumPy from a seed; nothing here reads the synthetic city.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from citybrain.core import Workspace
from citybrain.core.catalog import Catalog, ColumnInfo, DatasetSpec
from citybrain.topics.builtin.major_projects.topic import SCHEDULE_COLUMNS

FIRST_YEAR = 2024
SEASON = np.array([1.3, 1.35, 0.85, 0.9, 1.0, 0.8, 0.75, 0.8, 0.95, 1.2, 1.0, 1.25])


def label(m: np.ndarray) -> np.ndarray:
    year = FIRST_YEAR + m // 12
    return np.char.add(
        np.char.add(year.astype(str), "-"), np.char.zfill((m % 12 + 1).astype(str), 2)
    )


@dataclass(frozen=True)
class EconomyCity:
    workspace: Workspace
    truth_dir: Path
    firms: pa.Table  # golden id, uscc, role
    months: int


def _write(workspace: Workspace, catalog: Catalog, zone: str, name: str, table: pa.Table) -> None:
    with workspace.engine() as engine:
        info = engine.write(table, zone, name)
    columns = tuple(ColumnInfo(name=f.name, type=str(f.type)) for f in table.schema)
    catalog.register_dataset(
        DatasetSpec(zone=zone, name=name, path=str(info.path), columns=columns)
    )


def build_economy(root: Path, *, seed: int = 3, months: int = 18) -> EconomyCity:
    rng = np.random.default_rng(seed)
    workspace = Workspace.init(root / "ws")
    catalog = Catalog.open(workspace.ops_db_url)
    # roles: healthy office firms, seasonal caterers, distressed, new, short history, listed key
    roles = np.array(
        ["healthy"] * 130 + ["seasonal"] * 70 + ["distressed"] * 14 + ["seasonal_distressed"] * 4
        + ["new"] * 12 + ["short"] * 3
    )  # fmt: skip
    n = roles.size
    golden = np.char.add("E", np.char.zfill(np.arange(n).astype(str), 5))
    uscc = np.char.add("91510100MA", np.char.zfill(np.arange(n).astype(str), 8))
    seasonal = np.isin(roles, ["seasonal", "seasonal_distressed"])
    distressed = np.isin(roles, ["distressed", "seasonal_distressed"])
    industry = np.where(seasonal, "H6210", np.where(np.arange(n) % 2 == 0, "I6513", "I6531"))
    founded = np.full(n, -40)
    founded[roles == "new"] = months - 8
    founded[roles == "short"] = months - 3
    onset = np.where(distressed, rng.integers(months - 8, months - 4, n), -1)
    size = np.exp(rng.normal(4.0, 1.0, n))  # 万元 a month
    m = np.arange(months)
    alive = m[None, :] >= founded[:, None]
    since = np.where((onset[:, None] >= 0) & (m[None, :] >= onset[:, None]),
                     m[None, :] - onset[:, None] + 1, 0)  # fmt: skip
    decline = 0.75**since
    ramp = np.clip((m[None, :] - founded[:, None] + 1) / 6, 0.15, 1.0)
    season = np.where(seasonal[:, None], SEASON[m % 12][None, :], 1.0)
    revenue = size[:, None] * decline * ramp * season * rng.lognormal(0, 0.15, (n, months))
    # a short-history firm collapses in its last month: still no warning (too little history)
    revenue[roles == "short", -1] *= 0.1
    staff = np.maximum(3, np.round(size / 5)).astype(np.int64)
    insured = np.round(staff[:, None] * 0.9 ** np.maximum(since - 1, 0) * np.clip(ramp * 1.5, 0, 1))
    power = 400 * staff[:, None] * (decline**0.7) * ramp * rng.lognormal(0, 0.08, (n, months))
    address = np.char.add("A", np.char.zfill(np.arange(n).astype(str), 5))
    street = np.where(np.arange(n) % 3 == 0, "510109003", "510109004")

    # precursors (own stream, so everything above is as before): from three months before the
    # onset a distressed firm files tax late and falls into social-security arrears; a healthy
    # firm files late or misses a contribution now and then
    pre = np.random.default_rng(seed + 1000)
    before = (onset[:, None] >= 0) & (m[None, :] >= onset[:, None] - 3)
    late = pre.random((n, months)) < np.where(before, 0.6, 0.02)
    arrears = pre.random((n, months)) < np.where(before & (m[None, :] >= onset[:, None] - 2),
                                                 0.9, 0.005)  # fmt: skip
    next_month = np.datetime64(f"{FIRST_YEAR}-01", "M") + (m + 1).astype("timedelta64[M]")
    filed_day = np.where(late, pre.integers(15, 40, (n, months)), pre.integers(0, 15, (n, months)))

    f_idx, m_idx = np.nonzero(alive)
    k = f_idx.size
    decl_id = np.char.add("SB", np.char.zfill(np.arange(k).astype(str), 7))
    ss_id = np.char.add("SS", np.char.zfill(np.arange(k).astype(str), 7))
    periods = label(m_idx)
    registration = pa.table(
        {
            "registration_id": np.char.add("R", golden),
            "uscc": uscc,
            "name": np.char.add(np.char.add("成都示例", np.arange(n).astype(str)), "有限公司"),
            "industry_code": industry,
            "established_date": pa.array(
                [date(FIRST_YEAR + int(f) // 12, int(f) % 12 + 1, 5) for f in founded.tolist()]
            ),
            "registered_capital": np.round(size * 2, 1),
            "address_id": address,
            "grid_id": np.char.add(street, "01"),
            "community_id": np.char.add(street, "001"),
            "street_id": street,
        }
    )
    tax = pa.table(
        {
            "declaration_id": decl_id,
            "uscc": uscc[f_idx],
            "name": registration.column("name").to_numpy(zero_copy_only=False)[f_idx],
            "period": periods,
            "revenue": np.round(revenue[f_idx, m_idx] * 10_000, 2),
            "tax_payable": np.round(revenue[f_idx, m_idx] * 450, 2),
            "declared_date": pa.array(
                next_month[m_idx].astype("datetime64[D]") + filed_day[f_idx, m_idx]
            ),
        }
    )
    social = pa.table(
        {
            "record_id": ss_id,
            "uscc": uscc[f_idx],
            "period": periods,
            "insured": insured[f_idx, m_idx].astype(np.int64),
            "contribution_base": np.where(
                arrears[f_idx, m_idx], 0.0, insured[f_idx, m_idx] * 8000.0
            ),
        }
    )
    readings = pa.table(
        {
            "reading_id": np.char.add("P", decl_id),
            "utility": np.full(k, "electricity"),
            "period": periods,
            "usage": np.round(power[f_idx, m_idx], 0),
            "address_id": address[f_idx],
        }
    )
    # court listings: most distressed firms a few months after onset, one healthy firm too
    listed = np.flatnonzero(distressed & (rng.random(n) < 0.6))
    court_month = np.minimum(onset[listed] + 2, months - 1)
    court_firms = np.concatenate([listed, [0]])
    court_months = np.concatenate([court_month, [3]])
    court = pa.table(
        {
            "case_code": np.char.add("（2024）川0191执", np.arange(court_firms.size).astype(str)),
            "subject_kind": np.full(court_firms.size, "enterprise"),
            "identifier": uscc[court_firms],
            "registered_date": pa.array(
                [date(FIRST_YEAR + int(x) // 12, int(x) % 12 + 1, 12) for x in court_months]
            ),
        }
    )
    penalty = pa.table(
        {
            "decision_no": pa.array(["成高市监罚〔2024〕1号"]),
            "uscc": pa.array([uscc[1]]),
            "decided_date": pa.array([date(FIRST_YEAR, 5, 2)]),
        }
    )
    links = pa.table(
        {
            "source_table": np.concatenate(
                [np.full(n, "enterprise_registration"), np.full(k, "tax_declaration"),
                 np.full(k, "social_security"), np.full(court_firms.size, "dishonest_judgment"),
                 np.array(["penalty"])]
            ),
            "source_key": np.concatenate(
                [registration.column("registration_id").to_numpy(zero_copy_only=False), decl_id,
                 ss_id, court.column("case_code").to_numpy(zero_copy_only=False),
                 np.array(["成高市监罚〔2024〕1号"])]
            ),
            "golden_enterprise_id": np.concatenate(
                [golden, golden[f_idx], golden[f_idx], golden[court_firms], golden[[1]]]
            ),
        }
    )  # fmt: skip
    projects, project_truth = _projects(rng, months)
    district = pa.table(
        {
            "period": label(m),
            "tax_revenue": np.round(revenue.sum(axis=0) * 0.045 / 10_000, 4),
            "business_revenue": np.round(revenue.sum(axis=0) / 10_000, 3),
            "electricity": np.round(power.sum(axis=0) / 10_000, 2),
            "new_entities": (founded[:, None] == m[None, :]).sum(axis=0),
            "insured_employees": insured.sum(axis=0).astype(np.int64),
            "fixed_investment": np.round(rng.uniform(4, 9, months), 3),
            "retail_sales": np.round(revenue[seasonal].sum(axis=0) / 10_000, 3),
        }
    )
    addresses = pa.table(
        {"address_id": address, "lon": 104.0 + np.arange(n) * 1e-4, "lat": np.full(n, 30.55)}
    )
    for zone, name, table in (
        ("base", "enterprise_link", links),
        ("std", "enterprise_registration", registration),
        ("std", "tax_declaration", tax),
        ("std", "social_security", social),
        ("std", "utility_reading", readings),
        ("std", "dishonest_judgment", court),
        ("std", "penalty", penalty),
        ("std", "standard_address", addresses),
        ("std", "project_progress", projects),
        ("std", "economic_indicator", district),
    ):
        _write(workspace, catalog, zone, name, table)
    truth_dir = root / "truth"
    truth_dir.mkdir()
    pq.write_table(
        pa.table(
            {
                "enterprise_id": np.arange(n),
                "uscc": uscc,
                "distress": distressed,
                "start_month": pa.array(
                    [str(label(np.array([o]))[0]) if o >= 0 else None for o in onset.tolist()],
                    pa.string(),
                ),
                "seasonal": seasonal,
                "new_enterprise": founded >= 0,
            }
        ),
        truth_dir / "enterprise_distress.parquet",
    )
    pq.write_table(project_truth, truth_dir / "project_delays.parquet")
    firms = pa.table({"golden_enterprise_id": golden, "uscc": uscc, "role": roles})
    return EconomyCity(workspace, truth_dir, firms, months)


def _projects(rng: np.random.Generator, months: int) -> tuple[pa.Table, pa.Table]:
    """Monthly progress reports of 16 projects (6 slip: 5 inside the period, 1 after it)."""
    n = 16
    start = rng.integers(-10, months - 6, n)
    duration = rng.integers(14, 34, n)
    delayed = np.zeros(n, bool)
    delayed[:6] = True
    delay_from = np.where(delayed, start + (duration * rng.uniform(0.15, 0.4, n)).astype(int), -1)
    delay_from[5] = months + 2  # planted, but after the period: not a delay yet
    # the ones inside the period begin early enough to be seen (at least 3 months before the end)
    delay_from[:5] = np.minimum(delay_from[:5], months - 4)
    slip = np.where(delayed, rng.uniform(0.3, 0.6, n), 1.0)
    m = np.arange(months)
    elapsed = m[None, :] - start[:, None]
    planned = np.clip(elapsed / duration[:, None], 0, 1)
    late = delayed[:, None] & (m[None, :] >= delay_from[:, None])
    before = np.clip((delay_from - start) / duration, 0, 1)[:, None]
    actual = np.where(late, before + (planned - before) * slip[:, None], planned)
    actual = np.clip(actual + rng.normal(0, 0.01, actual.shape) * (planned > 0), 0, 1)
    p_i, m_i = np.nonzero(elapsed >= -2)
    code = np.char.add("ZDXM", np.char.zfill((np.arange(n) + 1).astype(str), 4))
    stage = np.array(["前期", "开工", "主体施工", "主体完工", "竣工验收"])[
        np.minimum((actual[p_i, m_i] * 4 + (elapsed[p_i, m_i] >= 0)).astype(int), 4)
    ]
    reports = pa.table(
        {
            "report_id": np.char.add("JD", np.arange(p_i.size).astype(str)),
            "project_id": code[p_i],
            "name": np.char.add(code[p_i], "项目"),
            "builder": np.full(p_i.size, "成都示例0有限公司"),
            "total_investment": np.full(p_i.size, 10.0),
            "planned_start": label(start[p_i] + 0),
            "period": label(m_i),
            "planned_progress": np.round(planned[p_i, m_i] * 100, 1),
            "actual_progress": np.round(actual[p_i, m_i] * 100, 1),
            "invested": np.round(10.0 * actual[p_i, m_i], 2),
            "milestone": stage,
            "reported_delayed": np.zeros(p_i.size, bool),
            # a department's export without the schedule's dates: standardise leaves them null
            **{c: pa.nulls(p_i.size, pa.date32()) for c in SCHEDULE_COLUMNS},
        }
    )
    truth = pa.table(
        {
            "project_id": np.arange(n),
            "code": code,
            "start_month": start,
            "duration": duration,
            "delayed": delayed,
            "delay_from_month": delay_from,
            "slip": slip,
        }
    )
    return reports, truth
