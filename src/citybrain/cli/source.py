"""``citybrain source …``: draft a contract from a sample, check contracts, list the sources."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from citybrain.cli.state import state
from citybrain.cli.ui import console, err_console

source_app = typer.Typer(
    help="Source contracts: draft them from a sample, check them, list a workspace's sources.\n\n"
    "Example: citybrain source new taxi_gps --from exports/gps_20240301.txt.gz\n\n"
    "The keys of a contract: docs/contracts.md",
    no_args_is_help=True,
)
SCHEMA_NAME = "source-contract.schema.json"


def _contract_files(paths: list[Path]) -> list[Path]:
    """Files as given; a folder stands for the contracts in it; none: the workspace's."""
    from citybrain.core import UserError, Workspace
    from citybrain.ingest import discover_sources

    if not paths:
        found = discover_sources(Workspace.open(state.workspace))
        if not found:
            raise UserError(
                f"no contract files in {state.workspace.resolve() / 'sources'}",
                hint="draft one: citybrain source new NAME --from FILE",
            )
        return found
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            inside = sorted([*path.glob("*.yaml"), *path.glob("*.yml")])
            if not inside:
                raise UserError(f"{path}: no contract files (*.yaml) in this folder")
            files.extend(inside)
        else:
            files.append(path)
    return files


def _say(text: str, style: str | None = None, *, err: bool = False) -> None:
    """Print ``text`` verbatim: a pattern such as ``[a-z]`` is not Rich markup."""
    (err_console if err else console).print(
        text, style=style, markup=False, highlight=False, soft_wrap=True
    )


@source_app.command("check")
def check(
    files: Annotated[
        list[Path] | None,
        typer.Argument(help="Contract files or folders (default: the workspace's sources/)."),
    ] = None,
    data: Annotated[
        bool, typer.Option("--data/--no-data", help="Also check each contract against its file.")
    ] = True,
) -> None:
    """Check source contracts, and each against a sample of its data: one line per problem.

    The file must exist, every named column be in it, every delivered column be mapped or listed
    under mapping.ignore (or keep_unmapped: true), and each mapped column parse on the sample.
    Exits 1 if any check fails.

    Example: citybrain source check sources/water_utility.yaml
    """
    from citybrain.ingest import check_contract
    from citybrain.ingest.datacheck import check_data

    problems = 0
    for path in _contract_files(list(files or [])):
        result = check_contract(path)
        found = list(result.problems)
        notes: list[str] = []
        sampled = ""
        if result.contract is not None and data:
            checked = check_data(result.contract, str(path))
            found += checked.problems
            notes = checked.notes
            if checked.file:
                sampled = f" (data: {checked.sample_rows} sample rows of {checked.file})"
        for note in notes:
            _say(f"! {note}", "yellow")
        if not found:
            _say(f"ok {path}{sampled}", "green")
            continue
        problems += len(found)
        for problem in found:
            _say(f"✗ {problem}", "red")
    if problems:
        _say(f"{problems} problem(s)", "red")
        raise typer.Exit(1)


@source_app.command("new")
def new(
    name: Annotated[str, typer.Argument(help="System id of the new source, e.g. taxi_gps.")],
    sample: Annotated[
        Path, typer.Option("--from", help="A sample export of the source (csv, txt, json, …).")
    ],
    standard: Annotated[
        str | None, typer.Option(help="Standard table to map onto (default: the best match).")
    ] = None,
    owner: Annotated[str, typer.Option(help="Owner department.")] = "待填写 / to fill in",
    title: Annotated[str | None, typer.Option(help="Name of the system.")] = None,
    force: Annotated[bool, typer.Option(help="Overwrite an existing contract.")] = False,
) -> None:
    """Draft sources/NAME.yaml from a sample file: format, columns, types, null markers and a
    proposed mapping to a standard table. Check it, edit it, then run `source check`.

    Example: citybrain -w ./gaoxin source new taxi_gps --from exports/gps.txt.gz
    """
    from citybrain.core import UserError, Workspace
    from citybrain.ingest.draft import draft_contract
    from citybrain.ingest.schema import render_contract_schema

    folder = Workspace.open(state.workspace).root / "sources"
    folder.mkdir(exist_ok=True)
    target = folder / f"{name}.yaml"
    if target.exists() and not force:
        raise UserError(f"{target} exists", hint="edit it, or give --force to draft it again")
    draft = draft_contract(name, sample, folder, standard=standard, owner=owner, title=title)
    target.write_text(draft.text, encoding="utf-8")
    schema = folder / SCHEMA_NAME  # editors complete and check keys from it (see the first line)
    text = render_contract_schema()
    if not schema.is_file() or schema.read_text(encoding="utf-8") != text:
        schema.write_text(text, encoding="utf-8")
    found = [f"kind {draft.kind}"]
    if draft.compression:
        found.append(draft.compression)
    if draft.encoding:
        found.append(f"encoding {draft.encoding}")
    if draft.delimiter:
        found.append(f"delimiter {draft.delimiter!r}")
    _say(f"drafted {target}: {', '.join(found)}")
    _say(f"  standard table: {draft.standard or '(none matched; name one with --standard)'}")
    for delivered, column in draft.mapped.items():
        _say(f"  {delivered} → {column}")
    if draft.unmapped:
        _say(f"  not mapped: {', '.join(draft.unmapped)}", "yellow")
        _say("  map each, list it under mapping.ignore, or set mapping.keep_unmapped: true")
    _say(f"next: edit it, then citybrain source check {target}")


@source_app.command("guide")
def guide(
    out: Annotated[Path, typer.Option(help="Folder to write into.")] = Path("docs"),
) -> None:
    """Write the contract guide (contracts.md) and its JSON Schema from the code.

    Example: citybrain source guide --out docs
    """
    from citybrain.cli.guide import write_guide

    for path in write_guide(out):
        _say(f"wrote {path}")


@source_app.command("list")
def list_sources() -> None:
    """List the workspace's sources: system, owner, connector, standard table, refresh.

    Example: citybrain -w ./gaoxin source list
    """
    from rich.markup import escape
    from rich.table import Table

    from citybrain.core import Workspace
    from citybrain.ingest import check_contract, discover_sources

    workspace = Workspace.open(state.workspace)
    paths = discover_sources(workspace)
    if not paths:
        _say(f"no source contracts in {workspace.root / 'sources'}")
        _say("draft one from a sample export: citybrain source new NAME --from FILE")
        return
    table = Table(title=f"sources of {workspace.root.name}")
    table.add_column("system", no_wrap=True)
    for name in ("name", "owner", "connector", "standard", "refresh", "drift"):
        table.add_column(name)
    invalid = 0
    for path in paths:
        result = check_contract(path)
        c = result.contract
        if c is None:
            invalid += 1
            problem = escape(str(result.problems[0]))
            table.add_row(path.stem, f"[red]invalid: {problem}[/]", "", "", "", "", "")
            continue
        refresh = c.refresh.mode + (f" ({c.refresh.schedule})" if c.refresh.schedule else "")
        table.add_row(c.id, c.name, c.owner, c.connector.kind, c.standard or "", refresh, c.drift)
    console.print(table)
    if invalid:
        _say(f"{invalid} invalid contract(s): run `citybrain source check` on them")
