"""Hourly lot occupancy and an hour-ahead forecast per lot, against "same as now".

Occupancy (1 − free / capacity) is averaged per lot and hour in the engine; a reading with no
capacity, or free places outside 0 … capacity, is left out and counted. The forecast for the next
hour is the occupancy now plus the change the lot typically shows between these two hours of the
day on this kind of day (workday or not), learnt only from the days before: a lot that fills at
half past eight is forecast to fill, where "same as now" waits until it has. A lot with no history
for those hours yet is forecast "same as now".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import ibis.expr.types as ir
import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from citybrain.core.engine import Engine


def hourly(engine: Engine, occupancy: ir.Table) -> tuple[pd.DataFrame, int]:
    """Per lot and hour: name, capacity, mean occupancy; and the readings left out."""
    o = occupancy
    usable = (
        o.lot_id.notnull()
        & o.updated_at.notnull()
        & (o.capacity.cast("float64") > 0)
        & o.free.cast("float64").between(0, o.capacity.cast("float64"))
    )
    good = o.filter(usable)
    share = 1.0 - good.free.cast("float64") / good.capacity.cast("float64")
    per_hour = good.mutate(hour=good.updated_at.truncate("h"), occ=share).group_by(
        ["lot_id", "hour"]
    )
    table = per_hour.aggregate(
        name=good.name.max(), capacity=good.capacity.max(), occupancy=share.mean()
    )
    frame = engine.to_pandas(table)
    left_out = engine.to_arrow(o.filter(~usable.fill_null(False)).count().as_table())
    bad = int(left_out.column(0)[0].as_py() or 0)
    return frame, bad


def forecast(frame: pd.DataFrame) -> pd.DataFrame:
    """Each lot-hour with ``now``, ``actual`` (the next hour's, when known), ``forecast`` and
    ``baseline`` (same as now)."""
    f = frame.sort_values(["lot_id", "hour"], ignore_index=True)
    hour = pd.to_datetime(f["hour"])
    nxt = hour + pd.Timedelta(hours=1)
    f["slot"] = _slot(hour)
    f["next_slot"] = _slot(nxt)
    # typical change from this slot to the next, per lot, from earlier days only
    follow = f[["lot_id", "hour", "occupancy"]].assign(hour=hour - pd.Timedelta(hours=1))
    f = f.merge(follow.rename(columns={"occupancy": "actual"}), on=["lot_id", "hour"], how="left")
    f["step"] = f["actual"] - f["occupancy"]
    seen = f.groupby(["lot_id", "slot"])["step"]
    total = seen.transform(lambda s: s.fillna(0).cumsum().shift(1, fill_value=0.0))
    count = seen.transform(lambda s: s.notna().cumsum().shift(1, fill_value=0))
    typical = np.where(count > 0, total / count.clip(lower=1), 0.0)
    f["baseline"] = f["occupancy"]
    f["forecast"] = np.clip(f["occupancy"] + typical, 0.0, 1.0)
    return f.drop(columns=["step", "slot", "next_slot"])


def _slot(hour: pd.Series) -> pd.Series:
    """Hour of the day, on workdays 0-23 and on weekends 24-47."""
    weekend = hour.dt.day_of_week >= 5
    out: pd.Series = hour.dt.hour + 24 * weekend.astype(int)
    return out


def mae(f: pd.DataFrame, column: str) -> float:
    known = f["actual"].notna()
    return float(np.mean(np.abs(f.loc[known, column] - f.loc[known, "actual"])))
