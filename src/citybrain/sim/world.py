"""The true city: map, people and enterprises for one scale and seed (built once, read by all)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from citybrain.sim.enterprises import Enterprises, build_enterprises
from citybrain.sim.geography import Geography, build_geography
from citybrain.sim.people import Population, build_population
from citybrain.sim.scales import Scale


@dataclass(frozen=True)
class World:
    """Everything that is true; department systems are views of it, with their own dirt.

    People and enterprises are built on first use: a worker process that only generates sensor
    and bike streams needs the map alone, and stays small."""

    scale: Scale
    seed: int
    geo: Geography

    @cached_property
    def pop(self) -> Population:
        return build_population(self.geo, self.scale, self.seed)

    @cached_property
    def ent(self) -> Enterprises:
        return build_enterprises(self.geo, self.pop, self.scale, self.seed)

    @property
    def has_people(self) -> bool:
        """Whether the people (and so most of the world's memory) have been built."""
        return "pop" in self.__dict__

    @property
    def months(self) -> int:
        return self.scale.months

    @cached_property
    def month_starts(self) -> np.ndarray:
        """First day of each month of the period (datetime64[D]), plus the day after the end."""
        first = np.datetime64(f"{self.scale.start_year}-{self.scale.start_month:02d}", "M")
        return (first + np.arange(self.months + 1)).astype("datetime64[D]")

    @cached_property
    def office_mask(self) -> np.ndarray:
        """True for dwellings that are office rooms."""
        mask: np.ndarray = self.geo.dwellings["use"].to_numpy(zero_copy_only=False) == "office"
        return mask

    @property
    def days(self) -> int:
        """Days in the period."""
        return int((self.month_starts[-1] - self.month_starts[0]).astype(np.int64))

    def month_label(self, m: int) -> str:
        """'2023-01' for month index 0."""
        return str(self.month_starts[m].astype("datetime64[M]"))

    def days_in_month(self, m: int) -> int:
        return int((self.month_starts[m + 1] - self.month_starts[m]).astype(np.int64))


def build_world(scale: Scale, seed: int, *, people: bool = True, profile: str = "default") -> World:
    """Build the true city (dimension tables only; bulk streams are generated per system);
    with ``people=False`` only the map, the rest on first use. A ``profile`` other than the
    default renames the map to its district (``sim.profiles``) before anything reads it."""
    from citybrain.sim.profiles import get_profile

    world = World(scale, seed, get_profile(profile).reshape(build_geography(scale, seed)))
    if people:
        world.ent  # noqa: B018 (builds the population and the enterprises now)
    return world
