"""The synthetic city's live streams published to an MQTT broker: the air-quality sensors, the
muck trucks' GPS and the shared bikes' positions.

Each row becomes one QoS 1 message on the topic ``<topic_prefix>/<sensor id>`` with the row as a
compact JSON object (columns in schema order, timestamps ISO 8601), so the same rows always give the
same messages in the same order. `publish` sends any rows; `replay` sends a generated system folder
(`DIR/<system>/connection.json` with ``"kind": "mqtt"`` and rows in `data/*.parquet`);
`air_quality_stream` makes a small deterministic stream when no generated city is at hand.

The truck GPS and bike positions are delivered as monthly Parquet files (their history); `replay`
also sends them live, one message per ping on ``<prefix>/<vehicle or bike id>`` (`LIVE_SYSTEMS`),
so ``citybrain stream`` can land them through the live contracts (``<system>_live``). With
`last_hours`, only the newest hours go, in time order across vehicles, as a live feed would.

Publishing is paced: with `rate` the stream keeps to that many messages per second; without it,
messages go as fast as the broker acknowledges them. `publish` returns only when every message has
been acknowledged (PUBACK), so a subscriber that was listening before the call receives them all.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import paho.mqtt.client as paho
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from paho.mqtt.enums import CallbackAPIVersion

from citybrain.core.errors import EnvironmentProblem, UserError
from citybrain.sim.formats import Batches, iter_batches, json_objects, read_connection_file

DEFAULT_TOPIC_PREFIX = "citybrain/sim/air"
SENSOR_COLUMN = "sensor_id"
TIME_COLUMN = "observed_at"


@dataclass(frozen=True)
class LiveSystem:
    """A file-delivered system the sim also streams: its topic, the column naming each
    message's device (the topic's last level), and its time column (epoch ``unit``)."""

    topic_prefix: str
    device_column: str
    time_column: str
    unit: str  # "ms" or "s": the time column's epoch unit


# system folder → how it is streamed; the live contracts (citybrain.stream.livesources) subscribe
# to these prefixes, so the two must agree (tests/stream/test_live_sources.py checks it).
LIVE_SYSTEMS = {
    "muck_truck_gps": LiveSystem("citybrain/sim/muck", "vehicle_no", "gps_time", "ms"),
    "bike_meituan": LiveSystem("citybrain/sim/bike/meituan", "bike_id", "ts", "s"),
}


def message_topics(batch: pa.RecordBatch, topic_prefix: str, sensor_column: str) -> pa.Array:
    """The topic of every row, ``<topic_prefix>/<sensor id>``, built column-wise."""
    i = batch.schema.get_field_index(sensor_column)
    if i < 0:
        raise UserError(f"MQTT rows need a {sensor_column!r} column; got {batch.schema.names}")
    sensor = batch.column(i).cast(pa.string())
    return pc.binary_join_element_wise(topic_prefix.rstrip("/"), sensor, "/")


def _connect(host: str, port: int, client_id: str, timeout: float) -> paho.Client:
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv311)
    client.max_inflight_messages_set(256)  # enough in flight to keep loopback busy
    connected = threading.Event()
    failure: list[str] = []

    def on_connect(_c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if getattr(reason, "is_failure", False):
            failure.append(str(reason))
        connected.set()

    client.on_connect = on_connect
    try:
        client.connect(host, port, keepalive=30)
    except OSError as exc:
        raise EnvironmentProblem(
            f"cannot reach the MQTT broker at {host}:{port}: {exc}",
            hint="start Mosquitto or pass the right --host/--port",
        ) from None
    client.loop_start()
    if not connected.wait(timeout) or failure:
        client.loop_stop()
        raise EnvironmentProblem(
            f"MQTT broker at {host}:{port} refused or did not answer: {failure or 'timeout'}"
        )
    return client


def publish(
    data: Batches,
    host: str,
    port: int,
    *,
    topic_prefix: str = DEFAULT_TOPIC_PREFIX,
    sensor_column: str = SENSOR_COLUMN,
    rate: float | None = None,
    qos: int = 1,
    client_id: str = "citybrain-sim",
    timeout: float = 30.0,
) -> int:
    """Publish every row as one message; returns the number published and acknowledged.

    `rate` caps messages per second (None: as fast as acknowledgements allow); `timeout` bounds the
    wait for the connection and for each batch's acknowledgements.
    """
    client = _connect(host, port, client_id, timeout)
    sent = 0
    began = time.monotonic()
    try:
        for batch in iter_batches(data):
            topics = message_topics(batch, topic_prefix, sensor_column).to_pylist()
            payloads = json_objects(batch).to_pylist()
            pending = []
            for topic, payload in zip(topics, payloads, strict=True):
                if rate:
                    delay = began + sent / rate - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                pending.append(client.publish(topic, payload.encode("utf-8"), qos=qos))
                sent += 1
            # Wait per batch so memory for message handles stays bounded by the batch size.
            for info in pending:
                info.wait_for_publish(timeout)
                if not info.is_published():
                    raise EnvironmentProblem(
                        f"MQTT broker at {host}:{port} did not acknowledge within {timeout}s"
                    )
    finally:
        client.disconnect()
        client.loop_stop()
    return sent


def replay(
    system_dir: Path,
    host: str,
    port: int,
    *,
    rate: float | None = None,
    limit: int | None = None,
    last_hours: float | None = None,
    client_id: str = "citybrain-sim-replay",
) -> int:
    """Publish a generated MQTT system's rows (`data/*.parquet`, in file-name order), or a live
    system's (`LIVE_SYSTEMS`: its `*.parquet` files).

    Topic prefix and sensor column come from its connection.json (``topic_prefix``,
    ``sensor_column``), defaulting to DEFAULT_TOPIC_PREFIX and SENSOR_COLUMN; `limit` stops early;
    `last_hours` publishes only the readings of the newest hours (``observed_at``): a stream is
    for what is recent, history goes over as files.
    """
    live = LIVE_SYSTEMS.get(system_dir.name)
    conn = read_connection_file(system_dir)
    if live is not None and not (conn and conn.get("kind") == "mqtt"):
        return _replay_live(system_dir, live, host, port, rate, limit, last_hours, client_id)
    if not conn or conn.get("kind") != "mqtt":
        known = ", ".join(sorted(LIVE_SYSTEMS))
        raise UserError(
            f'{system_dir}: no connection.json with kind "mqtt"; not an MQTT system',
            hint=f"the city's streams are air_quality_sensors and {known}",
        )
    files = sorted((system_dir / "data").glob("*.parquet"))
    cutoff = _cutoff(files, last_hours) if last_hours is not None and files else None

    def rows() -> Iterator[pa.RecordBatch]:
        for path in files:
            for batch in pq.ParquetFile(path).iter_batches(batch_size=10_000):
                if cutoff is not None:
                    batch = batch.filter(pc.greater(batch.column(TIME_COLUMN), cutoff))
                    if batch.num_rows == 0:
                        continue
                yield batch

    return publish(
        _first_rows(rows(), limit),
        host,
        port,
        topic_prefix=str(conn.get("topic_prefix", DEFAULT_TOPIC_PREFIX)),
        sensor_column=str(conn.get("sensor_column", SENSOR_COLUMN)),
        rate=rate,
        client_id=client_id,
    )


def live_rows(
    system_dir: Path, live: LiveSystem, last_hours: float | None, limit: int | None
) -> Iterator[pa.RecordBatch]:
    """A live system's rows to publish: every file in name order, or with ``last_hours`` only the
    newest hours of the newest file that has them, ordered by time across devices."""
    files = sorted(system_dir.glob("*.parquet"))
    if not files:
        raise UserError(f"{system_dir}: no Parquet files to stream")
    if last_hours is None:
        batches: Iterator[pa.RecordBatch] = (
            b for f in files for b in pq.ParquetFile(f).iter_batches(batch_size=10_000)
        )
    else:
        table = pq.read_table(files[-1])
        times = table.column(live.time_column)
        newest = pc.max(times).as_py()
        if newest is None:
            return
        span = last_hours * 3600 * (1000 if live.unit == "ms" else 1)
        recent = table.filter(pc.greater(times, newest - span))
        order = pc.sort_indices(recent, [(live.time_column, "ascending")])
        batches = iter(recent.take(order).to_batches(max_chunksize=10_000))
    yield from _first_rows(batches, limit)


def _first_rows(batches: Iterator[pa.RecordBatch], limit: int | None) -> Iterator[pa.RecordBatch]:
    """The first ``limit`` rows of ``batches`` (all of them if None); reads no batch past them."""
    left = limit
    for batch in batches:
        if left is not None:
            if left <= 0:
                return
            batch = batch.slice(0, left)
            left -= batch.num_rows
        yield batch


def _replay_live(
    system_dir: Path,
    live: LiveSystem,
    host: str,
    port: int,
    rate: float | None,
    limit: int | None,
    last_hours: float | None,
    client_id: str,
) -> int:
    return publish(
        live_rows(system_dir, live, last_hours, limit),
        host,
        port,
        topic_prefix=live.topic_prefix,
        sensor_column=live.device_column,
        rate=rate,
        client_id=f"{client_id}-{system_dir.name}",
    )


def write_history(system_dir: Path, last_hours: float, out: Path) -> int:
    """Write the readings older than the newest ``last_hours`` (those `replay` with the same
    ``last_hours`` does not publish) to ``out/<file>.parquet``: history goes over as files.
    Returns the number of readings written."""
    files = sorted((system_dir / "data").glob("*.parquet"))
    if not files:
        return 0
    cutoff = _cutoff(files, last_hours)
    out.mkdir(parents=True, exist_ok=True)
    written = 0
    for path in files:
        source = pq.ParquetFile(path)
        with pq.ParquetWriter(out / path.name, source.schema_arrow) as writer:
            for batch in source.iter_batches(batch_size=100_000):
                old = batch.filter(pc.less_equal(batch.column(TIME_COLUMN), cutoff))
                writer.write_batch(old)
                written += old.num_rows
    return written


def _cutoff(files: list[Path], hours: float) -> pa.Scalar:
    """The time before which readings are history: ``hours`` before the newest reading."""
    times = pq.read_table(files[-1], columns=[TIME_COLUMN]).column(TIME_COLUMN)
    newest = pc.max(times).as_py()
    if newest is None:
        raise UserError(f"{files[-1]}: no {TIME_COLUMN} values to count the last hours from")
    return pa.scalar(newest - timedelta(hours=hours), times.type)


def air_quality_stream(
    seed: int,
    *,
    sensors: int = 10,
    steps: int = 12,
    start: datetime = datetime(2024, 1, 1),
    interval: timedelta = timedelta(minutes=5),
    first_message: int = 0,
) -> Iterator[pa.RecordBatch]:
    """A deterministic air-quality stream: one batch per time step, one row per sensor, each
    with ``msg_id``, the publisher's sequence number (from ``first_message``, one per row).

    Pollutant levels follow a daily cycle with log-normal noise; the generator's own air-quality
    system (with pollution episodes and their sources) is the realistic one — this is for tests and
    for `publish` without a generated city.
    """
    rng = np.random.default_rng(seed)
    ids = pa.array([f"AQ{i:04d}" for i in range(sensors)])
    base = rng.uniform(20, 60, sensors)
    for step in range(steps):
        when = start + step * interval
        hour = when.hour + when.minute / 60
        cycle = 1 + 0.3 * np.sin((hour - 8) / 24 * 2 * np.pi)
        pm25 = np.round(base * cycle * rng.lognormal(0, 0.15, sensors), 1)
        first = first_message + step * sensors
        yield pa.RecordBatch.from_pydict(
            {
                "msg_id": pa.array(range(first, first + sensors), pa.int64()),
                "sensor_id": ids,
                "observed_at": pa.array([when] * sensors, type=pa.timestamp("s")),
                "pm25": pm25,
                "pm10": np.round(pm25 * rng.uniform(1.3, 1.9, sensors), 1),
                "no2": np.round(rng.lognormal(3.2, 0.3, sensors), 1),
                "o3": np.round(rng.lognormal(3.8, 0.25, sensors), 1),
            }
        )
