"""Check a valid contract against the data it points at: a sample of its first file.

A contract can be valid YAML and still wrong for the export it describes: the file is not where
it says, a named column is not in the file, a delivered column is not named anywhere (and would
stop the load as drift, or be dropped), a date format matches none of the values, a target column
is not in the standard table (standardise would drop it). Each is one :class:`Problem` naming the
key, the column and the values, verbatim. Mapping is run on the sample with the same vectorised
code as a load.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from itertools import islice
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from citybrain.core.errors import UserError
from citybrain.core.stdmodel import LINEAGE_COLUMNS, STD_TABLES
from citybrain.ingest.check import Problem, line_of
from citybrain.ingest.connectors import open_file, source_files
from citybrain.ingest.connectors.base import INTERNAL, REASON, ROW
from citybrain.ingest.contract import FILE_KINDS, SourceContract
from citybrain.ingest.mapping import apply_plan, plan_mapping, unmapped_columns

SAMPLE_BYTES = 2 * 1024 * 1024
SAMPLE_CHUNKS = 1
HEADER_FILES = 50  # files whose headers are read for columns added over time
#: a column whose sample fails this often is mapped wrong (a few bad rows are data, and are
#: quarantined; most rows failing is the contract)
FAIL_SHARE = 0.5
EXAMPLES = 3


@dataclass(frozen=True)
class DataCheck:
    """What the sample showed: problems fail the check, notes are said and do not."""

    problems: list[Problem]
    notes: list[str]
    sample_rows: int = 0
    file: str = ""


def check_data(contract: SourceContract, where: str) -> DataCheck:
    """Check ``contract`` (already valid) against its first data file. ``where`` names the
    contract file in messages; each problem carries the line of its key in that file."""
    found = _check_data(contract, where)
    if contract.origin is None or not found.problems:
        return found
    problems = [_with_line(p, contract.origin) for p in found.problems]
    return DataCheck(problems, found.notes, found.sample_rows, found.file)


def _with_line(problem: Problem, origin: Path) -> Problem:
    """The problem with the 1-based line of its key in the contract file (as far as it exists)."""
    try:
        tree = YAML(typ="rt").load(origin.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, YAMLError):
        return problem
    loc: list[str | int] = []
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", problem.key):
        loc.append(int(part[1:-1]) if part.startswith("[") else part)
    line, _ = line_of(tree, tuple(loc))
    return replace(problem, line=line)


def _check_data(contract: SourceContract, where: str) -> DataCheck:
    if contract.connector.kind not in FILE_KINDS:
        note = f"{where}: connector {contract.connector.kind}: data not checked (not a file)"
        return DataCheck([], [note])
    try:
        files = source_files(contract)
    except UserError as exc:
        return DataCheck([Problem(where, None, "connector.path", str(exc))], [])
    path = files[0]
    try:
        reader = open_file(contract, path, chunk_bytes=SAMPLE_BYTES, chunk_rows=10_000)
        chunks = list(islice(reader.chunks(), SAMPLE_CHUNKS))
    except UserError as exc:
        return DataCheck([Problem(where, None, "connector", str(exc))], [])
    columns = list(reader.columns) or [
        c for c in (chunks[0].table.column_names if chunks else []) if c not in INTERNAL
    ]
    elsewhere = _later_columns(contract, files[1:HEADER_FILES]) if reader.fixed_columns else set()
    problems = [*_column_problems(contract, where, path.name, columns, elsewhere)]
    table = pa.concat_tables([c.table for c in chunks]) if chunks else None
    notes: list[str] = []
    if table is not None and table.num_rows:
        more, notes = _sample_problems(contract, where, path.name, table)
        problems += more
    rows = table.num_rows if table is not None else 0
    return DataCheck(problems, notes, rows, str(path))


def _later_columns(contract: SourceContract, files: list[Path]) -> set[str]:
    """Column names in the headers of the other files (a column added or renamed over time)."""
    found: set[str] = set()
    for path in files:
        try:
            found.update(open_file(contract, path, chunk_bytes=SAMPLE_BYTES).columns)
        except UserError:
            continue
    return found


def _column_problems(
    contract: SourceContract, where: str, file: str, delivered: list[str], elsewhere: set[str]
) -> list[Problem]:
    """Named columns missing from the first file (and from the headers of the others: a column
    may be added over time), and delivered columns nobody named."""
    mapping = contract.mapping
    if not mapping.columns:
        return []
    present = set(delivered) | elsewhere
    shown = ", ".join(delivered[:30]) + (" …" if len(delivered) > 30 else "")
    problems = []
    for i, col in enumerate(mapping.columns):
        key = f"mapping.columns[{i}]"
        if col.combine:
            for part, name in col.combine.items():
                if name not in present:
                    message = f"column {name!r} ({part}) is not in {file}; its columns: {shown}"
                    problems.append(Problem(where, None, f"{key}.combine.{part}", message))
        elif present.isdisjoint(col.sources):
            names = " / ".join(repr(n) for n in col.sources)
            message = f"column {names} is not in {file}; its columns: {shown}"
            problems.append(Problem(where, None, f"{key}.source", message))
        if col.year_from is not None and col.year_from not in present:
            message = f"column {col.year_from!r} is not in {file}"
            problems.append(Problem(where, None, f"{key}.year_from", message))
    for name in mapping.ignore:
        if name not in present:
            message = f"ignored column {name!r} is not in {file}"
            problems.append(Problem(where, None, "mapping.ignore", message))
    if not mapping.keep_unmapped:
        for name in unmapped_columns(mapping, delivered):
            message = (
                f"column {name!r} of {file} will not be kept: map it, list it under "
                "mapping.ignore, or set mapping.keep_unmapped: true"
            )
            problems.append(Problem(where, None, "mapping", message))
    problems.extend(_standard_problems(contract, where))
    return problems


def _standard_problems(contract: SourceContract, where: str) -> list[Problem]:
    """Targets the standard table has no column for: standardise would drop them."""
    if contract.standard is None:
        return []
    table = STD_TABLES[contract.standard]
    known = {*table.column_names, *LINEAGE_COLUMNS}
    problems = []
    targets = [
        (f"mapping.columns[{i}].target", c.target) for i, c in enumerate(contract.mapping.columns)
    ]
    targets += [("constants", name) for name in contract.constants]
    for key, target in targets:
        if target not in known:
            message = (
                f"{target!r} is not a column of std.{table.name} and would be dropped by "
                f"standardise; its columns: {', '.join(table.column_names)}"
            )
            problems.append(Problem(where, None, key, message))
    return problems


def _sample_problems(
    contract: SourceContract, where: str, file: str, table: pa.Table
) -> tuple[list[Problem], list[str]]:
    """Map the sample as a load would; a column failing on most of its values is a problem."""
    delivered = {f.name: f.type for f in table.schema if f.name not in INTERNAL}
    try:
        plan = plan_mapping(contract.mapping, delivered, keys=contract.keys, source_file=file)
    except UserError as exc:
        return [Problem(where, None, "mapping", str(exc))], []
    result = apply_plan(plan, table.select([*delivered, *INTERNAL]))
    bad = result.quarantined
    counted = pc.value_counts(bad.column(REASON).drop_null()).to_pylist()  # distinct reasons only
    reasons = {item["values"]: item["counts"] for item in counted}
    problems: list[Problem] = []
    notes: list[str] = []
    n = table.num_rows
    for i, col in enumerate(contract.mapping.columns):
        key = f"mapping.columns[{i}]"
        names = [name for name in col.sources if name in delivered]
        if not names:
            continue
        mine = {r: k for r, k in reasons.items() if r.split(":", 1)[-1] == col.source}
        failed = sum(mine.values())
        values = sum(n - table.column(name).null_count for name in names[:1])
        if not failed:
            continue
        reason = max(mine, key=mine.__getitem__)
        examples = _examples(bad, reason, col.sources[0] if not col.combine else names[0])
        text = (
            f"{col.source} → {col.target}: {failed} of {n} sample rows fail ({reason}), "
            f"e.g. {examples}"
        )
        if failed >= FAIL_SHARE * max(values, 1):
            problems.append(Problem(where, None, key, text))
        else:
            notes.append(f"{where}: {key}: {text} (they will be quarantined)")
    return problems, notes


def _examples(bad: pa.Table, reason: str, column: str) -> str:
    rows = bad.filter(pc.equal(bad.column(REASON), reason))
    if column not in rows.column_names:
        return "-"
    values = rows.column(column).to_pylist()[:EXAMPLES]
    row_numbers = rows.column(ROW).to_pylist()[:EXAMPLES]
    return ", ".join(f"row {r}: {v!r}" for r, v in zip(row_numbers, values, strict=True))
