"""Service API under load: credit-report-like lookups vs a bare FastAPI constant, same run.

    uv run python benchmarks/api.py [--seconds 10] [--concurrency 32] [--workers 1]
                                    [--out benchmarks/results/api.json]

Each side is served by uvicorn in its own process on loopback; the load comes from this process
(asyncio + httpx, keep-alive connections). The citybrain side runs the whole security path a real
credit-report lookup takes: API-key authentication against the ops database, the permission check
(``credit.read``), area scope, masking of the legal representative's name and phone, and one
hash-chained audit row written per request (credit reads are audited). The subject is one of
10,000 synthetic enterprises held in memory, so the figure is the API's cost, not a data engine's.
The bare side is a FastAPI app with one endpoint returning a constant: the ceiling on this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.metadata
import json
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException

from citybrain.api import create_app
from citybrain.api.deps import Principal, get_scope, require
from citybrain.api.pii import Masker, get_masker
from citybrain.api.security.roles import Permission
from citybrain.api.security.scope import Scope
from citybrain.api.settings import ApiSettings
from citybrain.core import Workspace

N_ENTERPRISES = 10_000


def _enterprises() -> dict[str, dict[str, Any]]:
    rng = random.Random(7)
    surnames = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
    out = {}
    for i in range(N_ENTERPRISES):
        uscc = f"91510100MA{i:08d}"
        out[uscc] = {
            "uscc": uscc,
            "name": f"示例{i}科技有限公司",
            "legal_rep": rng.choice(surnames) + "某某",
            "phone": f"138{rng.randrange(10**8):08d}",
            "street": f"S{i % 8:02d}",
            "score": round(rng.uniform(0.3, 0.99), 3),
            "level": rng.choice(["A", "B", "C"]),
        }
    return out


FIRMS = _enterprises()
bench_router = APIRouter()


@bench_router.get("/api/v1/_bench/credit/{uscc}")
def credit_report(
    uscc: str,
    _: Annotated[Principal, Depends(require(Permission.CREDIT_READ))],
    scope: Annotated[Scope, Depends(get_scope)],
    masker: Annotated[Masker, Depends(get_masker)],
) -> dict[str, Any]:
    """A credit report as the real one will be shaped: masked identity, score, reasons."""
    firm = FIRMS.get(uscc)
    if firm is None or not scope.allows(street=firm["street"]):
        raise HTTPException(404, detail="no such enterprise in your area")
    row = masker.row(firm, {"legal_rep": "name", "phone": "phone"}, subject=uscc)
    return {
        **row,
        "reasons": [
            {"signal": "tax_arrears", "observed": 0, "expected": 0, "contribution": 0.0,
             "zh": "无欠税记录", "en": "no tax arrears"},
            {"signal": "penalties_3y", "observed": 1, "expected": 0, "contribution": -0.05,
             "zh": "三年内行政处罚1次", "en": "one administrative penalty in three years"},
        ],
    }  # fmt: skip


def build_citybrain_app(root: Path) -> Any:
    app = create_app(Workspace.open(root), ApiSettings(rate_limit_enabled=False))
    app.include_router(bench_router)
    web = [r for r in app.router.routes if getattr(r, "name", None) == "web"]
    for route in web:  # keep the static web app last
        app.router.routes.remove(route)
        app.router.routes.append(route)
    return app


def build_bare_app() -> Any:
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/const")
    def const() -> dict[str, str]:
        return {"status": "ok"}

    return app


def serve(kind: str, root: str, port: int) -> None:
    import uvicorn

    app = build_citybrain_app(Path(root)) if kind == "citybrain" else build_bare_app()
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def prepare_workspace(root: Path) -> str:
    """A workspace with an analyst system user and its API key; returns the key."""
    from citybrain.api.security import accounts
    from citybrain.core import Workspace
    from citybrain.core.opsdb import connect, session, upgrade

    workspace = Workspace.init(root / "ws", name="bench")
    engine = connect(workspace.ops_db_url)
    upgrade(engine)
    with session(engine) as db:
        accounts.create_user(db, "credit-robot", role="analyst", password=None)
        key = accounts.create_key(db, "credit-robot", "benchmark").key
    engine.dispose()
    return key


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_server(kind: str, root: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, __file__, "--serve", kind, "--root", str(root), "--port", str(port)]
    )
    base = f"http://127.0.0.1:{port}"
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{base}/openapi.json", timeout=1.0)
            return process, base
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"{kind} server did not start on {base}")


async def _connection(
    host: str, port: int, paths: list[str], headers: str, seed: int, until: float,
    latencies: list[float] | None, statuses: dict[int, int],
) -> None:  # fmt: skip
    """One keep-alive HTTP/1.1 connection sending requests back to back (a minimal client:
    httpx's own overhead would otherwise be what is measured)."""
    rng = random.Random(seed)
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < until:
            started = time.perf_counter()
            writer.write(f"GET {rng.choice(paths)} HTTP/1.1\r\n{headers}\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            if latencies is not None:
                latencies.append(time.perf_counter() - started)
                status = int(head[9:12])
                statuses[status] = statuses.get(status, 0) + 1
    finally:
        writer.close()


async def load(
    base: str, paths: list[str], headers: dict[str, str], seconds: float, concurrency: int
) -> dict[str, Any]:
    host, port = base.removeprefix("http://").split(":")
    header_text = f"Host: {host}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    warm = time.perf_counter() + 1.0
    await asyncio.gather(
        *(_connection(host, int(port), paths, header_text, i, warm, None, statuses)
          for i in range(concurrency))
    )  # fmt: skip
    started = time.perf_counter()
    until = started + seconds
    await asyncio.gather(
        *(_connection(host, int(port), paths, header_text, i, until, latencies, statuses)
          for i in range(concurrency))
    )  # fmt: skip
    elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 2)

    return {
        "requests": len(latencies),
        "seconds": round(elapsed, 2),
        "requests_per_second": round(len(latencies) / elapsed, 1),
        "latency_ms": {
            "p50": pct(0.50),
            "p90": pct(0.90),
            "p99": pct(0.99),
            "mean": round(statistics.fmean(latencies) * 1000, 2),
        },
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
    }


def run_side(kind: str, root: Path, key: str, seconds: float, concurrency: int) -> dict[str, Any]:
    process, base = start_server(kind, root)
    try:
        if kind == "citybrain":
            ids = list(_enterprises())
            paths = [f"/api/v1/_bench/credit/{uscc}" for uscc in ids]
            headers = {"X-API-Key": key}
        else:
            paths, headers = ["/const"], {}
        return asyncio.run(load(base, paths, headers, seconds, concurrency))
    finally:
        process.terminate()
        process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/api.json"))
    parser.add_argument("--serve", choices=["citybrain", "bare"], help=argparse.SUPPRESS)
    parser.add_argument("--root", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.root, args.port)
        return

    with tempfile.TemporaryDirectory(prefix="citybrain-bench-api-") as scratch:
        key = prepare_workspace(Path(scratch))
        root = Path(scratch) / "ws"
        bare = run_side("bare", root, key, args.seconds, args.concurrency)
        citybrain = run_side("citybrain", root, key, args.seconds, args.concurrency)
        from sqlalchemy import func, select

        from citybrain.api.opsdb_models import AuditLog
        from citybrain.api.security.audit import verify_audit
        from citybrain.core import Workspace
        from citybrain.core.opsdb import connect, session

        engine = connect(Workspace.open(root).ops_db_url)
        with session(engine) as db:
            audit_rows = db.scalar(select(func.count()).select_from(AuditLog)) or 0
        chain_ok = verify_audit(engine).passed
        engine.dispose()

    versions = {
        name: importlib.metadata.version(name)
        for name in ("citybrain", "fastapi", "uvicorn", "starlette", "sqlalchemy", "httpx")
    }
    result = {
        "benchmark": "api",
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
        },
        "versions": versions,
        "inputs": {
            "seconds": args.seconds,
            "concurrency": args.concurrency,
            "enterprises": N_ENTERPRISES,
            "server": "uvicorn, 1 worker, loopback; load from a second process",
            "ops_db": "SQLite (WAL)",
        },
        "bare_constant": bare,
        "citybrain_credit_lookup": citybrain | {"audit_rows": audit_rows, "chain_ok": chain_ok},
        "target": {"requests_per_second": 2000, "p99_ms": 50, "cores": 2},
    }
    table = [
        ("side", "req/s", "p50 ms", "p99 ms", "statuses"),
        ("bare constant", bare["requests_per_second"], bare["latency_ms"]["p50"],
         bare["latency_ms"]["p99"], bare["statuses"]),
        ("citybrain credit", citybrain["requests_per_second"], citybrain["latency_ms"]["p50"],
         citybrain["latency_ms"]["p99"], citybrain["statuses"]),
    ]  # fmt: skip
    for row in table:
        print(f"{row[0]:<18}{row[1]!s:>10}{row[2]!s:>10}{row[3]!s:>10}  {row[4]}")
    print(f"audit rows written: {audit_rows}, chain verified: {chain_ok}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
