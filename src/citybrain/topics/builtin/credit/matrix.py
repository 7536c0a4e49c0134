"""Approval facilitation (信用承诺替代): which documents a credit grade may replace with a signed
credit commitment, as configuration.

The default matrix is below; a workspace overrides it with ``credit_commitments.yaml``::

    documents:
      场地使用证明:
        zh: 经营场所使用证明
        en: proof of the premises
        grades: [A, B]

A signed commitment is then checked like any other (std.commitment ``check_result``): a broken
one costs the enterprise points at the next credit run (see the scorecard's rules).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import MarkedYAMLError

from citybrain.core.errors import UserError

FILE_NAME = "credit_commitments.yaml"


@dataclass(frozen=True)
class Document:
    key: str
    zh: str
    en: str
    grades: tuple[str, ...]


DEFAULT: tuple[Document, ...] = (
    Document("premises_proof", "经营场所使用证明", "proof of the premises", ("A", "B")),
    Document("no_violation_proof", "无违法违规证明", "certificate of no violations", ("A", "B")),
    Document("tax_clearance", "完税证明", "tax clearance certificate", ("A",)),
    Document("social_security_proof", "社保缴纳证明", "social-security payment proof", ("A",)),
    Document("fire_safety_report", "消防安全检查合格证明", "fire-safety inspection pass", ("A",)),
)


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid")
    zh: str
    en: str
    grades: list[Literal["A", "B", "C", "D"]]


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")
    documents: dict[str, _Doc]


def _line(tree: Any, loc: tuple[Any, ...]) -> int:
    line, node = 1, tree
    for part in loc:
        if isinstance(node, CommentedMap) and part in node:
            line, node = node.lc.key(part)[0] + 1, node[part]
        else:
            break
    return line


def load_matrix(root: Path) -> tuple[Document, ...]:
    """The workspace's matrix (``root/credit_commitments.yaml``), or the default. A bad file is
    one line naming the file, the line and the key."""
    path = root / FILE_NAME
    if not path.is_file():
        return DEFAULT
    try:
        tree = YAML(typ="rt").load(path.read_text("utf-8"))
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        raise UserError(f"{path}:{line}: (yaml): {exc.problem or exc}") from None
    try:
        parsed = _File.model_validate(_plain(tree) if tree is not None else {})
    except ValidationError as exc:
        # an unknown key (a misspelt one) explains a missing one, so it is named first
        first = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")[0]
        loc = tuple(first["loc"])
        key = ".".join(str(p) for p in loc) or "(top level)"
        problem = "unknown key" if first["type"] == "extra_forbidden" else first["msg"]
        raise UserError(f"{path}:{_line(tree, loc)}: {key}: {problem}") from None
    return tuple(
        Document(key, doc.zh, doc.en, tuple(doc.grades)) for key, doc in parsed.documents.items()
    )


def _plain(node: Any) -> Any:
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node


def replaceable(matrix: tuple[Document, ...], grade: str) -> list[Document]:
    """Documents an enterprise of ``grade`` may replace with a signed credit commitment."""
    return [d for d in matrix if grade in d.grades]
