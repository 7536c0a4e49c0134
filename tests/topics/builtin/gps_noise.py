"""Noise real GPS terminals make, added to clean pings (vectorised): repeated points, points sent
out of order, lone jumps far away, gaps, 0,0 fixes, impossible reported speeds and a parked truck
drifting at its site. None of it may raise a violation on its own."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def add_noise(pings: pa.Table, seed: int = 1, share: float = 0.03) -> pa.Table:
    """``pings`` (plate, ts, lon, lat, speed, loaded, …) with every kind of noise mixed in."""
    rng = np.random.default_rng(seed)
    n = pings.num_rows

    def picks(k: float) -> np.ndarray:
        chosen: np.ndarray = rng.choice(n, size=max(1, int(n * k)), replace=False)
        return chosen

    duplicated = pings.take(pa.array(picks(share)))
    # a lone jump: the same truck 20-40 km away one second after a real fix
    jumped = pings.take(pa.array(picks(share / 3)))
    jumped = _set(jumped, "ts", pc.add(jumped["ts"], pa.scalar(1, pa.duration("s"))))
    offset = rng.uniform(0.2, 0.4, jumped.num_rows) * rng.choice([-1, 1], jumped.num_rows)
    jumped = _set(jumped, "lon", pc.add(jumped["lon"], pa.array(offset)))
    jumped = _set(jumped, "speed", pa.array(np.zeros(jumped.num_rows)))  # it even says: standing
    # a fix at 0,0 and one with an impossible speed, one second after real ones
    zero = pings.take(pa.array(picks(share / 3)))
    zero = _set(zero, "ts", pc.add(zero["ts"], pa.scalar(2, pa.duration("s"))))
    zero = _set(zero, "lon", pa.array(np.zeros(zero.num_rows)))
    zero = _set(zero, "lat", pa.array(np.zeros(zero.num_rows)))
    fast = picks(share)
    speed = pings["speed"].to_numpy(zero_copy_only=False).astype(float).copy()
    speed[fast] = rng.uniform(300, 2000, fast.size)
    base = _set(pings, "speed", pa.array(speed))
    # jitter of a few metres on every fix, and a gap: a tenth of the fixes never arrive
    jitter = rng.normal(0, 0.00003, (2, n))
    base = _set(base, "lon", pc.add(base["lon"], pa.array(jitter[0])))
    base = _set(base, "lat", pc.add(base["lat"], pa.array(jitter[1])))
    kept = rng.random(n) >= 0.1
    base = base.filter(pa.array(kept))
    mixed = pa.concat_tables([base, duplicated, jumped, zero])
    return mixed.take(pa.array(rng.permutation(mixed.num_rows)))  # out of order


def _set(table: pa.Table, name: str, values: pa.Array | pa.ChunkedArray) -> pa.Table:
    at = table.schema.get_field_index(name)
    return table.set_column(
        at, table.schema.field(at), pc.cast(values, table.schema.field(at).type)
    )
