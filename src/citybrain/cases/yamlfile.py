"""Reading a YAML settings file into a pydantic model, with file and line in every error."""

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
    """A settings file (routing rules, SLA, services) that is not valid."""

    def __init__(self, file: str, line: int | None, key: str, message: str) -> None:
        where = f"{file}:{line}" if line else file
        super().__init__(f"{where}: {key}: {message}", hint="fix the file and run again")
        self.file = file
        self.line = line
        self.key = key


def line_of(tree: Any, loc: Sequence[str | int]) -> int | None:
    """1-based line of the deepest node of ``tree`` that ``loc`` reaches."""
    line: int | None = getattr(getattr(tree, "lc", None), "line", None)
    line = line + 1 if line is not None else None
    node = tree
    for part in loc:
        if isinstance(node, CommentedMap) and part in node:
            line = node.lc.key(part)[0] + 1
            node = node[part]
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and part < len(node):
            line = node.lc.item(part)[0] + 1
            node = node[part]
        else:
            break
    return line


def key_text(loc: Sequence[str | int]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def parse_yaml_model(text: str, model: type[M], file: str = "<settings>") -> M:
    """Validate YAML ``text`` as ``model``; the first problem is raised with its line."""
    try:
        tree = YAML(typ="rt").load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise SettingsFileError(file, line, "(yaml)", str(exc.problem or exc)) from exc
    if tree is None:
        tree = CommentedMap()
    if not isinstance(tree, CommentedMap):
        raise SettingsFileError(file, 1, "(top level)", "expected a mapping of keys to values")
    try:
        return model.model_validate(_plain(tree))
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = tuple(p for p in first["loc"] if isinstance(p, (str, int)))
        message = "unknown key" if first["type"] == "extra_forbidden" else first["msg"]
        message = message.removeprefix("Value error, ")
        if first["type"] == "missing":
            message = "required key is missing"
        more = len(exc.errors()) - 1
        if more:
            message += f" (and {more} more problem(s))"
        raise SettingsFileError(file, line_of(tree, loc), key_text(loc), message) from exc


def load_yaml_model(path: Path, model: type[M]) -> M:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise UserError(f"{path}: no such file") from exc
    return parse_yaml_model(text, model, str(path))


def _plain(node: Any) -> Any:
    if isinstance(node, CommentedMap):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, CommentedSeq):
        return [_plain(v) for v in node]
    return node
