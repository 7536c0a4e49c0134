"""The PDF printer starts Chromium as soon as it is made — before anything is asked of it, so that
its start overlaps the report's figures and HTML — prints whole files, and says when Chromium
cannot start instead of failing later without a word."""

from __future__ import annotations

import shutil
from pathlib import Path

import pypdfium2 as pdfium  # type: ignore[import-untyped]
import pytest

from citybrain.core.errors import UserError
from citybrain.report import PdfPrinter, daily

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        shutil.which("chromium") is None, reason="Chromium (Debian package chromium) not installed"
    ),
]


def _page(folder: Path, title: str) -> Path:
    html = folder / f"{title}.html"
    html.write_text(f"<!doctype html><html><body><h1>{title} 大数据专报</h1></body></html>", "utf8")
    return html


def _text(pdf: Path) -> str:
    document = pdfium.PdfDocument(str(pdf))
    return " ".join(document[i].get_textpage().get_text_range() for i in range(len(document)))


def test_chromium_is_up_before_the_first_print_and_prints_several(tmp_path: Path) -> None:
    with PdfPrinter() as printer:
        printer._started.result(timeout=120)  # nothing printed yet: started on its own
        assert printer._browser is not None and printer._browser.is_connected()
        for title in ("one", "two"):
            printer.print(_page(tmp_path, title), tmp_path / f"{title}.pdf")
    assert "one 大数据专报" in _text(tmp_path / "one.pdf")
    assert "two 大数据专报" in _text(tmp_path / "two.pdf")
    assert not list(tmp_path.glob(".*.part"))


def test_a_chromium_that_cannot_start_is_said_when_printing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(daily, "chromium_executable", lambda: str(tmp_path / "no-chromium"))
    with PdfPrinter() as printer, pytest.raises(UserError, match="could not print the report"):
        printer.print(_page(tmp_path, "one"), tmp_path / "one.pdf")
    assert not (tmp_path / "one.pdf").exists()
