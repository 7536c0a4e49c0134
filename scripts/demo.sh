#!/usr/bin/env bash
# make demo: a synthetic district, the whole pipeline, then the web app with the live city.
set -euo pipefail
cd "$(dirname "$0")/.."
SCALE=${1:-small}; SEED=${2:-7}; DIR=${3:-demo}; PORT=${4:-8000}
SIM_PORT=${SIM_PORT:-8808}; MQTT_PORT=${MQTT_PORT:-18830}
UV=$(command -v uv || echo "python3 -m uv")
CB="$UV run --frozen citybrain"
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

wait_for_port() {  # host port what
    for _ in $(seq 1 100); do
        (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null && return 0
        sleep 0.2
    done
    echo "error: $3 did not start on $1:$2" >&2
    return 1
}

echo "==> generating a '$SCALE' synthetic district (seed $SEED) in $DIR/city"
$CB sim --scale "$SCALE" --seed "$SEED" --out "$DIR/city"

echo "==> creating the workspace $DIR/workspace with the city's $(ls "$DIR/city" | grep -vc -e truth -e README) department systems"
$CB workspace init "$DIR/workspace" --name 示例高新区 --force --sim "$DIR/city" \
    --sim-api "http://127.0.0.1:$SIM_PORT" --mqtt "127.0.0.1:$MQTT_PORT"

echo "==> starting the departments' HTTP systems (citybrain sim serve) on 127.0.0.1:$SIM_PORT"
$CB sim serve "$DIR/city" --host 127.0.0.1 --port "$SIM_PORT" >"$DIR/sim-serve.log" 2>&1 &
pids+=($!)
wait_for_port 127.0.0.1 "$SIM_PORT" "citybrain sim serve"
export CITYBRAIN_SIM_TRANSPORT_KEY=sim-transport-key

# The air-quality stream over MQTT: a broker that keeps what it is sent, the consumer draining
# while the city publishes, the counts checked (see scripts/demo-stream.sh). Beyond `small`, only
# the newest day goes over MQTT: a stream is for what is recent.
case "$SCALE" in tiny|small) live_hours="" ;; *) live_hours=${LIVE_HOURS:-24} ;; esac
MQTT_PORT=$MQTT_PORT LIVE_HOURS=$live_hours CB="$CB" \
    bash scripts/demo-stream.sh "$DIR/city" "$DIR/workspace" "$DIR" \
    || echo "note: the air-quality stream did not reconcile (see above); the demo goes on"
[ -f "$DIR/mosquitto.pid" ] && pids+=("$(cat "$DIR/mosquitto.pid")")

echo "==> running the pipeline"
$CB -w "$DIR/workspace" run || echo "note: some stages reported problems (see above); the demo goes on"

echo "==> scoring the topics against the synthetic city's ground truth (evaluation only reads truth/)"
$CB -w "$DIR/workspace" topic evaluate group_rental --truth "$DIR/city/truth" \
    || echo "note: evaluation failed (see above); the demo goes on"

# The live city: with the broker up, the server consumes the live sources too (--with-stream) and
# the city's muck trucks and shared bikes are replayed over MQTT once its consumer has subscribed,
# so the map moves and the muck-truck detector's alerts open cases while you watch.
with_stream=()
if [ -f "$DIR/mosquitto.pid" ] && kill -0 "$(cat "$DIR/mosquitto.pid")" 2>/dev/null; then
    echo "==> the live city: truck GPS and bike positions over MQTT, consumed by the server (--with-stream)"
    $UV run --frozen python -c "import sys; from pathlib import Path
from citybrain.stream.livesources import write_live_sources
write_live_sources(Path(sys.argv[1]), '127.0.0.1', int(sys.argv[2]), overwrite=True)" \
        "$DIR/workspace/sources" "$MQTT_PORT"
    with_stream=(--with-stream)
    # tiny/small: the trucks' whole history, fast (a violation is rare: ~1 a month); beyond: 48 h
    case "$SCALE" in
        tiny|small) truck_window=(--rate "${LIVE_TRUCK_RATE:-2000}") ;;
        *) truck_window=(--last-hours "${LIVE_TRUCK_HOURS:-48}" --rate "${LIVE_TRUCK_RATE:-100}") ;;
    esac
    status="$DIR/workspace/stream/status.txt"
    rm -f "$status"  # the air-quality consumer's; the server's consumer writes its own
    replay_live() {  # waits for the server's consumer: the broker keeps what it is sent from then on
        until grep -q '^ready=1' "$status" 2>/dev/null; do sleep 0.5; done
        $CB sim publish "$DIR/city/bike_meituan" --host 127.0.0.1 --port "$MQTT_PORT" \
            --last-hours "${LIVE_BIKE_HOURS:-72}" --rate "${LIVE_BIKE_RATE:-100}" &
        $CB sim publish "$DIR/city/muck_truck_gps" --host 127.0.0.1 --port "$MQTT_PORT" \
            "${truck_window[@]}"
        wait
    }
    replay_live >"$DIR/live-replay.log" 2>&1 &
    pids+=($!)
else
    echo "note: no MQTT broker running, so the live city (trucks and bikes on the map) is skipped"
fi

echo "==> demo accounts"
$CB -w "$DIR/workspace" user demo | tee "$DIR/logins.txt"
echo
echo "log in with one of the demo logins above (e.g. leader / leader-demo-2024); Ctrl+C stops the demo"
echo "citybrain demo is up: http://127.0.0.1:$PORT"
$CB -w "$DIR/workspace" serve --host 127.0.0.1 --port "$PORT" "${with_stream[@]}"
