"""Residents, households and who actually lives where, month by month.

Each residential dwelling gets a situation — owner family, tenants, students, vacant, or a group
rental (群租房) — and the confounders that make detection hard: large legitimate families, home
businesses, shared meters, vacant flats that still hold registrations, student flat-shares. People
carry valid ID numbers, names, phones and the months they live in the dwelling; from that come the
true occupancy and the registered count (household registration plus valid residence permits) for
every dwelling and month, which the department systems and the truth both read.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from citybrain.sim.geography import Geography
from citybrain.sim.ids import mobiles, resident_ids
from citybrain.sim.names import full_names, surnames
from citybrain.sim.regions import birth_regions
from citybrain.sim.rng import rng_for
from citybrain.sim.scales import Scale, days_in_period

# dwelling situations
OWNER, RENTED, VACANT, GROUP, STUDENTS, OFFICE = 0, 1, 2, 3, 4, 5
SITUATIONS = ("owner", "rented", "vacant", "group_rental", "students", "office")
# person roles
ROLES = ("owner_family", "tenant", "student", "group_tenant", "absentee", "visitor")
CONFOUNDERS = ("large_family", "home_business", "shared_meter", "vacant", "students")


@dataclass(frozen=True)
class Population:
    """People and the month-by-month truth of each dwelling (rows = dwellings, columns = months)."""

    persons: pa.Table
    situation: np.ndarray  # per dwelling, index into SITUATIONS
    confounder: np.ndarray  # per dwelling, index into CONFOUNDERS or -1
    meter_partner: np.ndarray  # dwelling whose usage this dwelling's meter also records, or -1
    group_start: np.ndarray  # month index the group rental starts (may be < 0), or -1
    group_end: np.ndarray  # month index it ends (exclusive)
    occupants: np.ndarray  # (dwellings, months) int16: people actually living there
    registered: np.ndarray  # (dwellings, months) int16: hukou + valid residence permits
    group_rental: np.ndarray  # (dwellings, months) bool


@dataclass
class _Households:
    dwelling: list[np.ndarray]
    role: list[np.ndarray]
    size: list[np.ndarray]
    in_m: list[np.ndarray]
    out_m: list[np.ndarray]
    origin: list[np.ndarray]  # 0 Chengdu, 1 rest of Sichuan, 2 elsewhere
    reg: list[np.ndarray]  # 0 none, 1 hukou here, 2 residence permit here

    def add(
        self,
        dwelling: np.ndarray,
        role: int,
        size: np.ndarray,
        in_m: np.ndarray | np.int64,
        out_m: np.ndarray | np.int64,
        origin: np.ndarray,
        reg: np.ndarray,
    ) -> None:
        n = dwelling.size
        self.dwelling.append(dwelling.astype(np.int64))
        self.role.append(np.full(n, role, np.int8))
        self.size.append(size.astype(np.int64))
        self.in_m.append(np.broadcast_to(in_m, n).astype(np.int64))
        self.out_m.append(np.broadcast_to(out_m, n).astype(np.int64))
        self.origin.append(origin.astype(np.int8))
        self.reg.append(reg.astype(np.int8))


def _situations(
    geo: Geography, rng: np.random.Generator, months: int, group_share: float = 0.06
) -> tuple[np.ndarray, ...]:
    use = geo.dwellings["use"].to_numpy(zero_copy_only=False)
    n = use.size
    sit = np.full(n, OFFICE, np.int8)
    res = np.flatnonzero(use == "residential")
    u = rng.random(res.size)
    s = np.where(u < 0.08, VACANT, np.where(u < 0.64, OWNER, RENTED)).astype(np.int8)
    u2 = rng.random(res.size)
    s[(s == RENTED) & (u2 < group_share)] = GROUP  # a few % of rented flats (Scale)
    s[(s == RENTED) & (u2 >= group_share) & (u2 < group_share + 0.04)] = STUDENTS
    sit[res] = s
    conf = np.full(n, -1, np.int8)
    u3 = rng.random(n)
    conf[(sit == OWNER) & (u3 < 0.04)] = CONFOUNDERS.index("large_family")
    conf[(sit == OWNER) & (u3 >= 0.04) & (u3 < 0.065)] = CONFOUNDERS.index("home_business")
    conf[sit == VACANT] = CONFOUNDERS.index("vacant")
    conf[sit == STUDENTS] = CONFOUNDERS.index("students")
    # a shared meter records this flat and the next one in the same unit (old wiring, sublets)
    b = geo.dwellings["building_id"].to_numpy()
    unit = geo.dwellings["unit"].to_numpy()
    nxt = np.arange(n) + 1
    same = np.zeros(n, bool)
    same[:-1] = (b[:-1] == b[1:]) & (unit[:-1] == unit[1:])
    same[:-1] &= (sit[1:] == OWNER) | (sit[1:] == RENTED)
    cand = same & ((sit == OWNER) | (sit == RENTED)) & (conf == -1) & (rng.random(n) < 0.02)
    cand[1:] &= ~cand[:-1]  # a partner is never itself a metered flat
    partner = np.where(cand, nxt, -1)
    conf[cand] = CONFOUNDERS.index("shared_meter")
    partner_of = partner[partner >= 0]
    conf[partner_of] = -1
    # group rentals start at some month (before the period for many) and most persist
    start = np.full(n, -1, np.int64)
    end = np.full(n, months, np.int64)
    g = np.flatnonzero(sit == GROUP)
    start[g] = rng.integers(-months // 2, max(1, int(months * 0.75)), g.size)
    stop = rng.random(g.size) < 0.25
    end[g] = np.where(stop, np.maximum(start[g], 0) + rng.integers(3, 12, g.size), months)
    end[g] = np.clip(end[g], np.maximum(start[g], 0) + 1, months)
    return sit, conf, partner, start, end


def _households(
    sit: np.ndarray,
    conf: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    months: int,
    rng: np.random.Generator,
) -> _Households:
    h = _Households([], [], [], [], [], [], [])
    zero, full = np.int64(0), np.int64(months)
    own = np.flatnonzero(sit == OWNER)
    size = rng.choice([1, 2, 3, 4, 5], own.size, p=[0.14, 0.3, 0.3, 0.17, 0.09])
    large = conf[own] == CONFOUNDERS.index("large_family")
    size[large] = rng.integers(6, 10, int(large.sum()))
    origin = rng.choice(3, own.size, p=[0.65, 0.25, 0.10])
    reg = np.where((origin == 0) | (rng.random(own.size) < 0.4), 1, 2)
    h.add(own, ROLES.index("owner_family"), size, zero, full, origin, reg)
    # tenants; some flats change tenants during the period
    ren = np.flatnonzero(sit == RENTED)
    turn = (rng.random(ren.size) < 0.15) & (months > 1)
    t = rng.integers(1, max(2, months), ren.size)
    out1 = np.where(turn, t, months)
    for dw, i_m, o_m in (
        (ren, np.zeros(ren.size, np.int64), out1),
        (ren[turn], t[turn], np.full(int(turn.sum()), months)),
    ):
        origin = rng.choice(3, dw.size, p=[0.2, 0.5, 0.3])
        reg = np.where(rng.random(dw.size) < 0.75, 2, 0)
        h.add(
            dw,
            ROLES.index("tenant"),
            rng.choice([1, 2, 3], dw.size, p=[0.45, 0.35, 0.2]),
            i_m,
            o_m,
            origin,
            reg,
        )
    # group rentals: an ordinary tenant before, then many short stays (handled in _group_tenants)
    grp = np.flatnonzero((sit == GROUP) & (start > 0))
    h.add(
        grp,
        ROLES.index("tenant"),
        rng.choice([1, 2, 3], grp.size),
        zero,
        start[grp],
        rng.choice(3, grp.size, p=[0.2, 0.5, 0.3]),
        np.where(rng.random(grp.size) < 0.7, 2, 0),
    )
    stu = np.flatnonzero(sit == STUDENTS)
    h.add(
        stu,
        ROLES.index("student"),
        rng.integers(3, 7, stu.size),
        zero,
        full,
        rng.choice(3, stu.size, p=[0.3, 0.4, 0.3]),
        np.where(rng.random(stu.size) < 0.4, 2, 0),
    )
    # vacant flats: half still hold household registrations of people living elsewhere
    vac = np.flatnonzero((sit == VACANT) & (rng.random(sit.size) < 0.5))
    h.add(
        vac,
        ROLES.index("absentee"),
        rng.integers(1, 4, vac.size),
        zero,
        full,
        np.zeros(vac.size, np.int8),
        np.ones(vac.size, np.int8),
    )
    return h


def _group_tenants(
    sit: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    months: int,
    rng: np.random.Generator,
    h: _Households,
) -> None:
    """Each group rental has 6–14 beds; each bed holds a run of short stays (mean four months)."""
    g = np.flatnonzero(sit == GROUP)
    beds = rng.integers(6, 15, g.size)
    slot_dw = np.repeat(g, beds)
    a = np.maximum(start[slot_dw], 0)
    b = end[slot_dw]
    k = months + 1
    length = rng.geometric(0.25, (slot_dw.size, k))
    gap = (rng.random((slot_dw.size, k)) < 0.2).astype(np.int64)
    ends = a[:, None] + np.cumsum(length + gap, axis=1)
    starts = ends - length
    keep = starts < b[:, None]
    dw = np.broadcast_to(slot_dw[:, None], keep.shape)[keep]
    i_m = starts[keep]
    o_m = np.minimum(ends[keep], np.broadcast_to(b[:, None], keep.shape)[keep])
    n = dw.size
    reg = np.where(rng.random(n) < 0.12, 2, 0)  # few register a residence permit
    h.add(
        dw,
        ROLES.index("group_tenant"),
        np.ones(n, np.int64),
        i_m,
        o_m,
        rng.choice(3, n, p=[0.15, 0.5, 0.35]),
        reg,
    )


def _ages(
    role: np.ndarray, member: np.ndarray, head_age: np.ndarray, rng: np.random.Generator, n: int
) -> np.ndarray:
    age = head_age.astype(np.float64)
    spouse = member == 1
    age = np.where(spouse, head_age + rng.normal(0, 3, n), age)
    child = member >= 2
    age = np.where(child, np.maximum(0, head_age - rng.uniform(22, 36, n)), age)
    elder = (member >= 4) & (role == ROLES.index("owner_family"))
    age = np.where(elder, head_age + rng.uniform(24, 32, n), age)
    solo = np.isin(role, [ROLES.index("student"), ROLES.index("group_tenant")])
    return np.where(solo, head_age, np.clip(age, 0, 95))


def build_population(geo: Geography, scale: Scale, seed: int) -> Population:
    """Households and persons for the zone, visitors for arrivals, and the monthly truth."""
    rng = rng_for(seed, "people")
    months = scale.months
    sit, conf, partner, start, end = _situations(geo, rng, months, scale.group_rental_share)
    h = _households(sit, conf, start, end, months, rng)
    _group_tenants(sit, start, end, months, rng, h)
    hh_dw = np.concatenate(h.dwelling)
    hh_role = np.concatenate(h.role)
    hh_size = np.concatenate(h.size)
    n_hh = hh_dw.size
    head_age = np.select(
        [
            hh_role == ROLES.index("student"),
            hh_role == ROLES.index("group_tenant"),
            hh_role == ROLES.index("tenant"),
        ],
        [rng.uniform(18, 25, n_hh), rng.uniform(18, 42, n_hh), rng.uniform(22, 48, n_hh)],
        rng.uniform(28, 72, n_hh),
    )
    hh = np.repeat(np.arange(n_hh), hh_size)
    member = np.arange(hh.size) - np.repeat(np.cumsum(hh_size) - hh_size, hh_size)
    n = hh.size
    role = hh_role[hh]
    age = _ages(role, member, head_age[hh], rng, n)
    # students' flatmates are students too, not the head's children
    stud = role == ROLES.index("student")
    age[stud] = rng.uniform(18, 25, int(stud.sum()))
    head_male = rng.random(n_hh) < 0.65
    male = np.where(
        member == 0, head_male[hh], np.where(member == 1, ~head_male[hh], rng.random(n) < 0.5)
    )
    male = np.where(role == ROLES.index("group_tenant"), rng.random(n) < 0.7, male)
    dwelling = np.where(role == ROLES.index("absentee"), -1, hh_dw[hh])
    reg = np.concatenate(h.reg)[hh]
    in_m = np.concatenate(h.in_m)[hh]
    out_m = np.concatenate(h.out_m)[hh]
    # a household's surname is the head's; spouses and the grandmother keep their own
    head_surname = surnames(rng, n_hh).take(pa.array(hh))
    own = surnames(rng, n)
    family = pa.array(
        np.where(
            (member == 1) | (member == 5),
            own.to_numpy(zero_copy_only=False),
            head_surname.to_numpy(zero_copy_only=False),
        )
    )
    visitors = _visitor_count(scale)
    total = n + visitors
    v_age = rng.uniform(18, 70, visitors)
    age_all = np.concatenate([age, v_age])
    male_all = np.concatenate([male, rng.random(visitors) < 0.55])
    origin_all = np.concatenate(
        [np.concatenate(h.origin)[hh], rng.choice(3, visitors, p=[0.3, 0.3, 0.4])]
    )
    names = pa.concat_arrays([full_names(rng, male, family), full_names(rng, male_all[n:])])
    ref = np.datetime64(f"{scale.start_year}-01-01")
    birth = (
        ref
        - (age_all * 365.25).astype("timedelta64[D]")
        - rng.integers(0, 365, total).astype("timedelta64[D]")
    )
    year = birth.astype("datetime64[Y]").astype(np.int64) + 1970
    mon = birth.astype("datetime64[M]").astype(np.int64) % 12 + 1
    day = (birth - birth.astype("datetime64[M]")).astype(np.int64) + 1
    region = birth_regions(rng, origin_all, year)
    id_numbers = _unique_ids(rng, region, year * 10000 + mon * 100 + day, male_all)
    phones = _unique_phones(rng, total)
    phone_mask = pa.array(age_all < 14)
    from pyarrow import compute as pc

    phones = pc.if_else(phone_mask, pa.scalar(None, pa.string()), phones)
    role_all = np.concatenate([role, np.full(visitors, ROLES.index("visitor"), np.int8)])
    neg = np.full(visitors, -1, np.int64)
    dwelling_all = np.concatenate([dwelling, neg])
    hukou = np.concatenate([np.where(reg == 1, hh_dw[hh], -1), neg])
    permit = np.concatenate([np.where(reg == 2, hh_dw[hh], -1), neg])
    persons = pa.table(
        {
            "person_id": np.arange(total, dtype=np.int64),
            "id_number": id_numbers,
            "name": names,
            "male": male_all,
            "birth_date": pa.array(birth.astype("datetime64[D]")),
            "origin_code": region,
            "phone": phones,
            "household_id": np.concatenate([hh, neg]),
            "member": np.concatenate([member, neg]).astype(np.int16),
            "role": pa.array(np.array(ROLES)[role_all]),
            "dwelling_id": dwelling_all,
            "hukou_dwelling_id": hukou,
            "permit_dwelling_id": permit,
            "in_month": np.concatenate([in_m, neg]),
            "out_month": np.concatenate([out_m, neg]),
        }
    )
    d = len(geo.dwellings)
    occ = _interval_counts(
        dwelling[dwelling >= 0], in_m[dwelling >= 0], out_m[dwelling >= 0], d, months
    )
    reg_d = np.concatenate([hukou[:n][hukou[:n] >= 0], permit[:n][permit[:n] >= 0]])
    reg_in = np.concatenate(
        [np.zeros(int((hukou[:n] >= 0).sum()), np.int64), in_m[permit[:n] >= 0]]
    )
    reg_out = np.concatenate(
        [np.full(int((hukou[:n] >= 0).sum()), months, np.int64), out_m[permit[:n] >= 0]]
    )
    registered = _interval_counts(reg_d, reg_in, reg_out, d, months)
    m = np.arange(months)
    gr = (sit == GROUP)[:, None] & (start[:, None] <= m[None, :]) & (m[None, :] < end[:, None])
    return Population(persons, sit, conf, partner, start, end, occ, registered, gr)


def _visitor_count(scale: Scale) -> int:
    """People who are not residents: visitors arriving by train or plane, outside legal reps.

    Capped at one per dwelling: travellers come back, and at city size a larger pool would
    double the person table (and peak memory) for little realism."""
    arrivals = scale.arrivals_per_day * days_in_period(scale)
    return int(max(50, min(arrivals * 0.4, scale.dwellings * 1.0)) + scale.enterprises * 0.3)


def _interval_counts(
    where: np.ndarray, in_m: np.ndarray, out_m: np.ndarray, n: int, months: int
) -> np.ndarray:
    """How many [in, out) intervals cover each (row, month): a difference array and a cumsum."""
    width = months + 1
    size = n * width
    diff = np.bincount(where * width + in_m, minlength=size) - np.bincount(
        where * width + out_m, minlength=size
    )
    return np.cumsum(diff.reshape(n, width), axis=1)[:, :months].astype(np.int16)


def _unique_ids(
    rng: np.random.Generator, region: np.ndarray, yyyymmdd: np.ndarray, male: np.ndarray
) -> pa.StringArray:
    """ID numbers; the order code is odd for men, and collisions are redrawn."""
    seq = rng.integers(0, 500, region.size) * 2 + male.astype(np.int64)
    for _ in range(20):
        key = (region * 100_000_000 + yyyymmdd) * 1000 + seq
        _, first = np.unique(key, return_index=True)
        dup = np.ones(key.size, bool)
        dup[first] = False
        if not dup.any():
            break
        seq[dup] = rng.integers(0, 500, int(dup.sum())) * 2 + male[dup].astype(np.int64)
    return resident_ids(region, yyyymmdd, seq)


def _unique_phones(rng: np.random.Generator, n: int) -> pa.StringArray:
    # compared as integers: 11-digit mobiles fit int64, and sorting Python strings took minutes
    values = pc.cast(mobiles(rng, n), pa.int64()).to_numpy().copy()
    for _ in range(20):
        _, first = np.unique(values, return_index=True)
        dup = np.ones(n, bool)
        dup[first] = False
        if not dup.any():
            break
        values[dup] = pc.cast(mobiles(rng, int(dup.sum())), pa.int64()).to_numpy()
    return pc.cast(pa.array(values), pa.string())
