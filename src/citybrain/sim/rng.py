"""Deterministic random streams.

Every component draws from its own generator keyed by (seed, component name), so adding a system or
reordering the build never changes another system's bytes.
"""

from __future__ import annotations

import zlib

import numpy as np


def rng_for(seed: int, *names: str) -> np.random.Generator:
    """A generator for one named component; the same (seed, names) always gives the same stream."""
    key = [int(seed) & 0xFFFFFFFF, *(zlib.crc32(n.encode("utf-8")) for n in names)]
    return np.random.default_rng(key)
