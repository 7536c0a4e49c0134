"""公安 户籍 — household registration: every person whose hukou is in the zone, one GB18030 CSV
with Chinese headers, the register's full addresses (sometimes with old road names)."""

from __future__ import annotations

from functools import partial

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from citybrain.sim import dirt
from citybrain.sim.addresses import write_address
from citybrain.sim.formats import write_csv
from citybrain.sim.ids import pick
from citybrain.sim.systems.base import SystemContext, dirty_columns, row_keys
from citybrain.sim.systems.utility import road_aliases

SYSTEM = "police_household"
_RELATION = ["户主", "配偶", "子", "女", "父亲", "母亲", "其他"]


def build(ctx: SystemContext) -> None:
    w = ctx.world
    p = w.pop.persons
    rng = ctx.rng(SYSTEM)
    rows = np.flatnonzero(p["hukou_dwelling_id"].to_numpy() >= 0)
    sub = p.take(pa.array(rows))
    dw = sub["hukou_dwelling_id"].to_numpy()
    member = sub["member"].to_numpy()
    male = sub["male"].to_numpy(zero_copy_only=False)
    rel = np.select(
        [member == 0, member == 1, member == 4, member == 5, member >= 2],
        [0, 1, 4, 5, np.where(male, 2, 3)],
        6,
    )
    n = rows.size
    moved_in = w.month_starts[0] - rng.integers(30, 365 * 30, n).astype("timedelta64[D]")
    t = pa.table(
        {
            "记录号": row_keys("HJ", 0, n, 9),
            "户号": pa.array(sub["household_id"].to_numpy() + 510109_000000).cast(pa.string()),
            "姓名": sub["name"],
            "性别": pc.if_else(sub["male"], "男", "女"),
            "民族": pick(
                ["汉族", "彝族", "藏族", "回族", "羌族"],
                rng.choice(5, n, p=[0.95, 0.02, 0.01, 0.01, 0.01]),
            ),
            "出生日期": pc.strftime(sub["birth_date"].cast(pa.timestamp("s")), format="%Y%m%d"),
            "公民身份号码": sub["id_number"],
            "与户主关系": pick(_RELATION, rel),
            "户籍地址": write_address(ctx.parts.take(dw), "full"),
            "迁入日期": pc.strftime(pa.array(moved_in.astype("datetime64[s]")), format="%Y-%m-%d"),
            "联系电话": sub["phone"],
        }
    )
    key = "记录号"
    t = dirty_columns(
        ctx,
        SYSTEM,
        "户籍人口",
        t,
        key,
        rng,
        [
            (
                "公民身份号码",
                partial(dirt.wrong_check_digit, kind="id_number"),
                0.003,
                "wrong_check_digit",
            ),
            ("姓名", dirt.name_typos, 0.01, "name_typo"),
            (
                "户籍地址",
                partial(dirt.old_road_names, aliases=road_aliases(ctx)),
                0.04,
                "old_road_name",
            ),
            ("联系电话", dirt.nulls, 0.1, "missing_value"),
        ],
    )
    ctx.truth.link("person", SYSTEM, "户籍人口", key, t[key], sub["person_id"].to_numpy())
    ctx.truth.link("dwelling", SYSTEM, "户籍人口", key, t[key], dw)
    ctx.count(SYSTEM, write_csv(ctx.dir(SYSTEM) / "户籍人口.csv", t, encoding="gb18030"))
