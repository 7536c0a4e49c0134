"""A hand-written epidemic city: a dozen people in two stairwells and a third community, one
case, its flatmate, its landing, its fellow passengers, a risk-area arrival and a screening round
that left two communities out; and the truth that goes with it.

People (identity numbers end in their letter's position): A is the case (D101, floor 1); B lives
with A; C across the landing (D102); D one floor up (D201); F two floors up (D301, not a
contact); E, born 1940, lives alone on floor 4 (D401); G in the other stairwell (D501, community
C2); H's permit in D102 was cancelled before A fell ill (not a contact); I lives in community C3
and arrives from the risk city a week later, untested. J and K came on A's train that day (J in
A's carriage two rows behind, K in another carriage; K's arrival has no identity number, only the
phone K gave for a test); L took the same train the next day. M is registered nowhere but
receives parcels at D101 in March (a hidden tenant: a contact, keyed by phone); O's parcels
went to D101 a year before (moved out: not a contact). On the chronic-care register (慢病管理 /
家庭医生签约): F on dialysis (listed without an identity number, only F's phone), E with COPD, G
with diabetes (another grid: no case there) and B with hypertension (a contact first).
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from citybrain.core.engine import Engine

ID = {k: f"5101011980010100{i:02d}" for i, k in enumerate("ABCDEFGHIJKL", start=1)}
ID["E"] = "510101194001010005"
PHONE = {k: f"139000000{i:02d}" for i, k in enumerate("ABCDEFGHIJKLMO", start=1)}
TRUE = {k: i for i, k in enumerate("ABCDEFGHIJKLMNO", start=100)}  # N: a contact none can see

UNIT = {"D101": ("U1", 1), "D102": ("U1", 1), "D201": ("U1", 2), "D301": ("U1", 3),
        "D401": ("U1", 4), "D501": ("U2", 1), "D900": ("U3", 1)}  # fmt: skip
AREA = {"U1": ("G1", "C1", "S1"), "U2": ("G2", "C2", "S1"), "U3": ("G3", "C3", "S2")}
NAMES = {"C1": "和平社区", "C2": "南湖社区", "C3": "锦华社区"}


def _placed(address: str) -> dict[str, object]:
    grid, community, street = AREA[UNIT[address][0]]
    return {
        "address_id": address, "address_level": "dwelling", "address_confidence": 1.0,
        "grid_id": grid, "community_id": community, "street_id": street,
    }  # fmt: skip


def _lineage(system: str, i: int) -> dict[str, object]:
    return {"source_system": system, "load_id": "load-1", "source_row": i}


def std_tables() -> dict[str, pa.Table]:
    homes = {"A": "D101", "B": "D101", "C": "D102", "D": "D201", "F": "D301", "E": "D401",
             "G": "D501", "I": "D900"}  # fmt: skip
    reg = [
        {"record_id": f"HJ{k}", "name": f"居民{k}", "id_number": ID[k], "phone": PHONE[k],
         "birth_date": date(1940 if k == "E" else 1980, 1, 1), "moved_in_date": date(2010, 1, 1),
         **_placed(home), **_lineage("police_household", i)}
        for i, (k, home) in enumerate(homes.items())
    ]  # fmt: skip
    permits = [
        {"permit_id": "JZZH", "name": "居民H", "id_number": ID["H"], "phone": PHONE["H"],
         "issued_date": date(2021, 1, 1), "valid_until": date(2024, 1, 1),
         "cancelled_date": date(2022, 6, 1), **_placed("D102"),
         **_lineage("police_residence_permit", 0)}
    ]  # fmt: skip
    addresses = [
        {"address_id": a, "level": "dwelling", "parent_id": unit, "floor_no": str(floor),
         "lon": 104.0 + n / 100, "lat": 30.6, "grid_code": AREA[unit][0],
         **_lineage("place_address_register_standard_address", n)}
        for n, (a, (unit, floor)) in enumerate(UNIT.items())
    ]  # fmt: skip
    t = datetime
    tests = [
        ("HS1", "A", ID["A"], t(2023, 3, 5, 9), "positive"),
        ("HS2", "B", ID["B"], t(2023, 3, 6, 9), "negative"),
        ("HS3", "K", ID["K"], t(2023, 3, 6, 10), "negative"),
    ]
    test_rows = [
        {"test_id": key, "name": f"居民{k}", "id_number": idn, "phone": PHONE[k],
         "sampled_at": at, "result": result, **_lineage("health_tests", i)}
        for i, (key, k, idn, at, result) in enumerate(tests)
    ]  # fmt: skip
    arrivals = [
        ("ARR1", "A", ID["A"], "G1234", "03车5A", "杭州", t(2023, 3, 3, 10)),
        ("ARR2", "J", ID["J"], "G1234", "03车7B", "杭州", t(2023, 3, 3, 10, 5)),
        ("ARR3", "K", None, "G1234", "09车1A", "杭州", t(2023, 3, 3, 10, 9)),
        ("ARR4", "L", ID["L"], "G1234", "03车5B", "杭州", t(2023, 3, 4, 10)),
        ("ARR5", "I", ID["I"], "D8888", "01车1A", "杭州", t(2023, 3, 10, 18)),
        ("ARR6", "G", ID["G"], "MU8401", "01车1A", "北京", t(2023, 3, 10, 18)),
    ]
    arrival_rows = [
        {"record_id": key, "name": f"旅客{k}", "id_number": idn, "phone": PHONE[k],
         "mode": "rail", "trip_no": trip, "seat": seat, "from_city": origin,
         "arrival_station": "成都东站", "arrived_at": at, **_lineage("transport_arrivals", i)}
        for i, (key, k, idn, trip, seat, origin, at) in enumerate(arrivals)
    ]  # fmt: skip
    screened = ["D101", "D102", "D201", "D301", "D401"]
    screening = [
        {"record_id": f"PC{i}", "contact_name": "户主", "address": a, "occupants": 1,
         "registered_occupants": 1, "outsiders": "not_met" if a == "D301" else "no",
         "screened_date": date(2023, 3, 6), "note": None, "community": NAMES["C1"], "round": 1,
         **_placed(a), **_lineage("household_screening", i)}
        for i, a in enumerate(screened)
    ]  # fmt: skip
    parcels = [
        {"stat_id": f"KD{k}", "channel": "parcel", "carrier": "顺丰", "period": period,
         "recipient_name": f"收件人{k}", "recipient_phone": PHONE[k], "address": "D101",
         "items": 3, **_placed("D101"), **_lineage("parcel_express", i)}
        for i, (k, period) in enumerate((("M", "2023-03"), ("O", "2022-03")))
    ]  # fmt: skip
    care = [
        {"record_id": f"MB{k}", "name": f"居民{k}", "id_number": idn, "phone": PHONE[k],
         "condition": cond, "clinic": "和平社区卫生服务中心", "signed_date": date(2021, 5, 1),
         "last_followup_date": followed, **_lineage("health_chronic_care", i)}
        for i, (k, idn, cond, followed) in enumerate((
            ("F", None, "dialysis", date(2023, 2, 20)), ("E", ID["E"], "copd", date(2023, 3, 10)),
            ("G", ID["G"], "diabetes", date(2023, 1, 5)),
            ("B", ID["B"], "hypertension", date(2023, 1, 5))))
    ]  # fmt: skip
    areas = [
        {"level": "community", "code": c, "name": n, "parent_code": "S1", "geometry": None,
         **_lineage("place_address_register_admin_area", i)}
        for i, (c, n) in enumerate(NAMES.items())
    ] + [
        {"level": "grid", "code": g, "name": f"{g}网格", "parent_code": c, "geometry": None,
         **_lineage("place_address_register_admin_area", 10 + i)}
        for i, (g, c, _) in enumerate(AREA.values())
    ]  # fmt: skip
    return {
        "person_registration": pa.Table.from_pylist(reg),
        "residence_permit": pa.Table.from_pylist(permits),
        "standard_address": pa.Table.from_pylist(addresses),
        "test_record": pa.Table.from_pylist(test_rows),
        "arrival": pa.Table.from_pylist(arrival_rows),
        "screening": pa.Table.from_pylist(screening),
        "delivery": pa.Table.from_pylist(parcels),
        "chronic_care": pa.Table.from_pylist(care),
        "admin_area": pa.Table.from_pylist(areas),
    }


def write_std(engine: Engine) -> None:
    for name, table in std_tables().items():
        engine.write(table, "std", name)


def write_truth(folder: Path) -> Path:
    """The truth of this city: A infected; B, C, D, J, K, M and N (unseen) its contacts."""
    folder.mkdir(parents=True, exist_ok=True)
    std = std_tables()
    links = []
    for table, key in (("person_registration", "record_id"), ("residence_permit", "permit_id"),
                       ("test_record", "test_id"), ("arrival", "record_id"),
                       ("delivery", "stat_id"), ("chronic_care", "record_id")):  # fmt: skip
        for row in std[table].to_pylist():
            letter = str(row.get("name") or row["recipient_name"])[-1]
            links.append({"system": row["source_system"], "table": "*", "key_field": key,
                          "key": row[key], "entity_id": TRUE[letter]})  # fmt: skip
    pq.write_table(pa.Table.from_pylist(links), folder / "links_person.parquet")
    contacts = [{"person_id": TRUE[k], "contact_of": TRUE["A"], "kind": kind, "day": 63,
                 "episode": 0}
                for k, kind in (("B", "household"), ("C", "neighbour"), ("D", "neighbour"),
                                ("N", "neighbour"), ("J", "travel"), ("K", "travel"),
                                ("M", "household"))]  # fmt: skip
    pq.write_table(pa.Table.from_pylist(contacts), folder / "contacts.parquet")
    infections = [{"person_id": TRUE["A"], "infected_day": 62, "kind": "imported",
                   "source_person_id": -1, "episode": 0}]  # fmt: skip
    pq.write_table(pa.Table.from_pylist(infections), folder / "infections.parquet")
    episodes = [{"episode": 0, "start_day": 55, "end_day": 76, "risk_origin": "杭州"}]
    pq.write_table(pa.Table.from_pylist(episodes), folder / "epidemic_episodes.parquet")
    dw = [{"system": "household_screening", "table": f"{NAMES['C1']}_0", "key_field": "序号",
           "key": f"PC{i}", "entity_id": i} for i in range(5)]  # fmt: skip
    pq.write_table(pa.Table.from_pylist(dw), folder / "links_dwelling.parquet")
    dwellings = [{"dwelling_id": i, "address_id": a, "use": "residential"}
                 for i, a in enumerate(UNIT)]  # fmt: skip
    pq.write_table(pa.Table.from_pylist(dwellings), folder / "dwellings.parquet")
    persons = [{"person_id": 1, "dwelling_id": i} for i in range(len(UNIT))]
    home = {"B": "D101", "C": "D102", "F": "D301", "E": "D401", "G": "D501"}
    persons += [{"person_id": TRUE[k], "dwelling_id": list(UNIT).index(a)} for k, a in home.items()]
    pq.write_table(pa.Table.from_pylist(persons), folder / "persons.parquet")
    # on the register: F, E, B in A's grid (G1) and G in G2; C has hypertension, not listed
    chronic = [{"person_id": TRUE[k], "condition": c, "listed": k != "C"}
               for k, c in (("F", "透析"), ("E", "慢阻肺"), ("G", "糖尿病"), ("B", "高血压"),
                            ("C", "高血压"))]  # fmt: skip
    pq.write_table(pa.Table.from_pylist(chronic), folder / "chronic_conditions.parquet")
    return folder
