"""The CLI as a user meets it: help, version, one-line errors, exit codes."""

import subprocess
import sys
from pathlib import Path

import pytest

from citybrain import __version__
from cli.runner import run_cli


def test_help_lists_commands(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["--help"], capsys)
    assert code == 0
    for command in ("workspace", "run", "serve"):
        assert command in out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["--version"], capsys)
    assert code == 0
    assert __version__ in out


def test_workspace_init_then_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ws = tmp_path / "gaoxin"
    code, out, err = run_cli(["workspace", "init", str(ws)], capsys)
    assert code == 0, err
    assert (ws / "ops.sqlite").is_file()
    code, out, err = run_cli(["-w", str(ws), "run"], capsys)
    assert code == 0, err
    assert "migrate" in out


def test_wrong_config_value_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ws = tmp_path / "ws"
    assert run_cli(["workspace", "init", str(ws)], capsys)[0] == 0
    config = ws / "citybrain.toml"
    config.write_text(config.read_text().replace('kind = "duckdb"', 'kind = "oracle"'))
    code, _, err = run_cli(["-w", str(ws), "run"], capsys)
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1
    assert "engine.kind" in lines[0]
    assert "Traceback" not in err


def test_missing_workspace_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["-w", str(tmp_path / "nope"), "run"], capsys)
    assert code == 2
    assert "no such workspace" in err
    assert "Traceback" not in err


def test_unknown_option_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["workspace", "init", "--colour", "red"], capsys)
    assert code == 2
    assert "--colour" in err


def test_installed_entry_point_runs() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "citybrain", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert __version__ in result.stdout


def test_topic_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ws = tmp_path / "ws"
    assert run_cli(["workspace", "init", str(ws)], capsys)[0] == 0
    code, out, err = run_cli(["-w", str(ws), "topic", "list"], capsys)
    assert code == 0, err
    assert "topics" in out
    code, _, err = run_cli(["-w", str(ws), "topic", "run"], capsys)
    assert code == 2
    assert "name one topic or give --all" in err
    code, _, err = run_cli(["-w", str(ws), "topic", "run", "no_such_topic"], capsys)
    assert code == 2
    assert "unknown topic 'no_such_topic'" in err
    code, _, err = run_cli(["-w", str(ws), "topic", "run", "shared_bikes"], capsys)
    assert code == 2  # the catalog, read for the topic's inputs, knows none of them yet
    assert "topic shared_bikes cannot run, missing: table std.bike_position" in err


def test_address_parse_prints_components(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(["address", "parse", "--json", "成都市武侯区人民南路四段12号"], capsys)
    assert code == 0, err
    import json

    parsed = json.loads(out)
    assert parsed["district_code"] == "510107"
    assert parsed["road"] == "人民南路四段"
    assert parsed["road_number"] == "12"


def test_sim_is_mounted(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["sim", "--help"], capsys)
    assert code == 0
    assert "--scale" in out


def test_demo_users_are_created_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ws = tmp_path / "ws"
    assert run_cli(["workspace", "init", str(ws)], capsys)[0] == 0
    code, out, err = run_cli(["-w", str(ws), "user", "demo"], capsys)
    assert code == 0, err
    assert "demo login: clerk / " in out
    assert "street:S01" in out  # no register loaded: the fallback street
    code, out, err = run_cli(["-w", str(ws), "user", "demo"], capsys)
    assert code == 0, err
    code, out, _ = run_cli(["-w", str(ws), "user", "list", "--json"], capsys)
    assert sorted(u["username"] for u in __import__("json").loads(out)) == [
        "admin",
        "auditor",
        "clerk",
        "leader",
    ]


def test_demo_clerk_works_in_the_street_office_cases_are_routed_to(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    from citybrain.cases.routing import fill_department
    from citybrain.core.workspace import Workspace
    from citybrain.topics import get_topic

    ws = tmp_path / "ws"
    assert run_cli(["workspace", "init", str(ws)], capsys)[0] == 0
    register = Workspace.open(ws).zone("std") / "admin_area"
    register.mkdir(parents=True)
    areas = {"code": ["510109003", "510109001", "510109001001"],
             "name": ["石羊街道", "桂溪街道", "南湖社区"],
             "level": ["street", "street", "community"]}  # fmt: skip
    pq.write_table(pa.table(areas), register / "part-0.parquet")
    code, out, err = run_cli(["-w", str(ws), "user", "demo"], capsys)
    assert code == 0, err
    assert "street:510109001" in out
    _, out, _ = run_cli(["-w", str(ws), "user", "list", "--json"], capsys)
    clerk = next(u for u in json.loads(out) if u["username"] == "clerk")
    hint = get_topic("group_rental").department_hint
    assert hint is not None
    names = dict(zip(areas["code"], areas["name"], strict=True))
    routed_to = fill_department(hint, {"street": "510109001"}, names)
    assert clerk["department"] == routed_to == "桂溪街道办事处"
    assert clerk["scope"] == ["street:510109001"]


def test_help_and_version_import_no_stage() -> None:
    """--help and --version answer without importing a stage (lazy subcommands: quick start)."""
    probe = (
        "import sys\n"
        "from citybrain.cli.main import main\n"
        "for args in (['--help'], ['--version']):\n"
        "    try:\n"
        "        main(args)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "heavy = [m for m in ('pandas', 'duckdb', 'sqlalchemy', 'pyarrow', 'citybrain.ingest',"
        " 'citybrain.core.config') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "HEAVY []" in result.stdout
    assert "source" in result.stdout  # the command list is still there


def test_every_lazy_command_loads(capsys: pytest.CaptureFixture[str]) -> None:
    from citybrain.cli.main import COMMANDS

    for name in COMMANDS:
        code, out, err = run_cli([name, "--help"], capsys)
        assert code == 0, (name, err)
        assert "Usage" in out


def test_workspace_option_after_the_subcommand(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = tmp_path / "ws"
    assert run_cli(["workspace", "init", str(ws)], capsys)[0] == 0
    for args in (
        ["source", "list", "-w", str(ws)],
        ["source", "list", f"--workspace={ws}"],
        ["source", "-w", str(ws), "list"],
    ):
        code, out, err = run_cli(args, capsys)
        assert code == 0, (args, err)
        assert str(ws / "sources") in out.replace("\n", "")


def test_mistyped_command_suggests(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["sourc", "list"], capsys)
    assert code == 2
    assert "Did you mean 'source'?" in err


def test_the_program_freezes_the_collector_before_it_exits() -> None:
    """Run as the program, `main` leaves the interpreter's last collections nothing to walk (half
    a second of every `citybrain run`'s exit); called with arguments (tests, an embedding
    program) it leaves the collector alone."""
    probe = (
        "import atexit, gc, sys\n"
        "from citybrain.cli.main import main\n"
        "try:\n"
        "    main(['--version'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('CALLED', gc.get_freeze_count())\n"
        "atexit.register(lambda: print('PROGRAM', gc.get_freeze_count() > 0))\n"
        "sys.argv = ['citybrain', '--version']\n"
        "main()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "CALLED 0" in result.stdout
    assert "PROGRAM True" in result.stdout
