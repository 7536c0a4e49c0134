#!/usr/bin/env bash
# Run the whole suite. pytest's exit code 5 ("no tests ran") is a failure with a clear message.
set -uo pipefail
cd "$(dirname "$0")/.."
UV=$(command -v uv || echo "python3 -m uv")
mkdir -p test-artifacts
# Three workers on two cores: with two, a third of the CPU sat idle while tests waited on
# browsers, servers and brokers. Measured on a fresh clone: two workers 1,198 s, three 1,191 s —
# no real gain yet, because the whole-pipeline tests at the end hold the run; every service
# fixture is per worker. Work stealing:
# a few tests take minutes (whole pipelines), so an idle worker takes queued tests from the busy one.
# The slowest tests are listed so the suite's 20-minute budget stays visible in every run.
# The Spark standalone cluster's end-to-end test (marker `cluster`, about 4 minutes quiet) has no
# room in the suite's budget on two cores: `make test-cluster` runs it (PYTEST_MARK=cluster).
# Our own modules are compiled once here (the environment's were at install; see the Makefile's env
# target), and the suite may write bytecode: with PYTHONDONTWRITEBYTECODE set (as on our build
# machine), every worker and subprocess would compile the same modules and re-run pytest's assert
# rewriting again.
unset PYTHONDONTWRITEBYTECODE
$UV run python -m compileall -q src >/dev/null
run_pytest() {
    $UV run pytest --durations=25 -m "${PYTEST_MARK:-not cluster}" "$@"
    local rc=$?
    if [ "$rc" -eq 5 ]; then
        echo "error: pytest collected no tests — the suite must never pass empty" >&2
    fi
    return "$rc"
}
if [ "$#" -gt 0 ] || [ -n "${PYTEST_MARK:-}" ]; then
    run_pytest -n "${PYTEST_WORKERS:-3}" --dist worksteal "$@"
    exit $?
fi
# The whole suite. The OpenAPI fuzz module runs in a process of its own beside the workers:
# schemathesis builds its coverage-phase examples while the module is collected (40 s of CPU,
# measured under load), and every xdist worker collects every module — three workers paid it three
# times.
FUZZ=tests/api/test_openapi_fuzz.py
run_pytest -p no:xdist -q "$FUZZ" >test-artifacts/openapi-fuzz.log 2>&1 &
fuzz=$!
run_pytest -n "${PYTEST_WORKERS:-3}" --dist worksteal --ignore="$FUZZ"
rc=$?
wait "$fuzz"
fuzz_rc=$?
echo "---- $FUZZ (its own process; log: test-artifacts/openapi-fuzz.log) ----"
if [ "$fuzz_rc" -eq 0 ]; then tail -n 30 test-artifacts/openapi-fuzz.log; else cat test-artifacts/openapi-fuzz.log; fi
if [ "$rc" -eq 0 ] && [ "$fuzz_rc" -ne 0 ]; then
    rc=$fuzz_rc
fi
exit "$rc"
