"""The synthetic city (示例高新区): a fictional hi-tech zone with its department systems and
ground truth, for tests, demos and benchmarks.

Public surface::

    from citybrain.sim import generate, SCALES
    result = generate("tiny", seed=7, out=Path("city"))
    other = generate("tiny", seed=7, out=Path("deqing"), profile="deqing")  # see sim.profiles

The pipeline reads the system folders; only evaluation reads ``city/truth/``.
"""

from citybrain.sim.generate import GenerateResult, generate
from citybrain.sim.profiles import PROFILES, Profile
from citybrain.sim.scales import SCALES, Scale, estimate_records, resolve_scale
from citybrain.sim.systems import SYSTEMS

__all__ = [
    "PROFILES",
    "SCALES",
    "SYSTEMS",
    "GenerateResult",
    "Profile",
    "Scale",
    "estimate_records",
    "generate",
    "resolve_scale",
]
