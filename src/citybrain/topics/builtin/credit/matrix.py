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
from typing import Literal

from pydantic import BaseModel, ConfigDict

from citybrain.core.yamlmodel import load_model

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


def load_matrix(root: Path) -> tuple[Document, ...]:
    """The workspace's matrix (``root/credit_commitments.yaml``), or the default. A bad file is
    one line naming the file, the line and the key."""
    path = root / FILE_NAME
    if not path.is_file():
        return DEFAULT
    parsed = load_model(path, _File)
    return tuple(
        Document(key, doc.zh, doc.en, tuple(doc.grades)) for key, doc in parsed.documents.items()
    )


def replaceable(matrix: tuple[Document, ...], grade: str) -> list[Document]:
    """Documents an enterprise of ``grade`` may replace with a signed credit commitment."""
    return [d for d in matrix if grade in d.grades]
