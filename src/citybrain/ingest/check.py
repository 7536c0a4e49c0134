"""Load and check source contracts, reporting every problem with file, line and key.

``check_contract`` returns a :class:`CheckResult` (habit 8: checks return results);
``load_contract`` raises :class:`ContractError` carrying that result when the file is not a
valid contract.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from citybrain.core.errors import UserError
from citybrain.core.yamlmodel import key_text
from citybrain.ingest.contract import (
    ColumnMapping,
    PiiField,
    Refresh,
    SourceContract,
    Volume,
)
from citybrain.ingest.units import unit_factor

Loc = tuple[str | int, ...]
M = TypeVar("M", bound=BaseModel)
_SECRET_KEY = re.compile(r"(password|passwd|secret|token|api_key|apikey)$", re.IGNORECASE)
_URL_PASSWORD = re.compile(r"://[^/@:]+:[^/@]+@")


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.key}: {self.message}"


@dataclass
class CheckResult:
    """The outcome of checking one contract file."""

    file: str
    problems: list[Problem] = field(default_factory=list)
    contract: SourceContract | None = None

    @property
    def passed(self) -> bool:
        return not self.problems

    columns = ("file", "line", "key", "problem")

    def rows(self) -> list[tuple[str, str, str, str]]:
        return [(p.file, str(p.line or ""), p.key, p.message) for p in self.problems]

    def __rich__(self) -> object:
        from rich.table import Table

        table = Table(title=f"{self.file}: {'ok' if self.passed else 'problems'}")
        for name in self.columns:
            table.add_column(name)
        for row in self.rows():
            table.add_row(*row)
        return table

    def __str__(self) -> str:
        if self.passed:
            return f"{self.file}: ok"
        return "\n".join(str(p) for p in self.problems)


class ContractError(UserError):
    """A contract file that is not valid; the message lists its problems."""

    def __init__(self, result: CheckResult) -> None:
        first = result.problems[0]
        more = (
            f" (and {len(result.problems) - 1} more problem(s))" if len(result.problems) > 1 else ""
        )
        super().__init__(
            f"{first}{more}", hint=f"run `citybrain source check {result.file}` to see them all"
        )
        self.result = result


def line_of(node: Any, loc: Loc) -> tuple[int | None, Loc]:
    """Walk the round-trip YAML tree along ``loc``; return the 1-based line and the loc walked."""
    line: int | None = None
    walked: list[str | int] = []
    for part in loc:
        if isinstance(node, CommentedMap):
            if part not in node:
                if node.get("kind") != part:  # a union tag: ('connector', 'csv', 'delimiter')
                    walked.append(part)
                continue
            line = node.lc.key(part)[0] + 1
            node = node[part]
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and part < len(node):
            line = node.lc.item(part)[0] + 1
            node = node[part]
        else:
            walked.append(part)
            node = None
            continue
        walked.append(part)
    if line is None and isinstance(node, (CommentedMap, CommentedSeq)) and node.lc.line is not None:
        line = node.lc.line + 1
    return line, tuple(walked)


def _pydantic_problems(error: ValidationError) -> Iterator[tuple[Loc, str]]:
    for item in error.errors():
        loc: Loc = tuple(item["loc"])
        kind = item["type"]
        if kind == "extra_forbidden":
            message = "unknown key"
        elif kind == "missing":
            message = "required key is missing"
        elif kind == "union_tag_invalid":
            message = (
                item["msg"]
                .replace("Input tag", "kind")
                .replace("does not match any of", "is not one of")
            )
        else:
            message = item["msg"]
            value = item.get("input")
            if value is not None and not isinstance(value, (dict, list)):
                message += f" (got {value!r})"
        yield loc, message


def _valid(model: type[M], value: Any) -> M | None:
    """The part as a model if it validates on its own; pydantic reports it otherwise."""
    try:
        return model.model_validate(value)
    except ValidationError:
        return None


def _semantic_problems(raw: dict[str, Any]) -> Iterator[tuple[Loc, str]]:
    """Cross-field rules pydantic cannot see one field at a time, checked part by part so that
    they are reported together with the field errors."""
    raw_columns = _list(_dict(raw.get("mapping")).get("columns"))
    known = {
        c["target"] for c in raw_columns if isinstance(c, dict) and isinstance(c.get("target"), str)
    }
    seen: set[str] = set()
    for i, item in enumerate(raw_columns):
        col = _valid(ColumnMapping, item)
        if col is None:
            continue
        if col.target in seen:
            yield ("mapping", "columns", i, "target"), f"target {col.target!r} is mapped twice"
        seen.add(col.target)
        yield from _column_problems(col, ("mapping", "columns", i))
    if raw_columns:
        for i, key in enumerate(_list(raw.get("keys"))):
            if isinstance(key, str) and key not in known:
                yield ("keys", i), f"{key!r} is not a mapped target column"
        for i, item in enumerate(_list(raw.get("pii"))):
            field_ = _valid(PiiField, item)
            if field_ is not None and field_.column not in known:
                yield ("pii", i, "column"), f"{field_.column!r} is not a mapped target column"
    refresh = _valid(Refresh, raw.get("refresh", {}))
    if refresh is not None:
        wm = refresh.watermark
        if raw_columns and wm is not None and wm not in known:
            yield ("refresh", "watermark"), f"{wm!r} is not a mapped target column"
        if refresh.mode == "incremental" and wm is None:
            yield ("refresh", "watermark"), "incremental refresh needs a watermark column"
    yield from _http_watermark_problems(raw, refresh)
    vol = _valid(Volume, raw.get("volume", {}))
    low, high = (vol.min_rows, vol.max_rows) if vol is not None else (None, None)
    if low is not None and high is not None and low > high:
        yield ("volume",), "min_rows is larger than max_rows"


def _http_watermark_problems(
    raw: dict[str, Any], refresh: Refresh | None
) -> Iterator[tuple[Loc, str]]:
    """An incremental API must be told where to send the watermark, and only an incremental one:
    otherwise every run would silently land the whole snapshot, or never send it."""
    connector = _dict(raw.get("connector"))
    if connector.get("kind") != "http" or refresh is None:
        return
    param = connector.get("watermark_param")
    params = _dict(connector.get("params"))
    templated = any(isinstance(v, str) and "{watermark}" in v for v in params.values())
    if refresh.mode == "incremental" and param is None and not templated:
        yield (
            ("connector",),
            "incremental refresh of an API needs connector.watermark_param (e.g. updated_since)"
            " or a params value with {watermark}",
        )
    if refresh.mode != "incremental" and (param is not None or templated):
        where = ("connector", "watermark_param") if param is not None else ("connector", "params")
        yield where, "the watermark is sent only with refresh.mode incremental"
    if param is not None and param in params:
        yield ("connector", "watermark_param"), f"{param!r} is also set in connector.params"


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _column_problems(col: ColumnMapping, loc: Loc) -> Iterator[tuple[Loc, str]]:
    if col.utc_offset is not None and col.epoch is None and not col.zoned:
        yield (
            (*loc, "utc_offset"),
            (
                "utc_offset on text times needs source_offset (the zone they are written in, "
                "e.g. +00:00 for GMT) or a %z format"
            ),
        )
    if col.source_offset is not None and col.epoch is not None:
        yield (*loc, "source_offset"), "Unix times are UTC; with epoch say only utc_offset"
    if col.formats and col.type not in ("date", "timestamp"):
        yield (*loc, "formats"), "formats apply only to date/timestamp"
    for j, fmt in enumerate(col.formats):
        if "%" not in fmt:
            yield (*loc, "formats", j), f"{fmt!r} is not a strptime format"
    if col.unit is not None:
        if col.type not in ("int64", "float64"):
            yield (*loc, "unit"), "unit conversion needs a numeric type"
        elif col.unit.factor is None and unit_factor(col.unit.from_unit, col.unit.to_unit) is None:
            pair = f"{col.unit.from_unit} → {col.unit.to_unit}"
            yield (*loc, "unit"), f"no built-in conversion {pair}; give factor"
    if col.pattern is not None:
        try:
            re.compile(col.pattern)
        except re.error as exc:
            yield (*loc, "pattern"), f"not a regular expression: {exc}"


def _secret_problems(node: Any, loc: Loc = ()) -> Iterator[tuple[Loc, str]]:
    """Secrets must be named by an environment variable, never written in the contract."""
    if isinstance(node, CommentedMap):
        for key, value in node.items():
            if isinstance(key, str) and _SECRET_KEY.search(key) and isinstance(value, str):
                yield (*loc, key), f"never put a secret in a contract; use {key}_env"
            if isinstance(value, str) and _URL_PASSWORD.search(value):
                yield (*loc, key), "URL contains a password; use password_env"
            yield from _secret_problems(value, (*loc, key))
    elif isinstance(node, CommentedSeq):
        for i, value in enumerate(node):
            yield from _secret_problems(value, (*loc, i))


def check_text(text: str, file: str = "<contract>", origin: Path | None = None) -> CheckResult:
    """Check contract YAML text; every problem is reported, none raised."""
    checked = _checked(text, file, origin)
    return CheckResult(checked.file, list(checked.problems), checked.contract)


@lru_cache(maxsize=1024)
def _checked(text: str, file: str, origin: Path | None) -> CheckResult:
    """`check_text`, once per text: a run reads every contract several times (ingest, the
    standardisation, the catalog), and the round-trip YAML parser costs ~30 ms a contract.
    The contract is frozen, so the one parsed is shared."""
    result = CheckResult(file=file)
    try:
        tree = YAML(typ="rt").load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        result.problems.append(Problem(file, line, "(yaml)", f"not valid YAML: {exc.problem}"))
        return result
    if not isinstance(tree, CommentedMap):
        result.problems.append(Problem(file, 1, "(top level)", "a contract is a YAML mapping"))
        return result

    found: list[tuple[Loc, str]] = list(_secret_problems(tree))
    contract: SourceContract | None = None
    raw = _plain(tree)
    try:
        contract = SourceContract.model_validate(raw)
    except ValidationError as exc:
        found.extend(_pydantic_problems(exc))
    found.extend(_semantic_problems(raw))
    for loc, message in found:
        line, walked = line_of(tree, loc)
        result.problems.append(Problem(file, line, key_text(walked), message))
    result.problems.sort(key=lambda p: (p.line or 0, p.key))
    if contract is not None and not result.problems:
        result.contract = contract.with_origin(origin) if origin is not None else contract
    return result


def check_contract(path: Path) -> CheckResult:
    """Check one contract file: every problem with file, line and key."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return CheckResult(str(path), [Problem(str(path), None, "(file)", "no such file")])
    except (OSError, UnicodeDecodeError) as exc:
        problem = Problem(str(path), None, "(file)", f"cannot read: {exc}; save it as UTF-8")
        return CheckResult(str(path), [problem])
    return check_text(text, str(path), origin=path.resolve())


def load_contract(path: Path) -> SourceContract:
    """Load a valid contract or raise :class:`ContractError` naming the first problem."""
    result = check_contract(path)
    if result.contract is None:
        raise ContractError(result)
    return result.contract


def _plain(node: Any) -> Any:
    if isinstance(node, CommentedMap):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, CommentedSeq):
        return [_plain(v) for v in node]
    return node
