#!/usr/bin/env bash
# Debian packages the tests need: a JDK for Spark, PostgreSQL, Mosquitto, Chromium and CJK fonts.
# As root they are installed by name; otherwise we only say what is missing.
set -euo pipefail

PACKAGES=(openjdk-17-jre-headless postgresql mosquitto chromium chromium-driver fonts-noto-cjk wrk)

missing=()
for pkg in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "system packages: all present (${PACKAGES[*]})"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "error: missing Debian packages: ${missing[*]} — run 'sudo apt-get update && sudo apt-get install -y ${missing[*]}' or run make test as root" >&2
    exit 1
fi

echo "system packages: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# Services must not start on their default ports: the tests start their own on loopback.
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "system packages: installed ${missing[*]}"
