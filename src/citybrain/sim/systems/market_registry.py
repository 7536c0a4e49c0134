"""市场监管 企业登记 — the enterprise register: GB18030 CSV with Chinese headers, registered
addresses as written on the licence, legal representatives with ID numbers."""

from __future__ import annotations

from functools import partial

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from citybrain.sim import dirt
from citybrain.sim.addresses import mixed
from citybrain.sim.formats import write_csv
from citybrain.sim.systems.base import SystemContext, dirty_columns, row_keys

SYSTEM = "market_registry"


def build(ctx: SystemContext) -> None:
    w = ctx.world
    e = w.ent.table
    rng = ctx.rng(SYSTEM)
    p = w.pop.persons
    rep = e["legal_rep_person_id"].to_numpy()
    n = len(e)
    # firms founded after the period's end are not on the register yet
    t = pa.table(
        {
            "登记序号": row_keys("SCJG", 0, n, 8),
            "统一社会信用代码": e["uscc"],
            "企业名称": e["name"],
            "市场主体类型": pc.if_else(e["individual"], "个体工商户", "有限责任公司"),
            "法定代表人": p["name"].combine_chunks().take(pa.array(rep)),
            "法定代表人证件号码": p["id_number"].combine_chunks().take(pa.array(rep)),
            "成立日期": pc.strftime(e["established"].cast(pa.timestamp("s")), format="%Y-%m-%d"),
            "注册资本(万元)": e["registered_capital"],
            "行业代码": e["industry_code"],
            "行业门类": e["industry_name"],
            "住所": mixed(ctx.parts.take(e["dwelling_id"].to_numpy()), ["full", "road"], rng),
            "登记状态": pa.repeat(pa.scalar("存续"), n),
            "登记机关": pa.repeat(pa.scalar("示例高新区市场监督管理局"), n),
        }
    )
    key = "登记序号"
    t = dirty_columns(
        ctx,
        SYSTEM,
        "企业登记",
        t,
        key,
        rng,
        [
            (
                "统一社会信用代码",
                partial(dirt.wrong_check_digit, kind="uscc"),
                0.003,
                "wrong_check_digit",
            ),
            ("法定代表人证件号码", dirt.nulls, 0.05, "missing_value"),
            ("法定代表人", dirt.name_typos, 0.01, "name_typo"),
            ("住所", dirt.drop_admin_levels, 0.15, "dropped_admin_levels"),
            ("住所", dirt.full_width, 0.03, "full_width"),
        ],
    )
    ctx.truth.link("enterprise", SYSTEM, "企业登记", key, t[key], e["enterprise_id"].to_numpy())
    ctx.truth.link("person", SYSTEM, "企业登记", key, t[key], rep)
    ctx.truth.link("dwelling", SYSTEM, "企业登记", key, t[key], e["dwelling_id"].to_numpy())
    _ = np
    ctx.count(SYSTEM, write_csv(ctx.dir(SYSTEM) / "企业登记信息.csv", t, encoding="gb18030"))
