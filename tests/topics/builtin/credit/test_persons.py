"""Residents' credit (守信通·个人): the evaluation finds planted persons by their accounts. (The
topic's grading of residents is tested in credit/test_topic.py, on the same topic run as firms.)"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pyarrow as pa

from citybrain.topics.builtin.credit import persons


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
