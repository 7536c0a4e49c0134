#!/usr/bin/env bash
# make demo: a synthetic district, the whole pipeline, then the web app.
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

if command -v mosquitto >/dev/null 2>&1; then
    echo "==> starting an MQTT broker on 127.0.0.1:$MQTT_PORT for the air-quality stream"
    printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\n' "$MQTT_PORT" >"$DIR/mosquitto.conf"
    mosquitto -c "$DIR/mosquitto.conf" >"$DIR/mosquitto.log" 2>&1 &
    pids+=($!)
    wait_for_port 127.0.0.1 "$MQTT_PORT" mosquitto
    # The first load registers the durable subscription; the stream published next waits for it.
    $CB -w "$DIR/workspace" ingest air_quality_sensors >/dev/null 2>&1 || true
    $CB sim publish "$DIR/city/air_quality_sensors" --host 127.0.0.1 --port "$MQTT_PORT"
else
    echo "note: mosquitto is not installed, so the air-quality stream is skipped (make test installs it)"
fi

echo "==> running the pipeline"
$CB -w "$DIR/workspace" run || echo "note: some stages reported problems (see above); the demo goes on"

echo "==> scoring the topics against the synthetic city's ground truth (evaluation only reads truth/)"
$CB -w "$DIR/workspace" topic evaluate group_rental --truth "$DIR/city/truth" \
    || echo "note: evaluation failed (see above); the demo goes on"

echo "==> demo accounts"
$CB -w "$DIR/workspace" user demo | tee "$DIR/logins.txt"
echo
echo "citybrain demo is up: http://127.0.0.1:$PORT"
echo "log in with one of the demo logins above (e.g. leader / leader-demo-2024); Ctrl+C stops the demo"
$CB -w "$DIR/workspace" serve --host 127.0.0.1 --port "$PORT"
