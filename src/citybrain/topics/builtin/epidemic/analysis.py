"""One pass over the epidemic topic database: the std inputs keyed and placed, then cases, close
contacts, risk arrivals, screening coverage and the residents needing medical support.

The heavy steps (keys, joins, the contact self-joins) are Ibis expressions run by the engine; what
comes back to Python is one row per case, contact, risk arrival, area or supported resident.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa

from citybrain.core.engine import Engine
from citybrain.topics.builtin.epidemic import contacts as contact_query
from citybrain.topics.builtin.epidemic import entry, people, screening, support


@dataclass(frozen=True)
class Knobs:
    lookback_days: int = 14
    near_rows: int = 3
    window_days: int = 14
    followup_days: int = 3
    risk_areas: tuple[str, ...] = ()


@dataclass
class Keyed:
    """The person-bearing inputs with their ``person_key`` (lazy expressions)."""

    residents: ir.Table  # people.placed
    arrivals: ir.Table | None
    tests: ir.Table
    care: ir.Table | None  # the chronic-care register (慢病管理 / 家庭医生签约), when connected


@dataclass
class Analysis:
    cases: pd.DataFrame  # person_key, case_time, positives, address_id, grid …, lon, lat
    contacts: pd.DataFrame  # person_key, case_key, kind, rank, place, at
    entry: pd.DataFrame  # record_id, person_key, trip_no, from_city, arrived_at, tests, status …
    communities: pd.DataFrame  # screening.coverage by community_id
    grids: pd.DataFrame  # screening.coverage by grid_id
    support: pd.DataFrame  # support.in_affected_areas (+ condition, last_followup)
    homes: pd.DataFrame  # person_key, address_id, grid_id, community_id, street_id, lon, lat
    care_connected: bool = False  # whether the city delivers the chronic-care register


def keyed_inputs(read: Callable[[str], ir.Table], has: Callable[[str], bool]) -> Keyed:
    """Key every person record (identity number, else the one its phone gives) and place the
    residents in their dwellings."""
    records = people.resident_records(read("std.person_registration"), read("std.residence_permit"))
    if has("std.delivery"):
        records = records.union(people.delivery_records(read("std.delivery")))
    tests = read("std.test_record")
    arrivals = read("std.arrival") if has("std.arrival") else None
    care = read("std.chronic_care") if has("std.chronic_care") else None
    sources = [records.select("phone", "id_number"), tests.select("phone", "id_number")]
    for extra in (arrivals, care):
        if extra is not None:
            sources.append(extra.select("phone", "id_number"))
    book = people.directory(sources)
    residents = people.placed(
        people.keyed(records, book, "record_key", "resident"), read("std.standard_address")
    )
    return Keyed(
        residents=residents,
        arrivals=None if arrivals is None else people.keyed(arrivals, book, "record_id", "arrival"),
        tests=people.keyed(tests, book, "test_id", "test"),
        care=None if care is None else people.keyed(care, book, "record_id", "care"),
    )


def find_contacts(keyed: Keyed, found_cases: ir.Table, knobs: Knobs) -> ir.Table:
    parts = [contact_query.co_residence(keyed.residents, found_cases)]
    if keyed.arrivals is not None:
        events = contact_query.arrival_events(keyed.arrivals)
        parts.append(
            contact_query.co_location(
                events, found_cases, lookback_days=knobs.lookback_days, near_rows=knobs.near_rows
            )
        )
    return contact_query.contacts(parts, found_cases)


def staged_keys(keyed: Keyed, stage: Callable[[str, ir.Table], ir.Table]) -> Keyed:
    """``keyed`` computed once into work tables: every query below starts from them."""

    def one(name: str, table: ir.Table | None) -> ir.Table | None:
        return None if table is None else stage(f"epidemic_work_{name}", table)

    residents, tests = one("residents", keyed.residents), one("tests", keyed.tests)
    assert residents is not None and tests is not None
    return Keyed(residents, one("arrivals", keyed.arrivals), tests, one("care", keyed.care))


def analyse(
    engine: Engine,
    read: Callable[[str], ir.Table],
    has: Callable[[str], bool],
    knobs: Knobs,
    stage: Callable[[str, ir.Table], ir.Table] | None = None,
) -> Analysis:
    """Cases, contacts, entry control, screening gaps and medical support; ``stage`` (see
    `TopicContext.staging`) computes the keyed records once instead of once per query."""
    keyed = keyed_inputs(read, has)
    if stage is not None:
        keyed = staged_keys(keyed, stage)
    found = entry.cases(keyed.tests)
    placed = entry.homes(keyed.residents)
    where = entry.dwellings(keyed.residents)
    home = placed.left_join(where, placed.address_id == where.address_id).drop("address_id_right")
    cases = engine.to_pandas(
        found.left_join(home, found.person_key == home.person_key).drop("person_key_right")
    )
    pairs = engine.to_pandas(find_contacts(keyed, found, knobs))
    keys = pa.table({"k": pa.array(_keys(pairs), pa.string())})
    wanted = engine.register("epidemic_contact_keys", keys)
    homes = engine.to_pandas(home.semi_join(wanted, home.person_key == wanted.k))
    if keyed.arrivals is not None:
        risk = engine.to_pandas(
            entry.risk_arrivals(
                keyed.arrivals,
                keyed.tests,
                found,
                keyed.residents,
                listed=knobs.risk_areas,
                window_days=knobs.window_days,
                followup_days=knobs.followup_days,
            )
        )
    else:
        risk = pd.DataFrame(columns=["record_id", "person_key", "status"])
    if has("std.screening"):
        shot = read("std.screening")
        communities = engine.to_pandas(screening.coverage(shot, keyed.residents, "community_id"))
        grids = engine.to_pandas(screening.coverage(shot, keyed.residents, "grid_id"))
    else:
        communities = grids = pd.DataFrame(columns=["round", "area_id", "coverage"])
    with_home = cases.loc[cases["grid_id"].notna()]
    if len(with_home):
        year = int(pd.Timestamp(cases["case_time"].max()).year)
        near = engine.register("epidemic_case_grids", with_home[["grid_id"]].drop_duplicates())
        helped_expr = support.in_affected_areas(keyed.residents, near, year)
        if keyed.care is not None:
            helped_expr = support.with_care(helped_expr, keyed.care)
        helped = engine.to_pandas(helped_expr)
    else:
        helped = pd.DataFrame(columns=["person_key", "age", "household", "grid_id"])
    for column in ("condition", "last_followup"):
        if column not in helped:
            helped[column] = None
    care_connected = keyed.care is not None
    return Analysis(cases, pairs, risk, communities, grids, helped, homes, care_connected)


def _keys(pairs: pd.DataFrame) -> list[str]:
    return sorted(pairs["person_key"].dropna().astype(str).unique().tolist())
