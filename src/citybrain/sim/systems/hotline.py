"""12345 热线 — citizens' complaints as free Chinese text, XLSX per year with a title row. Group
rentals draw complaints about crowding, partitions, noise and fire risk from neighbours; students
and large families draw noise complaints too; most complaints are about unrelated things."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from citybrain.sim import dirt
from citybrain.sim.addresses import write_address
from citybrain.sim.formats import Sheet, write_xlsx
from citybrain.sim.ids import concat, pick
from citybrain.sim.people import CONFOUNDERS, STUDENTS
from citybrain.sim.systems.base import SystemContext, dirty_columns, row_keys

SYSTEM = "hotline_12345"
# category, [(text before the address, text after)]
TEMPLATES: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    (
        "群租",
        (
            ("反映", "疑似群租，一套房住了十几个人，进出人员复杂，请相关部门核查。"),
            ("市民称", "房东将房屋隔成多个小间对外出租，住户很多，存在安全隐患。"),
            ("来电人反映", "每天很多陌生人进出，像是群租房，电梯非常拥挤。"),
        ),
    ),
    (
        "违规隔断",
        (
            ("反映", "房屋被打隔断，改成六七个单间出租，要求查处。"),
            ("市民投诉", "内部私自改造隔断，卫生间也被改成了房间。"),
        ),
    ),
    (
        "消防隐患",
        (
            ("反映", "住户在屋内给电瓶车充电，楼道堆满杂物，存在消防隐患。"),
            ("来电反映", "人员密集，私拉电线，担心发生火灾。"),
        ),
    ),
    (
        "噪音扰民",
        (
            ("反映", "晚上经常很吵，半夜还有人大声说话，严重影响休息。"),
            ("市民称", "楼上住户每天深夜噪音扰民，多次沟通无果。"),
        ),
    ),
    ("路灯故障", (("反映", "附近路灯不亮已经一周，夜间出行不便。"),)),
    ("垃圾清运", (("反映", "小区垃圾桶满了没人清运，气味很大。"),)),
    ("占道经营", (("反映", "门口有流动摊贩占道经营，影响通行。"),)),
    ("物业服务", (("投诉", "物业服务差，电梯经常故障无人维修。"),)),
    ("停车管理", (("反映", "周边乱停车严重，消防通道被占用。"),)),
    ("施工噪音", (("反映", "附近工地夜间施工，噪音很大。"),)),
    ("餐饮油烟", (("反映", "楼下餐馆油烟直排，影响居民生活。"),)),
)
_GROUP_CATS = [0, 1, 2, 3]
_NOISE = 3
_OTHER = list(range(4, len(TEMPLATES)))


def build(ctx: SystemContext) -> None:
    w = ctx.world
    rng = ctx.rng(SYSTEM)
    pop = w.pop
    months = w.months
    res = np.flatnonzero(pop.situation != 5)
    noisy = np.isin(pop.confounder, [CONFOUNDERS.index("large_family")]) | (
        pop.situation == STUDENTS
    )
    # complaint probability per dwelling-month, by what really goes on there
    prob = np.full((res.size, months), 0.006)
    prob += np.where(pop.group_rental[res], 0.10, 0.0)
    prob += np.where(noisy[res, None], 0.02, 0.0)
    hit = rng.random(prob.shape) < prob
    r, m = np.nonzero(hit)
    dw = res[r]
    n = dw.size
    group = pop.group_rental[dw, m]
    noisy_dw = noisy[dw]
    cat = np.where(
        group & (rng.random(n) < 0.85),
        rng.choice(_GROUP_CATS, n),
        np.where(noisy_dw & (rng.random(n) < 0.7), _NOISE, rng.choice(_OTHER, n)),
    )
    variant = rng.integers(0, 3, n) % np.array([len(TEMPLATES[c][1]) for c in cat])
    before = pick([b for _, v in TEMPLATES for b, _ in v], _flat_index(cat, variant))
    after = pick([a for _, v in TEMPLATES for _, a in v], _flat_index(cat, variant))
    parts = ctx.parts.take(dw)
    # neighbours name the building and floor, or the flat itself, or just the estate
    how = rng.integers(0, 3, n)
    place = pc.if_else(
        pa.array(how == 0),
        write_address(parts, "building"),
        pc.if_else(
            pa.array(how == 1), write_address(parts, "estate"), concat(parts.estate, "小区")
        ),
    )
    callers = _callers(ctx, dw, rng)
    p = w.pop.persons
    day = w.month_starts[m] + rng.integers(0, 28, n).astype("timedelta64[D]")
    ts = day.astype("datetime64[s]") + rng.integers(7 * 3600, 23 * 3600, n).astype("timedelta64[s]")
    order = np.argsort(ts, kind="stable")
    t = pa.table(
        {
            "工单编号": row_keys("12345", 0, n, 10),
            "来电时间": pc.strftime(pa.array(ts[order]), format="%Y-%m-%d %H:%M:%S"),
            "诉求类别": pick([c for c, _ in TEMPLATES], cat[order]),
            "诉求内容": concat(before, place, after).take(pa.array(order)),
            "事发地址": place.take(pa.array(order)),
            "来电人": pc.if_else(
                pa.array(callers[order] >= 0),
                p["name"].combine_chunks().take(pa.array(np.clip(callers[order], 0, None))),
                "匿名",
            ),
            "联系电话": p["phone"]
            .combine_chunks()
            .take(pa.array(np.clip(callers[order], 0, None))),
            "所属街道": parts.street.take(pa.array(order)),
        }
    )
    t = t.set_column(
        6,
        "联系电话",
        pc.if_else(pa.array(callers[order] >= 0), t["联系电话"], pa.scalar(None, pa.string())),
    )
    t = dirty_columns(
        ctx,
        SYSTEM,
        "工单",
        t,
        "工单编号",
        rng,
        [
            ("诉求内容", dirt.full_width, 0.05, "full_width"),
            ("事发地址", dirt.noise_words, 0.15, "noise_words"),
            ("事发地址", dirt.address_typos, 0.03, "address_typo"),
        ],
    )
    moved = dirt.shuffle_rows(t, rng, 0.03, window=50)
    ctx.truth.dirt(
        SYSTEM, "工单", "工单编号", moved.table["工单编号"], moved.touched, "*", "out_of_order"
    )
    t = moved.table
    order = order[moved.source_row]
    ctx.truth.link("dwelling", SYSTEM, "工单", "工单编号", t["工单编号"], dw[order])
    ctx.truth.link("person", SYSTEM, "工单", "工单编号", t["工单编号"], callers[order])
    years = pc.utf8_slice_codeunits(t["来电时间"], 0, 4).to_numpy(zero_copy_only=False)
    folder = ctx.dir(SYSTEM)
    for y in sorted(set(years.tolist())):
        sub = t.filter(pa.array(years == y))
        title = f"{y}年 示例高新区12345热线工单明细"
        ctx.count(
            SYSTEM,
            write_xlsx(
                folder / f"12345工单_{y}.xlsx", [Sheet("工单明细", sub, title_rows=[title])]
            ),
        )


def _flat_index(cat: np.ndarray, variant: np.ndarray) -> np.ndarray:
    offsets = np.cumsum([0] + [len(v) for _, v in TEMPLATES])[:-1]
    flat: np.ndarray = offsets[cat] + variant
    return flat


def _callers(ctx: SystemContext, dw: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A neighbour in the same building calls (or the caller stays anonymous)."""
    p = ctx.world.pop.persons
    home = p["dwelling_id"].to_numpy()
    adult = p["phone"].is_valid().to_numpy(zero_copy_only=False) & (home >= 0)
    bld = ctx.world.geo.dwellings["building_id"].to_numpy()
    cand = np.flatnonzero(adult)
    cand_b = bld[home[cand]]
    order = np.argsort(cand_b, kind="stable")
    cand, cand_b = cand[order], cand_b[order]
    lo = np.searchsorted(cand_b, bld[dw], "left")
    hi = np.searchsorted(cand_b, bld[dw], "right")
    size = hi - lo
    pick_i = lo + (rng.random(dw.size) * np.maximum(size, 1)).astype(np.int64)
    caller = np.where(size > 0, cand[np.clip(pick_i, 0, cand.size - 1)], -1)
    return np.where(rng.random(dw.size) < 0.2, -1, caller)
