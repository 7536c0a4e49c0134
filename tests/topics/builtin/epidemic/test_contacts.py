"""Close contacts from co-residence and co-location, the same on DuckDB and on Spark (the core
queries on hand-made frames), and through the whole keyed pipeline of the hand-written epidemic
city on DuckDB: the flatmate and the landing (same floor, next floor; not two floors up, not a
permit cancelled before), the fellow passengers of that day (same carriage near → high), not the
next day's train; a phone stands in for a missing identity number."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pandas as pd

from citybrain.core.engine import Engine, open_engine
from citybrain.topics.builtin.epidemic import analysis, contacts, entry
from topics.builtin.epidemic_city import ID, PHONE, write_std  # type: ignore[import-not-found]

DAY = datetime(2023, 3, 3)


def test_core_queries_on_both_engines(engine: Engine) -> None:
    cases = engine.register(
        "epi_cases", pd.DataFrame({"person_key": ["a"], "case_time": [datetime(2023, 3, 5, 9)]})
    )
    day, next_day = pd.Timestamp(DAY), pd.Timestamp(datetime(2023, 3, 4))
    events = engine.register(
        "epi_events",
        pd.DataFrame(
            {
                "person_key": ["a", "j", "k", "l"],
                "place": ["G1234"] * 4,
                "t0": [day, day, day, next_day],
                "t1": [next_day, next_day, next_day, next_day + pd.Timedelta(days=1)],
                "zone": ["03", "03", "09", "03"],
                "row": [5, 7, 1, 5],
            }
        ),
    )
    y = date(2010, 1, 1)
    residents = engine.register(
        "epi_residents",
        pd.DataFrame(
            {
                "person_key": ["a", "b", "c", "d", "f", "h"],
                "address_id": ["D101", "D101", "D102", "D201", "D301", "D102"],
                "unit_id": ["U1"] * 6,
                "floor": [1, 1, 1, 2, 3, 1],
                "since": [y] * 6,
                "until": [None, None, None, None, None, date(2022, 6, 1)],
                "evidence": ["registration"] * 5 + ["permit"],
            }
        ).astype({"since": "datetime64[s]", "until": "datetime64[s]"}),
    )
    residents = residents.mutate(since=residents.since.date(), until=residents.until.date())
    parts = [
        contacts.co_residence(residents, cases),
        contacts.co_location(events, cases, lookback_days=14, near_rows=3),
    ]
    found = engine.to_pandas(contacts.contacts(parts, cases))
    got = set(zip(found["person_key"], found["kind"], found["rank"].astype(int), strict=True))
    assert got == {
        ("b", "household", contacts.HIGH),
        ("c", "neighbour", contacts.MEDIUM),
        ("d", "neighbour", contacts.MEDIUM),
        ("j", "travel", contacts.HIGH),
        ("k", "travel", contacts.MEDIUM),
    }


def _keyed(tmp_path: Path) -> tuple[Engine, analysis.Keyed]:
    engine = open_engine("duckdb", tmp_path / "lake", database=tmp_path / "c.duckdb")
    write_std(engine)
    keyed = analysis.keyed_inputs(
        lambda d: engine.table(*d.split(".", 1)), lambda d: engine.exists(*d.split(".", 1))
    )
    return engine, keyed


def test_keyed_city_contacts_and_a_second_case(tmp_path: Path) -> None:
    engine, keyed = _keyed(tmp_path)
    try:
        found = engine.to_pandas(
            analysis.find_contacts(keyed, entry.cases(keyed.tests), analysis.Knobs())
        )
        assert set(zip(found["person_key"], found["kind"], strict=True)) == {
            (ID["B"], "household"),
            (ID["C"], "neighbour"),
            (ID["D"], "neighbour"),
            (ID["J"], "travel"),
            (ID["K"], "travel"),  # the arrival has no identity number: the phone gives it
            (f"tel:{PHONE['M']}", "household"),  # registered nowhere, receives parcels there
        }
        t = keyed.tests
        both = t.mutate(result=(t.person_key == ID["B"]).ifelse("positive", t.result))
        two = engine.to_pandas(analysis.find_contacts(keyed, entry.cases(both), analysis.Knobs()))
        assert not {ID["A"], ID["B"]} & set(two["person_key"])  # a case is not a contact
        assert set(two.loc[two["person_key"] == ID["C"], "case_key"]) == {ID["A"], ID["B"]}
    finally:
        engine.close()
