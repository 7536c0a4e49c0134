"""NGSI-LD import: FIWARE Smart Data Model entities from a file and from a (tiny) context broker."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from fastapi import FastAPI, Response

from citybrain.core.workspace import Workspace
from citybrain.ingest import Manifest
from citybrain.ingest.connectors.ngsi_ld import flatten
from citybrain.ingest.streams import load_ngsi_ld
from fixtures.browser import serve_in_thread
from ingest._helpers import MakeContract

CONTEXT = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld"


def air_quality(i: int) -> dict[str, Any]:
    """An AirQualityObserved entity, normalized, shaped as in the FIWARE data model's examples."""
    when = f"2024-05-01T0{i}:00:00Z"
    return {
        "id": f"urn:ngsi-ld:AirQualityObserved:GX-AQ-00{i}:{when}",
        "type": "AirQualityObserved",
        "dateObserved": {"type": "Property", "value": {"@type": "DateTime", "@value": when}},
        "location": {
            "type": "GeoProperty",
            "value": {"type": "Point", "coordinates": [round(104.06 + i / 100, 2), 30.54]},
        },
        "NO2": {"type": "Property", "value": 20.5 + i, "unitCode": "GQ", "observedAt": when},
        "pm25": {"type": "Property", "value": 35 + i, "unitCode": "GQ", "observedAt": when},
        "airQualityLevel": {"type": "Property", "value": "moderate"},
        "refDevice": {"type": "Relationship", "object": f"urn:ngsi-ld:Device:aq-00{i}"},
        "@context": [CONTEXT],
    }


def parking_spot(i: int) -> dict[str, Any]:
    return {
        "id": f"urn:ngsi-ld:ParkingSpot:gx-{i:04d}",
        "type": "ParkingSpot",
        "name": {"type": "Property", "value": f"A-{i:04d}"},
        "status": {
            "type": "Property",
            "value": "free" if i % 3 else "occupied",
            "observedAt": "2024-05-01T08:00:00Z",
        },
        "category": {"type": "Property", "value": ["onStreet", "forDisabled"]},
        "location": {
            "type": "GeoProperty",
            "value": {"type": "Point", "coordinates": [round(104.0 + i / 1e4, 4), 30.5]},
        },
        "refParkingSite": {"type": "Relationship", "object": "urn:ngsi-ld:ParkingSite:gx-1"},
    }


def landed(manifest: Manifest) -> list[dict[str, Any]]:
    assert manifest.status == "completed", manifest.message
    assert manifest.raw_path is not None
    rows: list[dict[str, Any]] = pq.read_table(manifest.raw_path).to_pylist()
    return rows


def test_air_quality_from_a_file(
    workspace: Workspace, make_contract: MakeContract, source_dir: Path
) -> None:
    entities: list[Any] = [air_quality(i) for i in range(1, 4)]
    entities += [parking_spot(1), "not an entity"]  # another type: not this source
    (source_dir / "aq.json").write_text(json.dumps(entities), encoding="utf-8")
    contract = make_contract(
        "kind: ngsi_ld\npath: aq.json\nentity_type: AirQualityObserved",
        system="air_ngsi",
        mapping="",
    )
    manifest = load_ngsi_ld(workspace.lake, contract)
    rows = landed(manifest)
    assert (manifest.rows_read, manifest.rows_landed, manifest.rows_quarantined) == (4, 3, 1)
    assert manifest.quarantined_by_reason == {"not_an_object": 1}
    first = rows[0]
    assert first["id"] == "urn:ngsi-ld:AirQualityObserved:GX-AQ-001:2024-05-01T01:00:00Z"
    assert first["type"] == "AirQualityObserved"
    assert first["dateObserved"] == "2024-05-01T01:00:00Z"
    assert (first["location_lon"], first["location_lat"]) == ("104.07", "30.54")
    assert (first["NO2"], first["NO2_unitCode"]) == ("21.5", "GQ")
    assert first["NO2_observedAt"] == "2024-05-01T01:00:00Z"
    assert first["refDevice"] == "urn:ngsi-ld:Device:aq-001"
    assert "@context" not in first


def test_mapping_to_typed_columns(
    workspace: Workspace, make_contract: MakeContract, source_dir: Path
) -> None:
    (source_dir / "aq.json").write_text(json.dumps([air_quality(2)]), encoding="utf-8")
    mapping = """\
mapping:
  columns:
    - {source: id, target: reading_id}
    - {source: NO2, target: no2, type: float64}
    - source: NO2_observedAt
      target: observed_at
      type: timestamp
      formats: ['%Y-%m-%dT%H:%M:%SZ']
    - {source: location_lon, target: lon, type: float64}
    - {source: location_lat, target: lat, type: float64}
  ignore: [type, dateObserved, NO2_unitCode, pm25, pm25_unitCode, pm25_observedAt,
           airQualityLevel, refDevice]
"""
    contract = make_contract(
        "kind: ngsi_ld\npath: aq.json\nentity_type: AirQualityObserved",
        system="air_ngsi",
        mapping=mapping,
    )
    (row,) = landed(load_ngsi_ld(workspace.lake, contract))
    assert row["no2"] == 22.5 and row["lon"] == pytest.approx(104.08)
    assert str(row["observed_at"]) == "2024-05-01 02:00:00"


def test_key_values_entities_flatten_the_same_way() -> None:
    entity = {
        "id": "urn:ngsi-ld:ParkingSpot:kv-1",
        "type": "ParkingSpot",
        "status": "free",
        "location": {"type": "Point", "coordinates": [104.1, 30.6]},
        "refParkingSite": "urn:ngsi-ld:ParkingSite:gx-1",
    }
    assert flatten(entity) == {
        "id": "urn:ngsi-ld:ParkingSpot:kv-1",
        "type": "ParkingSpot",
        "status": "free",
        "location_lon": 104.1,
        "location_lat": 30.6,
        "refParkingSite": "urn:ngsi-ld:ParkingSite:gx-1",
    }


SPOTS = 250


def broker(link_headers: bool) -> FastAPI:
    """A tiny NGSI-LD broker: /ngsi-ld/v1/entities?type=&limit=&offset= (and Link: rel=next)."""
    app = FastAPI()
    spots = [parking_spot(i) for i in range(SPOTS)]

    @app.get("/ngsi-ld/v1/entities")
    def entities(response: Response, type: str, limit: int = 20, offset: int = 0) -> Any:
        found = spots if type == "ParkingSpot" else []
        page = found[offset : offset + limit]
        if link_headers and offset + limit < len(found):
            nxt = f"/ngsi-ld/v1/entities?type={type}&limit={limit}&offset={offset + limit}"
            response.headers["Link"] = f'<{nxt}>; rel="next"'
        return page

    return app


@pytest.mark.parametrize("link_headers", [False, True], ids=["offset", "link"])
def test_parking_spots_from_a_broker(
    workspace: Workspace, make_contract: MakeContract, link_headers: bool
) -> None:
    with contextlib.contextmanager(serve_in_thread)(broker(link_headers)) as url:
        contract = make_contract(
            f"kind: ngsi_ld\nurl: '{url}'\nentity_type: ParkingSpot\ncontext: '{CONTEXT}'",
            system="parking_ngsi",
            mapping="",
        )
        manifest = load_ngsi_ld(workspace.lake, contract)
    rows = landed(manifest)
    assert (manifest.rows_read, manifest.rows_landed, manifest.rows_quarantined) == (
        SPOTS,
        SPOTS,
        0,
    )
    assert len({r["id"] for r in rows}) == SPOTS
    assert rows[1]["status"] == "free" and rows[1]["status_observedAt"] == "2024-05-01T08:00:00Z"
    assert json.loads(rows[1]["category"]) == ["onStreet", "forDisabled"]
    assert rows[1]["refParkingSite"] == "urn:ngsi-ld:ParkingSite:gx-1"
    assert manifest.source_file == f"{url}/ngsi-ld/v1/entities"


def test_broker_error_fails_naming_the_page(
    workspace: Workspace, make_contract: MakeContract
) -> None:
    app = FastAPI()

    @app.get("/ngsi-ld/v1/entities")
    def entities() -> Response:
        return Response('{"type": "BadRequestData"}', status_code=400)

    with contextlib.contextmanager(serve_in_thread)(app) as url:
        contract = make_contract(
            f"kind: ngsi_ld\nurl: '{url}'\nentity_type: ParkingSpot",
            system="parking_ngsi",
            mapping="",
        )
        manifest = load_ngsi_ld(workspace.lake, contract)
    assert manifest.status == "failed"
    assert manifest.message is not None
    assert manifest.message.startswith("source parking_ngsi: page 1 (") and "HTTP 400" in (
        manifest.message
    )
