"""Contracts pointed at a synthetic city: the air stream's cadence follows the city's sensors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from citybrain.ingest import load_contract
from citybrain.ingest.contract import MqttConnector
from citybrain.ingest.simsources import write_sim_sources


@pytest.mark.parametrize(("every", "expected"), [(21_600, 21_600), (None, 3_600)])
def test_the_air_streams_cadence_is_the_citys(
    tmp_path: Path, every: int | None, expected: int
) -> None:
    city = tmp_path / "city"
    (city / "air_quality_sensors").mkdir(parents=True)
    (city / "README.json").write_text("{}", encoding="utf-8")
    conn = {"kind": "mqtt", "topic_prefix": "citybrain/sim/air", "reading_every_seconds": every}
    (city / "air_quality_sensors" / "connection.json").write_text(json.dumps(conn), "utf-8")
    write_sim_sources(tmp_path / "sources", city, mqtt="127.0.0.1:18830")
    contract = load_contract(tmp_path / "sources" / "air_quality_sensors.yaml")
    connector = contract.connector
    assert isinstance(connector, MqttConnector)
    assert (connector.port, connector.sequence) == (18830, "msg_id")
    assert connector.cadence is not None and connector.cadence.every_seconds == expected
