"""生态环境 空气质量 — sensor readings published to an MQTT broker (``citybrain sim mqtt`` replays
``data/*.parquet``); the connection file names the topic prefix and the sensor column."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from citybrain.sim.air import AirPlan, affected, build_air_plan, readings
from citybrain.sim.formats import write_connection_file, write_csv, write_parquet
from citybrain.sim.systems.base import SystemContext

SYSTEM = "air_quality_sensors"


def build(ctx: SystemContext) -> None:
    w = ctx.world
    plan: AirPlan = ctx.shared("air", lambda: build_air_plan(w))
    folder = ctx.dir(SYSTEM)
    seq = 0
    for m in range(w.months):
        t = readings(w, plan, m, ctx.rng(SYSTEM, str(m)))
        t = t.add_column(0, "msg_id", pa.array(np.arange(seq, seq + t.num_rows, dtype=np.int64)))
        seq += t.num_rows
        path = folder / "data" / f"air_{w.month_label(m)}.parquet"
        ctx.count(
            SYSTEM,
            write_parquet(
                path,
                t,
                use_dictionary=["sensor_id", "observed_at"],
                column_encoding={"msg_id": "DELTA_BINARY_PACKED"},
            ),
        )
    write_connection_file(
        folder,
        "mqtt",
        topic_prefix="citybrain/sim/air",
        sensor_column="sensor_id",
        qos=1,
        port=1883,
        reading_every_seconds=86_400 // w.scale.sensor_readings_per_day,
    )
    s = plan.sensors
    ctx.count(
        SYSTEM,
        write_csv(
            folder / "sensors.csv",
            pa.table(
                {
                    "sensor_id": s["sensor_id"],
                    "lon": np.round(s["lon"].to_numpy(), 6),
                    "lat": np.round(s["lat"].to_numpy(), 6),
                }
            ),
        ),
    )
    e = plan.episodes
    start = w.month_starts[0].astype("datetime64[s]") + (e["start_hour"].to_numpy() * 3600).astype(
        "timedelta64[s]"
    )
    ctx.truth.write(
        "pollution_episodes",
        e.append_column("start", pa.array(start)).append_column(
            "end", pa.array(start + (e["hours"].to_numpy() * 3600).astype("timedelta64[s]"))
        ),
    )
    ctx.truth.write("pollution_affected_sensors", affected(plan))
    if plan.faults is not None:
        f = plan.faults
        start = w.month_starts[0].astype("datetime64[s]") + (
            f["start_hour"].to_numpy() * 3600
        ).astype("timedelta64[s]")
        end = start + (f["hours"].to_numpy() * 3600).astype("timedelta64[s]")
        ctx.truth.write(
            "faulty_sensors",
            f.drop_columns(["sensor"])
            .append_column("start", pa.array(start))
            .append_column("end", pa.array(end)),
        )
