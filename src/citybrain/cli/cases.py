"""``citybrain cases …``: list, show and route cases (一网统管)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from citybrain.cli.opsdb import workspace_ops_engine
from citybrain.cli.state import state
from citybrain.cli.ui import console
from citybrain.core import UserError, Workspace

cases_app = typer.Typer(
    help="Cases (一网统管): list, show and route them.\n\nExample: citybrain cases list --json",
    no_args_is_help=True,
)


def _local(moment: datetime | None, workspace: Workspace) -> str:
    """A time as the workspace's clerks read it (the work calendar's zone, Asia/Shanghai)."""
    from citybrain.cases import settings_for_workspace

    if moment is None:
        return ""
    zone = settings_for_workspace(workspace.root).sla.calendar.zone
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def _print_json(value: Any) -> None:
    console.print_json(json.dumps(value, ensure_ascii=False, default=str))


@cases_app.command("list")
def list_command(
    status: Annotated[
        str | None, typer.Option(help="new, dispatched, accepted, in_progress, returned, …")
    ] = None,
    topic: Annotated[str | None, typer.Option(help="Only this topic.")] = None,
    department: Annotated[str | None, typer.Option(help="Only this department.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 200,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List cases, newest first.

    Example: citybrain cases list --status dispatched --topic group_rental
    """
    from citybrain.cases import Status, case_summary, list_cases, status_label

    if status is not None and status not in {s.value for s in Status}:
        known = ", ".join(s.value for s in Status)
        raise UserError(f"unknown status {status!r}", hint=f"statuses are {known}")
    with workspace_ops_engine() as (workspace, ops_engine):
        cases = list_cases(
            ops_engine, status=status, topic=topic, department=department, limit=limit
        )
    if as_json:
        _print_json([case_summary(c) for c in cases])
        return
    table = Table(title=f"{len(cases)} case(s)")
    for column in ("id", "topic", "subject", "level", "status", "department", "due"):
        table.add_column(column)
    for case in cases:
        due = _local(case.sla_due_at, workspace)
        table.add_row(
            str(case.id),
            case.topic,
            case.subject_id,
            case.level,
            status_label(case.status) + (" 督办" if case.escalated_at else ""),
            case.department or "",
            due,
        )
    console.print(table)


@cases_app.command("show")
def show_command(
    case_id: Annotated[int, typer.Argument(help="Case id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show one case: its fields, evidence, reporters and every transition.

    Example: citybrain cases show 42
    """
    from citybrain.cases import event_summary, get_case, status_label
    from citybrain.cases.views import case_summary

    with workspace_ops_engine() as (workspace, ops_engine):
        case = get_case(ops_engine, case_id, detail=True)
    if as_json:
        _print_json(
            {
                **case_summary(case),
                "evidence": [
                    {"period": e.period, "score": e.score, "level": e.level,
                     "model_version": e.model_version, "reasons": e.reasons}
                    for e in case.evidence
                ],
                "events": [event_summary(e) for e in case.events],
                "reporters": [
                    {"id": r.id, "channel": r.channel, "reported_at": r.reported_at.isoformat(),
                     "answered": r.answered_at is not None, "rating": r.rating}
                    for r in case.reporters
                ],
            }
        )  # fmt: skip
        return
    console.print(f"[bold]case {case.id}[/] {case.title}")
    console.print(f"  topic {case.topic} · {case.subject_type} {case.subject_id} · {case.period}")
    console.print(f"  status {status_label(case.status)} · level {case.level} · score {case.score}")
    console.print(f"  department {case.department or '-'} · assignee {case.assignee or '-'}")
    if case.sla_due_at:
        console.print(f"  due {_local(case.sla_due_at, workspace)}")
    for evidence in case.evidence:
        reason = evidence.reasons[0]["text_zh"] if evidence.reasons else ""
        console.print(f"  evidence {evidence.period} score {evidence.score:.2f} {reason}")
    events = Table(title="events")
    for column in ("at", "action", "actor", "from", "to", "comment"):
        events.add_column(column)
    for event in case.events:
        events.add_row(
            _local(event.at, workspace),
            event.action,
            event.actor,
            status_label(event.from_status) if event.from_status else "",
            status_label(event.to_status),
            event.comment,
        )
    console.print(events)
    if case.reporters:
        console.print(f"  {len(case.reporters)} reporter(s) merged into this case")


def _areas(path: Path | None) -> Any:
    if path is None:
        return None
    from citybrain.cases import AreaIndex

    if not path.is_file():
        raise UserError(f"{path}: no such file")
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return AreaIndex.from_table(pq.read_table(path))
    return AreaIndex.from_geojson(path)


@cases_app.command("route")
def route_command(
    findings: Annotated[Path, typer.Argument(help="Findings Parquet file.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only say where each finding would go, and why.")
    ] = False,
    rules: Annotated[
        Path | None, typer.Option(help="Routing rules YAML (default: the workspace's cases.yaml).")
    ] = None,
    areas: Annotated[
        Path | None,
        typer.Option(help="Areas (GeoJSON or Parquet) to locate findings without grid."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Route findings to departments; with --dry-run nothing is written.

    Example: citybrain cases route --dry-run topic/group_rental/findings.parquet
    """
    import pyarrow.parquet as pq

    from citybrain.cases import (
        area_names,
        department_hints,
        load_routing,
        open_cases,
        settings_for_workspace,
    )
    from citybrain.cases import dry_run as routing_dry_run
    from citybrain.topics import discover_topics, validate_findings

    if not findings.is_file():
        raise UserError(f"{findings}: no such file")
    workspace = Workspace.open(state.workspace)
    settings = settings_for_workspace(workspace.root)
    if rules is not None:
        settings = settings.model_copy(update={"routing": load_routing(rules)})
    hints = department_hints(list(discover_topics().values()))
    table = validate_findings(pq.read_table(findings))
    area_index = _areas(areas)
    names = area_names(workspace)
    if not dry_run:
        with workspace_ops_engine() as (_, ops_engine):
            result = open_cases(
                ops_engine,
                table,
                settings=settings,
                areas=area_index,
                hints=hints,
                area_names=names,
            )
        console.print(
            f"[green]{len(result.opened)} case(s) opened[/], {result.dispatched} dispatched, "
            f"{result.unrouted} unrouted; evidence attached to {len(result.attached_to)} open "
            f"case(s); {result.below_threshold} finding(s) below threshold"
        )
        return
    routed = routing_dry_run(
        table, settings=settings, areas=area_index, hints=hints, area_names=names
    )
    columns = ["topic", "subject_id", "level", "score", "grid_id", "community_id", "street_id",
               "department", "co_departments", "routing_rule", "matched_on", "route_reason_zh",
               "route_reason_en"]  # fmt: skip
    rows = routed.select(columns).to_pylist()
    if as_json:
        _print_json(rows)
        return
    out = Table(title=f"dry run: {len(rows)} of {table.num_rows} finding(s) above threshold")
    for column in ("topic", "subject", "level", "where", "department", "why"):
        out.add_column(column)
    for row in rows:
        where = "/".join(str(row[c] or "-") for c in ("street_id", "community_id", "grid_id"))
        departments = ", ".join([row["department"] or "(unrouted)", *row["co_departments"]])
        out.add_row(
            row["topic"], row["subject_id"], row["level"], where, departments,
            f"{row['route_reason_zh']} ({row['route_reason_en']})",
        )  # fmt: skip
    console.print(out)


@cases_app.command("escalate")
def escalate_command() -> None:
    """Escalate (督办) every case past its deadline; run it from a scheduler.

    Example: citybrain cases escalate
    """
    from citybrain.cases import escalate_overdue, settings_for_workspace

    with workspace_ops_engine() as (workspace, ops_engine):
        ids = escalate_overdue(ops_engine, settings=settings_for_workspace(workspace.root))
    console.print(
        f"{len(ids)} case(s) escalated" + (f": {', '.join(map(str, ids))}" if ids else "")
    )


@cases_app.command("metrics")
def metrics_command(
    topic: Annotated[str | None, typer.Option(help="Only this topic.")] = None,
) -> None:
    """Print case metrics as JSON: counts, overdue rate, 响应率, 解决率, 满意率.

    Example: citybrain cases metrics --topic group_rental
    """
    from citybrain.cases import case_metrics, settings_for_workspace

    with workspace_ops_engine() as (workspace, ops_engine):
        metrics = case_metrics(
            ops_engine, topic=topic, settings=settings_for_workspace(workspace.root)
        )
    _print_json(metrics.as_dict())
