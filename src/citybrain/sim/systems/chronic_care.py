"""卫健 慢病管理与家庭医生签约 — the community health centres' register of residents under
chronic-disease management or with special needs (高血压, 糖尿病, 慢阻肺, 透析, 孕产妇, 残疾), one
UTF-8 CSV exported from the basic public-health system: id number, condition category, managing
clinic (the street's 社区卫生服务中心) and the last follow-up date. One row per managed person
(the category that needs most care); not everyone with a condition has signed a family doctor,
so the register lists about three in four of them. ID numbers are sometimes blank (the phone is
there). Truth: ``chronic_conditions`` (every resident with a condition, listed or not)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from citybrain.sim import dirt
from citybrain.sim.formats import write_csv
from citybrain.sim.ids import pick
from citybrain.sim.systems.base import SystemContext, dirty, row_keys

SYSTEM = "health_chronic_care"
#: categories, most care first (a person is listed under the first that applies)
CONDITIONS = ("透析", "孕产妇", "残疾", "慢阻肺", "糖尿病", "高血压")
LISTED_SHARE = 0.75


def _conditions(age: np.ndarray, male: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Index into CONDITIONS of each person's most demanding condition, or -1."""
    n = age.size
    old, mid = age >= 60, (age >= 40) & (age < 60)
    chance = np.stack(
        [
            np.where(age >= 30, 0.003, 0.0),  # 透析
            np.where(~male & (age >= 20) & (age < 40), 0.04, 0.0),  # 孕产妇
            np.full(n, 0.02),  # 残疾
            np.where(old, 0.05, 0.0),  # 慢阻肺
            np.where(old, 0.12, np.where(mid, 0.05, 0.0)),  # 糖尿病
            np.where(old, 0.35, np.where(mid, 0.12, 0.0)),  # 高血压
        ]
    )
    has = rng.random(chance.shape) < chance
    first = np.argmax(has, axis=0)
    return np.where(has.any(axis=0), first, -1)


def build(ctx: SystemContext) -> None:
    w = ctx.world
    rng = ctx.rng(SYSTEM)
    p = w.pop.persons
    dwelling = p["dwelling_id"].to_numpy()
    residents = np.flatnonzero(dwelling >= 0)
    end = w.month_starts[-1].astype("datetime64[D]")
    birth = p["birth_date"].combine_chunks().to_numpy(zero_copy_only=False)[residents]
    age = ((end - birth.astype("datetime64[D]")).astype(np.int64) / 365.25).astype(np.int64)
    male = p["male"].to_numpy(zero_copy_only=False)[residents].astype(bool)
    condition = _conditions(age, male, rng)
    ill = np.flatnonzero(condition >= 0)
    listed = rng.random(ill.size) < LISTED_SHARE
    person = residents[ill]
    ctx.truth.write(
        "chronic_conditions",
        pa.table(
            {
                "person_id": person,
                "condition": pick(list(CONDITIONS), condition[ill]),
                "listed": listed,
            }
        ),
    )
    person, cond = person[listed], condition[ill][listed]
    n = person.size
    est = w.geo.dwellings["estate_id"].to_numpy()[dwelling[person]]
    comm = w.geo.estates["community_id"].to_numpy()[est]
    street = w.geo.communities["street_id"].to_numpy()[comm]
    names = w.geo.streets["street_name"].to_pylist()
    clinics = [name.removesuffix("街道") + "社区卫生服务中心" for name in names]
    start = w.month_starts[0].astype("datetime64[D]")
    span = int((end - start).astype(np.int64))
    followed = start + rng.integers(max(span - 120, 0), span, n).astype("timedelta64[D]")
    signed = followed - rng.integers(30, 3 * 365, n).astype("timedelta64[D]")
    idx = pa.array(person)
    t = pa.table(
        {
            "档案编号": row_keys("MB", 0, n, 9),
            "姓名": p["name"].combine_chunks().take(idx),
            "身份证号": p["id_number"].combine_chunks().take(idx),
            "联系电话": p["phone"].combine_chunks().take(idx),
            "管理类别": pick(list(CONDITIONS), cond),
            "管理机构": pick(clinics, street),
            "签约日期": pc.strftime(pa.array(signed.astype("datetime64[s]")), format="%Y-%m-%d"),
            "末次随访日期": pc.strftime(
                pa.array(followed.astype("datetime64[s]")), format="%Y-%m-%d"
            ),
        }
    )
    t = dirty(ctx, SYSTEM, "慢病签约", t, "档案编号", "身份证号", dirt.nulls, rng, 0.03,
              "missing_value")  # fmt: skip
    ctx.truth.link("person", SYSTEM, "慢病签约", "档案编号", t["档案编号"], person)
    ctx.count(SYSTEM, write_csv(ctx.dir(SYSTEM) / "慢病管理签约名册.csv", t))
