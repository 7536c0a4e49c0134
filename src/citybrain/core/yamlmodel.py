"""A YAML configuration file read into a pydantic model; a bad file is one line naming the file,
the line and the key (``policies.yaml:12: policies.rent_relief.when.revnue: unknown key``).

Topics use it for their workspace configuration (credit's commitment matrix, policy push's
catalogue): ruamel keeps each key's line, pydantic (``extra="forbid"``) names the key.
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


def line_of(tree: Any, loc: Sequence[Any]) -> int:
    """1-based line of the deepest node of ``tree`` that ``loc`` reaches (1 if none)."""
    line, node = 1, tree
    for part in loc:
        if isinstance(node, CommentedMap) and part in node:
            line, node = node.lc.key(part)[0] + 1, node[part]
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and part < len(node):
            line, node = node.lc.item(part)[0] + 1, node[part]
        else:
            break
    return line


def parse_model(text: str, model: type[M], file: str) -> M:
    """``text`` validated as ``model``; the first problem raised as one line with file and line.

    An unknown key (a misspelt one) explains a missing one, so it is named first.
    """
    try:
        tree = YAML(typ="rt").load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        raise UserError(f"{file}:{line}: (yaml): {exc.problem or exc}") from None
    try:
        return model.model_validate(plain(tree) if tree is not None else {})
    except ValidationError as exc:
        first = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")[0]
        loc = tuple(first["loc"])
        key = ".".join(str(p) for p in loc) or "(top level)"
        if first["type"] == "extra_forbidden":
            problem = "unknown key"
        elif first["type"] == "missing":
            problem = "required key is missing"
        else:
            problem = str(first["msg"]).removeprefix("Value error, ")
        raise UserError(f"{file}:{line_of(tree, loc)}: {key}: {problem}") from None


def load_model(path: Path, model: type[M]) -> M:
    """The file at ``path`` validated as ``model`` (see `parse_model`)."""
    try:
        text = path.read_text("utf-8")
    except (FileNotFoundError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read: {exc}") from None
    return parse_model(text, model, str(path))


def plain(node: Any) -> Any:
    """ruamel's round-trip nodes as plain dicts and lists."""
    if isinstance(node, dict):
        return {str(k): plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [plain(v) for v in node]
    return node
