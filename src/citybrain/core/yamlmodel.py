"""A YAML settings file read into a pydantic model; a bad file is one line naming the file,
the line and the key (``policies.yaml:12: policies.rent_relief.when.revnue: unknown key``).

The one reader of the workspace's YAML settings: the case desk's routing rules and SLA
(``cases.yaml``), and the topics' own configuration (credit's commitment matrix, policy push's
catalogue). ruamel keeps each key's line, pydantic (``extra="forbid"``) names the key.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from citybrain.core.errors import UserError

M = TypeVar("M", bound=BaseModel)


class SettingsFileError(UserError):
    """A YAML settings file that is not valid: ``file:line: key: problem``."""

    def __init__(self, file: str, line: int | None, key: str, message: str) -> None:
        where = f"{file}:{line}" if line else file
        super().__init__(f"{where}: {key}: {message}", hint="fix the file and run again")
        self.file = file
        self.line = line
        self.key = key


def line_of(tree: Any, loc: Sequence[str | int]) -> int | None:
    """1-based line of the deepest node of ``tree`` that ``loc`` reaches (None if it has none)."""
    line: int | None = getattr(getattr(tree, "lc", None), "line", None)
    line = line + 1 if line is not None else None
    node = tree
    for part in loc:
        if isinstance(node, CommentedMap) and part in node:
            line, node = node.lc.key(part)[0] + 1, node[part]
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and part < len(node):
            line, node = node.lc.item(part)[0] + 1, node[part]
        else:
            break
    return line


def key_text(loc: Sequence[str | int]) -> str:
    """A pydantic location as a reader writes it: ``rules[0].departments``."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def parse_model(text: str, model: type[M], file: str = "<settings>") -> M:
    """``text`` validated as ``model``; the first problem (`first_problem`) raised as one
    `SettingsFileError`."""
    try:
        tree = YAML(typ="rt").load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise SettingsFileError(file, line, "(yaml)", str(exc.problem or exc)) from None
    if tree is None:
        tree = CommentedMap()
    if not isinstance(tree, CommentedMap):
        raise SettingsFileError(file, 1, "(top level)", "expected a mapping of keys to values")
    try:
        return model.model_validate(plain(tree))
    except ValidationError as exc:
        loc, problem = first_problem(exc)
        raise SettingsFileError(file, line_of(tree, loc), key_text(loc), problem) from None


def first_problem(error: ValidationError) -> tuple[tuple[str | int, ...], str]:
    """Where the problem to name first is and what it is, in a reader's words, with how many more
    there are. An unknown key (a misspelt one) explains a missing one, so it is named first."""
    errors = error.errors()
    first = sorted(errors, key=lambda e: e["type"] != "extra_forbidden")[0]
    loc = tuple(p for p in first["loc"] if isinstance(p, (str, int)))
    if first["type"] == "extra_forbidden":
        problem = "unknown key"
    elif first["type"] == "missing":
        problem = "required key is missing"
    else:
        problem = str(first["msg"]).removeprefix("Value error, ")
    if len(errors) > 1:
        problem += f" (and {len(errors) - 1} more problem(s))"
    return loc, problem


def load_model(path: Path, model: type[M]) -> M:
    """The file at ``path`` validated as ``model`` (see `parse_model`)."""
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: cannot read: {exc}") from None
    return parse_model(text, model, str(path))


def plain(node: Any) -> Any:
    """ruamel's round-trip nodes as plain dicts and lists."""
    if isinstance(node, dict):
        return {str(k): plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [plain(v) for v in node]
    return node
