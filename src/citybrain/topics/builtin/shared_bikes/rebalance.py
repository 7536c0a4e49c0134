"""Rebalancing suggestions (调度建议): "move N bikes of operator X from zone A to zone B".

At each snapshot, an operator's surplus in a zone over capacity (its bikes above its quota there,
never more than the zone's own excess) is sent to nearby zones where the same operator has bikes
to spare under its quota and the zone has room under its capacity. Distances are metres between
zone centres, measured by Shapely (an STRtree finds the pairs within ``radius_m``) on a local
equirectangular plane, as ``counts.nearby_free`` does: errors far below a zone's size in a city.

The assignment is nearest first and done in rounds, each round vectorised over every snapshot and
operator at once: each source asks its nearest target that still has room; a target asked by
several sources serves the nearest first (a cumulative sum per target); what is left over asks
the next-nearest target in the next round. No loop over bikes or zones.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from citybrain.topics.builtin.shared_bikes.counts import OPERATORS, Zones

M_PER_DEG_LAT = 110_574.0
M_PER_DEG_LON_EQUATOR = 111_320.0
MOVE_COLUMNS = ["bucket", "operator", "from_zone", "to_zone", "bikes", "distance_m"]


def zone_pairs(zones: Zones, radius_m: float) -> pd.DataFrame:
    """Ordered pairs of distinct zones whose centres are within ``radius_m``: src, dst, metres."""
    z = zones.table
    if len(z) < 2:
        return pd.DataFrame({"src": [], "dst": [], "distance_m": []})
    lat0 = float(np.nanmedian(z["lat"]))
    x = z["lon"].to_numpy(float) * M_PER_DEG_LON_EQUATOR * np.cos(np.radians(lat0))
    y = (z["lat"].to_numpy(float) - lat0) * M_PER_DEG_LAT
    points = shapely.points(x, y)
    tree = shapely.STRtree(points)
    src, dst = tree.query(points, predicate="dwithin", distance=radius_m)
    keep = src != dst
    src, dst = src[keep], dst[keep]
    ids = z["zone_id"].astype(str).to_numpy()
    return pd.DataFrame(
        {
            "src": ids[src],
            "dst": ids[dst],
            "distance_m": shapely.distance(points[src], points[dst]),
        }
    )


def operator_balance(frame: pd.DataFrame) -> pd.DataFrame:
    """Long form, one row per zone, snapshot and operator: ``surplus`` (bikes to move away: the
    operator's bikes over its quota in a zone over capacity, at most the zone's excess) and
    ``spare`` (room for the operator's bikes: under its quota and under the zone's capacity).
    Without a per-operator quota, an operator's share of the excess is its share of the bikes."""
    bikes = frame["bikes"].to_numpy(float)
    quota = frame["quota"].to_numpy(float)
    excess = np.clip(np.nan_to_num(bikes - quota, nan=0.0), 0.0, None)
    room = np.clip(np.nan_to_num(quota - bikes, nan=0.0), 0.0, None)
    parts = []
    for op in OPERATORS:  # three columns, not rows
        have = frame[op].to_numpy(float) if op in frame.columns else np.zeros(len(frame))
        own = frame.get(f"quota_{op}")
        if own is not None and own.notna().any():
            allowed = own.to_numpy(float)
            over = np.clip(np.nan_to_num(have - allowed, nan=0.0), 0.0, None)
            under = np.clip(np.nan_to_num(allowed - have, nan=0.0), 0.0, None)
        else:
            share = np.divide(have, bikes, out=np.zeros_like(have), where=bikes > 0)
            over = np.round(excess * share)
            under = room
        parts.append(
            pd.DataFrame(
                {
                    "zone_id": frame["zone_id"].astype(str).to_numpy(),
                    "bucket": frame["bucket"].to_numpy(),
                    "operator": op,
                    "surplus": np.floor(np.minimum(over, excess)),
                    "spare": np.floor(np.where(excess > 0, 0.0, np.minimum(under, room))),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def every_zone(frame: pd.DataFrame, zones: Zones) -> pd.DataFrame:
    """``frame`` with a row for every zone at every snapshot: a zone where no bike was counted is
    wholly free (no bikes, its quotas)."""
    z = zones.table.assign(zone_id=zones.table["zone_id"].astype(str))
    seen = frame.assign(zone_id=frame["zone_id"].astype(str))
    grid = pd.MultiIndex.from_product(
        [z["zone_id"], seen["bucket"].unique()], names=["zone_id", "bucket"]
    ).to_frame(index=False)
    missing = grid.merge(seen[["zone_id", "bucket"]], how="left", indicator=True)
    empty = missing.loc[missing["_merge"] == "left_only", ["zone_id", "bucket"]]
    empty = empty.assign(bikes=0, **dict.fromkeys(OPERATORS, 0)).merge(z, on="zone_id")
    out: pd.DataFrame = pd.concat([seen, empty], ignore_index=True)
    return out


def suggest_moves(
    frame: pd.DataFrame, zones: Zones, radius_m: float, rounds: int = 4
) -> pd.DataFrame:
    """Moves per snapshot: bucket, operator, from_zone, to_zone, bikes, distance_m."""
    if frame.empty:
        return pd.DataFrame({c: [] for c in MOVE_COLUMNS})
    balance = operator_balance(every_zone(frame, zones))
    sources = balance.loc[balance["surplus"] > 0, ["bucket", "operator", "zone_id", "surplus"]]
    targets = balance.loc[balance["spare"] > 0, ["bucket", "operator", "zone_id", "spare"]]
    pairs = zone_pairs(zones, radius_m)
    cand = sources.rename(columns={"zone_id": "src"}).merge(pairs, on="src")
    cand = cand.merge(
        targets.rename(columns={"zone_id": "dst"}), on=["bucket", "operator", "dst"]
    ).sort_values(["distance_m", "src", "dst"], ignore_index=True)
    surplus = cand[["bucket", "operator", "src", "surplus"]].drop_duplicates(
        ["bucket", "operator", "src"]
    )
    spare = cand[["bucket", "operator", "dst", "spare"]].drop_duplicates(
        ["bucket", "operator", "dst"]
    )
    cand = cand.drop(columns=["surplus", "spare"])
    moves = []
    for _ in range(rounds):  # a few rounds; each over every snapshot and operator at once
        live = cand.merge(surplus, on=["bucket", "operator", "src"]).merge(
            spare, on=["bucket", "operator", "dst"]
        )
        live = live.loc[(live["surplus"] > 0) & (live["spare"] > 0)]
        if live.empty:
            break
        ask = live.drop_duplicates(["bucket", "operator", "src"])  # each source's nearest
        ask = ask.sort_values(["distance_m", "src"], ignore_index=True)
        before = ask.groupby(["bucket", "operator", "dst"])["surplus"].cumsum() - ask["surplus"]
        n = np.clip(ask["spare"] - before, 0.0, ask["surplus"])
        got = ask.assign(bikes=n).loc[n > 0]
        if got.empty:
            break
        moves.append(got[["bucket", "operator", "src", "dst", "bikes", "distance_m"]])
        surplus = _less(surplus, got, "src", "surplus")
        spare = _less(spare, got, "dst", "spare")
        done = ask[["bucket", "operator", "src", "dst"]].assign(asked=True)
        cand = cand.merge(done, how="left", on=["bucket", "operator", "src", "dst"])
        cand = cand.loc[cand["asked"].isna()].drop(columns="asked")
    if not moves:
        return pd.DataFrame({c: [] for c in MOVE_COLUMNS})
    out = pd.concat(moves, ignore_index=True).rename(columns={"src": "from_zone", "dst": "to_zone"})
    out = out.groupby(["bucket", "operator", "from_zone", "to_zone"], as_index=False).agg(
        bikes=("bikes", "sum"), distance_m=("distance_m", "first")
    )
    out["bikes"] = out["bikes"].astype(np.int64)
    ordered: pd.DataFrame = out[MOVE_COLUMNS].sort_values(MOVE_COLUMNS[:4], ignore_index=True)
    return ordered


def _less(left: pd.DataFrame, got: pd.DataFrame, key: str, column: str) -> pd.DataFrame:
    """``left`` with what ``got`` moved taken off ``column`` (per snapshot, operator, zone)."""
    used = got.groupby(["bucket", "operator", key], as_index=False)["bikes"].sum()
    merged = left.merge(used, how="left", on=["bucket", "operator", key])
    merged[column] = merged[column] - merged["bikes"].fillna(0.0)
    return merged.drop(columns="bikes")
