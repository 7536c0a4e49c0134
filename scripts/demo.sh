#!/usr/bin/env bash
# make demo: a synthetic district, the whole pipeline, then the web app.
set -euo pipefail
cd "$(dirname "$0")/.."
SCALE=${1:-small}; SEED=${2:-7}; DIR=${3:-demo}; PORT=${4:-8000}
UV=$(command -v uv || echo "python3 -m uv")
CB="$UV run citybrain"

echo "==> generating a '$SCALE' synthetic district (seed $SEED) in $DIR/city"
$CB sim --scale "$SCALE" --seed "$SEED" --out "$DIR/city"
echo "==> creating the workspace $DIR/workspace"
$CB workspace init "$DIR/workspace" --force
echo "==> running the pipeline"
$CB -w "$DIR/workspace" run
echo
echo "citybrain demo is up: http://127.0.0.1:$PORT"
echo "demo login: none needed yet (sign-in arrives with the API security work)"
echo "press Ctrl+C to stop"
exec $CB -w "$DIR/workspace" serve --host 127.0.0.1 --port "$PORT"
