"""What every department-system builder gets: the true world, its output folder, the truth sink,
named random streams and small helpers for row keys and planted dirt."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from citybrain.sim.addresses import AddressParts, address_parts
from citybrain.sim.dirt import Dirtied
from citybrain.sim.ids import concat, padded
from citybrain.sim.rng import rng_for
from citybrain.sim.truth import TruthSink
from citybrain.sim.world import World

Progress = Callable[[int], None]


@dataclass
class SystemContext:
    """Shared state of one generation run."""

    world: World
    out: Path
    truth: TruthSink
    advance: Progress = field(default=lambda n: None)
    counts: dict[str, int] = field(default_factory=dict)
    _shared: dict[str, Any] = field(default_factory=dict)

    def shared(self, name: str, make: Callable[[], Any]) -> Any:
        """A value several systems derive from the world (built once per run)."""
        if name not in self._shared:
            self._shared[name] = make()
        return self._shared[name]

    @cached_property
    def parts(self) -> AddressParts:
        return address_parts(self.world.geo)

    def dir(self, system: str) -> Path:
        path = self.out / system
        path.mkdir(parents=True, exist_ok=True)
        return path

    def rng(self, system: str, *names: str) -> np.random.Generator:
        return rng_for(self.world.seed, "system", system, *names)

    def count(self, system: str, rows: int) -> int:
        """Record rows written (shown in the manifest and the progress bar)."""
        self.counts[system] = self.counts.get(system, 0) + rows
        self.advance(rows)
        return rows


def row_keys(prefix: str, start: int, n: int, width: int = 10) -> pa.StringArray:
    """Stable row keys ``<prefix><zero-padded sequence>``."""
    return concat(prefix, padded(np.arange(start, start + n), width))


def dirty(
    ctx: SystemContext,
    system: str,
    table_name: str,
    table: pa.Table,
    key: str,
    column: str,
    fn: Callable[..., Dirtied],
    rng: np.random.Generator,
    rate: float,
    label: str,
    **kwargs: Any,
) -> pa.Table:
    """Apply one ``sim.dirt`` function to a column and record the touched rows in the truth."""
    i = table.schema.get_field_index(column)
    result = fn(table.column(i).combine_chunks(), rng, rate, **kwargs)
    ctx.truth.dirt(system, table_name, key, table[key], result.touched, column, label)
    return table.set_column(i, table.field(i), result.values)
