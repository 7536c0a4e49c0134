"""Monthly truth of every enterprise: does it exist yet, revenue, tax, headcount, power.

Distressed firms decline from their start month (revenue first, headcount after a lag); seasonal
caterers dip and recover; new firms ramp up — the last two are what an early-warning model must not
mistake for distress. Month-to-month noise is multiplicative."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from citybrain.sim.world import World

_CATERING_SEASON = np.array([1.25, 1.3, 0.9, 0.95, 1.0, 0.85, 0.8, 0.8, 0.95, 1.15, 1.0, 1.2])


@dataclass(frozen=True)
class FirmMonth:
    """Per-enterprise values for one month (arrays as long as the enterprise table)."""

    alive: np.ndarray
    revenue: np.ndarray  # 万元
    tax: np.ndarray  # 万元
    headcount: np.ndarray
    power_factor: np.ndarray


def activity(world: World, m: int) -> np.ndarray:
    """How busy each enterprise is in month m relative to normal (0 before it exists): the
    decline after distress and the ramp-up of new firms, without noise (premises' power use
    follows it)."""
    e = world.ent.table
    est = e["established_month"].to_numpy()
    start = e["distress_start"].to_numpy()
    since = np.where((start >= 0) & (m >= start), m - start + 1, 0)
    ramp = np.clip((m - est + 1) / 6, 0.15, 1.0)
    level: np.ndarray = np.where(est <= m, (0.78**since) ** 0.7 * ramp, 0.0)
    return level


def premises_activity(world: World, m: int) -> np.ndarray:
    """Activity of the firm whose premises each dwelling is (1 where no firm is registered)."""
    e = world.ent.table
    dw = e["dwelling_id"].to_numpy()
    level = np.ones(len(world.geo.dwellings))
    # where several firms share a room, the first registered one sets the level
    level[dw[::-1]] = activity(world, m)[::-1]
    return level


def firm_month(world: World, m: int, rng: np.random.Generator) -> FirmMonth:
    e = world.ent.table
    n = len(e)
    est = e["established_month"].to_numpy()
    alive = est <= m
    start = e["distress_start"].to_numpy()
    since = np.where((start >= 0) & (m >= start), m - start + 1, 0)
    decline = 0.78**since
    ramp = np.clip((m - est + 1) / 6, 0.15, 1.0)
    season = np.where(
        e["seasonal"].to_numpy(), _CATERING_SEASON[(world.scale.start_month - 1 + m) % 12], 1.0
    )
    revenue = e["revenue_base"].to_numpy() * decline * ramp * season * rng.lognormal(0, 0.18, n)
    head_decline = 0.88 ** np.maximum(since - 1, 0)
    headcount = np.maximum(
        0,
        np.round(
            e["employees"].to_numpy() * head_decline * np.clip(ramp * 1.5, 0, 1)
            + rng.normal(0, 0.6, n)
        ),
    ).astype(np.int64)
    rate = np.where(e["individual"].to_numpy(), 0.01, 0.045)
    tax = revenue * rate * rng.lognormal(0, 0.1, n)
    return FirmMonth(alive, np.round(revenue, 2), np.round(tax, 3), headcount, decline**0.7 * ramp)
