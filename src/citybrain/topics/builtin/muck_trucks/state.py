"""What the muck-truck topic keeps between runs (`PeriodSpec.state`, table ``muck_truck_days``):
its rows per truck and shift day (`violations.day_rows`) and the fleet, so that a nightly run
judges only the shift days new pings can change and makes the findings of all days from the
kept rows and its own (the full run goes through the same rows: both give the same findings).

The fleet is the plates whose terminal reports a load status (`rules.muck_pings`), read from
every ping (`TopicContext.whole_series`) when the topic is handed some days only (a nightly run,
a chunk of a whole recompute); the plates known so far are kept too (rows of kind ``fleet``,
their ``day`` ``fleet``: never a recomputed day, so always kept). Permit holders need no
keeping: the permits are read whole each run.

What a nightly run (and a chunk's edge) still judges apart from a full run at once (the next full
run, ``--only topic``, catches up):

- a plate that reports a load status for the first time in a new delivery, having pinged without
  one before, joins the fleet then: its earlier days that are not recomputed stay unjudged (they
  were judged when it was no muck truck);
- a fix whose neighbour in time lies outside the pings read: after a silence of more than a day
  before the recomputed shift days (or after them), the first fix is judged by one side only —
  a jump if left at an impossible speed (`track._jump`), and without a plausible reported speed it
  cannot stand "by staying put" — and a new fix after such a silence turns the fix before it, at
  its track's end on a day not recomputed, from a one-sided jump back into the track;
- a run of standing or off-route fixes lasting longer than about a day, which a new ping can
  lengthen or split on a shift day that is not recomputed, or which reaches past the pings read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
import pyarrow as pa

from citybrain.topics.builtin.muck_trucks.rules import load_reporters
from citybrain.topics.builtin.muck_trucks.violations import DAY_COLUMNS

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from citybrain.topics import TopicContext

STATE_TABLE = "muck_truck_days"
#: the kind and day of the fleet's rows (a day no run recomputes: always kept)
FLEET = "fleet"
STATE_SCHEMA = pa.schema(
    [("plate", pa.string()), ("kind", pa.string()), ("day", pa.string()),
     ("period", pa.string()), ("score", pa.float64()), ("lon", pa.float64()),
     ("lat", pa.float64()), ("observed", pa.float64()), ("expected", pa.float64()),
     ("extra", pa.float64())]
)  # fmt: skip


def kept_rows(ctx: TopicContext) -> pd.DataFrame | None:
    """The last run's state rows of the days not recomputed, and its fleet (read once: the
    fleet and the findings need both); ``None`` on a full run."""
    return None if ctx.kept is None else ctx.engine.to_pandas(ctx.kept.rows)


def known_fleet(ctx: TopicContext, pings: ir.Table, kept: pd.DataFrame | None) -> list[str] | None:
    """The plates known to report a load status: those of ``pings`` — of all pings, when the
    topic is handed some days only (`TopicContext.whole_series`: a nightly run, a chunk of a
    whole recompute) — and, on a nightly run, those the last run kept (`kept_rows`); ``None``
    when the pings carry no load status (every plate counts)."""
    if "loaded" not in pings.columns:
        return None
    every = ctx.whole_series if ctx.whole_series is not None else pings
    plates = ctx.engine.to_pandas(load_reporters(every))["m_plate"]
    if kept is not None:
        plates = pd.concat([kept.loc[kept["kind"] == FLEET, "plate"], plates], ignore_index=True)
    return sorted(set(plates.dropna().astype(str)))


def kept_days(
    ctx: TopicContext, rows: pd.DataFrame, kept: pd.DataFrame | None, fleet: list[str] | None
) -> pd.DataFrame:
    """Every day's rows: ``rows`` — on a nightly run only those of the days it recomputes, with
    the last run's of the others (``kept``) —, stored with ``fleet`` as this run's state."""
    if ctx.kept is not None and kept is not None:
        mine = rows.loc[rows["day"].astype(str).isin(ctx.kept.day_texts)]
        kept = kept.loc[kept["kind"] != FLEET, DAY_COLUMNS]
        rows = pd.concat([f for f in (kept, mine) if len(f)] or [mine], ignore_index=True)
    plates = fleet or []
    fleet_rows = pd.DataFrame(
        {"plate": plates, "kind": FLEET, "day": FLEET, "period": FLEET}
    ).reindex(columns=DAY_COLUMNS)
    stored = pd.concat([f for f in (rows, fleet_rows) if len(f)] or [rows], ignore_index=True)
    table = pa.Table.from_pandas(stored[DAY_COLUMNS], schema=STATE_SCHEMA, preserve_index=False)
    table = table.append_column("run_id", pa.array([ctx.run_id] * table.num_rows, pa.string()))
    # the latest run's rows only (the next run keeps from them): replaced, so the table does not
    # grow by every day's rows each night, and a run stopped and run again writes them once
    ctx.engine.write(table, "topic", STATE_TABLE, mode="replace", partition_by=["run_id"])
    return rows
