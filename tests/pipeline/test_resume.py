"""Killed at a step, `citybrain run` continues and ends with what an uninterrupted run makes.

A real ``citybrain run`` process on the tiny city is killed with SIGKILL (the runner's fault hook,
``CITYBRAIN_PIPELINE_KILL=STEP@start|end``: when the step starts, or after its work is done but
before it is recorded as done — the moment where a careless resume lands things twice). The next
invocation is killed at the next step, and so on; the last one runs to the end. Its outputs are
compared with an uninterrupted run's on a second workspace of the same city: row counts and
checksums of every std and base table, the raw zone and load records per source, the topics'
findings and the cases.

By default the kill points are every step family (the first, a middle and the last source's
ingest and topic); ``CITYBRAIN_KILL_EVERY_STEP=1`` kills at every single step in turn.

The uninterrupted run and the final resumed run are ``python -m citybrain`` processes of their own;
the uninterrupted one runs in the background, on its own workspace, while the killed ones run: a
free core takes half of the test's work (its CPU is the same), and the two standardise the city at
about the same time, close together for the address code of a shared tree.
The killed ones are forked from a process that imported citybrain and its topics once: each is a
process of its own running the CLI's ``main`` on ``-w WS run``, SIGKILLed by the runner's hook,
without paying the imports (most of a killed invocation's cost) again.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds
import pytest
import yaml
from sqlalchemy import text

from citybrain.core.catalog import Catalog, PipelineRunInfo
from citybrain.core.workspace import Workspace
from citybrain.ingest.rawzone import RawZone
from citybrain.ingest.simsources import write_sim_sources
from citybrain.pipeline import KILL_ENV, build_graph
from citybrain.topics.runner import latest_findings
from fixtures.tinycity import tiny_city

EVERY_STEP = os.environ.get("CITYBRAIN_KILL_EVERY_STEP") == "1"
# two whole runs and a process start per kill; the default 600 s is too short on a busy machine
pytestmark = [
    pytest.mark.slow,
    pytest.mark.duckdb,
    pytest.mark.timeout(3600 if EVERY_STEP else 1500),
]

#: connectors that read files; the others need a server this test does not start
FILE_KINDS = {"csv", "xlsx", "jsonl", "json", "parquet", "sql"}
#: columns that name a load or a run: the same data carries other ids in another workspace
VOLATILE = {"load_id", "run_id", "_load_id", "_run_id"}


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny city of seed 7, generated once per test run and only read here."""
    return tiny_city(tmp_path_factory, 7)


def city_workspace(root: Path, sim: Path) -> Workspace:
    workspace = Workspace.init(root)
    write_sim_sources(workspace.root / "sources", sim)
    for contract in (workspace.root / "sources").glob("*.yaml"):
        if yaml.safe_load(contract.read_text("utf-8"))["connector"]["kind"] not in FILE_KINDS:
            contract.unlink()
    return workspace


def run_env() -> dict[str, str]:
    """The test's environment for a ``citybrain`` process: no kill hook, wide progress lines."""
    env = {k: v for k, v in os.environ.items() if k != KILL_ENV}
    env["COLUMNS"] = "200"
    return env


def citybrain_run(workspace: Workspace) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "citybrain", "-w", str(workspace.root), "run"],
        env=run_env(), capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip


class Background:
    """``citybrain -w WS run`` started now and waited for later; its output goes to files, so a
    full pipe can never stall it."""

    def __init__(self, workspace: Workspace, tmp: Path) -> None:
        self.out, self.err = tmp / "background.out", tmp / "background.err"
        self.args = [sys.executable, "-m", "citybrain", "-w", str(workspace.root), "run"]
        with self.out.open("w") as out, self.err.open("w") as err:
            self.process = subprocess.Popen(
                self.args, env=run_env(), stdout=out, stderr=err, stdin=subprocess.DEVNULL
            )

    def wait(self, timeout: float) -> subprocess.CompletedProcess[str]:
        code = self.process.wait(timeout)
        return subprocess.CompletedProcess(
            self.args, code, self.out.read_text(), self.err.read_text()
        )

    def failed(self) -> subprocess.CompletedProcess[str] | None:
        """The finished run if it ended badly (so the test need not wait for the rest)."""
        return self.wait(0) if self.process.poll() not in (None, 0) else None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


#: A process that imports what ``citybrain run`` imports, then forks one child per request line
#: (``{"workspace", "kill", "out", "err"}``): the child runs ``citybrain -w WS run`` with the kill
#: hook set, its output to the two files; the parent answers with its exit status, negative for
#: the signal that ended it, like ``subprocess``'s ``returncode``.
FORK_SERVER = r"""
import json, os, sys

import citybrain.address.rules, citybrain.cases, citybrain.cli.main, citybrain.core.opsdb
import citybrain.govern.base, citybrain.govern.quality, citybrain.govern.standardize
import citybrain.ingest, citybrain.ingest.catalog, citybrain.pipeline.fingerprint
import citybrain.pipeline.steps, citybrain.report, citybrain.topics.runner
from citybrain.topics import discover_topics

discover_topics()
print("ready", flush=True)
for line in sys.stdin:
    request = json.loads(line)
    pid = os.fork()
    if pid == 0:
        code = 70
        try:
            for fd, path in ((1, request["out"]), (2, request["err"])):
                os.dup2(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC), fd)
            os.environ[request["env"]] = request["kill"]
            try:
                citybrain.cli.main.main(["-w", request["workspace"], "run"])
                code = 0
            except SystemExit as exit_:
                code = exit_.code if isinstance(exit_.code, int) else 1
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
    print(json.dumps({"returncode": code}), flush=True)
"""


class Forker:
    """Starts ``citybrain run`` processes, each to be killed at a step, from the fork server."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.server = subprocess.Popen(
            [sys.executable, "-c", FORK_SERVER], env=run_env(), text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        )  # fmt: skip
        assert self.server.stdout is not None
        assert self.server.stdout.readline().strip() == "ready", "the fork server started"
        self.count = 0

    def run(self, workspace: Workspace, kill: str) -> subprocess.CompletedProcess[str]:
        assert self.server.stdin is not None and self.server.stdout is not None
        self.count += 1
        out, err = self.tmp / f"run-{self.count}.out", self.tmp / f"run-{self.count}.err"
        request = {"workspace": str(workspace.root), "kill": kill, "env": KILL_ENV,
                   "out": str(out), "err": str(err)}  # fmt: skip
        self.server.stdin.write(json.dumps(request) + "\n")
        self.server.stdin.flush()
        reply = self.server.stdout.readline()
        assert reply, "the fork server ended"
        code = json.loads(reply)["returncode"]
        args = ["citybrain", "-w", str(workspace.root), "run"]
        return subprocess.CompletedProcess(args, code, out.read_text(), err.read_text())

    def close(self) -> None:
        if self.server.stdin is not None:
            self.server.stdin.close()
        try:
            self.server.wait(60)
        except subprocess.TimeoutExpired:
            self.server.kill()
            self.server.wait()


@pytest.fixture
def forker(tmp_path: Path) -> Iterator[Forker]:
    started = Forker(tmp_path)
    yield started
    started.close()


def kill_points(names: list[str]) -> list[str]:
    """Where to kill, in pipeline order, alternating the two moments."""
    if EVERY_STEP:
        chosen = names
    else:
        # of a family of many like steps (one per source, one per topic), the first, a middle and
        # the last stand for the rest; the other families are killed at every step
        picked = set()
        for family in ("ingest:", "topic:"):
            like = [n for n in names if n.startswith(family)]
            picked |= {like[0], like[len(like) // 2], like[-1]} if like else set()
        chosen = [n for n in names if not n.startswith(("ingest:", "topic:")) or n in picked]
    return [f"{n}@{'start' if i % 2 == 0 else 'end'}" for i, n in enumerate(chosen)]


def pipeline_runs(workspace: Workspace) -> list[PipelineRunInfo]:
    catalog = Catalog.open(workspace.ops_db_url)
    try:
        return catalog.list_pipeline_runs(limit=100)
    finally:
        catalog.close()


def checksum(table: pa.Table) -> tuple[int, str]:
    """Row count and an order-independent digest of the rows, load and run ids left out."""
    keep = [c for c in table.column_names if c not in VOLATILE]
    rows = sorted(
        json.dumps(row, sort_keys=True, default=str, ensure_ascii=False)
        for row in table.select(keep).to_pylist()
    )
    return len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest()


def outputs(workspace: Workspace) -> dict[str, Any]:
    """Everything a run leaves behind, in a form two workspaces can be compared by."""
    found: dict[str, Any] = {}
    lake = workspace.lake
    for system in sorted(p.name for p in (lake / "raw").iterdir() if p.is_dir()):
        manifests = RawZone(lake, system).manifests()
        rows = ds.dataset(lake / "raw" / system, format="parquet").count_rows()
        found[f"raw/{system}"] = (len(manifests), sum(m.rows_landed for m in manifests), rows)
    with workspace.engine() as engine:
        for zone in ("std", "base"):
            for name in engine.list_tables(zone):
                found[f"{zone}/{name}"] = checksum(engine.to_arrow(engine.table(zone, name)))
        for name in engine.list_tables("topic"):
            topic = name.removesuffix("_findings")
            everything = engine.to_arrow(engine.table("topic", name))
            found[f"topic/{name} (all runs)"] = everything.num_rows
            found[f"topic/{name} (latest)"] = checksum(latest_findings(engine, topic))
    catalog = Catalog.open(workspace.ops_db_url)
    try:
        with catalog.ops_engine.connect() as db:
            loads = db.execute(
                text("SELECT source_system, status, rows_landed FROM load_run")
            ).all()
            found["load_run"] = sorted(Counter((s, st, r) for s, st, r in loads).items())
            cases = db.execute(
                text(
                    "SELECT topic, subject_id, period, status, level, department "
                    "FROM case_record ORDER BY topic, subject_id, period"
                )
            ).all()
            found["cases"] = [tuple(row) for row in cases]
            found["case_evidence"] = db.execute(text("SELECT count(*) FROM case_evidence")).one()[0]
    finally:
        catalog.close()
    return found


def test_a_run_killed_at_each_step_in_turn_ends_like_an_uninterrupted_run(
    tmp_path: Path, city: Path, forker: Forker
) -> None:
    from citybrain.address.rules import rules_version

    # The address match cache is keyed by a fingerprint of the address code: edited while the
    # test runs (a shared working tree), the two workspaces would match under different rules.
    rules = rules_version()
    straight = city_workspace(tmp_path / "straight", city)
    uninterrupted = Background(straight, tmp_path)
    try:
        killed = city_workspace(tmp_path / "killed", city)
        names = build_graph(killed).names
        for point in kill_points(names):
            step = point.split("@")[0]
            early = uninterrupted.failed()
            assert early is None, early.stdout + early.stderr
            result = forker.run(killed, point)
            assert result.returncode == -signal.SIGKILL, (point, result.stdout + result.stderr)
            runs = pipeline_runs(killed)
            if not runs:
                assert point == "migrate@start"  # killed before the run could be recorded
                continue
            (run,) = runs  # every invocation continued the one run
            assert run.status == "running"
            attempts = [s for s in run.steps if s.name == step]
            assert attempts and attempts[-1].status == "running", point

        final = citybrain_run(killed)
        assert final.returncode == 0, final.stdout + final.stderr
        assert "continued and finished: succeeded" in final.stdout
        (run,) = pipeline_runs(killed)
        assert run.status == "succeeded" and run.plan == names
        succeeded = Counter(s.name for s in run.steps if s.status == "succeeded")
        assert succeeded == Counter(names), "every step succeeded exactly once"
        got = outputs(killed)

        done = uninterrupted.wait(timeout=900)
    finally:
        uninterrupted.stop()
    assert done.returncode == 0, done.stdout + done.stderr
    expected = outputs(straight)
    assert any(key.startswith("base/") for key in expected), "the run built the base zone"
    edited = "" if rules_version() == rules else " (the address code changed during the test)"
    assert sorted(got) == sorted(expected)
    differ = [key for key in expected if got[key] != expected[key]]
    assert not differ, f"outputs differ from the uninterrupted run's: {differ}{edited}"
