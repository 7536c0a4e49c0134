"""A hand-made lake for the credit tests: firms with 12 months of tax and social security, some in
distress (revenue and staff falling), penalties, dishonesty listings and commitments that distress
makes likelier. Drawn with NumPy from a seed; nothing here reads the synthetic city."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa

from citybrain.core import Workspace
from citybrain.core.catalog import Catalog, ColumnInfo, DatasetSpec

MONTHS = 12


@dataclass(frozen=True)
class CreditCity:
    workspace: Workspace
    uscc: list[str]
    distressed: np.ndarray
    dishonest: np.ndarray


def _uscc(i: int) -> str:
    return f"91510100MA{i:07d}X"


def write_std(workspace: Workspace, tables: dict[str, pa.Table]) -> None:
    catalog = Catalog.open(workspace.ops_db_url)
    with workspace.engine() as engine:
        for name, table in tables.items():
            info = engine.write(table, "std", name)
            columns = tuple(ColumnInfo(name=f.name, type=str(f.type)) for f in table.schema)
            catalog.register_dataset(
                DatasetSpec(zone="std", name=name, path=str(info.path), columns=columns)
            )
    catalog.close()


def build_credit_city(root: Path, *, n: int = 400, seed: int = 5) -> CreditCity:
    return fill_credit_city(Workspace.init(root / "ws"), n=n, seed=seed)


def fill_credit_city(workspace: Workspace, *, n: int = 400, seed: int = 5) -> CreditCity:
    """Write the hand-made enterprises' std tables into ``workspace`` (lake and catalog)."""
    rng = np.random.default_rng(seed)
    uscc = [_uscc(i) for i in range(n)]
    distressed = rng.random(n) < 0.15
    start = rng.integers(3, MONTHS - 2, n)
    periods = [f"2025-{m + 1:02d}" for m in range(MONTHS)]
    base = rng.lognormal(12, 0.5, n)
    staff = rng.integers(5, 60, n)
    m = np.arange(MONTHS)
    since = np.where(
        distressed[:, None] & (m[None, :] >= start[:, None]), m - start[:, None] + 1, 0
    )
    revenue = base[:, None] * 0.75**since * rng.lognormal(0, 0.1, (n, MONTHS))
    insured = np.round(staff[:, None] * 0.85**since).astype(np.int64)
    firm = np.repeat(np.arange(n), MONTHS)
    month = np.tile(m, n)
    listed = distressed & (rng.random(n) < 0.5) | (rng.random(n) < 0.01)
    fined = distressed & (rng.random(n) < 0.5) | (rng.random(n) < 0.03)
    signer = rng.random(n) < 0.4
    broken = signer & (rng.random(n) < np.where(distressed, 0.7, 0.04))
    tables = {
        "enterprise_registration": pa.table({
            "uscc": uscc, "name": [f"企业{i}有限公司" for i in range(n)],
            "entity_type": ["有限责任公司"] * n,
            "established_date": [date(2015 + i % 8, 1 + i % 12, 1) for i in range(n)],
            "registered_capital": rng.lognormal(5, 1, n), "industry_code": ["I6510"] * n,
            "status": ["存续"] * n, "legal_rep_name": ["张三丰"] * n,
            "street_id": ["510109001"] * n, "community_id": ["510109001002"] * n,
            "grid_id": ["51010900100201"] * n,
            "address_id": [f"510109D{i:09d}" for i in range(n)],
        }),
        "standard_address": pa.table({  # every firm's address but the last ten is placed
            "address_id": [f"510109D{i:09d}" for i in range(n - 10)],
            "lon": 104.06 + rng.random(n - 10) * 0.05, "lat": 30.55 + rng.random(n - 10) * 0.05,
        }),
        "tax_declaration": pa.table({
            "uscc": [uscc[i] for i in firm], "period": [periods[k] for k in month],
            "revenue": revenue.ravel(),
        }),
        "social_security": pa.table({
            "uscc": [uscc[i] for i in firm], "period": [periods[k] for k in month],
            "insured": insured.ravel(),
        }),
        "dishonest_judgment": pa.table({
            "case_code": [f"（2025）川0191执{i:05d}号" for i in np.flatnonzero(listed)],
            "identifier": [uscc[i] for i in np.flatnonzero(listed)],
        }),
        "penalty": pa.table({
            "decision_no": [f"示高监罚〔2025〕{i:05d}号" for i in np.flatnonzero(fined)],
            "uscc": [uscc[i] for i in np.flatnonzero(fined)],
            "amount": np.full(int(fined.sum()), 5000.0),
            "violation": ["拖欠税款" if i % 3 == 0 else "消防设施未保持完好有效"
                          for i in np.flatnonzero(fined)],
        }),
        "commitment": pa.table({
            "commitment_id": [f"XYCN{i:08d}" for i in np.flatnonzero(signer)],
            "uscc": [uscc[i] for i in np.flatnonzero(signer)],
            "check_result": np.where(broken, "未履约", "已履约")[signer].tolist(),
        }),
    }  # fmt: skip
    write_std(workspace, tables)
    return CreditCity(workspace, uscc, distressed, listed)
