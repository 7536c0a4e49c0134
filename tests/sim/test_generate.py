"""The whole city: systems and formats present, byte-identical per seed, CLI works."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from citybrain.cli.sim import sim_app
from citybrain.sim import SYSTEMS, GenerateResult, generate
from citybrain.sim.formats import read_connection_file
from citybrain.sim.scales import SCALES
from citybrain.sim.systems import MAP_ONLY

EXPECTED_SYSTEMS = {
    "place_address_register",
    "police_household",
    "police_residence_permit",
    "water_utility",
    "power_grid",
    "gas_utility",
    "food_delivery_platform",
    "parcel_express",
    "hotline_12345",
    "market_registry",
    "tax_declarations",
    "social_security",
    "court_dishonest",
    "admin_penalties",
    "credit_commitments",
    "utility_arrears",
    "transport_arrivals",
    "health_tests",
    "health_chronic_care",
    "household_screening",
    "muck_transport_permits",
    "construction_sites",
    "muck_truck_gps",
    "bike_parking_zones",
    "bike_meituan",
    "bike_hellobike",
    "bike_qingju",
    "air_quality_sensors",
    "parking_occupancy",
    "major_projects",
    "economic_indicators",
}


def _hashes(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_every_system_has_a_folder(tiny_root: Path) -> None:
    folders = {p.name for p in tiny_root.iterdir() if p.is_dir()}
    assert folders >= EXPECTED_SYSTEMS
    assert len(EXPECTED_SYSTEMS) >= 20
    assert "truth" in folders


def test_every_format_is_used(tiny_root: Path) -> None:
    suffixes = {p.suffix for p in tiny_root.rglob("*") if p.is_file() and "truth" not in p.parts}
    assert {".csv", ".parquet", ".jsonl", ".xlsx", ".db"} <= suffixes
    kinds = {(read_connection_file(p) or {}).get("kind") for p in tiny_root.iterdir() if p.is_dir()}
    assert {"http", "mqtt", "sqlite"} <= kinds
    encodings = set()
    for p in tiny_root.rglob("*.csv"):
        head = p.read_bytes()[:4096]
        try:
            head.decode("utf-8")
            encodings.add("utf-8")
        except UnicodeDecodeError:
            encodings.add("gb")
    assert encodings == {"utf-8", "gb"}


def test_http_and_mqtt_systems_keep_their_rows_in_data(tiny_root: Path) -> None:
    for system in ("transport_arrivals", "parking_occupancy", "air_quality_sensors"):
        assert list((tiny_root / system / "data").glob("*.parquet")), system


def test_same_seed_same_bytes(tiny_city: GenerateResult, tmp_path: Path) -> None:
    again = generate("tiny", tiny_city.seed, tmp_path / "again")
    assert _hashes(again.out) == _hashes(tiny_city.out)


def test_one_worker_writes_the_bytes_two_workers_write(
    tiny_city: GenerateResult, tmp_path: Path
) -> None:
    assert tiny_city.workers == 2
    alone = generate("tiny", tiny_city.seed, tmp_path / "alone", workers=1)
    assert alone.workers == 1
    assert _hashes(alone.out) == _hashes(tiny_city.out)
    assert not (alone.out / "truth" / ".shares").exists()


def test_workers_run_the_modules_side_by_side(tiny_city: GenerateResult) -> None:
    pids = {r.pid for r in tiny_city.runs}
    assert 1 <= len(pids) <= 2 and os.getpid() not in pids  # worker processes, at most two
    assert {r.name for r in tiny_city.runs} == {*SYSTEMS, "truth"}
    assert tiny_city.wall_seconds(list(SYSTEMS)) > 0
    # the second worker holds only the map: it never builds the people
    lean = [r for r in tiny_city.runs if not r.people]
    assert lean and {r.name for r in lean} <= MAP_ONLY
    assert len({r.pid for r in lean}) == 1


def test_bike_positions_are_split_into_month_ranges(tiny_city: GenerateResult) -> None:
    labels = [r.label for r in tiny_city.runs if r.name == "bike_meituan"]
    assert labels == ["bike_meituan[0:3]"]  # the tiny city has three months
    assert tiny_city.module_rows["bike_meituan"] == sum(
        sum(r.rows.values()) for r in tiny_city.runs if r.name == "bike_meituan"
    )


def test_month_ranges_give_the_same_bytes_on_any_worker(tmp_path: Path) -> None:
    longer = dataclasses.replace(SCALES["tiny"], months=7)  # three month ranges of bikes
    systems = ["bike_meituan", "gas_utility"]
    one = generate(longer, 5, tmp_path / "one", systems=systems, workers=1)
    two = generate(longer, 5, tmp_path / "two", systems=systems, workers=2)
    assert [r.label for r in one.runs if r.name == "bike_meituan"] == [
        "bike_meituan[0:3]",
        "bike_meituan[3:6]",
        "bike_meituan[6:7]",
    ]
    assert _hashes(one.out) == _hashes(two.out)
    assert len(list((two.out / "bike_qingju").iterdir())) == 7


def test_workers_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="workers"):
        generate("tiny", 1, tmp_path / "x", workers=0)


def test_another_seed_another_city(tmp_path: Path) -> None:
    a = generate("tiny", 1, tmp_path / "a", systems=["police_household"])
    b = generate("tiny", 2, tmp_path / "b", systems=["police_household"])
    assert _hashes(a.out) != _hashes(b.out)


def test_rows_are_counted_in_the_manifest(tiny_city: GenerateResult) -> None:
    manifest = json.loads((tiny_city.out / "truth" / "manifest.json").read_text("utf-8"))
    assert manifest["rows"] == dict(sorted(tiny_city.rows.items()))
    assert 5_000 < tiny_city.total_rows < 50_000


def test_cli_generates_a_subset(tmp_path: Path) -> None:
    out = tmp_path / "cli"
    result = CliRunner().invoke(
        sim_app,
        [
            "--scale",
            "tiny",
            "--seed",
            "3",
            "--out",
            str(out),
            "--systems",
            "place_address_register,police_household",
        ],
    )
    assert result.exit_code == 0, result.output
    assert (out / "police_household" / "户籍人口.csv").is_file()
    assert (out / "truth" / "links_person.parquet").is_file()


def test_cli_rejects_an_unknown_scale(tmp_path: Path) -> None:
    result = CliRunner().invoke(sim_app, ["--scale", "huge", "--out", str(tmp_path / "x")])
    assert result.exit_code != 0


def test_systems_registry_builds_every_expected_folder() -> None:
    assert len(SYSTEMS) >= 20


def test_cli_serve_and_publish_have_help() -> None:
    for command in ("serve", "publish"):
        result = CliRunner().invoke(sim_app, [command, "--help"])
        assert result.exit_code == 0, result.output
        assert "Example: citybrain sim" in result.output


def test_generated_http_systems_are_served(tiny_root: Path) -> None:
    from fastapi.testclient import TestClient

    from citybrain.sim.serve import create_app

    client = TestClient(create_app(tiny_root))
    page = client.get("/api/parking_occupancy?page=1&page_size=5").json()
    assert page["total"] > 5 and len(page["items"]) == 5
    key = (read_connection_file(tiny_root / "transport_arrivals") or {})["api_key"]
    assert client.get("/api/transport_arrivals?page=1").status_code == 401
    ok = client.get("/api/transport_arrivals?page=1", headers={"X-API-Key": key})
    assert ok.status_code == 200 and ok.json()["items"]


def test_refuses_to_wipe_a_folder_that_is_not_a_city(tmp_path: Path) -> None:
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(ValueError, match="not empty"):
        generate("tiny", 1, tmp_path, systems=["police_household"])
    assert (tmp_path / "precious.txt").is_file()
