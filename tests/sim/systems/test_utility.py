"""Utility accounts carry the holder's own phone or ID number where the customer file has one."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from stdnum.cn import ric

from sim.readers import encoding_of, system_files

# system, account column, contact column, the person's field it copies
CONTACTS = [
    ("power_grid", "cons_no", "mobile", "phone"),
    ("water_utility", "HH", "LXDH", "phone"),
    ("gas_utility", "用户编号", "证件号码", "id_number"),
]


def _first_month(root: Path, system: str, account: str, contact: str) -> pa.Table:
    path = system_files(root, system)[0]
    if path.suffix == ".parquet":
        table = pq.read_table(path)
    else:
        text = path.read_bytes().decode(encoding_of(path)).encode("utf-8")
        types = {account: pa.string(), contact: pa.string()}
        table = pacsv.read_csv(
            pa.py_buffer(text),
            convert_options=pacsv.ConvertOptions(column_types=types, strings_can_be_null=True),
        )
    return table.select([account, contact]).group_by([account, contact]).aggregate([])


def _planted(root: Path, system: str, field: str) -> dict[str, set[str]]:
    dirt = pq.read_table(root / "truth" / "dirt.parquet").to_pylist()
    out: dict[str, set[str]] = {}
    for d in dirt:
        if d["system"] == system and d["field"] == field:
            out.setdefault(str(d["kind"]), set()).add(str(d["key"]))
    return out


@pytest.mark.parametrize(("system", "account", "contact", "field"), CONTACTS)
def test_contact_is_the_holders_own_where_present(
    tiny_root: Path, system: str, account: str, contact: str, field: str
) -> None:
    table = _first_month(tiny_root, system, account, contact)
    links = pq.read_table(tiny_root / "truth" / "links_person.parquet")
    links = links.filter(pc.equal(links["system"], system))
    holder = dict(zip(links["key"].to_pylist(), links["entity_id"].to_pylist(), strict=True))
    persons = pq.read_table(tiny_root / "truth" / "persons.parquet")
    own = dict(zip(persons["person_id"].to_pylist(), persons[field].to_pylist(), strict=True))
    planted = _planted(tiny_root, system, contact)
    dirty = set().union(*planted.values()) if planted else set()
    known = set(own.values())
    present = checked = 0
    for key, value in zip(table[account].to_pylist(), table[contact].to_pylist(), strict=True):
        if value is None:
            continue
        present += 1
        assert key in holder, (key, value)  # firms' offices carry no personal contact
        if key not in dirty:
            checked += 1
            assert value == own[holder[key]], (key, value)
        elif key in planted.get("stale_phone", set()):
            assert value not in known, (key, value)
        elif key in planted.get("masked_id", set()):
            assert value[6:14] == "********", (key, value)
        elif key in planted.get("wrong_check_digit", set()):
            assert not ric.is_valid(value), (key, value)
    # old accounts are blank, and most of the rest are right
    assert 0.4 * table.num_rows < present < 0.95 * table.num_rows
    assert checked > 0.8 * present
    assert "missing_value" in planted
