"""Service API under load: credit-report lookups vs a bare FastAPI constant, same run.

    uv run python benchmarks/api.py [--seconds 10] [--connections 32] [--workers 2]
                                    [--enterprises 100000] [--out benchmarks/results/api.json]

Both sides are served the way ``citybrain serve`` serves (uvicorn, uvloop, httptools, the same
number of worker processes) on loopback; the load comes from ``wrk`` (Debian package ``wrk``) in a
second process, or from a small asyncio client in this process when wrk is absent.

The citybrain side is the real route, ``GET /api/v1/enterprises/{uscc}/credit-report``, over a
workspace whose std zone holds ``--enterprises`` synthetic enterprises (registrations, penalties,
court listings, commitments, tax declarations), each request for a random one: API-key
authentication, the rate limiter, the permission check, one hash-chained audit row (credit reads
are audited; a masked read's row is queued and group-committed within ``[api] audit_flush_ms``),
the index lookup, masking and the reasons. The bare
side is a FastAPI app with one endpoint returning a constant: the ceiling on this machine.
Afterwards the audit rows are counted against the requests and the chain is verified. Besides
req/s and latency, each side reports the CPU its server processes spent per answer (Linux
/proc), which is steadier than req/s when others share the cores.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import json
import os
import platform
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pyarrow as pa

from citybrain.core import Workspace

PREFIX = "91510100MA"
STATUSES = ["存续"] * 8 + ["吊销", "注销"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"


def uscc(i: int) -> str:
    return f"{PREFIX}{i:08d}"


def std_tables(n: int) -> dict[str, pa.Table]:
    """Synthetic std tables for ``n`` enterprises (the shapes the credit index reads)."""
    rng = random.Random(7)
    ids = [uscc(i) for i in range(n)]
    penalised = [u for u in ids if rng.random() < 0.2]
    listed = [u for u in ids if rng.random() < 0.03]
    committed = [u for u in ids if rng.random() < 0.3]
    periods = [f"2025-{m:02d}" for m in range(1, 13)]
    taxes = [(u, p) for u in ids for p in rng.sample(periods, 3)]
    return {
        "enterprise_registration": pa.table({
            "uscc": ids, "name": [f"示例{i}科技有限公司" for i in range(n)],
            "status": [rng.choice(STATUSES) for _ in ids],
            "legal_rep_name": [rng.choice(SURNAMES) + "某某" for _ in ids],
            "industry_code": [f"I{6500 + i % 50}" for i in range(n)],
        }),
        "penalty": pa.table({"uscc": penalised, "amount": [1000.0] * len(penalised)}),
        "dishonest_judgment": pa.table({"identifier": listed, "court": ["高新法院"] * len(listed)}),
        "commitment": pa.table({
            "uscc": committed,
            "check_result": [rng.choice(["已履约", "未履约"]) for _ in committed],
        }),
        "tax_declaration": pa.table({
            "uscc": [u for u, _ in taxes], "period": [p for _, p in taxes],
        }),
    }  # fmt: skip


def prepare_workspace(root: Path, enterprises: int) -> str:
    """A workspace with the std tables and an analyst system user's API key; returns the key."""
    from citybrain.api.security import accounts
    from citybrain.core.opsdb import connect, session, upgrade

    workspace = Workspace.init(root / "ws", name="bench")
    config = workspace.root / "citybrain.toml"
    # A system key doing thousands of lookups a second needs a bucket to match; the limiter still
    # runs on every request.
    config.write_text(
        config.read_text(encoding="utf-8")
        + "\n[api]\nrate_limit_per_second = 1000000.0\nrate_limit_burst = 1000000\n",
        encoding="utf-8",
    )
    workspace = Workspace.open(workspace.root)
    with workspace.engine() as engine:
        for name, table in std_tables(enterprises).items():
            engine.write(table, "std", name)
    ops_engine = connect(workspace.ops_db_url)
    upgrade(ops_engine)
    with session(ops_engine) as db:
        accounts.create_user(db, "credit-robot", role="analyst", password=None)
        key = accounts.create_key(db, "credit-robot", "benchmark").key
    ops_engine.dispose()
    return key


def bare_app_factory() -> Any:
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/const")
    async def const() -> dict[str, str]:
        return {"status": "ok"}

    return app


def serve(kind: str, root: str, port: int, workers: int) -> None:
    if kind == "citybrain":
        from citybrain.api.server import run

        run(Workspace.open(Path(root)), port=port, workers=workers)
        return
    import uvicorn

    uvicorn.run(
        "api:bare_app_factory", factory=True, app_dir=str(Path(__file__).parent), port=port,
        workers=workers, loop="uvloop", http="httptools", log_level="warning", access_log=False,
    )  # fmt: skip


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_server(
    kind: str, root: Path, workers: int, probe: str
) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, __file__, "--serve", kind, "--root", str(root), "--port", str(port),
         "--workers", str(workers)],
        start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    import httpx

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{kind} server exited with {process.returncode}")
        try:
            httpx.get(f"{base}{probe}", timeout=5.0)
            return process, base
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"{kind} server did not start on {base}")


# ``path`` is a Lua format string with one %%d: a random subject out of ``n`` each request.
WRK_SCRIPT = """
local path = "%(path)s"
local n = %(n)d
local key = "%(key)s"
if key ~= "" then wrk.headers["X-API-Key"] = key end
math.randomseed(%(seed)d)
request = function()
  return wrk.format("GET", string.format(path, math.random(0, n - 1)))
end
done = function(summary, latency, requests)
  local out = io.open("%(out)s", "w")
  out:write(string.format(
    '{"requests": %%d, "duration_us": %%d, "non_2xx": %%d, "socket_errors": %%d, ' ..
    '"p50_us": %%d, "p90_us": %%d, "p99_us": %%d, "mean_us": %%f, "max_us": %%d}',
    summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean,
    latency.max))
  out:close()
end
"""


def server_cpu_seconds(pgid: int) -> float:
    """User + system CPU seconds of every live process in the server's process group (Linux)."""
    ticks = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[2]) == pgid:  # fields[2] is pgrp; [11], [12] utime, stime
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def load_wrk(
    base: str, path: str, n: int, key: str, seconds: float, connections: int, scratch: Path,
    warmup: float, server_pgid: int,
) -> dict[str, Any]:  # fmt: skip
    out = scratch / f"wrk-{time.monotonic_ns()}.json"
    script = scratch / "load.lua"
    values = {"path": path, "n": n, "key": key, "seed": 7, "out": out}
    script.write_text(WRK_SCRIPT % values, encoding="utf-8")
    common = ["wrk", "-t1", f"-c{connections}", "-s", str(script), "--timeout", "10s", base]
    # Warm-up: every worker builds its credit index and finishes its start-up imports.
    subprocess.run([*common[:1], f"-d{warmup:g}s", *common[1:]], check=True, capture_output=True)
    cpu_before = server_cpu_seconds(server_pgid)
    subprocess.run([*common[:1], f"-d{seconds:g}s", *common[1:]], check=True, capture_output=True)
    cpu = server_cpu_seconds(server_pgid) - cpu_before
    raw = json.loads(out.read_text(encoding="utf-8"))
    elapsed = raw["duration_us"] / 1e6
    return {
        "load_generator": "wrk 1 thread",
        "requests": raw["requests"],
        "seconds": round(elapsed, 2),
        "requests_per_second": round(raw["requests"] / elapsed, 1),
        # CPU the server's processes spent per answer: steadier than req/s on a shared machine.
        "server_cpu_ms_per_request": round(cpu * 1000 / max(raw["requests"], 1), 3),
        "latency_ms": {
            "p50": round(raw["p50_us"] / 1000, 2),
            "p90": round(raw["p90_us"] / 1000, 2),
            "p99": round(raw["p99_us"] / 1000, 2),
            "mean": round(raw["mean_us"] / 1000, 2),
            "max": round(raw["max_us"] / 1000, 2),
        },
        "non_2xx": raw["non_2xx"],
        "socket_errors": raw["socket_errors"],
    }


async def _connection(
    host: str, port: int, paths: list[str], headers: str, seed: int, until: float,
    latencies: list[float] | None, statuses: dict[int, int],
) -> None:  # fmt: skip
    """One keep-alive HTTP/1.1 connection sending requests back to back."""
    rng = random.Random(seed)
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < until:
            started = time.perf_counter()
            writer.write(f"GET {rng.choice(paths)} HTTP/1.1\r\n{headers}\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))  # type: ignore[union-attr]
            await reader.readexactly(length)
            if latencies is not None:
                latencies.append(time.perf_counter() - started)
                status = int(head[9:12])
                statuses[status] = statuses.get(status, 0) + 1
    finally:
        writer.close()


async def _load_python(
    base: str, paths: list[str], key: str, seconds: float, connections: int, warmup: float
) -> dict[str, Any]:
    host, port = base.removeprefix("http://").split(":")
    header_text = f"Host: {host}\r\n" + (f"X-API-Key: {key}\r\n" if key else "")
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    for until, sink in (
        (time.perf_counter() + warmup, None),
        (time.perf_counter() + warmup + seconds, latencies),
    ):
        started = time.perf_counter()
        await asyncio.gather(*(
            _connection(host, int(port), paths, header_text, i, until, sink, statuses)
            for i in range(connections)
        ))  # fmt: skip
    elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 2)

    return {
        "load_generator": "python asyncio client",
        "requests": len(latencies),
        "seconds": round(elapsed, 2),
        "requests_per_second": round(len(latencies) / elapsed, 1),
        "latency_ms": {
            "p50": pct(0.5),
            "p90": pct(0.9),
            "p99": pct(0.99),
            "mean": round(statistics.fmean(latencies) * 1000, 2),
        },
        "non_2xx": sum(v for k, v in statuses.items() if not 200 <= k < 300),
    }


def run_side(
    kind: str, root: Path, key: str, args: argparse.Namespace, scratch: Path
) -> dict[str, Any]:
    if kind == "citybrain":
        template, n, auth = f"/api/v1/enterprises/{PREFIX}%08d/credit-report", args.enterprises, key
    else:
        template, n, auth = "/const", 1, ""
    rng = random.Random(11)
    # The Python client draws from 5,000 subjects; wrk draws from all of them.
    paths = [template.replace("%08d", f"{rng.randrange(n):08d}") for _ in range(5000)]
    process, base = start_server(kind, root, args.workers, paths[0])
    try:
        before = os.getloadavg()
        if shutil.which("wrk") and not args.python_client:
            result = load_wrk(
                base, template, n, auth, args.seconds, args.connections, scratch, args.warmup,
                process.pid,
            )  # fmt: skip
        else:
            result = asyncio.run(
                _load_python(base, paths, auth, args.seconds, args.connections, args.warmup)
            )
        after = os.getloadavg()
        result["load_average_before_after"] = [round(before[0], 2), round(after[0], 2)]
        return result
    finally:
        os.killpg(process.pid, 15)
        process.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--warmup", type=float, default=20.0, help="seconds of load before")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--enterprises", type=int, default=100_000)
    parser.add_argument("--python-client", action="store_true", help="do not use wrk")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/api.json"))
    parser.add_argument("--serve", choices=["citybrain", "bare"], help=argparse.SUPPRESS)
    parser.add_argument("--root", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.root, args.port, args.workers)
        return

    with tempfile.TemporaryDirectory(prefix="citybrain-bench-api-") as tmp:
        scratch = Path(tmp)
        started = time.perf_counter()
        key = prepare_workspace(scratch, args.enterprises)
        prepare_s = time.perf_counter() - started
        root = scratch / "ws"
        bare = run_side("bare", root, key, args, scratch)
        citybrain = run_side("citybrain", root, key, args, scratch)
        from sqlalchemy import func, select

        from citybrain.api.opsdb_models import AuditLog
        from citybrain.api.security.audit import verify_audit
        from citybrain.core.opsdb import connect, session

        ops_engine = connect(Workspace.open(root).ops_db_url)
        with session(ops_engine) as db:
            audit_rows = db.scalar(select(func.count()).select_from(AuditLog)) or 0
        chain_ok = verify_audit(ops_engine).passed
        ops_engine.dispose()

    versions = {
        name: importlib.metadata.version(name)
        for name in ("citybrain", "fastapi", "uvicorn", "starlette", "uvloop", "httptools")
    }
    result = {
        "benchmark": "api",
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "wrk": shutil.which("wrk") is not None and not args.python_client,
        },
        "versions": versions,
        "inputs": {
            "seconds": args.seconds,
            "connections": args.connections,
            "workers": args.workers,
            "enterprises": args.enterprises,
            "prepare_seconds": round(prepare_s, 1),
            "server": f"uvicorn+uvloop+httptools, {args.workers} worker(s), loopback",
            "ops_db": "SQLite (WAL)",
        },
        "bare_constant": bare,
        "citybrain_credit_report": citybrain | {"audit_rows": audit_rows, "chain_ok": chain_ok},
        "target": {"requests_per_second": 2000, "p99_ms": 50, "cores": 2},
    }
    print(
        f"{'side':<18}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'non-2xx':>9}{'cpu ms/req':>12}"
        "  load avg"
    )
    for name, side in (("bare constant", bare), ("citybrain credit", citybrain)):
        print(
            f"{name:<18}{side['requests_per_second']!s:>10}{side['latency_ms']['p50']!s:>10}"
            f"{side['latency_ms']['p99']!s:>10}{side['non_2xx']!s:>9}"
            f"{side.get('server_cpu_ms_per_request', '-')!s:>12}  "
            f"{side['load_average_before_after']}"
        )
    print(f"audit rows written: {audit_rows} (warm-up included), chain verified: {chain_ok}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
