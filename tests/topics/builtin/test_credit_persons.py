"""Residents' credit (守信通·个人) on a hand-made lake: utility arrears and court listings reach
golden persons through base.person_link, the scorecard grades them, a listing means D."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pyarrow as pa
import pytest
from sklearn.metrics import roc_auc_score

from citybrain.core.catalog import Catalog, ColumnInfo, DatasetSpec
from citybrain.topics import get_topic
from citybrain.topics.builtin.credit import persons
from citybrain.topics.builtin.credit.topic import PERSON_SCORES_TABLE
from citybrain.topics.runner import run_topic
from topics.builtin.credit_city import build_credit_city

N, MONTHS = 600, 12


def _sigmoid(x: np.ndarray) -> np.ndarray:
    out: np.ndarray = 1 / (1 + np.exp(-x))
    return out


def _write(workspace: object, zone: str, name: str, table: pa.Table) -> None:
    catalog = Catalog.open(workspace.ops_db_url)  # type: ignore[attr-defined]
    with workspace.engine() as engine:  # type: ignore[attr-defined]
        info = engine.write(table, zone, name)
        columns = tuple(ColumnInfo(name=f.name, type=str(f.type)) for f in table.schema)
        catalog.register_dataset(
            DatasetSpec(zone=zone, name=name, path=str(info.path), columns=columns)
        )
    catalog.close()


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> tuple[pa.Table, np.ndarray, np.ndarray]:
    """Persons' scores, each person's latent strain and whether the court lists them."""
    city = build_credit_city(tmp_path_factory.mktemp("credit-persons"), n=80)
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
    _write(city.workspace, "base", "person_link", links)
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
    _write(city.workspace, "std", "utility_arrears", notices)
    court = pa.table(
        {
            "case_code": [f"（2025）川0191执{i:05d}号" for i in range(1000)] + cases,
            "identifier": ["x"] * 1000 + ["5101011990****1234"] * len(cases),
        }
    )
    with city.workspace.engine() as engine:  # the firms' listings stay, the persons' join them
        firms = engine.to_arrow(engine.table("std", "dishonest_judgment"))
    _write(
        city.workspace,
        "std",
        "dishonest_judgment",
        pa.concat_tables([firms, court.slice(1000)]),
    )
    catalog = Catalog.open(city.workspace.ops_db_url)
    with city.workspace.engine() as engine:
        run_topic(get_topic("credit"), city.workspace, engine, catalog)
        table = engine.to_arrow(engine.table("topic", PERSON_SCORES_TABLE))
    catalog.close()
    order = np.argsort(table[persons.GOLDEN].to_numpy(zero_copy_only=False))
    table = table.take(pa.array(order))
    return table, strain, listed


def test_every_account_holder_graded_with_reasons(
    graded: tuple[pa.Table, np.ndarray, np.ndarray],
) -> None:
    table, _, _ = graded
    assert table.num_rows == N
    assert set(table["grade"].to_pylist()) <= {"A", "B", "C", "D"}
    assert not table["model_version"][0].as_py().endswith("rules-only")
    low = [
        r
        for r, g in zip(table["reasons"].to_pylist(), table["grade"].to_pylist(), strict=True)
        if g in "CD"
    ]
    assert low and all(r and all(x["text_zh"] and x["text_en"] for x in r) for r in low)


def test_court_listing_means_d_and_grades_follow_strain(
    graded: tuple[pa.Table, np.ndarray, np.ndarray],
) -> None:
    table, strain, listed = graded
    grades = np.array(table["grade"].to_pylist())
    assert listed.any() and (grades[listed] == "D").all()
    assert (table["dishonest"].to_numpy()[listed] == 1).all()
    risk = 100 - table["score"].to_numpy()
    assert roc_auc_score(strain > 1.0, risk) > 0.8


def test_evaluation_finds_planted_persons_by_their_accounts(tmp_path: Path) -> None:
    """Truth persons reach golden persons through the accounts they hold; a person split over two
    golden ids takes the higher risk; the AUC orders the planted defaults."""
    import pyarrow.parquet as pq

    from citybrain.topics.builtin.credit.evaluate import _persons

    pq.write_table(
        pa.table({"person_id": [1, 2, 3, 4], "serious_default": [True, False, False, True]}),
        tmp_path / "person_credit_outcomes.parquet",
    )
    pq.write_table(
        pa.table(
            {
                "system": ["power_grid", "water_utility", "gas_utility", "power_grid", "hotline"],
                "key": ["30A", "SWB", "RQC", "30D", "T1"],
                "entity_id": [1, 1, 2, 3, 4],
            }
        ),
        tmp_path / "links_person.parquet",
    )
    links = pa.table(
        {
            "source_table": ["utility_reading"] * 4,
            "source_key": ["30A", "SWB", "RQC", "30D"],
            persons.GOLDEN: ["G1", "G1b", "G2", "G3"],
        }
    )
    people = pa.table(
        {
            persons.GOLDEN: ["G1", "G1b", "G2", "G3"],
            "score": [90, 40, 80, 70],
            "grade": list("ADAB"),
        }
    )
    # the lake's person links as the topic's input, already a table
    ctx = SimpleNamespace(input=lambda name: links, engine=SimpleNamespace(to_arrow=lambda t: t))
    out = _persons(tmp_path, ctx, people)  # type: ignore[arg-type]
    # person 1 (default) takes G1b's risk 60, person 2: 20, person 3: 30; person 4 has no account
    assert out["persons_matched"] == 3 and out["persons_defaults"] == 1
    assert out["auc_persons"] == 1.0
