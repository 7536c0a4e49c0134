#!/usr/bin/env bash
# npm packages, installed from the lock files committed next to each package.json; then the web
# app's build (frontend/ → src/citybrain/web/dist/), skipped when the build is newer than its sources.
set -euo pipefail
cd "$(dirname "$0")/.."
found=0
while IFS= read -r lock; do
    dir=$(dirname "$lock")
    found=1
    if [ -d "$dir/node_modules" ] && [ "$dir/node_modules/.package-lock.json" -nt "$lock" ]; then
        echo "npm: $dir up to date"
        continue
    fi
    echo "npm: installing $dir"
    npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error
done < <(find . -name package-lock.json -not -path "*/node_modules/*" -not -path "./.venv/*" | sort)
[ "$found" = 1 ] || echo "npm: no front-end packages yet"

web=frontend
dist=src/citybrain/web/dist
if [ -f "$web/package.json" ]; then
    stamp="$dist/index.html"
    newer=""
    if [ -f "$stamp" ]; then
        newer=$(find "$web" -path "$web/node_modules" -prune -o -type f -newer "$stamp" -print -quit)
        [ -z "$newer" ] && [ "$web/node_modules/.package-lock.json" -nt "$stamp" ] && newer=lock
    fi
    if [ -f "$stamp" ] && [ -z "$newer" ]; then
        echo "web: $dist up to date"
    else
        echo "web: building $dist"
        npm run build --prefix "$web" --silent
    fi
fi
