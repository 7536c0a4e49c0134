"""`citybrain sim serve DIR`: the synthetic city's HTTP-delivered systems as a paged JSON API.

A system folder `DIR/<system>/` is served when its `connection.json` has ``"kind": "http"``; its
rows are the Parquet files `DIR/<system>/data/*.parquet`, in file-name order. Each system is one
resource:

    GET /api/<system>?page=1&page_size=100      page numbers, or
    GET /api/<system>?cursor=…&page_size=100    an opaque cursor (take `next_cursor` from a page)

(`page_size` defaults to the connection file's ``"page_size"``, else 100; at most 10,000.)

answering ``{"system", "total", "page", "page_size", "items": [...], "next", "next_cursor"}`` where
`next` is the full link to the following page, or null on the last one.

If the system's `connection.json` names an ``"api_key"`` (or `create_app` is given one), requests
must send it in the ``X-API-Key`` header. Faults can be injected so ingest's retry and timeout logic
has something to hit: per request with ``?fault=slow|error|malformed``, or at random rates from
`Faults` (or the CITYBRAIN_SIM_FAULTS environment variable, e.g. "error=0.1,slow=0.05,seed=3").
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from dataclasses import dataclass, fields
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from fastapi import FastAPI, Header, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse

from citybrain.core.errors import UserError
from citybrain.sim.formats import joined_bytes, json_objects, read_connection_file

API_KEY_HEADER = "X-API-Key"
FAULTS_ENV = "CITYBRAIN_SIM_FAULTS"
MAX_PAGE_SIZE = 10_000


@dataclass(frozen=True)
class Faults:
    """Random faults at the given per-request rates, from a seeded stream so a test repeats."""

    error_rate: float = 0.0
    slow_rate: float = 0.0
    malformed_rate: float = 0.0
    slow_seconds: float = 2.0
    seed: int = 0

    @classmethod
    def parse(cls, text: str) -> Faults:
        """Read "error=0.1,slow=0.05,malformed=0.02,slow_seconds=3,seed=1" (any subset)."""
        names = {"error": "error_rate", "slow": "slow_rate", "malformed": "malformed_rate"}
        known = {f.name for f in fields(cls)}
        values: dict[str, Any] = {}
        for item in filter(None, (p.strip() for p in text.split(","))):
            key, _, value = item.partition("=")
            name = names.get(key.strip(), key.strip())
            if name not in known:
                raise ValueError(
                    f"{FAULTS_ENV}: unknown fault {key!r} (use error, slow, malformed)"
                )
            values[name] = int(value) if name == "seed" else float(value)
        return cls(**values)


@dataclass(frozen=True)
class HttpSystem:
    """One served system: the row groups of its Parquet files, its API key and page size."""

    name: str
    groups: tuple[tuple[Path, int, int], ...]  # (file, row-group index, rows), in serving order
    api_key: str | None
    page_size: int = 100  # when a request names none; from connection.json "page_size"

    @property
    def total(self) -> int:
        return sum(rows for _, _, rows in self.groups)

    def read(self, offset: int, limit: int) -> list[pa.RecordBatch]:
        """Rows [offset, offset + limit), reading only the row groups they span."""
        out: list[pa.RecordBatch] = []
        start = 0
        for path, group, rows in self.groups:
            if limit <= 0:
                break
            if start + rows > offset:
                piece = _row_group(path, group).slice(max(0, offset - start), limit)
                out += piece.to_batches()
                offset, limit = offset + piece.num_rows, limit - piece.num_rows
            start += rows
        return out


@lru_cache(maxsize=8)
def _row_group(path: Path, group: int) -> pa.Table:
    # A client pages through a row group in many requests; keep the last few decoded.
    return pq.ParquetFile(path).read_row_group(group)


def http_systems(root: Path) -> dict[str, HttpSystem]:
    """Every system folder under `root` whose connection.json says kind "http"."""
    systems: dict[str, HttpSystem] = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        conn = read_connection_file(folder)
        if not conn or conn.get("kind") != "http":
            continue
        groups = []
        for path in sorted((folder / "data").glob("*.parquet")):
            meta = pq.ParquetFile(path).metadata
            groups += [(path, g, meta.row_group(g).num_rows) for g in range(meta.num_row_groups)]
        key = conn.get("api_key") or None
        size = min(max(int(conn.get("page_size", 100)), 1), MAX_PAGE_SIZE)
        systems[folder.name] = HttpSystem(folder.name, tuple(groups), key, size)
    return systems


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def _offset(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, value = text.partition(":")
        if kind != "o":
            raise ValueError(text)
        return int(value)
    except ValueError:
        raise HTTPException(400, f"bad cursor {cursor!r}; use next_cursor from a page") from None


class _FaultDice:
    """Draws the fault for each request from one seeded stream, under a lock (requests run in a
    thread pool)."""

    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self._rng = np.random.default_rng(faults.seed)
        self._lock = threading.Lock()

    def roll(self) -> str | None:
        f = self.faults
        if not (f.error_rate or f.slow_rate or f.malformed_rate):
            return None
        with self._lock:
            x = float(self._rng.random())
        for name, rate in (
            ("error", f.error_rate),
            ("slow", f.slow_rate),
            ("malformed", f.malformed_rate),
        ):
            if x < rate:
                return name
            x -= rate
        return None


def create_app(
    root: Path,
    *,
    api_key: str | None = None,
    faults: Faults | None = None,
) -> FastAPI:
    """The API over the HTTP systems in `root`; `api_key` overrides every system's own key.

    Without `faults`, rates come from the CITYBRAIN_SIM_FAULTS environment variable if it is set.
    """
    if faults is None:
        faults = Faults.parse(os.environ.get(FAULTS_ENV, ""))
    systems = http_systems(root)
    dice = _FaultDice(faults)
    app = FastAPI(title="citybrain synthetic city — HTTP systems", version="1")

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/systems")
    def list_systems() -> list[dict[str, Any]]:
        return [
            {"system": s.name, "path": f"/api/{s.name}", "total": s.total, "page_size": s.page_size}
            for s in systems.values()
        ]

    @app.get("/api/{system}")
    def page_of(
        system: str,
        request: Request,
        page: Annotated[int | None, Query(ge=1)] = None,
        page_size: Annotated[int | None, Query(ge=1, le=MAX_PAGE_SIZE)] = None,
        cursor: str | None = None,
        fault: str | None = None,
        x_api_key: Annotated[str | None, Header()] = None,
    ) -> Response:
        found = systems.get(system)
        if found is None:
            raise HTTPException(404, f"no HTTP system {system!r}; GET /systems lists them")
        expected = api_key or found.api_key
        if expected is not None and x_api_key != expected:
            raise HTTPException(401, f"missing or wrong {API_KEY_HEADER} header")
        chosen = fault or dice.roll()
        if chosen == "error":
            return JSONResponse({"error": "injected server error"}, status_code=500)
        if chosen == "slow":
            time.sleep(faults.slow_seconds)
        size = page_size or found.page_size
        offset = _offset(cursor) if cursor is not None else ((page or 1) - 1) * size
        body = _page_body(found, request, offset, size, cursor is not None)
        if chosen == "malformed":
            body = body[: max(1, len(body) // 2)]  # cut mid-document: not parseable JSON
        return Response(body, media_type="application/json")

    return app


def _page_body(
    system: HttpSystem, request: Request, offset: int, size: int, by_cursor: bool
) -> bytes:
    total = system.total
    end = min(offset + size, total)
    items = [joined_bytes(_with_commas(json_objects(b))) for b in system.read(offset, size)]
    more = end < total
    # Every page offers a cursor; the `next` link continues in the style the client used.
    next_cursor = _cursor(end) if more else None
    if not more:
        next_link = None
    elif by_cursor:
        next_link = str(request.url.include_query_params(cursor=next_cursor))
    else:
        next_link = str(request.url.include_query_params(page=offset // size + 2))
    head = {
        "system": system.name,
        "total": total,
        "page": None if by_cursor else offset // size + 1,
        "page_size": size,
        "next": next_link,
        "next_cursor": next_cursor,
    }
    meta = json.dumps(head, ensure_ascii=False)[:-1]  # reopen the object to append the items
    return meta.encode() + b', "items": [' + b",".join(i for i in items if i) + b"]}"


def _with_commas(objects: pa.Array) -> pa.Array:
    """Objects joined by commas within one batch, as a single-buffer string array."""
    if len(objects) == 0:
        return objects
    last = pa.array(np.arange(len(objects)) == len(objects) - 1)
    return pc.binary_join_element_wise(objects, pc.if_else(last, "", ","), "")


def serve(root: Path, host: str = "127.0.0.1", port: int = 8808) -> None:
    """Run the API with uvicorn until interrupted (the `citybrain sim serve` command)."""
    import uvicorn

    if not root.is_dir():
        raise UserError(f"{root}: no such synthetic-city folder; run `citybrain sim` first")
    uvicorn.run(create_app(root), host=host, port=port, log_level="info")
