"""卫健 检测记录 — test records (routine, contacts, cases) in a SQLite table of the health
commission's system, pinyin-initial columns; ID numbers sometimes missing."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from citybrain.sim import dirt
from citybrain.sim.formats import write_connection_file, write_sqlite
from citybrain.sim.ids import pick
from citybrain.sim.systems.arrivals import shared_epidemic
from citybrain.sim.systems.base import SystemContext, dirty, row_keys

SYSTEM = "health_tests"
_LABS = ["示例高新区人民医院", "高新区社区卫生服务中心", "金域医学检验所", "华西医院检验科"]


def build(ctx: SystemContext) -> None:
    w = ctx.world
    epi = shared_epidemic(ctx)
    rng = ctx.rng(SYSTEM)
    p = w.pop.persons
    days = w.days
    # routine tests: a small share of residents each month
    adults = np.flatnonzero(p["dwelling_id"].to_numpy() >= 0)
    k = int(adults.size * 0.03 * w.months)
    routine = adults[rng.integers(0, adults.size, k)]
    r_day = rng.integers(0, days, k)
    inf = epi.infections
    con = epi.contacts
    c_person = con["person_id"].to_numpy()
    c_day = np.minimum(con["day"].to_numpy() + rng.integers(1, 4, c_person.size), days - 1)
    i_person = inf["person_id"].to_numpy()
    i_day = np.minimum(inf["infected_day"].to_numpy() + rng.integers(1, 4, i_person.size), days - 1)
    person = np.concatenate([routine, c_person, i_person])
    day = np.concatenate([r_day, c_day, i_day])
    positive = np.concatenate([np.zeros(k + c_person.size, bool), np.ones(i_person.size, bool)])
    order = np.lexsort((person, day))
    person, day, positive = person[order], day[order], positive[order]
    n = person.size
    when = (
        w.month_starts[0].astype("datetime64[s]")
        + (day * 86400).astype("timedelta64[s]")
        + rng.integers(8 * 3600, 20 * 3600, n).astype("timedelta64[s]")
    )
    idx = pa.array(person)
    t = pa.table(
        {
            "JCBH": row_keys("HS", 0, n, 10),
            "XM": p["name"].combine_chunks().take(idx),
            "SFZH": p["id_number"].combine_chunks().take(idx),
            "LXDH": p["phone"].combine_chunks().take(idx),
            "CYSJ": pc.strftime(pa.array(when), format="%Y-%m-%d %H:%M:%S"),
            "JCJG": pa.array(np.where(positive, "阳性", "阴性")),
            "JCJG_DM": pa.array(np.where(positive, 1, 0)),
            "JCJG_MC": pick(_LABS, rng.integers(0, len(_LABS), n)),
        }
    )
    t = dirty(ctx, SYSTEM, "HS_JCJL", t, "JCBH", "SFZH", dirt.nulls, rng, 0.05, "missing_value")
    t = dirty(ctx, SYSTEM, "HS_JCJL", t, "JCBH", "XM", dirt.name_typos, rng, 0.02, "name_typo")
    t = dirty(
        ctx,
        SYSTEM,
        "HS_JCJL",
        t,
        "JCBH",
        "SFZH",
        dirt.wrong_check_digit,
        rng,
        0.003,
        "wrong_check_digit",
        kind="id_number",
    )
    ctx.truth.link("person", SYSTEM, "HS_JCJL", "JCBH", t["JCBH"], person)
    folder = ctx.dir(SYSTEM)
    ctx.count(SYSTEM, write_sqlite(folder / "health.db", "HS_JCJL", t))
    write_connection_file(folder, "sqlite", path="health.db", table="HS_JCJL")
    ctx.truth.write("infections", inf)
    ctx.truth.write("contacts", con)
    ctx.truth.write("epidemic_episodes", epi.episodes)
