#!/usr/bin/env bash
# The demo's air-quality stream, end to end over MQTT, losing nothing:
#   - a Mosquitto that keeps what it is sent: persistence in DIR/mosquitto/, an offline queue
#     sized for the whole stream (max_queued_messages / max_queued_bytes), $SYS counters on;
#   - one long-running consumer (`citybrain stream air_quality_sensors`: a durable MQTT 5 session
#     with manual acks, micro-batches landed as they come) subscribed before the city publishes
#     and stopped (SIGTERM: it lands its open batch) once the broker's queue is drained;
#   - the counts checked at the end: published = landed + quarantined, or the run says what the
#     broker lost ("expected but not received") and exits non-zero.
# The broker keeps running for the rest of the demo; its pid is in DIR/mosquitto.pid.
#
# usage: scripts/demo-stream.sh CITY_DIR WORKSPACE_DIR DEMO_DIR
#   env: MQTT_PORT (18830), MQTT_MAX_QUEUED (1000000 messages), MQTT_MAX_QUEUED_BYTES (1 GiB),
#        LIVE_HOURS (stream only the newest hours; empty: everything), CB (citybrain command),
#        STREAM_IDLE_SECONDS (15: stop waiting for readings after this long without any)
set -euo pipefail
cd "$(dirname "$0")/.."
CITY=$1; WS=$2; DIR=$3
MQTT_PORT=${MQTT_PORT:-18830}
MAX_QUEUED=${MQTT_MAX_QUEUED:-1000000}
MAX_QUEUED_BYTES=${MQTT_MAX_QUEUED_BYTES:-1073741824}
LIVE_HOURS=${LIVE_HOURS:-}
UV=$(command -v uv || echo "python3 -m uv")
CB=${CB:-"$UV run --frozen citybrain"}
MOSQUITTO=$(command -v mosquitto || command -v /usr/sbin/mosquitto || true)
SYSTEM=air_quality_sensors
mkdir -p "$DIR/mosquitto"
DIR=$(cd "$DIR" && pwd)

if [ -z "$MOSQUITTO" ]; then
    echo "note: mosquitto is not installed, so the air-quality stream is skipped (make test installs it)"
    exit 0
fi

echo "==> starting an MQTT broker on 127.0.0.1:$MQTT_PORT for the air-quality stream (persistent, queue $MAX_QUEUED)"
cat >"$DIR/mosquitto.conf" <<CONF
listener $MQTT_PORT 127.0.0.1
allow_anonymous true
# Started as root, Mosquitto switches to this user; it must be able to write its store.
user $(id -un)
persistence true
persistence_location $DIR/mosquitto/
autosave_interval 30
# What waits for a subscriber that is away or behind: room for the whole stream, not 1,000.
max_queued_messages $MAX_QUEUED
max_queued_bytes $MAX_QUEUED_BYTES
# The connector reads \$SYS/broker/publish/messages/dropped to notice loss.
sys_interval 2
set_tcp_nodelay true
CONF
"$MOSQUITTO" -c "$DIR/mosquitto.conf" >"$DIR/mosquitto.log" 2>&1 &
echo $! >"$DIR/mosquitto.pid"
for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$MQTT_PORT") 2>/dev/null && break
    sleep 0.1
done

# The consumer subscribes first: from then on the broker keeps the stream for it.
rm -f "$WS/stream/status.txt"
$CB -w "$WS" stream "$SYSTEM" >"$DIR/stream.log" 2>&1 &
consumer=$!
status() { sed -n "s/^$1=//p" "$WS/stream/status.txt" 2>/dev/null; }
alive() { kill -0 "$consumer" 2>/dev/null || { cat "$DIR/stream.log" >&2; echo "error: the stream consumer stopped" >&2; exit 1; }; }
until [ "$(status ready)" = 1 ]; do alive; sleep 0.2; done

since=()  # with LIVE_HOURS the older readings go over as Parquet files, not one message each
[ -n "$LIVE_HOURS" ] && since=(--last-hours "$LIVE_HOURS" --history-out "$DIR/air_history")
$CB sim publish "$CITY/$SYSTEM" --host 127.0.0.1 --port "$MQTT_PORT" "${since[@]}" | tee "$DIR/published.txt"
published=$(sed -n 's/^published \([0-9,]*\) messages.*/\1/p' "$DIR/published.txt" | tr -d ,)

# Drained: everything published received (landed or quarantined) and no batch for 2 s — one
# $SYS tick, so a drop the broker counted is recorded — or nothing more for STREAM_IDLE_SECONDS.
idle_limit=${STREAM_IDLE_SECONDS:-15}
done_at=$(date +%s)
while :; do
    alive
    received=$(status received); last=$(status last_batch); now=$(date +%s.%N)
    idle=$(awk -v n="$now" -v l="${last:-0}" -v d="$done_at" 'BEGIN { print int(n - (l > d ? l : d)) }')
    if [ "${received:-0}" -ge "$published" ] && [ "$idle" -ge 2 ]; then break; fi
    if [ "$idle" -ge "$idle_limit" ]; then break; fi
    sleep 0.5
done
kill -TERM "$(status pid)"  # the consumer itself (uv may wrap it): it lands its open batch
wait "$consumer" || { cat "$DIR/stream.log" >&2; echo "error: the stream consumer failed" >&2; exit 1; }
tail -n 1 "$DIR/stream.log"

if [ -n "$LIVE_HOURS" ]; then
    echo "==> landing the air-quality history as files (source air_quality_history)"
    $UV run --frozen python - "$WS/sources/$SYSTEM.yaml" "$DIR/air_history" <<'PY'
import re
import sys
from pathlib import Path

# The stream's contract, delivered as the Parquet files of its history instead of over MQTT.
stream, folder = Path(sys.argv[1]), Path(sys.argv[2])
text = stream.read_text(encoding="utf-8")
text = re.sub(r"(?m)^id: .*$", "id: air_quality_history", text)
text = re.sub(r"(?m)^name: (.*)$", r"name: \1（历史数据）", text)
text = re.sub(r"(?m)^connector:\n(?:  .*\n)+",
              f"connector:\n  kind: parquet\n  path: {folder}/*.parquet\n", text)
(stream.parent / "air_quality_history.yaml").write_text(text, encoding="utf-8")
PY
    $CB -w "$WS" ingest air_quality_history
fi

published=$(sed -n 's/^published \([0-9,]*\) messages.*/\1/p' "$DIR/published.txt" | tr -d ,)
$UV run --frozen python - "$WS" "$SYSTEM" "$published" <<'PY'
import sys
from pathlib import Path
from citybrain.core.workspace import Workspace
from citybrain.ingest.rawzone import RawZone

workspace, system, published = Workspace.open(Path(sys.argv[1])), sys.argv[2], int(sys.argv[3])
loads = [m for m in RawZone(workspace.lake, system).manifests() if m.status == "completed"]
landed = sum(m.rows_landed for m in loads)
quarantined = sum(m.rows_quarantined for m in loads)
missing = sum(m.rows_missing for m in loads)
print(f"stream {system}: published {published:,} · landed {landed:,} · quarantined "
      f"{quarantined:,} · expected but not received {missing:,} · loads {len(loads)}")
if landed + quarantined != published:
    print(f"error: {published - landed - quarantined:,} published readings did not land "
          "(see the quality alerts and mosquitto.log)", file=sys.stderr)
    sys.exit(1)
PY
