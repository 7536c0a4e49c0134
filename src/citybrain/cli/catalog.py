"""``citybrain catalog``: headline figures and every dataset by zone, with rows and freshness."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from citybrain.cli.state import state
from citybrain.cli.ui import console
from citybrain.core import Workspace
from citybrain.core.catalog import Catalog


def catalog_report(workspace: Workspace) -> dict[str, Any]:
    """Headline figures and datasets by zone, as plain JSON-ready data."""
    with Catalog.open(workspace.ops_db_url) as catalog:
        headline = catalog.headline()
        datasets = catalog.list_datasets()
    zones: dict[str, list[dict[str, Any]]] = {}
    # a dataset registered but never given a row (a source with no data yet) is not counted
    empty = sum(1 for d in datasets if d.latest is None or not d.latest.rows)
    for d in datasets:
        zones.setdefault(d.zone, []).append(
            {
                "name": d.name,
                "system": d.system_id,
                "owner": d.owner_department,
                "description": d.description,
                "rows": d.latest.rows if d.latest is not None else None,
                "sensitivity": d.sensitivity,
                "freshness": d.freshness.status,
                "last_refreshed_at": d.freshness.last_refreshed_at,
            }
        )
    return {
        "systems_connected": headline.systems_connected,
        "records_aggregated": headline.records_aggregated,
        "datasets": len(datasets) - empty,
        "empty_datasets": empty,
        "last_load_at": headline.last_load_at,
        "zones": zones,
    }


def catalog_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """Show the catalog: systems connected, records aggregated, datasets by zone and freshness.

    Example: citybrain -w ./gaoxin catalog --json
    """
    workspace = Workspace.open(state.workspace)
    report = catalog_report(workspace)
    if as_json:
        console.print_json(json.dumps(report, ensure_ascii=False, default=str))
        return
    console.print(
        f"[bold]{report['systems_connected']}[/] systems connected (接入系统) · "
        f"[bold]{report['records_aggregated']:,}[/] records aggregated (归集数据) · "
        f"{report['datasets']} datasets"
        + (f" (+{report['empty_datasets']} empty)" if report["empty_datasets"] else "")
    )
    for zone, datasets in report["zones"].items():
        table = Table(title=f"zone {zone}")
        table.add_column("dataset", no_wrap=True)
        table.add_column("owner")
        table.add_column("rows", justify="right")
        table.add_column("freshness")
        table.add_column("last refreshed")
        for d in datasets:
            rows = "" if d["rows"] is None else f"{d['rows']:,}"
            when = d["last_refreshed_at"]
            table.add_row(
                d["name"],
                d["owner"] or "",
                rows,
                d["freshness"],
                when.strftime("%Y-%m-%d %H:%M") if when is not None else "",
            )
        console.print(table)
