"""What every department-system builder gets: the true world, its output folder, the truth sink,
named random streams and small helpers for row keys and planted dirt."""

from __future__ import annotations

import queue
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from citybrain.sim.addresses import AddressParts, address_parts
from citybrain.sim.dirt import Dirtied
from citybrain.sim.formats import write_parquet
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

    @property
    def parts(self) -> AddressParts:
        parts: AddressParts = self.shared("address_parts", lambda: address_parts(self.world.geo))
        return parts

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


class BackgroundWriter:
    """Writes one file in a worker thread while the caller builds the next one.

    Arrow's writers release the GIL, so generation and encoding overlap on two cores. Only the
    write runs aside; truth and row counts stay on the caller's thread, in order, so the bytes do
    not depend on timing. At most one write is pending, which keeps memory flat.
    """

    def __init__(self, ctx: SystemContext, system: str) -> None:
        self.ctx, self.system = ctx, system
        self.pool = ThreadPoolExecutor(max_workers=1)
        self.pending: Future[int] | None = None

    def submit(self, write: Callable[..., int], *args: Any, **kwargs: Any) -> None:
        self.wait()
        self.pending = self.pool.submit(write, *args, **kwargs)

    def wait(self) -> None:
        if self.pending is not None:
            self.ctx.count(self.system, self.pending.result())
            self.pending = None

    def __enter__(self) -> BackgroundWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if exc[0] is None:
                self.wait()
        finally:
            self.pool.shutdown(wait=True)


def resend_rows(
    ctx: SystemContext,
    system: str,
    table_name: str,
    table: pa.Table,
    key: str,
    rng: np.random.Generator,
    rate: float,
) -> pa.Table:
    """Append copies of a few rows at the end, as a re-sent batch does (duplicates in truth).

    Cheaper than ``dirt.duplicate_rows`` for bulk tables: only the copies are taken."""
    picked = np.flatnonzero(rng.random(table.num_rows) < rate)
    if picked.size == 0:
        return table
    copies = table.take(pa.array(picked))
    ctx.truth.dirt(
        system, table_name, key, copies[key], np.ones(picked.size, bool), "*", "duplicate_row"
    )
    return pa.concat_tables([table, copies])


_END, _ABORT = object(), object()


def write_streamed(write: Callable[..., int], path: Path, batches: Iterable[Any]) -> int:
    """``write(path, batches)`` with the batches made on this thread and written on another.

    NumPy generation and Arrow encoding then overlap on two cores. A bounded queue keeps at most
    two batches in flight (flat memory); order is kept, so the bytes do not depend on timing. If
    making a batch fails, the writer is told to fail too and leaves no file behind.
    """
    q: queue.Queue[Any] = queue.Queue(maxsize=2)

    def items() -> Iterator[Any]:
        while (item := q.get()) is not _END:
            if item is _ABORT:
                raise RuntimeError(f"{path}: generation failed; nothing written")
            yield item

    def put(item: Any, future: Future[int]) -> None:
        while True:
            try:
                q.put(item, timeout=0.2)
                return
            except queue.Full:
                if future.done():  # the writer died: surface its error
                    future.result()

    with ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(write, path, items())
        try:
            for batch in batches:
                put(batch, future)
        except BaseException:
            if not future.done():
                put(_ABORT, future)
            raise
        put(_END, future)
        return future.result()


def handed_over(
    ctx: SystemContext, path: Path, write: Callable[..., int], **options: Any
) -> tuple[Callable[..., int], Path]:
    """The writer and path of a monthly export: the department's own format, or Parquet (same
    columns, ``.parquet``) where the scale says bulk exports are Parquet."""
    if ctx.world.scale.bulk_parquet:
        return write_parquet, path.with_suffix(".parquet")
    return partial(write, **options), path


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


#: One ``sim.dirt`` step on a table: the column, the function (with its own keyword arguments
#: bound, e.g. ``partial(dirt.wrong_check_digit, kind="uscc")``), the share of rows, the label.
DirtStep = tuple[str, Callable[..., Dirtied], float, str]


def dirty_columns(
    ctx: SystemContext,
    system: str,
    table_name: str,
    table: pa.Table,
    key: str,
    rng: np.random.Generator,
    steps: Iterable[DirtStep],
) -> pa.Table:
    """Apply each step with `dirty`, in order, all drawing from ``rng``."""
    for column, fn, rate, label in steps:
        table = dirty(ctx, system, table_name, table, key, column, fn, rng, rate, label)
    return table
