"""NGSI-LD entities (FIWARE context brokers, Smart Data Models) flattened to rows.

Entities come from a file (a JSON array, one entity, or JSON Lines) or from a context broker's
``GET /ngsi-ld/v1/entities?type=…``, paged with ``limit``/``offset`` — following the broker's
``Link: <…>; rel="next"`` header when it sends one, else asking for the next offset while pages
come back full.

Each entity becomes one row: ``id`` and ``type``, then per attribute —
Property → its value (a JSON-LD ``{"@value": …}`` is unwrapped, structured values are JSON text),
GeoProperty → ``<name>_lon`` and ``<name>_lat`` for a Point (other geometries as GeoJSON text),
Relationship → the object's id, LanguageProperty → its language map as JSON, and ``observedAt`` /
``unitCode`` kept as ``<name>_observedAt`` / ``<name>_unitCode``. Simplified (keyValues) entities,
whose attributes are bare values, flatten the same way. In a file, entities of another type are not
part of this source and are left out.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from citybrain.ingest.connectors.base import Chunk, SourceUnreadable
from citybrain.ingest.connectors.http import auth_headers
from citybrain.ingest.connectors.memory import records_chunk
from citybrain.ingest.contract import NgsiLdConnector, SourceContract

ENTITIES_PATH = "/ngsi-ld/v1/entities"
PAGE_LIMIT = 100  # brokers cap limit (Orion-LD at 1,000, Scorpio lower); 100 is accepted by all
RETRIES = 4
TIMEOUT_SECONDS = 30.0
GEOJSON_TYPES = frozenset(
    {"Point", "LineString", "Polygon", "MultiPoint", "MultiLineString", "MultiPolygon"}
)
SKIP = frozenset({"id", "type", "@context"})


def flatten(entity: dict[str, Any]) -> dict[str, Any]:
    """One NGSI-LD entity (normalized or keyValues) as one flat row."""
    row: dict[str, Any] = {"id": entity.get("id"), "type": entity.get("type")}
    for name, attribute in entity.items():
        if name in SKIP:
            continue
        if isinstance(attribute, list) and attribute and isinstance(attribute[0], dict):
            # A multi-attribute (several datasetIds): the default instance, else the first.
            defaults = [a for a in attribute if isinstance(a, dict) and "datasetId" not in a]
            attribute = (defaults or attribute)[0]
        _flatten_attribute(row, name, attribute)
    return row


def _flatten_attribute(row: dict[str, Any], name: str, attribute: Any) -> None:
    if not isinstance(attribute, dict):
        row[name] = attribute
        return
    kind = attribute.get("type")
    if kind in GEOJSON_TYPES:  # keyValues GeoProperty: the bare GeoJSON geometry
        _geometry(row, name, attribute)
        return
    if kind == "Relationship" or "object" in attribute:
        row[name] = attribute.get("object")
    elif kind == "GeoProperty":
        _geometry(row, name, attribute.get("value"))
    elif kind == "LanguageProperty" or "languageMap" in attribute:
        row[name] = attribute.get("languageMap")
    elif kind == "Property" or "value" in attribute:
        value = attribute.get("value")
        row[name] = value.get("@value") if isinstance(value, dict) and "@value" in value else value
    else:
        row[name] = attribute  # a structured keyValues value: landed as JSON text
        return
    for meta in ("observedAt", "unitCode"):
        if meta in attribute:
            row[f"{name}_{meta}"] = attribute[meta]


def _geometry(row: dict[str, Any], name: str, geometry: Any) -> None:
    if isinstance(geometry, dict) and geometry.get("type") == "Point":
        coordinates = geometry.get("coordinates") or [None, None]
        row[f"{name}_lon"], row[f"{name}_lat"] = coordinates[0], coordinates[1]
    else:
        row[name] = geometry


def type_matches(entity_type: Any, wanted: str) -> bool:
    """``ParkingSpot`` matches itself and its expanded IRI (``https://…/ParkingSpot``)."""
    if not isinstance(entity_type, str):
        return False
    return entity_type == wanted or entity_type.rsplit("/", 1)[-1].rsplit("#", 1)[-1] == wanted


class NgsiLdReader:
    fixed_columns = False

    def __init__(
        self, contract: SourceContract, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        connector = contract.connector
        if not isinstance(connector, NgsiLdConnector):
            raise TypeError(f"{contract.id} is not an NGSI-LD source")
        if (connector.url is None) == (connector.path is None):
            raise SourceUnreadable(
                f"source {contract.id}: give exactly one of connector.url and connector.path"
            )
        self.contract = contract
        self.options = connector
        self.transport = transport
        self._hash = hashlib.sha256()
        self.retried = 0
        if connector.path is not None:
            path = Path(connector.path)
            self.file: Path | None = path if path.is_absolute() else contract.base_dir() / path
            self.source = str(self.file)
        else:
            self.file = None
            base = (connector.url or "").rstrip("/")
            self.source = base if base.endswith(ENTITIES_PATH) else base + ENTITIES_PATH

    def digest(self) -> str:
        return "sha256:" + self._hash.hexdigest()

    def watermark(self) -> str | None:
        return None

    def notes(self) -> list[str]:
        return [f"{self.retried} request(s) retried"] if self.retried else []

    def chunks(self) -> Iterator[Chunk]:
        row = 1
        pages = self._file_pages() if self.file is not None else self._broker_pages()
        for entities, size in pages:
            wanted = [
                e
                for e in entities
                if not isinstance(e, dict) or type_matches(e.get("type"), self.options.entity_type)
            ]
            rows = [flatten(e) if isinstance(e, dict) else e for e in wanted]
            yield records_chunk(rows, first_row=row, size=size)
            row += len(rows)

    def _file_pages(self) -> Iterator[tuple[list[Any], int]]:
        assert self.file is not None
        try:
            data = self.file.read_bytes()
        except OSError as exc:
            raise SourceUnreadable(
                f"source {self.contract.id}: cannot read {self.file}: {exc.strerror}",
                hint="check connector.path in the contract",
            ) from None
        self._hash.update(data)
        text = data.decode("utf-8-sig", "replace")
        try:
            document = json.loads(text)
        except json.JSONDecodeError:
            document = self._json_lines(text)
        entities = document if isinstance(document, list) else [document]
        for start in range(0, len(entities), PAGE_LIMIT * 10):
            yield entities[start : start + PAGE_LIMIT * 10], len(data) if start == 0 else 0

    def _json_lines(self, text: str) -> list[Any]:
        try:
            return [json.loads(line) for line in text.splitlines() if line.strip()]
        except json.JSONDecodeError as exc:
            raise SourceUnreadable(
                f"source {self.contract.id}: {self.file} is neither a JSON document nor JSON "
                f"Lines ({exc.msg} at line {exc.lineno})",
                hint="export the entities as a JSON array",
            ) from None

    def _broker_pages(self) -> Iterator[tuple[list[Any], int]]:
        headers = {"Accept": "application/json"}
        headers.update(auth_headers(self.contract, self.options.auth_header_env))
        if self.options.context:
            headers["Link"] = (
                f'<{self.options.context}>; rel="http://www.w3.org/ns/json-ld#context"; '
                'type="application/ld+json"'
            )
        url: str | None = self.source
        params: dict[str, str] | None = {
            "type": self.options.entity_type,
            "limit": str(PAGE_LIMIT),
            "offset": "0",
        }
        offset, page = 0, 0
        with httpx.Client(
            headers=headers, timeout=TIMEOUT_SECONDS, transport=self.transport
        ) as client:
            while url is not None:
                page += 1
                response = self._get(client, url, params, page)
                label = f"page {page} ({response.request.url})"
                try:
                    entities = response.json()
                except ValueError as exc:
                    raise SourceUnreadable(
                        f"source {self.contract.id}: {label} is not valid JSON ({exc})",
                        hint="the broker sent a broken page; nothing of this load landed",
                    ) from None
                if not isinstance(entities, list):
                    raise SourceUnreadable(
                        f"source {self.contract.id}: {label} is not a list of entities",
                        hint="check connector.url: it should be the broker's base URL",
                    )
                self._hash.update(response.content)
                yield entities, len(response.content)
                following = response.links.get("next", {}).get("url")
                if following:
                    url, params = str(response.url.join(following)), None
                elif len(entities) >= PAGE_LIMIT and params is not None:
                    offset += len(entities)
                    params["offset"] = str(offset)
                else:
                    url = None

    def _get(
        self, client: httpx.Client, url: str, params: dict[str, str] | None, page: int
    ) -> httpx.Response:
        problem = ""
        for attempt in range(RETRIES + 1):
            if attempt:
                self.retried += 1
                time.sleep(0.5 * 2 ** (attempt - 1))
            try:
                response = client.get(url, params=params)
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__}: {exc}"
                continue
            if response.status_code >= 500:
                problem = f"HTTP {response.status_code}"
                continue
            if not response.is_success:
                raise SourceUnreadable(
                    f"source {self.contract.id}: page {page} ({response.request.url}): "
                    f"HTTP {response.status_code}: {response.text[:200]}",
                    hint="check connector.url, entity_type and auth_header_env",
                )
            return response
        raise SourceUnreadable(
            f"source {self.contract.id}: page {page} ({url}) failed after {RETRIES + 1} "
            f"attempts: {problem}",
            hint="check that the context broker is up",
        )
