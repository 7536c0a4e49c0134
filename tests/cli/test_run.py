"""`citybrain run` presents the pipeline (`citybrain.pipeline`): progress, summary, exit code."""

from __future__ import annotations

from pathlib import Path

import pytest

from citybrain.cli.main import main
from citybrain.core.workspace import Workspace
from fixtures.tinycity import std_city_copy


def run_cli(args: list[str]) -> int:
    try:
        main(args)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    return 0


def test_only_migrate_on_a_new_workspace(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    workspace = Workspace.init(tmp_path / "ws")
    assert run_cli(["-w", str(workspace.root), "run", "--only", "migrate"]) == 0
    out = capsys.readouterr().out
    assert "migrate" in out and "revision" in out and "finished: succeeded" in out


def test_the_collector_is_lazier_while_the_run_starts_and_as_before_for_its_steps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The graph is built (every topic imported) with the collector's start-up threshold; the
    steps run with the threshold it had before and what the start made frozen; the command ends
    with the collector as it was (nothing frozen)."""
    import gc

    from citybrain.cli.run import STARTING_GC_THRESHOLD
    from citybrain.pipeline import steps
    from citybrain.topics import runner

    seen: dict[str, tuple[int, ...]] = {}
    build_graph, check_inputs = steps.build_graph, runner.check_inputs

    def building(workspace: Workspace) -> steps.Graph:
        seen["graph"] = gc.get_threshold()
        return build_graph(workspace)

    def checking(*args: object, **kwargs: object) -> object:
        seen["step"] = gc.get_threshold()  # the topic step's first call
        seen["frozen"] = (gc.get_freeze_count() > 0,)
        return check_inputs(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(steps, "build_graph", building)
    monkeypatch.setattr(runner, "check_inputs", checking)
    before = gc.get_threshold()
    assert before != STARTING_GC_THRESHOLD
    workspace = Workspace.init(tmp_path / "ws")
    assert run_cli(["-w", str(workspace.root), "run", "--only", "topic:air_quality"]) == 0
    assert seen == {"graph": STARTING_GC_THRESHOLD, "step": before, "frozen": (True,)}
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0


def test_a_wrong_step_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    workspace = Workspace.init(tmp_path / "ws")
    assert run_cli(["-w", str(workspace.root), "run", "--from", "resolv"]) == 2
    err = capsys.readouterr().err
    assert "no pipeline step 'resolv'" in err and "Traceback" not in err


@pytest.mark.duckdb
@pytest.mark.slow
def test_the_resolve_step_builds_the_base_zone_and_says_so(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    workspace, _, _ = std_city_copy(tmp_path_factory, tmp_path)  # ingested and standardised
    capsys.readouterr()
    assert run_cli(["-w", str(workspace.root), "run", "--only", "resolve"]) == 0
    out = capsys.readouterr().out
    assert "resolve" in out and "persons" in out and "source records" in out
    with workspace.engine() as engine:
        for table in ("person", "person_link", "enterprise", "dwelling", "vehicle"):
            assert engine.exists("base", table), table
