"""法院 失信被执行人 — the dishonest-debtor list as JSON Lines (the public list's field names),
firms and natural persons, person ID numbers masked in the middle as published."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from citybrain.sim.formats import write_jsonl
from citybrain.sim.ids import concat, padded, pick
from citybrain.sim.systems.base import SystemContext
from citybrain.sim.systems.events import firm_events

SYSTEM = "court_dishonest"
_COURTS = ["成都高新技术产业开发区人民法院", "四川天府新区成都片区人民法院", "成都市中级人民法院"]
_DUTY = ["被执行人应支付申请人货款及利息", "支付拖欠工资", "偿还借款本金及利息", "支付租金及违约金"]
_TYPES = [
    "有履行能力而拒不履行生效法律文书确定义务",
    "违反财产报告制度",
    "以虚假诉讼、虚假仲裁或者以隐匿、转移财产等方法规避执行",
]


def build(ctx: SystemContext) -> None:
    w = ctx.world
    rng = ctx.rng(SYSTEM)
    e = w.ent.table
    firms, f_month = firm_events(w, rng, 0.55, 0.006, (2, 8))
    p = w.pop.persons
    # legal representatives of listed firms are often listed too; a few residents on their own
    reps = e["legal_rep_person_id"].to_numpy()[firms]
    with_rep = rng.random(firms.size) < 0.35
    adults = np.flatnonzero(p["phone"].is_valid().to_numpy(zero_copy_only=False))
    k = max(1, int(adults.size * 0.0015))
    people = np.concatenate([reps[with_rep], adults[rng.integers(0, adults.size, k)]])
    p_month = np.concatenate([f_month[with_rep], rng.integers(0, w.months, k)])
    n_f, n_p = firms.size, people.size
    n = n_f + n_p
    month = np.concatenate([f_month, p_month])
    reg = w.month_starts[month] + rng.integers(0, 28, n).astype("timedelta64[D]")
    publish = reg + rng.integers(20, 60, n).astype("timedelta64[D]")
    year = reg.astype("datetime64[Y]").astype(np.int64) + 1970
    ids = p["id_number"].combine_chunks().take(pa.array(people))
    masked = concat(
        pc.utf8_slice_codeunits(ids, 0, 10), "****", pc.utf8_slice_codeunits(ids, 14, 18)
    )
    t = pa.table(
        {
            "case_code": concat(
                "（",
                pa.array(year).cast(pa.string()),
                "）川0191执",
                padded(rng.permutation(n) + 1000, 5),
                "号",
            ),
            "iname": pa.concat_arrays(
                [
                    e["name"].combine_chunks().take(pa.array(firms)),
                    p["name"].combine_chunks().take(pa.array(people)),
                ]
            ),
            "type": pa.array(["法人或其他组织"] * n_f + ["自然人"] * n_p),
            "cardnum": pa.concat_arrays([e["uscc"].combine_chunks().take(pa.array(firms)), masked]),
            "court_name": pick(_COURTS, rng.integers(0, len(_COURTS), n)),
            "area_name": pa.repeat(pa.scalar("四川"), n),
            "duty": pick(_DUTY, rng.integers(0, len(_DUTY), n)),
            "performance": pick(["全部未履行", "部分未履行"], rng.integers(0, 2, n)),
            "disrupt_type_name": pick(_TYPES, rng.integers(0, len(_TYPES), n)),
            "reg_date": pa.array(reg.astype("datetime64[D]")),
            "publish_date": pc.strftime(
                pa.array(publish.astype("datetime64[s]")), format="%Y年%m月%d日"
            ),
        }
    )
    key = t["case_code"]
    ctx.truth.link(
        "enterprise",
        SYSTEM,
        "dishonest",
        "case_code",
        key,
        np.concatenate([firms, np.full(n_p, -1)]),
    )
    ctx.truth.link(
        "person", SYSTEM, "dishonest", "case_code", key, np.concatenate([np.full(n_f, -1), people])
    )
    ctx.count(SYSTEM, write_jsonl(ctx.dir(SYSTEM) / "dishonest.jsonl", t))
