"""The commitment matrix: which documents a grade may replace with a signed credit commitment."""

from __future__ import annotations

from pathlib import Path

import pytest

from citybrain.core.errors import UserError
from citybrain.topics.builtin.credit.matrix import DEFAULT, FILE_NAME, load_matrix, replaceable


def test_default_matrix_gives_more_to_better_grades(tmp_path: Path) -> None:
    matrix = load_matrix(tmp_path)
    assert matrix == DEFAULT
    counts = [len(replaceable(matrix, g)) for g in "ABCD"]
    assert counts[0] > counts[1] > 0 and counts[2] == counts[3] == 0


def test_workspace_file_overrides(tmp_path: Path) -> None:
    (tmp_path / FILE_NAME).write_text(
        "documents:\n  lease:\n    zh: 租赁合同\n    en: lease\n    grades: [A, B, C]\n", "utf-8"
    )
    matrix = load_matrix(tmp_path)
    assert [d.key for d in replaceable(matrix, "C")] == ["lease"]
    assert replaceable(matrix, "D") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("documents:\n  lease:\n    zh: 租赁合同\n    en: lease\n    grade: [A]\n",
         ":5: documents.lease.grade: unknown key"),
        ("documents:\n  lease:\n    zh: x\n    en: y\n    grades: [E]\n",
         ":5: documents.lease.grades[0]"),
        ("documents:\n  lease: [zh: x\n", ":3: (yaml)"),
    ],
)  # fmt: skip
def test_bad_file_is_one_line_with_file_line_and_key(
    tmp_path: Path, text: str, expected: str
) -> None:
    (tmp_path / FILE_NAME).write_text(text, "utf-8")
    with pytest.raises(UserError) as caught:
        load_matrix(tmp_path)
    message = str(caught.value)
    assert message.startswith(str(tmp_path / FILE_NAME)) and expected in message
    assert "\n" not in message
