"""Hand-made residents for the credit tests: utility accounts, arrears notices driven by a latent
strain, and court listings of the most strained, linked to golden persons as base.person_link
does. Drawn with NumPy from a seed; nothing here reads the synthetic city."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from citybrain.core import Workspace
from citybrain.core.catalog import Catalog, ColumnInfo, DatasetSpec
from citybrain.topics.builtin.credit import persons

N, MONTHS = 600, 12


def _sigmoid(x: np.ndarray) -> np.ndarray:
    out: np.ndarray = 1 / (1 + np.exp(-x))
    return out


def _write(workspace: Workspace, zone: str, name: str, table: pa.Table) -> None:
    catalog = Catalog.open(workspace.ops_db_url)
    with workspace.engine() as engine:
        info = engine.write(table, zone, name)
        columns = tuple(ColumnInfo(name=f.name, type=str(f.type)) for f in table.schema)
        catalog.register_dataset(
            DatasetSpec(zone=zone, name=name, path=str(info.path), columns=columns)
        )
    catalog.close()


def add_persons(workspace: Workspace) -> tuple[np.ndarray, np.ndarray]:
    """Write N persons' links, utility arrears and court listings into ``workspace`` (beside the
    firms of ``credit_city``); returns each person's latent strain and whether the court lists
    them. Person i is golden id ``P{i:05d}``."""
    rng = np.random.default_rng(3)
    strain = rng.standard_normal(N)
    golden = np.array([f"P{i:05d}" for i in range(N)])
    n_acc = rng.integers(1, 4, N)
    owner = np.repeat(np.arange(N), n_acc)
    account = np.array([f"SW{i:09d}" for i in range(owner.size)])
    late = rng.random((MONTHS, owner.size)) < _sigmoid(-3.2 + 1.7 * strain[owner])
    _, a = np.nonzero(late)
    behind = 1 + rng.poisson(0.4 * np.exp(0.7 * strain[owner[a]]))
    paid = rng.random(a.size) < _sigmoid(1.5 - 1.2 * strain[owner[a]])
    listed = (strain > 1.2) & (rng.random(N) < 0.3)
    cases = [f"（2025）川0191执{i:05d}号" for i in np.flatnonzero(listed)]
    links = pa.table(
        {
            "source_table": ["utility_reading"] * owner.size + ["dishonest_judgment"] * len(cases),
            "source_key": [*account, *cases],
            persons.GOLDEN: [*golden[owner], *golden[listed]],
        }
    )
    _write(workspace, "base", "person_link", links)
    notices = pa.table(
        {
            "notice_id": [f"QFCJ{i:08d}" for i in range(a.size)],
            "account_id": account[a],
            "utility": rng.choice(["water", "electricity", "gas"], a.size),
            "months_overdue": behind,
            "amount": np.round(80.0 * behind, 2),
            "paid": np.where(paid, "已缴清", "未缴清"),
        }
    )
    _write(workspace, "std", "utility_arrears", notices)
    with workspace.engine() as engine:  # the firms' listings stay, the persons' join them
        firms = engine.to_arrow(engine.table("std", "dishonest_judgment"))
    court = pa.table({"case_code": cases, "identifier": ["5101011990****1234"] * len(cases)})
    _write(workspace, "std", "dishonest_judgment", pa.concat_tables([firms, court]))
    return strain, listed
