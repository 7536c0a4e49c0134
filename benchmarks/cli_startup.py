"""CLI start-up: ``citybrain --version`` and ``--help`` beside ``python -c pass``, same run.

    uv run python benchmarks/cli_startup.py [--repeat 10] [--no-bytecode] [--out FILE.json]

Each command is started as a fresh process ``--repeat`` times (after one warm-up run) and the
median and best wall times are reported. Python's bytecode cache is kept in a private temporary
folder (``PYTHONPYCACHEPREFIX``) and written, as an installed package has it; with
``--no-bytecode`` every module is compiled from source on each start (``PYTHONDONTWRITEBYTECODE``
with no cache), the slowest case.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import typer
from machine import machine

import citybrain

COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "citybrain --version": [sys.executable, "-m", "citybrain", "--version"],
    "citybrain --help": [sys.executable, "-m", "citybrain", "--help"],
}
TARGET_SECONDS = 0.5


def _time(argv: list[str], env: dict[str, str], repeat: int) -> list[float]:
    subprocess.run(argv, env=env, check=True, capture_output=True)  # warm-up (and bytecode)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(argv, env=env, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--no-bytecode", action="store_true")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/cli_startup.json"))
    args = parser.parse_args()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="cb-pyc-") as cache:
        env = {**os.environ, "COLUMNS": "100"}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        if args.no_bytecode:
            env["PYTHONDONTWRITEBYTECODE"] = "1"
        else:
            env["PYTHONPYCACHEPREFIX"] = cache
        sides = {name: _time(argv, env, args.repeat) for name, argv in COMMANDS.items()}
    figures = {
        name: {
            "median_s": round(statistics.median(t), 4),
            "best_s": round(min(t), 4),
            "runs": len(t),
        }
        for name, t in sides.items()
    }
    print(f"{'command':<22} {'median s':>9} {'best s':>8}")
    for name, row in figures.items():
        print(f"{name:<22} {row['median_s']:>9.3f} {row['best_s']:>8.3f}")
    under = all(
        figures[n]["median_s"] < TARGET_SECONDS for n in ("citybrain --version", "citybrain --help")
    )
    print(f"target: under {TARGET_SECONDS} s (median) — {'met' if under else 'NOT met'}")
    result = {
        "benchmark": "cli_startup",
        "machine": machine(load_before),
        "versions": {"citybrain": citybrain.__version__, "typer": typer.__version__},
        "inputs": {"repeat": args.repeat, "bytecode_cache": not args.no_bytecode},
        "target_seconds": TARGET_SECONDS,
        "target_met": under,
        "sides": figures,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
