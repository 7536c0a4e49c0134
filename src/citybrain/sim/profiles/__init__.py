"""Profiles: which synthetic district ``citybrain sim`` generates.

``default`` is the zone the generator was written for (示例高新区, 四川省成都市), byte for byte as
without profiles. Another profile is a layer over the same generator: it renames the map to its
district's real divisions and naming habits (:meth:`Profile.reshape`, before any system runs), then
rewrites its systems' exports the way its departments hand them over (:mod:`.reexport`) and puts its
data office's source contracts beside them (``<city>/contracts/``).
"""

from __future__ import annotations

from citybrain.sim.profiles.base import Profile
from citybrain.sim.profiles.deqing import PROFILE as DEQING

DEFAULT = Profile(
    name="default",
    zone="示例高新区",
    description="四川省成都市示例高新区: the default zone (contracts shipped with ingest)",
)
PROFILES: dict[str, Profile] = {p.name: p for p in (DEFAULT, DEQING)}


def get_profile(name: str) -> Profile:
    """The profile called ``name``; an unknown name is a ValueError naming the known ones."""
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown profile {name!r}; known: {', '.join(PROFILES)}") from None


__all__ = ["DEFAULT", "PROFILES", "Profile", "get_profile"]
