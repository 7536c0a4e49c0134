"""公安 居住证 — residence permits in a SQLite table of the police system (JZZ_XX, pinyin-initial
columns). Permits are issued when a migrant moves in and cancelled when they leave, so group
rentals show churn: many short permits at one address."""

from __future__ import annotations

from functools import partial

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from citybrain.sim import dirt
from citybrain.sim.addresses import mixed
from citybrain.sim.formats import write_connection_file, write_sqlite
from citybrain.sim.systems.base import SystemContext, dirty_columns, row_keys

SYSTEM = "police_residence_permit"


def build(ctx: SystemContext) -> None:
    w = ctx.world
    p = w.pop.persons
    rng = ctx.rng(SYSTEM)
    rows = np.flatnonzero(p["permit_dwelling_id"].to_numpy() >= 0)
    sub = p.take(pa.array(rows))
    n = rows.size
    dw = sub["permit_dwelling_id"].to_numpy()
    in_m = sub["in_month"].to_numpy()
    out_m = sub["out_month"].to_numpy()
    starts = w.month_starts
    issued = np.where(
        in_m > 0,
        starts[np.clip(in_m, 0, w.months)] + rng.integers(3, 40, n).astype("timedelta64[D]"),
        starts[0] - rng.integers(30, 900, n).astype("timedelta64[D]"),
    )
    left = out_m < w.months
    ended = starts[np.clip(out_m, 0, w.months)] + rng.integers(0, 25, n).astype("timedelta64[D]")
    # permits are renewed yearly while the holder stays, so the latest expiry is after the period
    years = np.maximum(1, np.ceil((starts[-1] - issued).astype(np.int64) / 365)).astype(np.int64)
    expires = issued + (np.where(left, 1, years) * 365).astype("timedelta64[D]")
    status = np.where(left, "注销", np.where(expires < starts[-1], "过期", "有效"))

    def day(a: np.ndarray) -> pa.Array:
        return pc.strftime(pa.array(a.astype("datetime64[s]")), format="%Y-%m-%d")

    t = pa.table(
        {
            "JZZBH": row_keys("JZZ5101", 0, n, 9),
            "XM": sub["name"],
            "XB": pc.if_else(sub["male"], "1", "2"),
            "ZJHM": sub["id_number"],
            "JZDZ": mixed(ctx.parts.take(dw), ["full", "no_district", "road"], rng),
            "QFRQ": day(issued),
            "YXQZ": day(expires),
            "ZXRQ": pc.if_else(pa.array(left), day(ended), pa.scalar(None, pa.string())),
            "ZT": pa.array(status),
            "LXDH": sub["phone"],
        }
    )
    t = dirty_columns(
        ctx,
        SYSTEM,
        "JZZ_XX",
        t,
        "JZZBH",
        rng,
        [
            ("ZJHM", partial(dirt.wrong_check_digit, kind="id_number"), 0.004, "wrong_check_digit"),
            ("XM", dirt.name_typos, 0.015, "name_typo"),
            ("JZDZ", dirt.chinese_numerals, 0.05, "chinese_numerals"),
            ("LXDH", dirt.phone_formats, 0.05, "phone_format"),
            ("JZDZ", dirt.drop_admin_levels, 0.1, "dropped_admin_levels"),
            ("XM", dirt.swap_given_name, 0.005, "swapped_given_name"),
        ],
    )
    ctx.truth.link("person", SYSTEM, "JZZ_XX", "JZZBH", t["JZZBH"], sub["person_id"].to_numpy())
    ctx.truth.link("dwelling", SYSTEM, "JZZ_XX", "JZZBH", t["JZZBH"], dw)
    folder = ctx.dir(SYSTEM)
    ctx.count(SYSTEM, write_sqlite(folder / "police.db", "JZZ_XX", t))
    write_connection_file(folder, "sqlite", path="police.db", table="JZZ_XX")
