"""Lineage: which dataset was made from which, walked in both directions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from citybrain.core.catalog import _datasets
from citybrain.core.catalog.types import DatasetKey, LineageEdge, LineageGraph, LineageNode
from citybrain.core.opsdb.models import CatalogDataset, CatalogLineage


def add_edge(
    db: Session,
    upstream: DatasetKey,
    downstream: DatasetKey,
    *,
    kind: str,
    run_id: str | None,
    now: datetime,
) -> LineageEdge:
    """Record that ``downstream`` is made from ``upstream``; repeating it refreshes the run id."""
    if upstream == downstream:
        raise ValueError(f"a dataset cannot be its own upstream: {upstream}")
    up = _datasets.require(db, upstream)
    down = _datasets.require(db, downstream)
    edge = _find_edge(db, up.id, down.id, kind)
    if edge is None:
        edge = CatalogLineage(
            upstream_id=up.id,
            downstream_id=down.id,
            kind=kind,
            run_id=run_id,
            created_at=now,
            updated_at=now,
        )
        try:
            with db.begin_nested():  # a concurrent writer may add the same edge first
                db.add(edge)
        except IntegrityError:
            edge = _find_edge(db, up.id, down.id, kind)
            assert edge is not None
            edge.run_id, edge.updated_at = run_id, now
    else:
        edge.run_id, edge.updated_at = run_id, now
    db.flush()
    return LineageEdge(
        upstream=upstream, downstream=downstream, kind=kind, run_id=run_id, updated_at=now
    )


def _find_edge(db: Session, up: int, down: int, kind: str) -> CatalogLineage | None:
    return db.scalars(
        select(CatalogLineage).where(
            CatalogLineage.upstream_id == up,
            CatalogLineage.downstream_id == down,
            CatalogLineage.kind == kind,
        )
    ).one_or_none()


def graph(db: Session, key: DatasetKey, depth: int | None) -> LineageGraph:
    """Everything upstream and downstream of ``key`` (up to ``depth`` steps each way)."""
    root = _datasets.require(db, key)
    depths: dict[int, int] = {root.id: 0}
    edges: dict[int, CatalogLineage] = {}
    for direction in (-1, 1):
        # Upstream: follow edges whose downstream end is in the frontier; downstream: the reverse.
        near = CatalogLineage.downstream_id if direction < 0 else CatalogLineage.upstream_id
        frontier = {root.id}
        step = 0
        while frontier and (depth is None or step < depth):
            step += 1
            # One query per step: lineage graphs are shallow (source → raw → std → base → topic).
            found = db.scalars(select(CatalogLineage).where(near.in_(frontier))).all()
            frontier = set()
            for edge in found:
                edges[edge.id] = edge
                other = edge.upstream_id if direction < 0 else edge.downstream_id
                if other not in depths:
                    depths[other] = direction * step
                    frontier.add(other)
    return _assemble(db, key, depths, list(edges.values()))


def _assemble(
    db: Session, key: DatasetKey, depths: dict[int, int], edges: list[CatalogLineage]
) -> LineageGraph:
    rows = db.scalars(select(CatalogDataset).where(CatalogDataset.id.in_(depths))).all()
    keys = {row.id: DatasetKey(row.zone, row.name) for row in rows}
    nodes = sorted(
        (
            LineageNode(key=keys[row.id], system_id=row.system_id, depth=depths[row.id])
            for row in rows
        ),
        key=lambda node: (node.depth, node.key),
    )
    # Only edges between nodes we show: a depth limit may cut the far end of some.
    shown = [e for e in edges if e.upstream_id in keys and e.downstream_id in keys]
    return LineageGraph(
        root=key,
        nodes=tuple(nodes),
        edges=tuple(
            sorted(
                (
                    LineageEdge(
                        upstream=keys[e.upstream_id],
                        downstream=keys[e.downstream_id],
                        kind=e.kind,
                        run_id=e.run_id,
                        updated_at=e.updated_at,
                    )
                    for e in shown
                ),
                key=lambda edge: (edge.upstream, edge.downstream, edge.kind),
            )
        ),
    )
