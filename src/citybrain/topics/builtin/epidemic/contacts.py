"""Close contacts (密切接触者) of the cases, in one engine-neutral query each (Ibis: DuckDB, Spark).

- **Co-location** (同时空): anyone with an event at the same place as a case, in a time span that
  overlaps the case's, within ``lookback`` days before the case was sampled. An event is
  (person_key, place, t0, t1, zone, row): for an arrival the place is the train or flight on its
  day and the zone the carriage. Same carriage within ``near_rows`` rows → high, else medium.
- **Co-residence** (同住): anyone placed in a case's dwelling at the time (high), or in the same
  stairwell on the case's floor or the floor above or below (medium) — by a registration or
  permit (`_at_home`: not cancelled before, not begun over a month after) or a parcel delivered
  there in the case's month or the month before. The case's own dwelling is any its registration
  or permit names, or a parcel of that time.

A case is never its own contact, and a person who is a case is a case, not a contact. Each row
of ``contacts`` is one (contact, case, kind) with its best level (the topic keeps one finding a
person).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

HIGH = 3
MEDIUM = 2
#: a registration or permit begun this many days after a case still places its holder there
LATE_REGISTRATION_DAYS = 31
MONTH = ibis.interval(days=31)


def arrival_events(arrivals: ir.Table) -> ir.Table:
    """Arrivals (keyed) as co-location events: the trip on its day, the carriage, the row."""
    day = arrivals.arrived_at.truncate("D")
    return arrivals.select(
        person_key=arrivals.person_key,
        place=arrivals.trip_no,
        t0=day,
        t1=day + ibis.interval(days=1),
        zone=arrivals.seat.re_extract(r"^([0-9]+)车", 1),
        row=arrivals.seat.re_extract(r"车([0-9]+)", 1).nullif("").cast("int64"),
    )


def co_location(
    events: ir.Table, cases: ir.Table, *, lookback_days: int = 14, near_rows: int = 3
) -> ir.Table:
    """(person_key, case_key, kind='travel', rank, place, at) for every co-located pair."""
    c = cases.select(case_key=cases.person_key, case_time=cases.case_time)
    mine = events.inner_join(c, events.person_key == c.case_key)
    mine = mine.filter(
        (mine.t0 <= mine.case_time)
        & (mine.t1 >= mine.case_time - ibis.interval(days=lookback_days))
    ).select(
        case_key=mine.case_key,
        c_place=mine.place,
        c_t0=mine.t0,
        c_t1=mine.t1,
        c_zone=mine.zone,
        c_row=mine.row,
    )
    o = events
    pairs = mine.inner_join(
        o,
        [
            mine.c_place == o.place,
            o.t0 < mine.c_t1,
            mine.c_t0 < o.t1,
            o.person_key != mine.case_key,
        ],
    )
    close = (
        (pairs.zone == pairs.c_zone)
        & pairs.zone.notnull()
        & ((pairs.row - pairs.c_row).abs() <= near_rows)
    )
    return pairs.select(
        person_key=pairs.person_key,
        case_key=pairs.case_key,
        kind=ibis.literal("travel"),
        rank=ibis.ifelse(close.fill_null(False), HIGH, MEDIUM).cast("int64"),
        place=pairs.place,
        at=ibis.greatest(pairs.t0, pairs.c_t0).cast("timestamp"),
    )


def _at_home(residents: ir.Table, when: ir.TimestampValue) -> ir.BooleanValue:
    """Placed there at ``when``: a registration or permit not cancelled before and not begun more
    than ``LATE_REGISTRATION_DAYS`` after (people register after moving in, rarely long after);
    a parcel delivery in the month of ``when`` or the month before."""
    day = when.date()
    parcel = residents.evidence == "delivery"
    ended = residents.until.notnull() & (residents.until < day)
    late = residents.since.notnull() & (
        residents.since > (when + ibis.interval(days=LATE_REGISTRATION_DAYS)).date()
    )
    registered = ~parcel & ~ended & ~late
    # a delivery month [since, until): the one holding the day, or the one just before it
    delivered = parcel & (residents.since <= day) & (residents.until >= (when - MONTH).date())
    return registered | delivered


def co_residence(residents: ir.Table, cases: ir.Table) -> ir.Table:
    """(person_key, case_key, kind household|neighbour, rank, place, at): who lived with a case
    or on its landing when the case was sampled (residents from `people.placed`)."""
    c = cases.select(case_key=cases.person_key, case_time=cases.case_time)
    homes = residents.inner_join(c, residents.person_key == c.case_key)
    homes = homes.filter((homes.evidence != "delivery") | _at_home(homes, homes.case_time))
    homes = homes.select(
        case_key=homes.case_key,
        case_time=homes.case_time,
        h_address=homes.address_id,
        h_unit=homes.unit_id,
        h_floor=homes.floor,
    )
    homes = homes.distinct()
    r = residents.select(
        "person_key", "address_id", "unit_id", "floor", "since", "until", "evidence"
    )
    same = homes.inner_join(r, [homes.h_address == r.address_id, r.person_key != homes.case_key])
    same = same.filter(_at_home(same, same.case_time))
    household = same.select(
        person_key=same.person_key,
        case_key=same.case_key,
        kind=ibis.literal("household"),
        rank=ibis.literal(HIGH).cast("int64"),
        place=same.h_address,
        at=same.case_time.cast("timestamp"),
    )
    near = homes.filter(homes.h_unit.notnull() & homes.h_floor.notnull())
    landing = near.inner_join(
        r,
        [
            near.h_unit == r.unit_id,
            (near.h_floor - r.floor).abs() <= 1,
            near.h_address != r.address_id,
            r.person_key != near.case_key,
        ],
    )
    landing = landing.filter(_at_home(landing, landing.case_time))
    neighbour = landing.select(
        person_key=landing.person_key,
        case_key=landing.case_key,
        kind=ibis.literal("neighbour"),
        rank=ibis.literal(MEDIUM).cast("int64"),
        place=landing.h_unit,
        at=landing.case_time.cast("timestamp"),
    )
    return ibis.union(household, neighbour)


def contacts(parts: list[ir.Table], cases: ir.Table) -> ir.Table:
    """The pairs of every kind, less anyone who is a case, one row per (contact, case, kind)."""
    both = ibis.union(*parts)
    both = both.anti_join(cases, both.person_key == cases.person_key)
    return both.group_by(["person_key", "case_key", "kind"]).aggregate(
        rank=both.rank.max(), place=both.place.min(), at=both.at.min()
    )
