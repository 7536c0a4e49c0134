"""`citybrain quality` before anything has run says what to do instead of an empty table."""

from __future__ import annotations

from pathlib import Path

import pytest

from citybrain.cli.main import main


def test_quality_before_a_run_prints_a_hint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = tmp_path / "ws"
    main(["workspace", "init", str(ws)])
    capsys.readouterr()
    try:
        main(["quality", "-w", str(ws)])
        code = 0
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    # the console wraps the long workspace path where it falls: compare with whitespace collapsed
    out = " ".join(capsys.readouterr().out.split())
    assert code == 0
    assert "no quality results yet" in out and "run` first" in out
    assert "┃" not in out  # no empty table
