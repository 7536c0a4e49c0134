"""Enterprise events drawn from the truth (court listings, penalties, commitments): who, when.

Distressed firms are far more likely to be listed or penalised after their start month; healthy
firms get the odd case too, so a listing alone is not proof of distress."""

from __future__ import annotations

import numpy as np

from citybrain.sim.world import World


def firm_events(
    world: World,
    rng: np.random.Generator,
    p_distressed: float,
    p_other: float,
    lag: tuple[int, int],
) -> tuple[np.ndarray, np.ndarray]:
    """(enterprise ids, month index) of events inside the period."""
    e = world.ent.table
    start = e["distress_start"].to_numpy()
    est = np.maximum(e["established_month"].to_numpy(), 0)
    n = len(e)
    distressed = start >= 0
    hit = rng.random(n) < np.where(distressed, p_distressed, p_other)
    month = np.where(
        distressed,
        start + rng.integers(lag[0], lag[1] + 1, n),
        est + rng.integers(0, max(1, world.months), n),
    )
    keep = hit & (month < world.months) & (month >= 0)
    return np.flatnonzero(keep), month[keep]
