"""Unsupervised scoring: robust peer-relative anomalies combined into one score in [0, 1].

Peers are comparable dwellings in the same month (so the season cancels out): the same estate
and building with a similar floor area, falling back to the estate, then to the area band over the
whole city when a group is too small. Each signal is a median/MAD z-score against the peers.

The **occupancy gap** is the number of people the meters imply (water and gas each divided by
the peers' median use per registered person, the two averaged) minus the registered people.

Calibration: the signals are combined in a logistic function whose weights are set by hand in
units a clerk understands — one unexplained occupant, one robust z of deliveries — so the raw
score is ``sigmoid(bias + Σ weight·signal)``; 0.5 means "the evidence of about four unexplained
occupants backed by deliveries". **Persistence**: the final score of a month is the smaller of
its own raw score and the higher of its neighbouring months' (previous, next — the next is known
for every month but the latest), so one anomalous month alone is never flagged, and a run of
anomalous months gets a bonus per further month in a five-month window.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

MIN_PEERS = 8
AREA_BAND_M2 = 20.0
MAD_SCALE = 1.4826


@dataclass(frozen=True)
class Weights:
    """Weights of the logistic combination (see the module docstring for the calibration)."""

    bias: float = -10.0
    gap: float = 1.2  # per unexplained occupant
    phones: float = 0.8  # per robust z of distinct recipient phones
    items: float = 0.6  # per robust z of delivered items
    usage: float = 0.5  # per robust z of the lower of water and gas
    churn: float = 1.2  # per residence permit issued or cancelled in the last 12 months
    complaints: float = 2.0  # per crowding complaint at the dwelling (half at its unit)
    persistence: float = 0.3  # share of the doubt removed per further anomalous month (of 5)


def peer_groups(frame: pd.DataFrame) -> NDArray[np.int64]:
    """A peer-group code per row: building × area band, else estate × band, else band."""
    area = frame["area_m2"].fillna(frame["area_m2"].median()).to_numpy(dtype=np.float64)
    band = np.floor(np.nan_to_num(area) / AREA_BAND_M2).astype(np.int64).clip(0, 999)
    building = frame.groupby(["estate_name", "building_no"], sort=False).ngroup().to_numpy()
    estate = frame.groupby("estate_name", sort=False).ngroup().to_numpy()
    months = max(int(frame["m"].nunique()), 1)
    chosen = np.full(len(frame), -1, dtype=np.int64)
    offset = 0
    for key in (building.astype(np.int64), estate.astype(np.int64), np.zeros(len(frame), np.int64)):
        group = key * 1000 + band
        codes, inverse = np.unique(group, return_inverse=True)
        sizes = np.bincount(inverse) / months
        take = (chosen < 0) & (sizes[inverse] >= MIN_PEERS)
        chosen[take] = offset + inverse[take]
        offset += len(codes)
    chosen[chosen < 0] = offset  # the whole city
    out: NDArray[np.int64] = chosen
    return out


def robust_z(
    values: pd.Series, groups: pd.Series
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Median/MAD z-score of ``values`` within ``groups``, and the group medians."""
    grouped = values.groupby(groups)
    median = grouped.transform("median")
    mad = (values - median).abs().groupby(groups).transform("median") * MAD_SCALE
    floor = max(float(np.nanmedian(mad.to_numpy(dtype=np.float64))), 1e-6) * 0.5
    z = (values - median) / np.maximum(mad.to_numpy(dtype=np.float64), floor)
    return z.to_numpy(dtype=np.float64), median.to_numpy(dtype=np.float64)


def _per_person_rate(usage: pd.Series, registered: pd.Series, groups: pd.Series) -> pd.Series:
    """Peers' median use per registered person (occupied, metered peers only)."""
    rate = (usage / registered).where((registered >= 1) & (usage > 0))
    by_group = rate.groupby(groups).transform("median")
    return by_group.fillna(rate.median())


def signals(frame: pd.DataFrame) -> pd.DataFrame:
    """Every peer-relative signal of every dwelling-month, with the peers' expected values."""
    month = pd.factorize(frame["m"])[0].astype(np.int64)
    codes = peer_groups(frame) * (int(month.max(initial=0)) + 1) + month
    groups = pd.Series(codes, index=frame.index)
    out = pd.DataFrame(index=frame.index)
    registered = frame["registered"].astype(float)
    inferred = []
    for utility in ("water", "gas"):
        usage = frame[utility].astype(float)
        rate = _per_person_rate(usage, registered, groups)
        inferred.append((usage / rate).to_numpy(dtype=np.float64))
        out[f"{utility}_pp"] = (usage / registered.clip(lower=1)).to_numpy()
        out[f"{utility}_pp_expected"] = rate.to_numpy()
        z, median = robust_z(pd.Series(np.log1p(usage), index=frame.index), groups)
        out[f"z_{utility}"] = z
    stacked = np.vstack(inferred)
    with np.errstate(all="ignore"):
        out["inferred"] = np.nanmean(np.where(np.isfinite(stacked), stacked, np.nan), axis=0)
    out["gap"] = np.nan_to_num(out["inferred"].to_numpy() - registered.to_numpy(), nan=0.0)
    for name in ("items", "phones"):
        z, median = robust_z(
            pd.Series(np.log1p(frame[name].astype(float)), index=frame.index), groups
        )
        out[f"z_{name}"] = np.nan_to_num(z)
        out[f"{name}_expected"] = np.expm1(median)
    lower_usage = np.fmin(out["z_water"].to_numpy(), out["z_gas"].to_numpy())
    out["z_usage"] = np.nan_to_num(lower_usage)
    out["churn"] = frame["permit_churn"].astype(float).to_numpy()
    out["complaints"] = (
        frame["complaints_dwelling"].astype(float) + 0.5 * frame["complaints_unit"].astype(float)
    ).to_numpy()
    return out


def contributions(signal_frame: pd.DataFrame, weights: Weights) -> pd.DataFrame:
    """Each signal's term in the logit (only evidence for a group rental counts, never against)."""
    return pd.DataFrame(
        {
            "gap": weights.gap * np.clip(signal_frame["gap"].to_numpy(), -2, 12),
            "phones": weights.phones * np.clip(signal_frame["z_phones"].to_numpy(), 0, 8),
            "items": weights.items * np.clip(signal_frame["z_items"].to_numpy(), 0, 8),
            "usage": weights.usage * np.clip(signal_frame["z_usage"].to_numpy(), 0, 8),
            "churn": weights.churn * np.clip(signal_frame["churn"].to_numpy(), 0, 5),
            "complaints": weights.complaints * np.clip(signal_frame["complaints"].to_numpy(), 0, 3),
        },
        index=signal_frame.index,
    )


def sigmoid(x: NDArray[np.float64]) -> NDArray[np.float64]:
    out: NDArray[np.float64] = 1.0 / (1.0 + np.exp(-x))
    return out


def persistent(
    raw: NDArray[np.float64], months: int, threshold: float, weights: Weights
) -> NDArray[np.float64]:
    """Raw monthly scores (a complete grid sorted by dwelling, month) → scores that persist."""
    grid = raw.reshape(-1, months)
    pad = np.zeros((grid.shape[0], 1))
    prev = np.hstack([pad, grid[:, :-1]])
    nxt = np.hstack([grid[:, 1:], pad])
    confirmed = np.minimum(grid, np.maximum(prev, nxt))
    above = np.hstack([pad, pad, (grid >= threshold).astype(np.float64), pad, pad])
    window = sum(above[:, k : k + months] for k in range(5))
    # each further anomalous month takes a share of the remaining doubt away (never reaching 1)
    further = np.clip(window - 2, 0, 3) * (confirmed >= threshold * 0.8)
    out: NDArray[np.float64] = (1 - (1 - confirmed) * (1 - weights.persistence) ** further).reshape(
        -1
    )
    return out


def score(frame: pd.DataFrame, threshold: float, weights: Weights | None = None) -> pd.DataFrame:
    """Signals, contributions, the raw and the final (persistent) score of every row.

    ``frame`` must be sorted by dwelling and month.
    """
    weights = weights or Weights()
    signal_frame = signals(frame)
    terms = contributions(signal_frame, weights)
    raw = sigmoid(weights.bias + terms.sum(axis=1).to_numpy(dtype=np.float64))
    signal_frame["raw_score"] = raw
    signal_frame["score"] = persistent(raw, int(frame["m"].nunique()), threshold, weights)
    for name in terms.columns:
        signal_frame[f"c_{name}"] = terms[name].to_numpy()
    return signal_frame
