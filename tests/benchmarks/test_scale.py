"""benchmarks/scale.py with the sources a server delivers: on the tiny city, the sim's HTTP server
and a Mosquitto broker started on free loopback ports, the air-quality readings streamed into
`citybrain stream`, the ingest steps run, and every row the city produced for parking (HTTP) and
the sensors (MQTT) landed or quarantined. Only the ingest family runs (``--only ingest``): the
whole pipeline on the tiny city takes over a minute, and the other steps do not read the servers.
"""

from __future__ import annotations

import importlib.util
import socket
import sys
from pathlib import Path
from types import ModuleType

import pyarrow.parquet as pq
import pytest

from fixtures.mqtt import find_mosquitto
from fixtures.tinycity import SEED, tiny_city

pytestmark = [pytest.mark.mqtt, pytest.mark.slow]
SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "scale.py"


@pytest.fixture(scope="module")
def scale() -> ModuleType:
    spec = importlib.util.spec_from_file_location("scale_benchmark", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses and annotations look the module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test run's tiny city (read only: each test has its own workspace and servers)."""
    return tiny_city(tmp_path_factory, SEED)


def produced(city: Path, system: str) -> int:
    return sum(pq.read_metadata(p).num_rows for p in (city / system / "data").glob("*.parquet"))


def test_server_fed_sources_land_every_row_the_city_produced(
    scale: ModuleType, city: Path, tmp_path: Path
) -> None:
    if find_mosquitto() is None:
        pytest.fail("mosquitto not found: run `make test`", pytrace=False)
    with scale.Servers(tmp_path / "servers") as servers:
        prepared = scale.prepare("tiny", None, "district", tmp_path, SEED, sim_from=city,
                                 servers=servers)  # fmt: skip
        workspace = prepared["workspace"]
        stream = scale.feed_stream(workspace, city, servers, tmp_path, None)
        run = scale.run_pipeline(workspace, options=("--only", "ingest"))
        fed = scale.server_sources(workspace, city, run["steps"], stream)
        procs = list(servers.procs)
    assert procs and all(p.poll() is not None for p in procs)  # stopped at the end
    assert run["exit_code"] == 0, run["error"]
    assert prepared["left_out_sources"] == []
    assert prepared["servers"]["http"]["started"] and prepared["servers"]["mqtt"]["started"]

    parking, air = fed["parking_occupancy"], fed["air_quality_sensors"]
    assert parking["rows_produced_by_sim"] == produced(city, "parking_occupancy") > 100
    assert parking["rows_landed"] + parking["rows_quarantined"] == parking["rows_produced_by_sim"]
    assert parking["reconciled"] and parking["step_status"] == "succeeded"
    assert parking["step_rows_in"] == parking["rows_produced_by_sim"]  # fetched in the run
    assert air["rows_produced_by_sim"] == produced(city, "air_quality_sensors") > 1000
    assert air["stream"]["published"] == air["rows_produced_by_sim"]
    assert air["rows_landed"] + air["rows_quarantined"] == air["rows_produced_by_sim"]
    assert air["reconciled"] and air["rows_expected_not_received"] == 0
    assert air["step_status"] == "succeeded"  # the run's own ingest step: nothing left to drain
    assert fed["transport_arrivals"]["reconciled"]  # the other HTTP system, with its API key


def test_a_server_that_cannot_start_is_said_and_its_source_left_out(
    scale: ModuleType, city: Path, tmp_path: Path
) -> None:
    with socket.socket() as taken, scale.Servers(tmp_path / "servers") as servers:
        taken.bind(("127.0.0.1", 0))  # bound, not listening: the broker cannot have the port
        servers.mqtt_port = taken.getsockname()[1]
        prepared = scale.prepare("tiny", None, "district", tmp_path, SEED, sim_from=city,
                                 servers=servers)  # fmt: skip
        stream = scale.feed_stream(prepared["workspace"], city, servers, tmp_path, None)
    mqtt = prepared["servers"]["mqtt"]
    assert mqtt["started"] is False and "Address already in use" in mqtt["error"]
    assert [s for s in prepared["left_out_sources"] if s.startswith("air_quality_sensors ")]
    assert not (prepared["workspace"] / "sources" / "air_quality_sensors.yaml").exists()
    assert "nothing streamed" in stream["note"]
    assert (prepared["workspace"] / "sources" / "parking_occupancy.yaml").is_file()


#: a parent that fills 256 MiB, forks a child that shares it (copy on write), and both wait
_FORKED = """
import os, sys, time
block = bytearray(256 * 2**20)
block[::4096] = b"x" * len(block[::4096])
print("ready", flush=True)
child = os.fork()
time.sleep(3)
if child:
    os.waitpid(child, 0)
"""


def test_the_tree_peak_counts_pages_shared_by_forked_workers_once(scale: ModuleType) -> None:
    """The resolve's feature workers fork from a parent of many GiB: summed RSS counts the pages
    they share with it once per process, PSS once."""
    import subprocess

    proc = subprocess.Popen([sys.executable, "-c", _FORKED], stdout=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
    with scale.TreeSampler(proc.pid, every=0.05, pss_every=1) as tree:
        proc.wait(timeout=30)
    block = 256 * 2**20
    assert tree.peak > 1.8 * block  # parent and child each report the block as resident
    assert block < tree.peak_pss < 1.3 * block  # shared: counted once between them
