"""Entry control (入域管控): arrivals from risk areas, matched to residents and their dwellings,
with their follow-up status.

A risk area is one the health authority lists (the ``risk_areas`` parameter, the whole period), or
one that sent an imported case: an arrival whose traveller tested positive within
``window_days`` of arriving makes the origin a risk area from ``window_days`` before that arrival
to ``window_days`` after the last such one. Follow-up: a test record of the traveller within
``followup_days`` after arriving (positive, negative) or none yet (pending, 待跟进).
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import ibis.expr.types as ir


def cases(tests: ir.Table) -> ir.Table:
    """Positive test records (keyed) → one row per person: person_key, case_time (first
    positive sample), positives."""
    pos = tests.filter(tests.result == "positive")
    return pos.group_by("person_key").aggregate(
        case_time=pos.sampled_at.min(), positives=pos.count()
    )


def homes(residents: ir.Table) -> ir.Table:
    """One dwelling a person: person_key, address_id (the smallest id among their records)."""
    return residents.group_by("person_key").aggregate(address_id=residents.address_id.min())


def dwellings(residents: ir.Table) -> ir.Table:
    """The placed dwellings: address_id, grid_id, community_id, street_id, lon, lat."""
    cols = ["address_id", "grid_id", "community_id", "street_id", "lon", "lat"]
    d = residents.select(*cols)
    return d.group_by("address_id").aggregate(
        grid_id=d.grid_id.min(),
        community_id=d.community_id.min(),
        street_id=d.street_id.min(),
        lon=d.lon.max(),
        lat=d.lat.max(),
    )


def risk_arrivals(
    arrivals: ir.Table,
    tests: ir.Table,
    found_cases: ir.Table,
    residents: ir.Table,
    *,
    listed: Sequence[str] = (),
    window_days: int = 14,
    followup_days: int = 3,
) -> ir.Table:
    """Every arrival from a risk area in its risk window, with resident match and follow-up."""
    window = ibis.interval(days=window_days)
    c = found_cases.select(c_key=found_cases.person_key, case_time=found_cases.case_time)
    imported = arrivals.inner_join(c, arrivals.person_key == c.c_key)
    imported = imported.filter(
        (imported.case_time >= imported.arrived_at)
        & (imported.case_time <= imported.arrived_at + window)
    )
    spans = imported.group_by(origin=imported.from_city).aggregate(
        risk_from=imported.arrived_at.min() - window, risk_to=imported.arrived_at.max() + window
    )
    a = arrivals.left_join(spans, arrivals.from_city == spans.origin)
    in_span = a.risk_from.notnull() & (a.arrived_at >= a.risk_from) & (a.arrived_at <= a.risk_to)
    listed_hit = a.from_city.isin(list(listed)) if listed else ibis.literal(False)
    a = a.filter(in_span | listed_hit).select(
        "record_id", "person_key", "trip_no", "from_city", "arrived_at"
    )
    t = tests.select(t_key=tests.person_key, t_at=tests.sampled_at, t_result=tests.result)
    joined = a.left_join(
        t,
        [
            a.person_key == t.t_key,
            t.t_at >= a.arrived_at,
            t.t_at <= a.arrived_at + ibis.interval(days=followup_days),
        ],
    )
    follow = joined.group_by(["record_id", "person_key", "trip_no", "from_city", "arrived_at"])
    follow = follow.aggregate(
        tests=joined.t_at.count(),
        positive=(joined.t_result == "positive").fill_null(False).any(),
    )
    status = ibis.cases(
        (follow.positive, "positive"),
        (follow.tests > 0, "tested_negative"),
        else_="pending",
    )
    follow = follow.mutate(status=status).drop("positive")
    h = homes(residents)
    out = follow.left_join(h, follow.person_key == h.person_key).drop("person_key_right")
    d = dwellings(residents)
    return out.left_join(d, out.address_id == d.address_id).drop("address_id_right")
