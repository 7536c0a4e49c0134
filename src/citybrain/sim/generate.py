"""Orchestration: build the true world, run every department system, write the truth."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from citybrain.sim.scales import Scale, estimate_records, resolve_scale
from citybrain.sim.systems import SYSTEMS
from citybrain.sim.systems.base import SystemContext
from citybrain.sim.truth import TruthSink
from citybrain.sim.truth_tables import write_truth_tables
from citybrain.sim.world import build_world

Advance = Callable[[str, int], None]


@dataclass(frozen=True)
class GenerateResult:
    """What a run wrote: rows per system and in total."""

    out: Path
    scale: Scale
    seed: int
    rows: dict[str, int]
    seconds: dict[str, float]  # wall time per system module (and "world" for the true city)
    module_rows: dict[str, int]  # rows per system module (a module may write several folders)
    cpu_seconds: dict[str, float]  # CPU time per module, all threads (robust to a busy machine)

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


def generate(
    scale: str | Scale,
    seed: int,
    out: Path,
    *,
    records: int | None = None,
    systems: list[str] | None = None,
    on_progress: Advance | None = None,
) -> GenerateResult:
    """Generate the synthetic city into ``out`` (emptied first); same arguments → same bytes.

    ``on_progress(system, rows)`` is called as rows are written (for a progress bar).
    """
    sc = resolve_scale(scale, records) if isinstance(scale, str) else scale
    out = Path(out)
    if out.exists():
        # replace a previous city, but never wipe a folder that is something else
        if any(out.iterdir()) and not (out / "truth" / "manifest.json").is_file():
            raise ValueError(
                f"{out} is not empty and holds no generated city; choose an empty or new folder"
            )
        shutil.rmtree(out)
    out.mkdir(parents=True)
    t0 = time.perf_counter()
    world = build_world(sc, seed)
    seconds = {"world": time.perf_counter() - t0}
    module_rows: dict[str, int] = {}
    cpu: dict[str, float] = {}
    truth = TruthSink(out)
    chosen = systems or list(SYSTEMS)
    unknown = sorted(set(chosen) - set(SYSTEMS))
    if unknown:
        raise ValueError(f"unknown systems {unknown}; known: {', '.join(SYSTEMS)}")
    current = {"system": ""}
    ctx = SystemContext(
        world,
        out,
        truth,
        advance=lambda n: on_progress(current["system"], n) if on_progress else None,
    )
    for name in chosen:
        current["system"] = name
        t0, before = time.perf_counter(), sum(ctx.counts.values())
        c0 = time.process_time()
        SYSTEMS[name](ctx)
        seconds[name] = time.perf_counter() - t0
        cpu[name] = time.process_time() - c0
        module_rows[name] = sum(ctx.counts.values()) - before
    t0 = time.perf_counter()
    write_truth_tables(ctx)
    truth.meta.update(
        {
            "scale": sc.name,
            "seed": seed,
            "months": sc.months,
            "start": world.month_label(0),
            "rows": dict(sorted(ctx.counts.items())),
            "estimate": estimate_records(sc),
        }
    )
    truth.close()
    seconds["truth"] = time.perf_counter() - t0
    (out / "README.json").write_text(
        json.dumps(
            {
                "zone": "示例高新区",
                "scale": sc.name,
                "seed": seed,
                "systems": sorted(ctx.counts),
            },
            ensure_ascii=False,
            sort_keys=True,
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    return GenerateResult(out, sc, seed, dict(ctx.counts), seconds, module_rows, cpu)
