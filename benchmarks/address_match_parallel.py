"""Matching distinct addresses on every core: serial against forked workers, same strings.

    uv run python benchmarks/address_match_parallel.py [--scale district] [--root DIR]
        [--n 300000] [--workers 0] [--repeat 3] [--forkserver] [--sizes 5000,20000]
        [--out benchmarks/results/address_match_parallel.json]

A synthetic city's address register (only that system, generated, ingested and standardised once
under ``--root``) gives the address index; its dwellings written the ways departments write them
(the register's form, road number only, estate only, shorthand 3-2-1203, floor and number, noise
words, dropped admin levels, typos in names) give ``--n`` distinct strings. They are matched by
``match_distinct`` with ``--workers`` (forked: the index is inherited, not sent) and with one
(the reference, in this process); the two tables must be equal, row for row.
``--forkserver`` adds the same map with the index pickled to each worker instead, and the cost
of that pickle. ``--sizes`` runs both sides on the first few thousand strings, with no serial
fallback, to find where workers start paying.

Wall and CPU seconds (this process plus its reaped workers) and the load average before and after
each side, ``--repeat`` times alternating (the median by wall time is the figure): the machine is
shared, and a neighbour's load on the second core takes the forked side's gain away.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import platform
import resource
import sys
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

OUT = Path(__file__).parent / "results" / "address_match_parallel.json"


def prepare(scale: str, root: Path, seed: int = 7) -> Path:
    """A workspace with the register of ``scale`` standardised (reused when there)."""
    from citybrain.core.workspace import Workspace
    from citybrain.govern.standardize import standardize_workspace
    from citybrain.ingest import discover_sources, ingest_sources, recorder_for
    from citybrain.ingest.simsources import write_sim_sources
    from citybrain.sim.generate import generate

    sim, ws = root / "sim", root / "ws"
    if not (ws / "std" / "standard_address").is_dir():
        generate(scale, seed, sim, systems=["place_address_register"])
        workspace = Workspace.init(ws)
        write_sim_sources(workspace.root / "sources", sim)
        ingest_sources(workspace, discover_sources(workspace), recorder=recorder_for(workspace))
        standardize_workspace(workspace)
    return ws


def addresses(register: pa.Table, n: int, seed: int) -> list[str]:
    """``n`` distinct strings (or all there are): dwellings written as departments write them."""
    from citybrain.sim.dirt.address_forms import address_shorthand, drop_admin_levels, noise_words
    from citybrain.sim.dirt.typos import address_typos

    d = register.filter(pc.equal(register["level"], "dwelling"))
    road, no, estate = d["road_name"], d["road_no"], d["estate_name"]
    b, u, f, r = d["building_no"], d["unit_no"], d["floor_no"], d["room_no"]
    room = pc.cast(r, pa.int64())
    number = pc.cast(pc.subtract(room, pc.multiply(pc.divide(room, 100), 100)), pa.string())

    def join(*parts: Any) -> pa.ChunkedArray:
        return pc.binary_join_element_wise(*parts, "")

    full = d["full_address"]
    forms = [
        full,
        join("成都市示例高新区", road, no, "号", b, "栋", u, "单元", r, "号"),
        join(estate, b, "栋", u, "单元", r),
        join(estate, b, "幢", u, "单元", f, "楼", number, "号"),
        join(road, no, "号", estate, b, "号楼", u, "单元", r, "室"),
    ]
    rng = np.random.default_rng(seed)
    dirt: list[Callable[..., Any]] = [
        address_shorthand, drop_admin_levels, noise_words, address_typos
    ]  # fmt: skip
    forms += [fn(full, rng, 1.0).values for fn in dirt]
    forms += [noise_words(address_typos(forms[2], rng, 1.0).values, rng, 1.0).values]
    texts = list(dict.fromkeys(t for form in forms for t in pa.chunked_array([form]).to_pylist()))
    order = np.random.default_rng(seed).permutation(len(texts))
    return [texts[i] for i in order[:n]]


def _cpu() -> float:
    """CPU seconds of this process and of its workers that have ended."""
    me, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def timed(run: Callable[[], Any]) -> tuple[Any, dict[str, Any]]:
    load = os.getloadavg()
    wall, cpu = time.perf_counter(), _cpu()
    out = run()
    figures = {
        "wall_s": round(time.perf_counter() - wall, 3),
        "cpu_s": round(_cpu() - cpu, 3),
        "load_before": [round(x, 2) for x in load],
        "load_after": [round(x, 2) for x in os.getloadavg()],
    }
    return out, figures


def break_even(index: Any, texts: Sequence[str], sizes: list[int], workers: int) -> list[Any]:
    """Serial against workers on the first ``size`` strings, with no serial fallback."""
    from citybrain.core.parallel import map_chunks
    from citybrain.govern.standardize.addresses import _match_columns

    fn = partial(_match_columns, index)
    rows = []
    for size in sizes:
        chunk = texts[:size]
        serial, s = timed(partial(map_chunks, fn, chunk, workers=1))
        forked, p = timed(partial(map_chunks, fn, chunk, workers=workers, serial_below=0))
        assert _flat(serial) == _flat(forked), f"different results at {size}"
        rows.append({"n": size, "serial": s, "forked": p})
        print(f"  {size:>7,}  serial {s['wall_s']:6.2f} s wall {s['cpu_s']:6.2f} s CPU   forked "
              f"{p['wall_s']:6.2f} s wall {p['cpu_s']:6.2f} s CPU"
              f"  (load {s['load_before'][0]:.1f})")  # fmt: skip
    return rows


def _median(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run of median wall time (its own CPU and load beside it), and every run."""
    ordered = sorted(runs, key=lambda r: r["wall_s"])
    return {**ordered[(len(ordered) - 1) // 2], "runs": runs}


def _flat(parts: list[Any]) -> list[list[Any]]:
    return [[v for part in parts for v in part[i]] for i in range(6)]


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    from citybrain.core.parallel import map_chunks, resolve_workers
    from citybrain.core.workspace import Workspace
    from citybrain.govern.standardize import build_address_index, match_distinct
    from citybrain.govern.standardize.addresses import _match_columns

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scale", default="district")
    ap.add_argument("--root", type=Path, default=Path("/tmp/citybrain-bench-addrpar"))
    ap.add_argument("--n", type=int, default=300_000)
    ap.add_argument("--workers", type=int, default=0, help="0: the CPUs this process may use")
    ap.add_argument("--forkserver", action="store_true")
    ap.add_argument("--sizes", default="", help="comma-separated sizes for the break-even")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each side, alternating")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    workers = resolve_workers(args.workers)

    ws_path = prepare(args.scale, args.root / args.scale, args.seed)
    workspace = Workspace.open(ws_path)
    with workspace.engine() as engine:
        # The engine stays open while the workers fork, as in the standardize step.
        (index, build) = timed(lambda: build_address_index(engine, city_name=workspace.config.name))
        assert index is not None
        register = engine.to_arrow(engine.table("std", "standard_address"))
        texts = addresses(register, args.n, args.seed)
        print(f"{len(texts):,} distinct addresses, {register.num_rows:,} register rows, "
              f"{workers} workers")  # fmt: skip

        # The parser's caches warmed first; the sides alternate, forked first, so a neighbour's
        # load falls on both and the forked side inherits no cache the serial one filled.
        match_distinct(index, texts[:2_000], workers=1)
        runs: dict[str, list[dict[str, Any]]] = {"forked": [], "serial": []}
        for _ in range(args.repeat):
            forked, p = timed(lambda: match_distinct(index, texts, workers=workers))
            serial, s = timed(lambda: match_distinct(index, texts, workers=1))
            equal = serial.equals(forked)
            assert equal, "the forked workers gave a different table"
            for side, figures in (("forked", p), ("serial", s)):
                runs[side].append(figures)
                print(f"{side}  {figures['wall_s']:8.2f} s wall {figures['cpu_s']:8.2f} s CPU  "
                      f"load {figures['load_before']}")  # fmt: skip
        sides: dict[str, Any] = {side: _median(r) for side, r in runs.items()}
        s, p = sides["serial"], sides["forked"]
        maxrss_children_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        if args.forkserver:
            blob, pk = timed(lambda: pickle.dumps(index, protocol=pickle.HIGHEST_PROTOCOL))
            pk["bytes"] = len(blob)
            fn = partial(_match_columns, index)
            fs, f = timed(lambda: map_chunks(fn, texts, workers=workers, start_method="forkserver"))
            columns = ("address_id", "address_level", "address_confidence", "match_reason",
                       "unmatched_code", "review")  # fmt: skip
            same = _flat(fs) == [serial.column(c).to_pylist() for c in columns]
            assert same, "the forkserver workers gave different rows"
            f["cpu_s"] = None  # its workers are the fork server's children: not counted here
            sides["forkserver"] = f
            sides["index_pickle"] = pk
            print(f"fkserv  {f['wall_s']:8.2f} s wall                 "
                  f"(index pickle {len(blob) / 1e6:.0f} MB, {pk['wall_s']:.2f} s)")  # fmt: skip
        sizes = [int(x) for x in args.sizes.split(",") if x]
        even = break_even(index, texts, sizes, workers) if sizes else []

    result = {
        "benchmark": "address_match_parallel",
        "machine": {
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "cpus_available": len(os.sched_getaffinity(0)),
        },
        "inputs": {
            "scale": args.scale,
            "register_rows": register.num_rows,
            "distinct_addresses": len(texts),
            "workers": workers,
            "seed": args.seed,
        },
        "index_build": build,
        "results_equal": equal,
        "speedup_wall": round(s["wall_s"] / p["wall_s"], 2) if p["wall_s"] else None,
        "workers_maxrss_mb": round(maxrss_children_mb),
        "sides": sides,
        "break_even": even,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(f"speed-up {result['speedup_wall']}x wall; written {args.out}")
    return result


if __name__ == "__main__":
    main()
