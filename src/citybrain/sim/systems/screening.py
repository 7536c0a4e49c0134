"""社区入户排查 — household screening during epidemic episodes: each community hands in its own
XLSX; workers write how many people they found living there (tenants of group rentals hide, so
the count is low there), the registered count and whether outsiders live there. Visit dates are
written as 03月03日, as clerks do; the year is only in the title and in the 排查批次 column
(2023年第1轮), and a round never runs past New Year, so that year is the visit's."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from citybrain.sim import dirt
from citybrain.sim.addresses import write_address
from citybrain.sim.formats import Sheet, write_xlsx
from citybrain.sim.systems.arrivals import shared_epidemic
from citybrain.sim.systems.base import SystemContext, dirty, row_keys
from citybrain.sim.usage import account_holders

SYSTEM = "household_screening"


def build(ctx: SystemContext) -> None:
    w = ctx.world
    epi = shared_epidemic(ctx)
    rng = ctx.rng(SYSTEM)
    pop = w.pop
    est = w.geo.dwellings["estate_id"].to_numpy()
    comm = w.geo.estates["community_id"].to_numpy()[est]
    res = pop.situation != 5
    holder = account_holders(w, ctx.rng("holders"))
    names = w.pop.persons["name"].combine_chunks()
    folder = ctx.dir(SYSTEM)
    communities = w.geo.communities["community_name"].to_pylist()
    start = 0
    for ep, ep_day in enumerate(epi.episodes["start_day"].to_pylist()):
        day = w.month_starts[0] + np.timedelta64(int(ep_day) + 3, "D")
        m = int(np.searchsorted(w.month_starts, day, side="right") - 1)
        year = int(str(day)[:4])
        year_end = np.datetime64(f"{year}-12-31", "D")
        batch = f"{year}年第{ep + 1}轮"
        covered = rng.random(len(communities)) < 0.5
        for c in np.flatnonzero(covered):
            dw = np.flatnonzero(res & (comm == c))
            n = dw.size
            if n == 0:
                continue
            occ = pop.occupants[dw, m].astype(np.int64)
            hide = pop.group_rental[dw, m]
            seen = np.where(
                hide,
                np.round(occ * rng.uniform(0.3, 0.8, n)),
                occ + rng.integers(-1, 2, n) * (rng.random(n) < 0.1),
            )
            seen = np.maximum(seen, 0).astype(np.int64)
            nobody = rng.random(n) < 0.15  # nobody home: left blank
            visit = np.minimum(day + rng.integers(0, 7, n).astype("timedelta64[D]"), year_end)
            t = pa.table(
                {
                    "序号": row_keys(f"PC{ep}", start, n, 8),
                    "户主/联系人": names.take(pa.array(np.clip(holder[dw], 0, None))),
                    "住址": write_address(ctx.parts.take(dw), "no_district"),
                    "实住人数": pa.array(np.where(nobody, None, seen)),
                    "户籍人数": pop.registered[dw, m],
                    "有无外来人员": pa.array(
                        np.where(
                            nobody,
                            "未遇",
                            np.where(
                                (pop.situation[dw] == 1)
                                | (pop.situation[dw] == 3)
                                | (pop.situation[dw] == 4),
                                "有",
                                "无",
                            ),
                        )
                    ),
                    "排查日期": pc.strftime(
                        pa.array(visit.astype("datetime64[s]")), format="%m月%d日"
                    ),
                    "排查批次": pa.repeat(pa.scalar(batch), n),
                    "备注": pa.array(
                        np.where(
                            nobody,
                            "敲门无人应答",
                            np.where(hide & (rng.random(n) < 0.3), "疑似群租，拒不配合", ""),
                        )
                    ),
                }
            )
            start += n
            t = dirty(
                ctx,
                SYSTEM,
                f"{communities[c]}_{ep}",
                t,
                "序号",
                "住址",
                dirt.chinese_numerals,
                rng,
                0.3,
                "chinese_numerals",
            )
            ctx.truth.link("dwelling", SYSTEM, f"{communities[c]}_{ep}", "序号", t["序号"], dw)
            title = f"{communities[c]}{year}年入户排查登记表（第{ep + 1}轮）"
            ctx.count(
                SYSTEM,
                write_xlsx(
                    folder / f"{communities[c]}_第{ep + 1}轮排查.xlsx",
                    [Sheet("排查表", t, title_rows=[title])],
                ),
            )
