"""The utilities' arrears list: keyed by the readings' own account numbers, held by the account's
holder, and the planted later default follows the same latent strain as the list."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from citybrain.sim.systems.utility_arrears import FILE, SYSTEM


def _arrears(root: Path) -> pa.Table:
    return pacsv.read_csv(
        root / SYSTEM / FILE,
        convert_options=pacsv.ConvertOptions(
            column_types={"通知单号": pa.string(), "户号": pa.string()}
        ),
    )


def test_notices_name_real_accounts_of_their_holders(tiny_root: Path) -> None:
    t = _arrears(tiny_root)
    assert t.num_rows > 20
    links = pq.read_table(tiny_root / "truth" / "links_person.parquet").to_pandas()
    accounts = links[links.system.isin(["water_utility", "power_grid", "gas_utility"])]
    holder_of = dict(zip(accounts.key, accounts.entity_id, strict=True))
    notices = links[links.system == SYSTEM]
    person_of = dict(zip(notices.key, notices.entity_id, strict=True))
    rows = t.to_pandas()
    assert rows["户号"].isin(holder_of).all()
    # the notice's person is the account's holder
    pairs = zip(rows["户号"], rows["通知单号"], strict=True)
    assert all(holder_of[a] == person_of[k] for a, k in pairs)
    assert set(rows["缴费状态"]) == {"已缴清", "未缴清"}
    assert rows["欠费月数"].min() >= 1
    # a few notices were sent twice
    assert pc.count_distinct(t["通知单号"]).as_py() <= t.num_rows


def test_later_default_follows_the_strain_the_list_shows(tiny_root: Path) -> None:
    out = pq.read_table(tiny_root / "truth" / "person_credit_outcomes.parquet").to_pandas()
    assert out["person_id"].is_unique
    bad = out["serious_default"].to_numpy()
    assert 0 < bad.mean() < 0.3
    strain = out["strain"].to_numpy()
    assert strain[bad].mean() > strain[~bad].mean() + 0.8
    links = pq.read_table(tiny_root / "truth" / "links_person.parquet").to_pandas()
    listed = set(links[links.system == SYSTEM].entity_id)
    on_list = np.isin(out["person_id"].to_numpy(), list(listed))
    # strained holders are on the list more often
    assert strain[on_list].mean() > strain[~on_list].mean()
