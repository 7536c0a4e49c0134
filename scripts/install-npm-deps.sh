#!/usr/bin/env bash
# npm packages, installed from the lock files committed next to each package.json.
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
