"""Enterprises: USCC, name, industry (GB/T 4754-2017), registered address, legal representative,
size, and the month some of them fall into distress (the truth behind early warning and credit).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from citybrain.sim.geography import Geography
from citybrain.sim.ids import concat, pick, usccs
from citybrain.sim.people import CONFOUNDERS, Population
from citybrain.sim.rng import rng_for
from citybrain.sim.scales import Scale

# GB/T 4754-2017 section letter + class code, name, weight in a hi-tech zone
INDUSTRIES: tuple[tuple[str, str, float], ...] = (
    ("I6513", "应用软件开发", 14),
    ("I6511", "基础软件开发", 4),
    ("I6520", "集成电路设计", 5),
    ("I6531", "信息系统集成服务", 7),
    ("I6550", "信息处理和存储支持服务", 4),
    ("I6450", "互联网数据服务", 4),
    ("I6432", "互联网生活服务平台", 2),
    ("M7320", "工程和技术研究和试验发展", 6),
    ("M7484", "工程设计活动", 3),
    ("L7211", "企业总部管理", 3),
    ("L7251", "互联网广告服务", 3),
    ("C3973", "集成电路制造", 2),
    ("C2720", "化学药品制剂制造", 1),
    ("E4710", "住宅房屋建筑", 3),
    ("K7020", "物业管理", 3),
    ("K7030", "房地产中介服务", 3),
    ("H6210", "正餐服务", 6),
    ("H6220", "快餐服务", 5),
    ("F5212", "超级市场零售", 3),
    ("F5213", "便利店零售", 4),
    ("O8010", "家庭服务", 2),
    ("G5431", "普通货物道路运输", 2),
    ("N7820", "环境卫生管理", 1),
)
_BRAND_A = list("天华锦蓉创新智汇云科盛达信宏远鼎瑞博海川众联恒泰启明星辰")
_BRAND_B = list("通达为源成峰腾辉悦航极睿德安凯讯易捷和美佳康盈")
_SUFFIX = {
    "I": "科技",
    "M": "技术",
    "L": "管理",
    "C": "电子",
    "E": "建设",
    "K": "置业",
    "H": "餐饮",
    "F": "商贸",
    "O": "家政服务",
    "G": "物流",
    "N": "环境工程",
}


@dataclass(frozen=True)
class Enterprises:
    """One row per enterprise; ``distress_start`` is a month index or -1."""

    table: pa.Table

    def __len__(self) -> int:
        return len(self.table)


def build_enterprises(geo: Geography, pop: Population, scale: Scale, seed: int) -> Enterprises:
    """Enterprises registered in the zone's office rooms, plus home businesses in flats."""
    rng = rng_for(seed, "enterprises")
    offices = np.flatnonzero(geo.dwellings["use"].to_numpy(zero_copy_only=False) == "office")
    homes = np.flatnonzero(pop.confounder == CONFOUNDERS.index("home_business"))
    n_off = max(1, scale.enterprises - homes.size)
    n = n_off + homes.size
    # several firms often share one registered room (cluster registration), so draw with repeats
    dwelling = np.concatenate([offices[rng.integers(0, offices.size, n_off)], homes])
    individual = np.concatenate([rng.random(n_off) < 0.08, np.ones(homes.size, bool)])
    w = np.array([x[2] for x in INDUSTRIES])
    ind = rng.choice(len(INDUSTRIES), n, p=w / w.sum())
    shops = np.array([i for i, x in enumerate(INDUSTRIES) if x[0][0] in "HFO"])
    ind = np.where(individual, shops[rng.integers(0, shops.size, n)], ind)
    codes = [x[0] for x in INDUSTRIES]
    sect = np.array([c[0] for c in codes])[ind]
    brand = concat(
        pick(_BRAND_A, rng.integers(0, len(_BRAND_A), n)),
        pick(_BRAND_B, rng.integers(0, len(_BRAND_B), n)),
    )
    suffix = (
        pick([_SUFFIX[s] for s in sect.tolist()], np.arange(n)) if n else pa.array([], pa.string())
    )
    serial = pa.array(
        np.where(rng.random(n) < 0.15, np.char.add("", rng.integers(1, 9, n).astype(str)), "")
    )
    company = concat("成都", brand, serial, suffix, "有限公司")
    shop = concat(
        "示例高新区",
        brand,
        pick(["小吃店", "工作室", "便利店", "美甲店", "网店"], rng.integers(0, 5, n)),
    )
    name = pc.if_else(pa.array(individual), shop, company)
    uscc = usccs(rng, n, np.where(individual, 510109, 510100), np.where(individual, 2, 1))
    employees = np.where(
        individual, rng.integers(1, 4, n), np.maximum(1, rng.lognormal(2.4, 1.1, n))
    ).astype(np.int64)
    revenue = np.round(employees * rng.lognormal(2.3, 0.6, n), 2)  # 万元 per month
    months = scale.months
    start = np.datetime64(f"{scale.start_year}-{scale.start_month:02d}-01")
    age_days = rng.exponential(6 * 365, n).astype("timedelta64[D]")
    established = start - age_days
    # a few are founded during the period; they ramp up (a confounder for early warning)
    new = rng.random(n) < 0.05
    established[new] = start + rng.integers(0, months * 30, int(new.sum())).astype("timedelta64[D]")
    est_month = (established.astype("datetime64[M]") - start.astype("datetime64[M]")).astype(
        np.int64
    )
    distress = np.full(n, -1, np.int64)
    # distress starts after a normal month or two, so there is a "before" to compare with
    cand = (est_month < 0) & (rng.random(n) < scale.distress_share) & (months >= 3)
    lo = 1 if months < 6 else 2
    distress[cand] = rng.integers(lo, max(lo + 1, months - 1), int(cand.sum()))
    adults = np.flatnonzero(
        pop.persons["birth_date"].to_numpy().astype("datetime64[Y]").astype(np.int64) + 1970
        < scale.start_year - 22
    )
    home_owner = _owner_of(pop, homes)
    rep = adults[rng.integers(0, adults.size, n)]
    rep[n_off:] = np.where(home_owner >= 0, home_owner, rep[n_off:])
    table = pa.table(
        {
            "enterprise_id": np.arange(n, dtype=np.int64),
            "uscc": uscc,
            "name": name,
            "industry_code": pick(codes, ind),
            "industry_name": pick([x[1] for x in INDUSTRIES], ind),
            "individual": individual,
            "dwelling_id": dwelling.astype(np.int64),
            "legal_rep_person_id": rep.astype(np.int64),
            "established": pa.array(established.astype("datetime64[D]")),
            "established_month": est_month,
            "registered_capital": np.round(
                np.where(individual, rng.integers(1, 10, n), rng.lognormal(5.0, 1.2, n)), 1
            ),
            "employees": employees,
            "revenue_base": revenue,
            "seasonal": sect == "H",
            "distress_start": distress,
        }
    )
    return Enterprises(table)


def _owner_of(pop: Population, dwellings: np.ndarray) -> np.ndarray:
    """Head of household living in each dwelling (or -1)."""
    p = pop.persons
    heads = (p["member"].to_numpy() == 0) & (p["dwelling_id"].to_numpy() >= 0)
    dw = p["dwelling_id"].to_numpy()[heads]
    pid = p["person_id"].to_numpy()[heads]
    lookup = np.full(int(dw.max()) + 2 if dw.size else 1, -1, np.int64)
    lookup[dw[::-1]] = pid[::-1]  # first head wins
    safe = np.clip(dwellings, 0, lookup.size - 1)
    return np.where(dwellings < lookup.size, lookup[safe], -1)
