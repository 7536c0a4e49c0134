"""The ingest commands as a user meets them: `workspace init --sim`, `ingest`, `source`, `catalog`,
and the `ingest` stage of `run` — output, one-line errors and exit codes."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import pytest

from citybrain.ingest.simsources import shipped_sim_contracts
from cli.runner import run_cli
from ingest.test_sim_contracts import tiny_city_dir

NETWORK = ("health_tests", "police_residence_permit", "parking_occupancy", "transport_arrivals")


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def tiny_city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_city_dir(tmp_path_factory)


@pytest.fixture
def sim_workspace(tiny_city: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A workspace made by `workspace init --sim`, its servers on ports where nothing answers."""
    ws = tmp_path / "gaoxin"
    code, out, err = run_cli(
        [
            "workspace",
            "init",
            str(ws),
            "--sim",
            str(tiny_city),
            "--sim-api",
            f"http://127.0.0.1:{_closed_port()}",
            "--mqtt",
            f"127.0.0.1:{_closed_port()}",
        ],
        capsys,
    )
    assert code == 0, err
    assert f"{len(shipped_sim_contracts())} contracts" in out
    assert "CITYBRAIN_SIM_TRANSPORT_KEY=" in out  # what to export before ingest
    return ws


@pytest.mark.parametrize(
    "command",
    [["ingest"], ["catalog"], ["source", "check"], ["source", "list"], ["workspace", "init"]],
)
def test_every_command_has_an_example_in_its_help(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli([*command, "--help"], capsys)
    assert code == 0
    assert "Example: citybrain" in out


def test_workspace_init_sim_writes_absolute_sources(
    sim_workspace: Path, tiny_city: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    written = sorted(p.name for p in (sim_workspace / "sources").glob("*.yaml"))
    assert written == sorted(p.name for p in shipped_sim_contracts())
    text = (sim_workspace / "sources" / "gas_utility.yaml").read_text(encoding="utf-8")
    assert f"path: {tiny_city}/gas_utility/" in text
    code, out, _ = run_cli(["source", "check", str(sim_workspace / "sources")], capsys)
    assert code == 0, out


def test_workspace_init_sim_needs_a_generated_city(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(
        ["workspace", "init", str(tmp_path / "ws"), "--sim", str(tmp_path / "nothing")], capsys
    )
    assert code == 2
    assert "not a synthetic city" in err and "citybrain sim" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err + out


def test_workspace_init_sim_rejects_a_bad_broker(
    tiny_city: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["workspace", "init", str(tmp_path / "ws"), "--sim", str(tiny_city)]
    code, _, err = run_cli([*args, "--mqtt", "broker:port"], capsys)
    assert code == 2 and "--mqtt 'broker:port': expected HOST:PORT" in err
    code, _, err = run_cli([*args, "--sim-api", "ftp://x"], capsys)
    assert code == 2 and "--sim-api" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "ws").exists()  # nothing half-made


def test_ingest_all_lands_the_files_and_fails_the_unreachable_sources_alone(
    sim_workspace: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("CITYBRAIN_SIM_TRANSPORT_KEY", raising=False)
    code, out, err = run_cli(["-w", str(sim_workspace), "ingest", "--all"], capsys)
    assert code == 1  # some sources failed
    totals = re.search(r"(\d+) of (\d+) source\(s\) ok · ([\d,]+) rows landed", out)
    assert totals is not None, out
    assert int(totals[2]) == len(shipped_sim_contracts())
    assert int(totals[3].replace(",", "")) > 10_000
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    failed = {line.split(":")[1].strip() for line in errors}
    assert "parking_occupancy" in failed and "air_quality_sensors" in failed
    parking = next(line for line in errors if "parking_occupancy" in line)
    assert "start it with `citybrain sim serve DIR`" in parking
    mqtt = next(line for line in errors if "air_quality_sensors" in line)
    assert "citybrain sim publish" in mqtt
    transport = next(line for line in errors if "transport_arrivals" in line)
    assert "CITYBRAIN_SIM_TRANSPORT_KEY is not set" in transport
    assert failed <= {*NETWORK, "air_quality_sensors"}
    assert "Traceback" not in err

    # a second run lands nothing twice: every file source is unchanged
    code, out, err = run_cli(["-w", str(sim_workspace), "ingest", "--all"], capsys)
    assert code == 1
    assert "unchanged" in out
    code, out, _ = run_cli(["-w", str(sim_workspace), "catalog", "--json"], capsys)
    assert code == 0
    report = json.loads(out)
    files = len(shipped_sim_contracts()) - len(failed)
    assert report["systems_connected"] == files
    assert report["records_aggregated"] > 10_000
    assert {d["name"] for d in report["zones"]["raw"]} >= {"water_utility", "police_household"}
    code, out, _ = run_cli(["-w", str(sim_workspace), "catalog"], capsys)
    assert code == 0 and "systems connected" in out and "records aggregated" in out


def test_ingest_named_sources_and_errors(
    sim_workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(["-w", str(sim_workspace), "ingest", "gas_utility"], capsys)
    assert code == 0, err
    assert "1 of 1 source(s) ok · 696 rows landed" in out
    code, _, err = run_cli(["-w", str(sim_workspace), "ingest"], capsys)
    assert code == 2 and "--all" in err and len(err.strip().splitlines()) == 1
    code, _, err = run_cli(["-w", str(sim_workspace), "ingest", "no_such_system"], capsys)
    assert code == 2 and "no source 'no_such_system'" in err


def test_one_broken_contract_fails_alone(
    sim_workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = sim_workspace / "sources" / "credit_commitments.yaml"
    broken.write_text(
        broken.read_text(encoding="utf-8").replace("kind: csv", "kind: cvs"), encoding="utf-8"
    )
    code, out, err = run_cli(
        ["-w", str(sim_workspace), "ingest", "credit_commitments", "market_registry"], capsys
    )
    assert code == 1
    assert "1 of 2 source(s) ok · 60 rows landed" in out
    assert "error: credit_commitments:" in err and "cvs" in err


def test_source_check_reports_file_line_and_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "id: water\nname: 自来水\nowner: 水务\nconnector: {kind: csv, path: a.csv}\n"
        "mapping:\n  columns:\n    - {source: A, target: a, type: date, formats: [YYYY]}\n"
        "drift: sometimes\n",
        encoding="utf-8",
    )
    code, out, _ = run_cli(["source", "check", str(bad)], capsys)
    assert code == 1
    assert f"{bad}:7: mapping.columns[0].formats[0]" in out
    assert f"{bad}:8: drift" in out
    shipped = [str(p) for p in shipped_sim_contracts()]
    code, out, _ = run_cli(["source", "check", "--no-data", *shipped], capsys)
    assert code == 0 and out.count("ok ") == len(shipped)


def test_source_list(sim_workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["-w", str(sim_workspace), "source", "list"], capsys)
    assert code == 0
    assert "water_utility" in out and "transport_arrivals" in out


def test_run_has_an_ingest_step_per_source_before_standardize(
    sim_workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from citybrain.core import Workspace
    from citybrain.pipeline import build_graph

    names = build_graph(Workspace.open(sim_workspace)).names
    assert names.index("ingest:water_utility") < names.index("standardize")
    # later steps belong to other tests; this one runs the ingest step of one source
    code, out, err = run_cli(
        ["-w", str(sim_workspace), "run", "--only", "ingest:water_utility"], capsys
    )
    assert code == 0, err
    assert "landed" in out and "finished: succeeded" in out
    code, out, err = run_cli(["-w", str(sim_workspace), "runs", "--json"], capsys)
    (run,) = json.loads(out)
    assert [step["name"] for step in run["steps"]] == ["ingest:water_utility"]
    assert run["steps"][0]["rows_out"] > 0
