"""Economy topics at district scale: enterprise early warning and 守信通 credit for 50,000 firms ×
36 months on DuckDB (2 threads), beside the plain read time of the same inputs in the same run
(the floor).

    uv run python benchmarks/economy.py [--firms 50000] [--months 36] [--root /tmp/economy-bench]
                                        [--out benchmarks/results/economy.json]

The inputs are generated here with NumPy into a fresh workspace's lake (golden firm links, market
registry, monthly tax declarations and social security, premises' power readings, court listings,
penalties, credit commitments), 6 % of firms falling into distress, caterers seasonal, 5 % founded
during the period — the shapes the synthetic city has, at the benchmark's size. The floor reads
every input table of both topics whole into Arrow (each table once, the columns either topic
declares); each part is `run_topic` of one topic (``warning``: panel in the engine, detection in
NumPy; ``credit``: indicators in the engine, optbinning scorecard, rules, grades, the score history
and findings written). Each part is a function in ``PARTS``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from citybrain.core import Workspace
from citybrain.core.catalog import Catalog, ColumnInfo, DatasetSpec
from citybrain.topics import Topic
from citybrain.topics.builtin.credit.topic import Credit
from citybrain.topics.builtin.enterprise_warning import EnterpriseWarning
from citybrain.topics.runner import read_inputs, run_topic

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine

TARGET_SECONDS = 30.0
THREADS = 2
INPUTS = (
    ("std", "enterprise_registration"),
    ("std", "tax_declaration"),
    ("std", "social_security"),
    ("std", "utility_reading"),
    ("std", "dishonest_judgment"),
    ("std", "penalty"),
    ("std", "commitment"),
    ("std", "standard_address"),
    ("base", "enterprise_link"),
)
FIRST_YEAR = 2022
SEASON = np.array([1.3, 1.35, 0.85, 0.9, 1.0, 0.8, 0.75, 0.8, 0.95, 1.2, 1.0, 1.25])


def _labels(m: np.ndarray) -> np.ndarray:
    year = FIRST_YEAR + m // 12
    return np.char.add(
        np.char.add(year.astype(str), "-"), np.char.zfill((m % 12 + 1).astype(str), 2)
    )


def _dates(m: np.ndarray, day: int) -> pa.Array:
    months = (np.datetime64(f"{FIRST_YEAR}-01", "M") + m.astype("timedelta64[M]")).astype(
        "datetime64[D]"
    )
    return pa.array(months + np.timedelta64(day - 1, "D"))


def generate(
    root: Path, firms: int, months: int, seed: int = 1
) -> tuple[Workspace, dict[str, int]]:
    """A workspace whose lake holds the warning topic's inputs for ``firms`` × ``months``."""
    rng = np.random.default_rng(seed)
    if root.exists():
        shutil.rmtree(root)
    workspace = Workspace.init(root / "ws")
    catalog = Catalog.open(workspace.ops_db_url)
    n = firms
    idx = np.arange(n)
    golden = np.char.add("E", np.char.zfill(idx.astype(str), 7))
    uscc = np.char.add("91510100MA", np.char.zfill(idx.astype(str), 8))
    codes = np.array(["I6513", "I6531", "M7320", "E4710", "K7020", "H6210", "H6220", "F5213"])
    industry = codes[rng.integers(0, codes.size, n)]
    seasonal = np.char.startswith(industry, "H")
    founded = np.where(rng.random(n) < 0.05, rng.integers(0, months, n), -rng.integers(1, 120, n))
    onset = np.where((founded < 0) & (rng.random(n) < 0.06), rng.integers(2, months - 1, n), -1)
    size = np.exp(rng.normal(4.0, 1.0, n))
    m = np.arange(months)
    since = np.where((onset[:, None] >= 0) & (m[None, :] >= onset[:, None]),
                     m[None, :] - onset[:, None] + 1, 0)  # fmt: skip
    decline = 0.78**since
    ramp = np.clip((m[None, :] - founded[:, None] + 1) / 6, 0.15, 1.0)
    season = np.where(seasonal[:, None], SEASON[m % 12][None, :], 1.0)
    revenue = size[:, None] * decline * ramp * season * rng.lognormal(0, 0.18, (n, months))
    staff = np.maximum(1, np.round(size / 5))
    insured = np.round(
        staff[:, None] * 0.88 ** np.maximum(since - 1, 0) * np.clip(ramp * 1.5, 0, 1)
    )
    power = 300 * staff[:, None] * decline**0.7 * ramp * rng.lognormal(0, 0.08, (n, months))
    address = np.char.add("A", np.char.zfill(idx.astype(str), 7))
    street = np.char.add("5101090", np.char.zfill((idx % 12).astype(str), 2))
    # precursors (own stream): late tax filings and social-security arrears from three months
    # before the onset; healthy firms now and then
    pre = np.random.default_rng(seed + 1000)
    before = (onset[:, None] >= 0) & (m[None, :] >= onset[:, None] - 3)
    late = pre.random((n, months)) < np.where(before, 0.55, 0.02)
    arrears = pre.random((n, months)) < np.where(before, 0.85, 0.005)
    filed_day = np.where(late, pre.integers(15, 45, (n, months)), pre.integers(0, 15, (n, months)))
    f_idx, m_idx = np.nonzero(m[None, :] >= founded[:, None])
    k = f_idx.size
    next_month = np.datetime64(f"{FIRST_YEAR}-01", "M") + (m_idx + 1).astype("timedelta64[M]")
    periods = _labels(m_idx)
    decl = np.char.add("SB", np.char.zfill(np.arange(k).astype(str), 9))
    ss = np.char.add("SS", np.char.zfill(np.arange(k).astype(str), 9))
    court_firms = np.flatnonzero((onset >= 0) & (rng.random(n) < 0.5))
    court_month = np.minimum(onset[court_firms] + rng.integers(2, 8, court_firms.size), months - 1)
    cases = np.char.add("（2024）川0191执", court_firms.astype(str))
    pen_firms = np.flatnonzero(rng.random(n) < 0.01)
    decisions = np.char.add("成高市监罚", pen_firms.astype(str))
    # credit's own columns and commitments (own stream): 30 % of firms sign one, broken mostly
    # by firms in distress, unchecked when signed in the last six months
    cr = np.random.default_rng(seed + 2000)
    signer = np.flatnonzero(cr.random(n) < 0.3)
    signed = cr.integers(0, months, signer.size)
    at_risk = (onset[signer] >= 0) & (onset[signer] <= signed + 6)
    broken = cr.random(signer.size) < np.where(at_risk, 0.7, 0.04)
    check = np.where(signed + 6 >= months, "待核查", np.where(broken, "未履约", "已履约"))
    entity_type = np.where(cr.random(n) < 0.2, "个体工商户", "有限责任公司")
    status = np.where((onset >= 0) & (cr.random(n) < 0.2), "吊销", "存续")
    pen_violation = np.where(cr.random(pen_firms.size) < 0.3, "拖欠税款", "未按规定公示年报")
    tables: dict[tuple[str, str], pa.Table] = {
        ("std", "enterprise_registration"): pa.table(
            {
                "registration_id": np.char.add("R", golden),
                "uscc": uscc,
                "name": np.char.add("成都示例企业", idx.astype(str)),
                "entity_type": entity_type,
                "status": status,
                "industry_code": industry,
                "established_date": _dates(founded, 5),
                "registered_capital": np.round(size * 2, 1),
                "address_id": address,
                "grid_id": np.char.add(street, "01"),
                "community_id": np.char.add(street, "001"),
                "street_id": street,
            }
        ),
        ("std", "tax_declaration"): pa.table(
            {
                "declaration_id": decl,
                "uscc": uscc[f_idx],
                "period": periods,
                "revenue": np.round(revenue[f_idx, m_idx] * 10_000, 2),
                "tax_payable": np.round(revenue[f_idx, m_idx] * 450, 2),
                "declared_date": pa.array(
                    next_month.astype("datetime64[D]") + filed_day[f_idx, m_idx]
                ),
            }
        ),
        ("std", "social_security"): pa.table(
            {
                "record_id": ss,
                "uscc": uscc[f_idx],
                "period": periods,
                "insured": insured[f_idx, m_idx].astype(np.int64),
                "contribution_base": np.where(
                    arrears[f_idx, m_idx], 0.0, insured[f_idx, m_idx] * 8000.0
                ),
            }
        ),
        ("std", "utility_reading"): pa.table(
            {
                "utility": np.full(k, "electricity"),
                "period": periods,
                "usage": np.round(power[f_idx, m_idx], 0),
                "address_id": address[f_idx],
            }
        ),
        ("std", "dishonest_judgment"): pa.table(
            {
                "case_code": cases,
                "identifier": uscc[court_firms],
                "registered_date": _dates(court_month, 12),
            }
        ),
        ("std", "penalty"): pa.table(
            {
                "decision_no": decisions,
                "uscc": uscc[pen_firms],
                "amount": np.round(cr.uniform(500, 50_000, pen_firms.size), 0),
                "violation": pen_violation,
                "decided_date": _dates(rng.integers(0, months, pen_firms.size), 3),
            }
        ),
        ("std", "commitment"): pa.table(
            {
                "commitment_id": np.char.add("XYCN", np.char.zfill(signer.astype(str), 8)),
                "uscc": uscc[signer],
                "check_result": check,
            }
        ),
        ("std", "standard_address"): pa.table(
            {"address_id": address, "lon": 104.0 + idx * 1e-6, "lat": np.full(n, 30.55)}
        ),
        ("base", "enterprise_link"): pa.table(
            {
                "source_table": np.concatenate(
                    [
                        np.full(n, "enterprise_registration"),
                        np.full(k, "tax_declaration"),
                        np.full(k, "social_security"),
                        np.full(cases.size, "dishonest_judgment"),
                        np.full(decisions.size, "penalty"),
                    ]
                ),
                "source_key": np.concatenate(
                    [np.char.add("R", golden), decl, ss, cases, decisions]
                ),
                "golden_enterprise_id": np.concatenate(
                    [golden, golden[f_idx], golden[f_idx], golden[court_firms], golden[pen_firms]]
                ),
            }
        ),
    }
    rows: dict[str, int] = {}
    with workspace.engine() as engine:
        for (zone, name), table in tables.items():
            info = engine.write(table, zone, name)
            columns = tuple(ColumnInfo(name=f.name, type=str(f.type)) for f in table.schema)
            catalog.register_dataset(
                DatasetSpec(zone=zone, name=name, path=str(info.path), columns=columns)
            )
            rows[f"{zone}.{name}"] = table.num_rows
    return workspace, rows


def floor(workspace: Workspace) -> tuple[float, float]:
    """Seconds (wall, then CPU of this process) to read every input of both topics whole into
    Arrow: each table once, with the columns either topic declares."""
    with workspace.engine() as engine:
        engine.ibis.raw_sql(f"SET threads = {THREADS}")
        columns: dict[str, list[str]] = {}
        for topic in (EnterpriseWarning(), Credit()):
            for dataset, table in read_inputs(topic, engine).items():
                have = columns.setdefault(dataset, [])
                have.extend(c for c in table.columns if c not in have)
        inputs = [
            engine.table(*dataset.split(".", 1)).select(*cols) for dataset, cols in columns.items()
        ]
        start, cpu = time.perf_counter(), time.process_time()
        for table in inputs:
            engine.to_arrow(table)
        return time.perf_counter() - start, time.process_time() - cpu


def timed_run(workspace: Workspace, topic: Topic, run_id: str) -> dict[str, Any]:
    """One run of ``topic`` on DuckDB with the benchmark's threads: seconds (wall, and the CPU
    this process spent, both DuckDB threads included — steadier than wall when others share the
    cores) and findings, and the grades of this run when the topic writes credit scores."""
    with Catalog.open(workspace.ops_db_url) as catalog, workspace.engine() as engine:
        engine.ibis.raw_sql(f"SET threads = {THREADS}")
        start, cpu = time.perf_counter(), time.process_time()
        result = run_topic(topic, workspace, engine, catalog, run_id=run_id)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
        figures = {"seconds": round(seconds, 2), "cpu_seconds": round(cpu, 2),
                   "findings": result.findings, "by_level": result.by_level}  # fmt: skip
        if isinstance(topic, Credit):
            scores = engine.table("topic", "credit_scores")
            scores = scores.filter(scores.run_id == run_id)
            grades = engine.to_arrow(scores.group_by("grade").aggregate(n=scores.count()))
            figures["grades"] = dict(
                zip(grades["grade"].to_pylist(), grades["n"].to_pylist(), strict=True)
            )
    return figures


def warning(workspace: Workspace) -> dict[str, Any]:
    return timed_run(workspace, EnterpriseWarning(), "bench")


def warm_imports() -> float:
    """Seconds to import the libraries the credit scorecard loads on first use (optbinning,
    scikit-learn): a pipeline process pays this once, whatever the city's size, so it is reported
    beside the parts rather than inside the credit part (on a loaded machine it took a minute)."""
    start = time.perf_counter()
    import optbinning  # type: ignore[import-untyped]  # noqa: F401
    import sklearn.linear_model  # noqa: F401

    return time.perf_counter() - start


def credit(workspace: Workspace) -> dict[str, Any]:
    # the score history keeps every run: this run's grades are counted by its own id
    return timed_run(workspace, Credit(), f"bench-{time.time_ns()}")


#: each part: name → function of the workspace returning its figures (``seconds`` among them)
PARTS: dict[str, Callable[[Workspace], dict[str, Any]]] = {"warning": warning, "credit": credit}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--firms", type=int, default=50_000)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--root", type=Path, default=Path("/tmp/economy-bench"))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/economy.json"))
    parser.add_argument(
        "--reuse", action="store_true", help="keep the inputs of an earlier run under --root"
    )
    args = parser.parse_args()
    load_before = os.getloadavg()
    start = time.perf_counter()
    if args.reuse and (args.root / "ws").is_dir():
        workspace = Workspace.open(args.root / "ws")
        with workspace.engine() as engine:
            rows = {
                f"{zone}.{name}": engine.to_arrow(engine.table(zone, name).count().as_table())
                .column(0)[0]
                .as_py()
                for zone, name in INPUTS
            }
    else:
        workspace, rows = generate(args.root, args.firms, args.months)
    generated = time.perf_counter() - start
    imports = warm_imports()
    read_floor, floor_cpu = floor(workspace)
    parts = {name: part(workspace) for name, part in PARTS.items()}
    total = sum(p["seconds"] for p in parts.values())
    total_cpu = sum(p["cpu_seconds"] for p in parts.values())
    result = {
        "benchmark": "economy",
        "firms": args.firms,
        "months": args.months,
        "engine": "duckdb",
        "threads": THREADS,
        "input_rows": rows,
        "generate_seconds": round(generated, 2),
        "import_seconds": round(imports, 2),
        "floor_read_seconds": round(read_floor, 2),
        "floor_cpu_seconds": round(floor_cpu, 2),
        "parts": parts,
        "total_seconds": round(total, 2),
        "total_cpu_seconds": round(total_cpu, 2),
        "target_seconds": TARGET_SECONDS,
        "within_target": total < TARGET_SECONDS,
        "times_floor": round(total / read_floor, 1) if read_floor else None,
        "cpu_times_floor": round(total_cpu / floor_cpu, 1) if floor_cpu else None,
        "machine": machine(load_before),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", "utf-8")
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
