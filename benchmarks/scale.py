"""Scale benchmark: the whole pipeline (`citybrain run`) on synthetic cities of several sizes, each
beside a bare read of the same files (the floor), in one run.

Writes JSON (machine, versions, per size: records, wall time, time / rows / own peak RSS per step
from the ops database, peak RSS of the whole process tree, disk per lake zone, the floor) and
prints a table::

    uv run python benchmarks/scale.py --sizes small,10M --out benchmarks/results/scale.json

A size is a named scale (``tiny``, ``small``, ``district``, ``city``) or a record count (``10M``,
``100M``, ``1.2B``: the ``--base`` scale resized to about that many records). Generation of the
city is timed apart and is not part of the pipeline's figures. The floor reads every byte of every
source file once (the page cache is warm from generation, as it is for the pipeline) — no parsing,
so it is a floor.

The sources a server delivers run too, as in `make demo`: per size the city's HTTP systems
(`citybrain sim serve`: parking occupancy, transport arrivals) and a Mosquitto broker start on free
loopback ports and the workspace's contracts point at them. The air-quality sensors are published
over MQTT into `citybrain stream` before the run (timed apart: a stream lands while it comes, so
the run's own step for it finds nothing left); beyond ``small`` only their newest 24 hours stream
(``--live-hours``) and the older readings are a file source, ``air_quality_history``, in the run.
The JSON's ``server_sources`` gives per source the rows the city produced beside the rows landed
and quarantined, and its step. A server that cannot start (Mosquitto not installed) is said in
``servers`` and its sources are left out and listed with why; ``--no-servers`` leaves them all
out, as this benchmark did before. The servers stop at the end, on failure, Ctrl-C or SIGTERM.

The targets of issue 25 are judged from the figures: cost per record no worse than linear across
sizes, the city (1.23 B records) in under an hour with peak RSS under 16 GiB — extrapolated
linearly from the largest size run here, and the JSON names the step that holds it back.

On DuckDB the workspace's memory limit is ``--duckdb-memory`` (default 8 GB; DuckDB spills beyond
it), so the peak RSS says what the pipeline needs, not what DuckDB's default (80 % of RAM) allows.

``--engine`` runs the same pipeline on DuckDB (the default), on Spark ``local[2]`` or on a Spark
standalone cluster (a master and one worker started on loopback from PySpark's own scripts,
`citybrain.core.engine.spark_standalone`), by the workspace's configuration alone; the ops
database stays SQLite. ``--compare`` takes an earlier DuckDB JSON of the same sizes and adds the
time ratio per size and per step family. ``--sim`` reuses a generated city (one size only), and
``--timeout`` stops a run that would not end in time: the steps it finished are still reported,
and ``--resume`` (with the same ``--work``) continues that run later, as ``citybrain run`` does::

    uv run python benchmarks/scale.py --sizes 10M --engine spark-local --sim /tmp/w/10M/sim \
        --compare /tmp/scale-10M.json --out /tmp/scale-10M-spark-local.json

In a checkout where others commit while it runs, ``--frozen-code`` runs everything (generation,
pipeline, incremental run) from a snapshot of the committed code (``git archive HEAD``): otherwise
a commit to ``citybrain/address`` between the full and the incremental run rightly makes the
incremental run standardise every table again (the address rules are part of its inputs).

After the full run, each size gets 1 % new data — a new delivery of the largest multi-file Parquet
source (its latest rows copied as the next ones: new natural keys, the watermark moved past the
last delivered row, so the load is new and supersedes nothing, as a nightly export) — and a
second ``citybrain run``, the nightly incremental run, is timed beside the full one: which steps
ran again and which were skipped as unchanged (target: under 5 % of the full run's time).
``--nightly-source SYSTEM`` delivers the 1 % into that system instead (one that delivers Parquet
by a pattern, e.g. ``power_grid``, whose account holders are persons: the largest source is GPS
pings, which no resolve reads), as new accounts (the column the resolver keys the system's
records by is made new too), so that the nightly resolve has new records to link; the JSON says
per kind whether it linked them incrementally (``resolve_incremental``, from the resolver's log
lines).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from glob import glob
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psutil
import yaml

from citybrain.core.engine.spark_standalone import SparkCluster, free_port

CITY_RECORDS = 1_230_000_000
FILE_KINDS = {"csv", "xlsx", "jsonl", "json", "parquet", "sql"}
SUFFIXES = {"K": 1_000, "M": 1_000_000, "B": 1_000_000_000}
ENGINES = ("duckdb", "spark-local", "spark-cluster")


def parse_size(text: str) -> tuple[str, int | None]:
    """``small`` → ("small", None); ``10M`` → ("10M", 10_000_000)."""
    last = text[-1].upper()
    if last in SUFFIXES:
        return text, int(float(text[:-1]) * SUFFIXES[last])
    if text.isdigit():
        return text, int(text)
    return text, None


class TreeSampler:
    """Peak resident memory of a process and all its children, sampled every ``every`` s.

    ``peak`` sums the processes' RSS; ``peak_pss`` their proportional set size (PSS), where a page
    that forked workers share with their parent (copy on write) counts once among them, not once
    per process: the memory the tree really holds. PSS costs the kernel a walk of each process's
    pages (~60 ms for 6 GB), so it is read only while the tree has more than one process, every
    ``pss_every`` samples; a single process's PSS is its RSS here (its shared libraries aside)."""

    def __init__(
        self, pid: int, every: float = 0.25, extra: tuple[int, ...] = (), pss_every: int = 8
    ) -> None:
        self.root = psutil.Process(pid)
        #: more process trees counted in (a Spark cluster's daemons and their executors)
        self.extra = [psutil.Process(p) for p in extra]
        self.every = every
        self.pss_every = pss_every
        self.peak = 0
        self.peak_pss = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> TreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        sample = 0
        while not self._stop.is_set():
            try:
                procs = [self.root, *self.root.children(recursive=True)]
            except psutil.NoSuchProcess:
                return
            for other in self.extra:
                try:
                    procs += [other, *other.children(recursive=True)]
                except psutil.NoSuchProcess:
                    continue
            total = 0
            for proc in procs:
                try:
                    total += proc.memory_info().rss
                except psutil.NoSuchProcess:
                    continue
            self.peak = max(self.peak, total)
            if len(procs) == 1:
                self.peak_pss = max(self.peak_pss, total)
            elif sample % self.pss_every == 0:
                self.peak_pss = max(self.peak_pss, _pss(procs))
            sample += 1
            self._stop.wait(self.every)


def _pss(procs: list[psutil.Process]) -> int:
    """The processes' summed proportional set size, in bytes."""
    total = 0
    for proc in procs:
        try:
            total += proc.memory_full_info().pss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return total


def disk(path: Path) -> int:
    """Bytes of a file, or of every file under a folder (0 when absent)."""
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0


SERVER_KINDS = {"http", "mqtt"}  # sources a server delivers: `citybrain sim serve`, Mosquitto
STREAM_SYSTEM = "air_quality_sensors"  # the city's MQTT source, as `make demo` streams it
HISTORY_SYSTEM = "air_quality_history"  # its older readings as files, when only recent ones stream
STREAM_IDLE_SECONDS = 15.0  # stop waiting for the stream to drain after this long without a batch
SMALL_SCALES = ("tiny", "small")  # streamed whole, as `make demo` does; beyond, the newest day


def _free(port: int) -> bool:
    """Whether a server can listen on ``port`` on loopback now (as servers do, with
    SO_REUSEADDR: the earlier sitting's closed connections may still wait out TIME_WAIT)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _wait_port(port: int, proc: subprocess.Popen[bytes], seconds: float = 60.0) -> str | None:
    """None once ``port`` accepts on loopback; else why not (the process ended, or time ran out)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return f"exited with code {proc.returncode}"
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return None
        time.sleep(0.1)
    return f"did not listen on 127.0.0.1:{port} within {seconds:.0f} s"


class Servers:
    """The departments' servers the synthetic city feeds sources from, on free loopback ports:
    its HTTP systems (`citybrain sim serve`, as `make demo` starts it) and a Mosquitto broker (as
    scripts/demo-stream.sh configures it: persistent in ``base/mosquitto``, a queue for the whole
    stream). A server that cannot start is recorded with why (``status``), not raised: the run goes
    on without its sources. `stop` ends what `start` started, and only that."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.procs: list[subprocess.Popen[bytes]] = []
        self.http_port = free_port()
        self.mqtt_port = free_port()
        self.status: dict[str, dict[str, Any]] = {}

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def broker(self) -> str:
        return f"127.0.0.1:{self.mqtt_port}"

    def up(self, kind: str) -> bool:
        return bool(self.status.get(kind, {}).get("started"))

    def __enter__(self) -> Servers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self, sim: Path) -> dict[str, dict[str, Any]]:
        self.base.mkdir(parents=True, exist_ok=True)
        serve = [sys.executable, "-m", "citybrain", "sim", "serve", str(sim),
                 "--host", "127.0.0.1", "--port", str(self.http_port)]  # fmt: skip
        self.status["http"] = self._start("citybrain sim serve", serve, self.http_port, "sim-serve")
        self.status["http"]["url"] = self.api
        binary = shutil.which("mosquitto") or shutil.which(
            "mosquitto", path="/usr/sbin:/usr/local/sbin"
        )
        if binary is None:
            self.status["mqtt"] = {"started": False, "error": "mosquitto is not installed "
                                   "(`make test` installs it from Debian)"}  # fmt: skip
        else:
            conf = self._mosquitto_conf()
            self.status["mqtt"] = self._start("mosquitto", [binary, "-c", str(conf)],
                                              self.mqtt_port, "mosquitto")  # fmt: skip
        self.status["mqtt"]["broker"] = self.broker
        # The city's HTTP system that wants an API key (transport_arrivals) reads it from the
        # environment variable its contract names, as `make demo` exports it.
        key = _sim_api_key(sim)
        if key:
            os.environ.setdefault("CITYBRAIN_SIM_TRANSPORT_KEY", key)
        return self.status

    def _mosquitto_conf(self) -> Path:
        store = self.base / "mosquitto"
        store.mkdir(parents=True, exist_ok=True)
        user = f"user {pwd.getpwuid(os.getuid()).pw_name}\n" if os.getuid() == 0 else ""
        conf = self.base / "mosquitto.conf"
        conf.write_text(
            f"listener {self.mqtt_port} 127.0.0.1\nallow_anonymous true\n{user}"
            f"persistence true\npersistence_location {store}/\nautosave_interval 30\n"
            # room for the whole stream, not Mosquitto's default 1,000 queued messages
            "max_queued_messages 10000000\nmax_queued_bytes 4294967296\n"
            "sys_interval 2\nset_tcp_nodelay true\n",  # $SYS: the connector counts drops
            "utf-8",
        )
        return conf

    def _start(self, what: str, command: list[str], port: int, log: str) -> dict[str, Any]:
        started = time.perf_counter()
        with (self.base / f"{log}.log").open("ab") as out:
            proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        self.procs.append(proc)
        why = _wait_port(port, proc)
        if why is None:
            return {"started": True, "pid": proc.pid,
                    "seconds_to_start": round(time.perf_counter() - started, 1)}  # fmt: skip
        self._end(proc)
        tail = (self.base / f"{log}.log").read_text("utf-8", errors="replace").strip()
        return {"started": False, "error": f"{what} {why}: {(tail.splitlines() or [''])[-1]}"}

    def stop(self) -> None:
        while self.procs:
            self._end(self.procs.pop())

    @staticmethod
    def _end(proc: subprocess.Popen[bytes]) -> None:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _sim_api_key(sim: Path) -> str | None:
    """The API key the city's HTTP systems want (one: transport_arrivals'), if any."""
    for path in sorted(sim.glob("*/connection.json")):
        conn = json.loads(path.read_text("utf-8"))
        if conn.get("kind") == "http" and conn.get("api_key"):
            return str(conn["api_key"])
    return None


def feed_stream(
    workspace: Path, sim: Path, servers: Servers, work: Path, live_hours: float | None
) -> dict[str, Any]:
    """The city's air-quality readings over MQTT into `citybrain stream`, as `make demo` lands them
    (scripts/demo-stream.sh): the consumer subscribes, the city publishes, the consumer is stopped
    (SIGTERM: it lands its open batch) once it has received every reading and no batch came for
    2 s — or none for ``STREAM_IDLE_SECONDS``. With ``live_hours`` only the newest hours go over
    MQTT; the older readings are written as Parquet files and a file source
    (``air_quality_history``) delivers them in the run. Timed apart from the pipeline: a stream
    lands while it comes, not in the nightly run."""
    from citybrain.sim.mqtt import replay, write_history

    system = sim / STREAM_SYSTEM
    contract = workspace / "sources" / f"{STREAM_SYSTEM}.yaml"
    if not contract.is_file():
        return {"note": f"no {STREAM_SYSTEM} source in the workspace: nothing streamed"}
    status_file = workspace / "stream" / "status.txt"
    status_file.unlink(missing_ok=True)
    started = time.perf_counter()
    command = [sys.executable, "-m", "citybrain", "-w", str(workspace), "stream", STREAM_SYSTEM]
    with (work / "stream.log").open("ab") as log:
        consumer = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    out: dict[str, Any] = {"live_hours": live_hours}
    try:
        if not _stream_status(status_file, consumer, lambda s: s.get("ready") == "1"):
            return out | {"error": f"the consumer did not subscribe (see {work / 'stream.log'})"}
        subscribed = time.perf_counter()
        host, port = servers.broker.split(":")
        if live_hours is not None:
            out["history_rows"] = write_history(system, live_hours, work / "air_history")
            _history_contract(contract, work / "air_history")
        out["published"] = replay(system, host, int(port), last_hours=live_hours,
                                  client_id=f"citybrain-scale-{os.getpid()}")  # fmt: skip
        published, published_at = time.perf_counter(), time.time()
        done = out["published"]

        def drained(s: dict[str, str]) -> bool:
            last = max(float(s.get("last_batch") or 0), published_at)
            idle = time.time() - last
            return (
                int(s.get("received") or 0) >= done and idle >= 2
            ) or idle >= STREAM_IDLE_SECONDS

        last = _stream_status(status_file, consumer, drained, seconds=None)
        out |= {"received": int(last.get("received") or 0) if last else None,
                "subscribe_seconds": round(subscribed - started, 1),
                "publish_seconds": round(published - subscribed, 1)}  # fmt: skip
    finally:
        if consumer.poll() is None:
            consumer.send_signal(signal.SIGTERM)  # it lands its open batch, then stops
        try:
            consumer.wait(timeout=300)
        except subprocess.TimeoutExpired:
            consumer.kill()
            consumer.wait()
    out["seconds"] = round(time.perf_counter() - started, 1)
    out["consumer_exit_code"] = consumer.returncode
    return out


def repoint(workspace: Path, sim: Path, servers: Servers) -> dict[str, dict[str, Any]]:
    """Start ``servers`` for a kept workspace that has server-fed sources, and point those
    contracts at them (written as `workspace init` would; the others are left as they are)."""
    from citybrain.ingest.simsources import write_sim_sources

    contracts = workspace / "sources"
    fed = [p for p in sorted(contracts.glob("*.yaml")) if _kind(p) in SERVER_KINDS]
    if not fed:
        return {}
    # The same ports as before when they are free: an HTTP snapshot fetched from another address
    # is a new delivery, landed again.
    for path in fed:
        connector = yaml.safe_load(path.read_text("utf-8"))["connector"]
        port = urlsplit(connector["url"]).port if connector["kind"] == "http" else connector["port"]
        if port and _free(int(port)):
            setattr(servers, f"{connector['kind']}_port", int(port))
    up = servers.start(sim)
    with tempfile.TemporaryDirectory() as folder:
        written = write_sim_sources(Path(folder), sim, sim_api=servers.api, mqtt=servers.broker)
        names = {p.name for p in fed}
        for path in written.files:
            if path.name in names:
                shutil.copyfile(path, contracts / path.name)
    return up


def _stream_status(
    path: Path, consumer: subprocess.Popen[bytes], until: Any, seconds: float | None = 120.0
) -> dict[str, str] | None:
    """The consumer's status lines (``key=value``) once ``until(status)`` holds; None if it
    stopped first or ``seconds`` passed."""
    deadline = None if seconds is None else time.monotonic() + seconds
    while deadline is None or time.monotonic() < deadline:
        if consumer.poll() is not None:
            return None
        try:
            lines = path.read_text("utf-8").splitlines()
        except FileNotFoundError:
            lines = []
        status = dict(line.split("=", 1) for line in lines if "=" in line)
        if status and until(status):
            return status
        time.sleep(0.2)
    return None


def _history_contract(stream: Path, folder: Path) -> None:
    """The stream's contract, delivered as the Parquet files of its history instead (the
    source ``air_quality_history``, as scripts/demo-stream.sh writes it)."""
    text = stream.read_text("utf-8")
    text = re.sub(r"(?m)^id: .*$", f"id: {HISTORY_SYSTEM}", text)
    text = re.sub(r"(?m)^name: (.*)$", r"name: \1（历史数据）", text)
    text = re.sub(r"(?m)^connector:\n(?:  .*\n)+",
                  f"connector:\n  kind: parquet\n  path: {folder}/*.parquet\n", text)  # fmt: skip
    (stream.parent / f"{HISTORY_SYSTEM}.yaml").write_text(text, "utf-8")


def server_sources(
    workspace: Path, sim: Path, steps: list[dict[str, Any]], stream: dict[str, Any]
) -> dict[str, Any]:
    """Per source a server delivered: the rows the city produced beside the rows landed and
    quarantined (``reconciled`` when they are equal), and its step in the run. An HTTP source is
    a full snapshot: its newest completed load counts; the MQTT source's loads add up, with the
    history delivered as files (``air_quality_history``) when only the newest hours streamed."""
    import pyarrow.parquet as pq

    from citybrain.core.workspace import Workspace
    from citybrain.ingest.rawzone import RawZone

    lake = Workspace.open(workspace).lake
    step_of = {s["name"].split(":", 1)[1]: s for s in steps if s["name"].startswith("ingest:")}
    out: dict[str, Any] = {}
    for path in sorted((workspace / "sources").glob("*.yaml")):
        connector = yaml.safe_load(path.read_text("utf-8"))["connector"]
        kind = str(connector["kind"])
        if kind not in SERVER_KINDS:
            continue
        folder = (
            str(connector["url"]).rstrip("/").rsplit("/", 1)[-1]
            if kind == "http"
            else STREAM_SYSTEM
        )
        produced = sum(
            pq.read_metadata(p).num_rows for p in sorted((sim / folder / "data").glob("*.parquet"))
        )
        history = kind == "mqtt" and (path.parent / f"{HISTORY_SYSTEM}.yaml").is_file()
        systems = [path.stem, *([HISTORY_SYSTEM] if history else [])]
        landed = quarantined = missing = 0
        for system in systems:
            loads = [m for m in RawZone(lake, system).manifests() if m.status == "completed"]
            if kind == "http" and loads:  # a full snapshot: the newest is the source
                loads = [max(loads, key=lambda m: m.started_at)]
            landed += sum(m.rows_landed for m in loads)
            quarantined += sum(m.rows_quarantined for m in loads)
            missing += sum(m.rows_missing for m in loads)
        step = step_of.get(path.stem, {})
        out[path.stem] = {
            "kind": kind,
            "rows_produced_by_sim": produced,
            "rows_landed": landed,
            "rows_quarantined": quarantined,
            "rows_expected_not_received": missing,
            "reconciled": produced == landed + quarantined,
            "step_seconds": None if step.get("seconds") is None else round(step["seconds"], 2),
            "step_rows_in": step.get("rows_in"),
            "step_rows_out": step.get("rows_out"),
            "step_status": step.get("status"),
        }
        if kind == "mqtt":
            out[path.stem]["stream"] = stream
            history_step = step_of.get(HISTORY_SYSTEM, {}).get("seconds")
            out[path.stem]["history_step_seconds"] = history_step and round(history_step, 2)
    return out


def engine_config(
    text: str, engine: str, master: str, memory: str, duckdb_memory: str | None = None
) -> str:
    """``citybrain.toml`` as `workspace init` wrote it, pointed at ``engine``; on DuckDB with
    ``duckdb_memory`` as its memory limit (it spills beyond it; unset, DuckDB takes 80 % of RAM)."""
    if engine == "duckdb":
        if duckdb_memory is None:
            return text
        out = text.replace(
            "[engine.duckdb]\n", f'[engine.duckdb]\nmemory_limit = "{duckdb_memory}"\n', 1
        )
        if f'memory_limit = "{duckdb_memory}"' not in out:
            raise SystemExit(
                "citybrain.toml is not as `workspace init` writes it: no [engine.duckdb]"
            )
        return out
    conf = (
        {"spark.driver.memory": memory}
        if engine == "spark-local"
        else {"spark.driver.memory": "3g", "spark.executor.memory": memory}
    )
    table = ", ".join(f'"{k}" = "{v}"' for k, v in conf.items())
    out = text.replace('kind = "duckdb"', 'kind = "spark"', 1)
    out = out.replace('master = "local[*]"', f'master = "{master}"\nconf = {{ {table} }}', 1)
    if out.count('kind = "spark"') != 1 or f'master = "{master}"' not in out:
        raise SystemExit("citybrain.toml is not as `workspace init` writes it: cannot set engine")
    return out


def prepare(
    size: str, records: int | None, base: str, work: Path, seed: int, *,
    sim_from: Path | None = None, engine: str = "duckdb", master: str = "", memory: str = "6g",
    duckdb_memory: str | None = None, servers: Servers | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The city (generated, or reused) and a workspace on it. With ``servers`` the sources a server
    delivers are pointed at them once started, and kept; a source whose server is not up, or every
    one without ``servers``, is left out and listed with why."""
    from citybrain.core.config import CONFIG_FILE
    from citybrain.core.workspace import Workspace
    from citybrain.ingest.simsources import write_sim_sources
    from citybrain.sim.generate import generate

    sim, ws = sim_from or work / "sim", work / "ws"
    started = time.perf_counter()
    if sim_from is not None:
        pass  # generated earlier: not timed again
    elif records is None:
        generate(size, seed, sim)
    else:
        generate(base, seed, sim, records=records)
    generated = None if sim_from else time.perf_counter() - started
    workspace = Workspace.init(ws)
    config = workspace.root / CONFIG_FILE
    text = engine_config(config.read_text("utf-8"), engine, master, memory, duckdb_memory)
    config.write_text(text, "utf-8")
    Workspace.open(workspace.root)  # the edited file still loads
    up: dict[str, Any] = servers.start(sim) if servers is not None else {}
    if servers is None:
        write_sim_sources(workspace.root / "sources", sim)
    else:
        write_sim_sources(workspace.root / "sources", sim, sim_api=servers.api, mqtt=servers.broker)
    left_out = []
    for contract in sorted((workspace.root / "sources").glob("*.yaml")):
        kind = _kind(contract)
        if kind in FILE_KINDS or (kind in SERVER_KINDS and up.get(kind, {}).get("started")):
            continue
        why = (
            up[kind]["error"] if kind in up
            else "no server started (--no-servers)" if kind in SERVER_KINDS
            else "no server for this kind"
        )  # fmt: skip
        left_out.append(f"{contract.stem} ({kind}: {why})")
        print(f"{size}: left out {contract.stem} ({kind}): {why}", flush=True)
        contract.unlink()
    files = delivered_files(workspace.root)
    return {
        "workspace": workspace.root,
        "sim": sim,
        "generate_seconds": None if generated is None else round(generated, 1),
        "city_reused_from": str(sim_from) if sim_from else None,
        "sim_bytes": disk(sim),
        "left_out_sources": left_out,
        "servers": up or {"note": "not started (--no-servers)"},
        "files": files,
    }


def _kind(contract: Path) -> str:
    """A source contract's connector kind."""
    return str(yaml.safe_load(contract.read_text("utf-8"))["connector"]["kind"])


def delivered_files(workspace: Path) -> list[Path]:
    """The files the workspace's contracts deliver (their patterns are absolute)."""
    files = []
    for contract in sorted((workspace / "sources").glob("*.yaml")):
        pattern = str(yaml.safe_load(contract.read_text("utf-8"))["connector"].get("path", ""))
        files += [Path(p) for p in sorted(glob(pattern)) if "zz-incremental" not in p]  # noqa: PTH207
    return files


def floor(files: list[Path]) -> dict[str, Any]:
    """Read every byte of every source file once."""
    started = time.perf_counter()
    total = 0
    for path in files:
        with path.open("rb") as handle:
            while chunk := handle.read(8 << 20):
                total += len(chunk)
    return {"seconds": round(time.perf_counter() - started, 2), "bytes": total, "files": len(files)}


def run_pipeline(
    workspace: Path,
    timeout: float | None = None,
    extra_pids: tuple[int, ...] = (),
    options: tuple[str, ...] = (),
) -> dict[str, Any]:
    """``citybrain run`` (with ``options``, e.g. ``--only ingest``), timed and sampled."""
    command = [sys.executable, "-m", "citybrain", "-w", str(workspace), "run", *options]
    env = {**os.environ, "COLUMNS": "200", "PYSPARK_PYTHON": sys.executable}
    started = time.perf_counter()
    timed_out = False
    with subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, start_new_session=True) as proc, \
            TreeSampler(proc.pid, extra=extra_pids) as tree:  # fmt: skip
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True  # the run and what it started (a local Spark JVM) end together
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                out, err = proc.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                out, err = proc.communicate()
        except BaseException:
            # Ctrl-C or SIGTERM: the run (in its own session, so the terminal's Ctrl-C does not
            # reach it) stops too, before the servers it reads are stopped; --resume continues it
            os.killpg(proc.pid, signal.SIGTERM)
            raise
    wall = time.perf_counter() - started
    resolve_lines = [line for line in err.splitlines() if "citybrain.govern.resolve" in line]
    run = _last_run(workspace) or {"status": "stopped before its first step", "steps": [],
                                   "error_message": None}  # fmt: skip
    return {
        "exit_code": proc.returncode,
        "timed_out_after_seconds": timeout if timed_out else None,
        "status": f"stopped after {timeout} s ({run['status']})" if timed_out else run["status"],
        "error": run["error_message"] or (err.strip().splitlines() or [""])[-1]
        if proc.returncode
        else run["error_message"],
        "wall_seconds": round(wall, 1),
        "peak_rss_tree_bytes": tree.peak,
        "peak_pss_tree_bytes": tree.peak_pss,
        "steps": run["steps"],
        "stdout_tail": out.strip().splitlines()[-3:],
        "resolve_log": resolve_lines[-20:],
    }


def deliver_one_percent(workspace: Path, records: int, system: str | None = None) -> dict[str, Any]:
    """A new delivery of about 1 % of ``records`` from the largest source that delivers Parquet
    files by a pattern (or from ``system``), in a new file its pattern matches: what comes
    next, as a department's nightly export would — the latest rows by the watermark copied,
    with new natural keys (`_as_next_rows`) and their watermark moved past the last delivered
    one, so the load supersedes nothing. Latest by the watermark, not by their place in the
    file: a department's file need not be in time order, and the periodic topics recompute the
    days a delivery touches. (1 % of a city's records can exceed the source's latest file, a
    month: the whole month is delivered again, later.)"""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    best: tuple[int, str, Path, str, dict[str, Any]] | None = None
    named = system is not None
    for path in sorted((workspace / "sources").glob("*.yaml")):
        if named and path.stem != system:
            continue
        text = yaml.safe_load(path.read_text("utf-8"))
        connector = text["connector"]
        pattern = str(connector.get("path", ""))
        if connector["kind"] != "parquet" or "*" not in Path(pattern).name:
            continue
        files = sorted(glob(pattern))  # noqa: PTH207
        rows = sum(pq.read_metadata(f).num_rows for f in files)
        if files and (best is None or rows > best[0]):
            best = (rows, path.stem, Path(files[-1]), pattern, text)
    if best is None:
        which = f"{system!r} is no" if system else "no"
        return {"note": f"{which} Parquet source delivered by a file pattern: no new delivery"}
    _, system, latest, pattern, contract = best
    table = pq.read_table(latest)
    wanted = max(1, min(table.num_rows, records // 100))
    watermark = _watermark(contract)
    if watermark in table.column_names:
        table = table.take(pc.sort_indices(table[watermark]))
    # A named source's rows are new records of the persons or firms they name (new accounts):
    # otherwise the same accounts' next readings, which the resolver has linked already.
    renew = _resolver_keys(contract) if named else []
    new, changed = _as_next_rows(table.slice(table.num_rows - wanted), contract, renew)
    target = latest.parent / Path(pattern).name.replace("*", "zz-incremental")
    pq.write_table(new, target)
    return {"system": system, "rows": new.num_rows, "file": str(target),
            "share_of_records": round(new.num_rows / max(records, 1), 4),
            "changed_columns": changed}  # fmt: skip


def _resolver_keys(contract: dict[str, Any]) -> list[str]:
    """The std columns the default resolve configuration keys the records of the contract's
    standard table by (a utility reading's account)."""
    from citybrain.govern.resolve.settings import DEFAULT_ENTERPRISE, DEFAULT_PERSON

    table = contract.get("standard")
    sources = (*DEFAULT_PERSON.sources, *DEFAULT_ENTERPRISE.sources)
    return sorted({source.key for source in sources if source.table == table})


def _as_next_rows(
    table: Any, contract: dict[str, Any], renew: list[str] | None = None
) -> tuple[Any, list[str]]:
    """``table``'s rows as the next ones. The watermark (epoch numbers or timestamps) moves forward
    by the rows' own span, so they follow the last delivered row; when it is not part of the
    natural key, the key's first column is made new too (text prefixed ``N``, integers moved up by
    10^12), and so are the std columns ``renew``. The same bikes or taxis, later — not new
    vehicles."""
    import pyarrow as pa
    import pyarrow.compute as pc

    source_of = {m["target"]: m["source"] for m in contract["mapping"]["columns"]}
    watermark = _watermark(contract)
    keys = [source_of.get(k, k) for k in contract.get("keys", [])]
    keys = [k for k in keys if k in table.column_names]
    changed = []
    fresh = keys[:1] if watermark not in keys else []
    renewed = [source_of.get(k, k) for k in renew or []]
    fresh += [c for c in renewed if c in table.column_names and c not in fresh]
    for column in fresh:
        values = table[column]
        if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
            values = pc.binary_join_element_wise(pa.scalar("N"), values, "")
        elif pa.types.is_integer(values.type):
            values = pc.add(values, pa.scalar(10**12, values.type))
        else:
            continue
        table = table.set_column(table.schema.get_field_index(column), column, values)
        changed.append(column)
    if watermark in table.column_names:
        values = table[watermark]
        low, high = pc.min_max(values).values()
        if high.is_valid and (
            pa.types.is_integer(values.type) or pa.types.is_timestamp(values.type)
        ):
            span = pc.subtract(high, low)  # a duration for timestamps
            one = (
                pa.scalar(1, span.type)
                if pa.types.is_integer(span.type)
                else pa.scalar(1, pa.duration(values.type.unit))
            )
            moved = pc.add(values, pc.add(span, one))
            table = table.set_column(table.schema.get_field_index(watermark), watermark, moved)
            changed.append(watermark)
    return table, changed


def _watermark(contract: dict[str, Any]) -> str | None:
    """The delivered file's column the contract's watermark (a std column) is mapped from."""
    source_of = {m["target"]: m["source"] for m in contract["mapping"]["columns"]}
    return source_of.get(str((contract.get("refresh") or {}).get("watermark")))


def by_family(steps: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per step family (all ``ingest:*`` together): seconds, rows, the highest own peak RSS."""
    families: dict[str, dict[str, Any]] = {}
    for step in steps:
        name = step["name"].split(":")[0]
        fam = families.setdefault(
            name, {"seconds": 0.0, "rows_in": 0, "rows_out": 0, "peak_rss_bytes": 0, "steps": 0}
        )
        fam["seconds"] = round(fam["seconds"] + (step["seconds"] or 0.0), 2)
        fam["rows_in"] += step["rows_in"] or 0
        fam["rows_out"] += step["rows_out"] or 0
        fam["peak_rss_bytes"] = max(fam["peak_rss_bytes"], step["peak_rss_bytes"] or 0)
        fam["steps"] += 1
    return families


def set_aside(sim: Path, work: Path) -> list[tuple[Path, Path]]:
    """Move an earlier run's new delivery (``*zz-incremental*``) out of a reused city, so that
    this run reads the same files the earlier full run read; `put_back` restores them."""
    moved = []
    for path in sorted(sim.rglob("*zz-incremental*")):
        target = work / "set-aside" / path.relative_to(sim)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(path, target)
        moved.append((path, target))
    return moved


def put_back(moved: list[tuple[Path, Path]]) -> None:
    for original, target in moved:
        shutil.move(target, original)


def measure(
    size: str, records: int | None, base: str, work: Path, seed: int, *,
    engine: str = "duckdb", sim_from: Path | None = None, memory: str = "6g",
    timeout: float | None = None, incremental_run: bool = True, duckdb_memory: str | None = None,
    nightly_source: str | None = None, servers: bool = True, live_hours: float | None = None,
) -> dict[str, Any]:  # fmt: skip
    """One size: the city, the servers its server-fed sources need (``servers``; stopped at the
    end, on failure and on Ctrl-C too), the full run and the nightly one."""
    moved = set_aside(sim_from, work) if sim_from else []
    cluster = None
    feeds = Servers(work / "servers") if servers else None
    try:
        master = "local[2]"
        if engine == "spark-cluster":
            cluster = SparkCluster(work / "spark-cluster", cores=2, memory=memory)
            cluster.base.mkdir(parents=True, exist_ok=True)
            started = time.perf_counter()
            cluster.start()
            print(f"{size}: Spark cluster {cluster.master} up in "
                  f"{time.perf_counter() - started:.0f} s", flush=True)  # fmt: skip
            master = cluster.master
        result = _measure(
            size, records, base, work, seed, engine=engine, sim_from=sim_from, master=master,
            memory=memory, timeout=timeout, incremental_run=incremental_run, cluster=cluster,
            duckdb_memory=duckdb_memory, nightly_source=nightly_source, servers=feeds,
            live_hours=live_hours,
        )  # fmt: skip
    finally:
        if feeds is not None:
            feeds.stop()
        if cluster is not None:
            cluster.stop()
        put_back(moved)
    result["set_aside_from_reused_city"] = [str(original) for original, _ in moved]
    return result


def _measure(
    size: str, records: int | None, base: str, work: Path, seed: int, *, engine: str,
    sim_from: Path | None, master: str, memory: str, timeout: float | None,
    incremental_run: bool, cluster: SparkCluster | None, duckdb_memory: str | None = None,
    nightly_source: str | None = None, servers: Servers | None = None,
    live_hours: float | None = None,
) -> dict[str, Any]:  # fmt: skip
    prepared = prepare(
        size, records, base, work, seed, sim_from=sim_from, engine=engine, master=master,
        memory=memory, duckdb_memory=duckdb_memory, servers=servers,
    )  # fmt: skip
    workspace = prepared.pop("workspace")
    sim = prepared.pop("sim")
    prepared.pop("files")
    stream: dict[str, Any] = {}
    if servers is not None and servers.up("mqtt"):
        print(f"{size}: streaming the air-quality readings over MQTT into `citybrain stream`",
              flush=True)  # fmt: skip
        stream = feed_stream(workspace, sim, servers, work, live_hours)
        print(f"{size}: stream: {json.dumps(stream)}", flush=True)
    bare = floor(delivered_files(workspace))  # with the stream's history files, if any
    prepared["duckdb_memory_limit"] = duckdb_memory if engine == "duckdb" else None
    daemons = tuple(p.pid for p in cluster.processes) if cluster else ()
    pipeline = run_pipeline(workspace, timeout, daemons)
    if cluster is not None:
        pipeline["cluster_finished_apps"] = cluster.finished_apps()
    families = by_family(pipeline["steps"])
    read = families.get("ingest", {}).get("rows_in", 0)
    prepared["server_sources"] = server_sources(workspace, sim, pipeline["steps"], stream)
    if not incremental_run or pipeline["exit_code"] != 0:
        why = "not asked (--no-incremental)" if not incremental_run else "the full run failed"
        return _result(size, engine, master, read, prepared, bare, pipeline, families,
                       {"note": why}, workspace)  # fmt: skip
    incremental = _nightly(workspace, read, pipeline, timeout, daemons, nightly_source)
    return _result(size, engine, master, read, prepared, bare, pipeline, families, incremental,
                   workspace)  # fmt: skip


def _nightly(
    workspace: Path, read: int, pipeline: dict[str, Any], timeout: float | None,
    daemons: tuple[int, ...], nightly_source: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """1 % new data and the run after it, beside the full run."""
    delivered = deliver_one_percent(workspace, read, nightly_source)
    again = run_pipeline(workspace, timeout, daemons)
    skipped = [s["name"] for s in again["steps"] if "unchanged since run" in (s["summary"] or "")]
    incremental = {
        "new_delivery": delivered,
        **{k: v for k, v in again.items() if k != "steps"},
        "share_of_full_run": round(again["wall_seconds"] / max(pipeline["wall_seconds"], 1e-9), 3),
        "steps_run": [s["name"] for s in again["steps"] if s["name"] not in skipped],
        "steps_skipped": skipped,
        "seconds_by_step": {s["name"]: s["seconds"] for s in again["steps"]
                            if s["name"] not in skipped},
    }  # fmt: skip
    incremental["under_5_percent"] = incremental["share_of_full_run"] < 0.05
    incremental["resolve_incremental"] = resolved_incrementally(again["resolve_log"])
    return incremental


def resolved_incrementally(lines: list[str]) -> dict[str, bool]:
    """Per kind the nightly resolve linked: whether only its new records were (the resolver
    logs ``<kind>: linked incrementally``) or every record again (it warns why)."""
    out: dict[str, bool] = {}
    for line in lines:
        for kind in ("person", "enterprise"):
            if f"{kind}: linked incrementally" in line:
                out[kind] = True
            elif f"{kind}: " in line and "resolving every record again" in line:
                out[kind] = False
    return out


def resume_measure(
    size: str, work: Path, sim: Path, *, timeout: float | None, incremental_run: bool,
    nightly_source: str | None = None, servers: Servers | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Continue the full run of a kept workspace that was stopped (killed, out of time, the
    machine shut down): ``citybrain run`` takes it up at its first unfinished step. A run longer
    than one sitting is measured so. Its figures are the succeeded attempts of its steps; the wall
    time of the earlier sittings is read from the run's record, not sampled: its start to the last
    step that moved (the killed part of a step is not in it; a pause between two earlier sittings
    is). The tree's peak memory is this sitting's only (each step's own peak is in
    ``step_detail``). The workspace's server-fed sources, if it has any, get their servers again
    (``servers``, on new ports; the broker's store is the earlier sitting's, so its durable
    session holds); the stream is not published again."""
    workspace = work / "ws"
    earlier = _last_run(workspace)
    if earlier is None or earlier["status"] == "succeeded":
        raise SystemExit(f"{workspace}: no stopped run to resume")
    moved = [
        datetime.fromisoformat(t.replace("Z", "+00:00"))
        for step in earlier["steps"]
        for t in (step["started_at"], step["finished_at"])
        if t
    ]
    began = datetime.fromisoformat(earlier["started_at"].replace("Z", "+00:00"))
    before = (max(moved) - began).total_seconds() if moved else 0.0
    up: dict[str, Any] = repoint(workspace, sim, servers) if servers is not None else {}
    bare = floor(delivered_files(workspace))
    pipeline = run_pipeline(workspace, timeout)
    pipeline["resumed"] = {
        "run_id": earlier["run_id"],
        "earlier_sittings_wall_seconds": round(before, 1),
        "this_sitting_wall_seconds": pipeline["wall_seconds"],
        "lost_seconds": round(
            sum(s["seconds"] or 0.0 for s in pipeline["steps"] if s["status"] != "succeeded"), 1
        ),
    }
    pipeline["wall_seconds"] = round(before + pipeline["wall_seconds"], 1)
    pipeline["steps"] = [s for s in pipeline["steps"] if s["status"] == "succeeded"]
    families = by_family(pipeline["steps"])
    read = families.get("ingest", {}).get("rows_in", 0)
    prepared: dict[str, Any] = {
        "sim_bytes": disk(sim),
        "city_reused_from": str(sim),
        "generate_seconds": None,
        "servers": up or {"note": "none started"},
    }
    earlier_stream = {"note": "streamed in an earlier sitting"}
    prepared["server_sources"] = server_sources(workspace, sim, pipeline["steps"], earlier_stream)
    if not incremental_run or pipeline["exit_code"] != 0:
        why = "not asked (--no-incremental)" if not incremental_run else "the full run failed"
        return _result(size, "duckdb", "local[2]", read, prepared, bare, pipeline, families,
                       {"note": why}, workspace)  # fmt: skip
    return _result(size, "duckdb", "local[2]", read, prepared, bare, pipeline, families,
                   _nightly(workspace, read, pipeline, timeout, (), nightly_source),
                   workspace)  # fmt: skip


def _last_run(workspace: Path) -> dict[str, Any] | None:
    runs = subprocess.run(
        [sys.executable, "-m", "citybrain", "-w", str(workspace), "runs", "-n", "1", "--json"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    found = json.loads(runs)
    return found[0] if found else None


def _result(
    size: str, engine: str, master: str, read: int, prepared: dict[str, Any],
    bare: dict[str, Any], pipeline: dict[str, Any], families: dict[str, dict[str, Any]],
    incremental: dict[str, Any], workspace: Path,
) -> dict[str, Any]:  # fmt: skip
    lake = workspace  # the default lake is the workspace folder
    result: dict[str, Any] = {
        "size": size,
        "engine": engine,
        "master": master if engine != "duckdb" else None,
        "records_read": read,
        **prepared,
        "floor": bare,
        "pipeline": {k: v for k, v in pipeline.items() if k != "steps"},
        "steps": families,
        "step_detail": pipeline["steps"],
        "incremental": incremental,
        "disk_bytes": {
            zone: disk(lake / zone) for zone in ("raw", "quarantine", "std", "base", "topic")
        }
        | {
            "duckdb": disk(workspace / "citybrain.duckdb"),
            "ops_db": disk(workspace / "ops.sqlite"),
        },
    }
    if read:
        result["records_per_second"] = round(read / pipeline["wall_seconds"])
        result["seconds_per_million"] = {
            name: round(fam["seconds"] / read * 1e6, 3) for name, fam in families.items()
        }
    return result


def judge(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The issue's targets, from the largest size run (linear extrapolation to the city)."""
    failed = [r["size"] for r in results if r["pipeline"]["exit_code"] != 0]
    unreconciled = [
        f"{r['size']}: {system}"
        for r in results
        for system, fed in r.get("server_sources", {}).items()
        if not fed["reconciled"]
    ]
    if any(r["engine"] != "duckdb" for r in results):
        return {"note": "the issue's targets are judged on DuckDB; see ratio_to_duckdb",
                "failed_sizes": failed, "server_sources_not_reconciled": unreconciled}  # fmt: skip
    done = [r for r in results if r.get("records_read") and r["size"] not in failed]
    if not done:
        return {"note": "no size ran the whole pipeline", "failed_sizes": failed,
                "server_sources_not_reconciled": unreconciled}  # fmt: skip
    largest = max(done, key=lambda r: r["records_read"])
    factor = CITY_RECORDS / largest["records_read"]
    city_seconds = largest["pipeline"]["wall_seconds"] * factor
    slowest = max(largest["steps"].items(), key=lambda kv: kv[1]["seconds"])
    verdict: dict[str, Any] = {
        "extrapolated_from": largest["size"],
        "city_seconds_if_linear": round(city_seconds),
        "city_under_1_hour": city_seconds < 3600,
        "step_holding_it_back": slowest[0],
        "its_share": round(
            slowest[1]["seconds"] / max(largest["pipeline"]["wall_seconds"], 1e-9), 2
        ),
        "peak_rss_tree_gib_at_largest": round(
            largest["pipeline"]["peak_rss_tree_bytes"] / 2**30, 2
        ),
        # forked workers share their parent's pages: summed RSS counts them once per process
        "peak_pss_tree_gib_at_largest": round(
            largest["pipeline"].get("peak_pss_tree_bytes", 0) / 2**30, 2
        ),
        "note": "memory cannot be extrapolated linearly; only a run at the city size answers the "
        "16 GiB target",
        "failed_sizes": failed,
        "server_sources_not_reconciled": unreconciled,
        "incremental_share_of_full_run": largest["incremental"].get("share_of_full_run"),
        "incremental_under_5_percent": largest["incremental"].get("under_5_percent"),
        "incremental_steps_run": largest["incremental"].get("steps_run"),
    }
    if len(done) >= 2:
        small, big = sorted(done, key=lambda r: r["records_read"])[:: len(done) - 1]
        per_small = small["pipeline"]["wall_seconds"] / small["records_read"]
        per_big = big["pipeline"]["wall_seconds"] / big["records_read"]
        verdict["cost_per_record_ratio_largest_to_smallest"] = round(per_big / per_small, 3)
        verdict["no_worse_than_linear"] = per_big <= per_small * 1.1
    return verdict


def ratio_to(results: list[dict[str, Any]], earlier: Path) -> dict[str, Any]:
    """Per size: this run's time over an earlier DuckDB run's, whole and per step family."""
    reference = {r["size"]: r for r in json.loads(earlier.read_text("utf-8"))["sizes"]}
    ratios: dict[str, Any] = {"reference": str(earlier)}
    for result in results:
        duck = reference.get(result["size"])
        if duck is None or duck.get("engine", "duckdb") != "duckdb":
            continue
        per_step = {
            name: round(fam["seconds"] / duck["steps"][name]["seconds"], 2)
            for name, fam in result["steps"].items()
            if fam["seconds"] and duck["steps"].get(name, {}).get("seconds")
        }  # a step still running when a run was stopped has no time: left out
        whole = round(result["pipeline"]["wall_seconds"] / duck["pipeline"]["wall_seconds"], 2)
        complete = result["pipeline"]["exit_code"] == 0
        ratios[result["size"]] = {
            "whole_run": whole if complete else None,
            "whole_run_until_stopped": None if complete else whole,
            "per_step_family": per_step,
            "same_records_read": result["records_read"] == duck["records_read"],
        }
    return ratios


def machine() -> dict[str, Any]:
    import duckdb

    from citybrain import __version__

    return {
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "load_average": os.getloadavg(),
        "python": platform.python_version(),
        "citybrain": __version__,
        "duckdb": duckdb.__version__,
    }


def rerun_frozen(root: Path) -> None:
    """Run this benchmark again, without ``--frozen-code``, from a snapshot of the committed
    ``src`` and ``benchmarks`` taken now (its ``PYTHONPATH`` comes before the editable install)."""
    repo = Path(__file__).resolve().parents[1]
    code = root / "code"
    shutil.rmtree(code, ignore_errors=True)
    code.mkdir(parents=True)
    commit = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True,
                            text=True, check=True).stdout.strip()  # fmt: skip
    archive = subprocess.run(["git", "-C", str(repo), "archive", commit, "src", "benchmarks"],
                             capture_output=True, check=True).stdout  # fmt: skip
    subprocess.run(["tar", "-x", "-C", str(code)], input=archive, check=True)
    args = [a for a in sys.argv[1:] if a != "--frozen-code"]
    if "--work" not in args:
        args += ["--work", str(root)]
    print(f"running from a snapshot of {commit[:10]} in {code}", flush=True)
    env = {**os.environ, "PYTHONPATH": str(code / "src"), "CITYBRAIN_SCALE_FROZEN": commit}
    script = code / "benchmarks" / "scale.py"
    os.execve(sys.executable, [sys.executable, str(script), *args], env)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="small", help="comma-separated: small,10M,100M,city")
    parser.add_argument("--base", default="district", help="scale resized for numeric sizes")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--work", type=Path, default=None, help="work folder (default: a temp)")
    parser.add_argument("--keep", action="store_true",
                        help="keep each size's city and workspace (a failed or resumed run's "
                        "are always kept)")  # fmt: skip
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/scale.json"))
    parser.add_argument("--engine", choices=ENGINES, default="duckdb")
    parser.add_argument(
        "--spark-memory",
        default="6g",
        help="Spark local: driver memory; cluster: worker and executor memory",
    )
    parser.add_argument(
        "--duckdb-memory",
        default="8GB",
        help="DuckDB's memory limit in the workspace (it spills beyond it); 'none': DuckDB's "
        "default, 80 %% of RAM",
    )
    parser.add_argument(
        "--sim", type=Path, default=None, help="reuse this generated city (one size only)"
    )
    parser.add_argument(
        "--timeout", type=float, default=None, help="stop a pipeline run after this many seconds"
    )
    parser.add_argument(
        "--no-incremental", action="store_true", help="skip the second run with 1 %% new data"
    )
    parser.add_argument(
        "--nightly-source",
        default=None,
        metavar="SYSTEM",
        help="deliver the nightly 1 %% into this system (a Parquet source by a file pattern, "
        "e.g. power_grid); default: the largest such source",
    )
    parser.add_argument(
        "--no-servers",
        action="store_true",
        help="leave out the sources a server delivers (HTTP parking and arrivals, MQTT air "
        "sensors), as before: no `sim serve`, no Mosquitto",
    )
    parser.add_argument(
        "--live-hours",
        type=float,
        default=None,
        help="stream only the newest hours of air-quality readings over MQTT, the rest as files "
        "(default: everything for tiny and small, 24 beyond, as `make demo`)",
    )
    parser.add_argument(
        "--compare",
        type=Path,
        default=None,
        help="an earlier DuckDB JSON of the same sizes: add time ratios",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue the stopped full run of the workspace kept in --work (one size, DuckDB)",
    )
    parser.add_argument(
        "--frozen-code",
        action="store_true",
        help="run from a snapshot of the committed code (git archive HEAD)",
    )
    args = parser.parse_args()
    if args.sim is not None and "," in args.sizes:
        parser.error("--sim reuses one generated city: give one size")
    if args.resume and ("," in args.sizes or args.work is None or args.engine != "duckdb"):
        parser.error("--resume continues one size's kept workspace: give one size and --work")
    root = args.work or Path(tempfile.mkdtemp(prefix="citybrain-scale-"))
    if args.frozen_code:
        rerun_frozen(root)
    # A stop by SIGTERM unwinds as Ctrl-C does, so the servers this run started are stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    results = []
    for text in args.sizes.split(","):
        size, records = parse_size(text.strip())
        work = root / size
        if args.resume:
            print(f"{size}: continuing the stopped run in {work}", flush=True)
            with Servers(work / "servers") as feeds:
                result = resume_measure(
                    size, work, args.sim or work / "sim", timeout=args.timeout,
                    incremental_run=not args.no_incremental, nightly_source=args.nightly_source,
                    servers=None if args.no_servers else feeds,
                )  # fmt: skip
        else:
            if args.sim is not None and args.sim.resolve().is_relative_to(work.resolve()):
                parser.error(f"--sim {args.sim} lies in the work folder {work}, which is emptied")
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir(parents=True)
            print(f"{size}: generating and running the pipeline in {work}", flush=True)
            result = measure(
                size, records, args.base, work, args.seed, engine=args.engine, sim_from=args.sim,
                memory=args.spark_memory, timeout=args.timeout,
                incremental_run=not args.no_incremental,
                duckdb_memory=None if args.duckdb_memory == "none" else args.duckdb_memory,
                nightly_source=args.nightly_source, servers=not args.no_servers,
                live_hours=args.live_hours if args.live_hours is not None
                or size in SMALL_SCALES else 24.0,
            )  # fmt: skip
        results.append(result)
        print(
            f"{size}: {result['pipeline']['status']}, {result['records_read']:,} records, "
            f"{result['pipeline']['wall_seconds']} s ({result.get('records_per_second', 0):,}/s), "
            f"tree peak {result['pipeline']['peak_rss_tree_bytes'] / 2**30:.2f} GiB RSS, "
            f"{result['pipeline'].get('peak_pss_tree_bytes', 0) / 2**30:.2f} GiB PSS, "
            f"floor {result['floor']['seconds']} s; "
            + ", ".join(f"{k} {v['seconds']} s" for k, v in result["steps"].items()),
            flush=True,
        )
        for system, fed in result.get("server_sources", {}).items():
            print(
                f"{size}: {system} ({fed['kind']}): {fed['rows_produced_by_sim']:,} produced, "
                f"{fed['rows_landed']:,} landed + {fed['rows_quarantined']:,} quarantined"
                + ("" if fed["reconciled"] else " — NOT reconciled"),
                flush=True,
            )
        again = result["incremental"]
        if "note" in again:
            print(f"{size}: no incremental run: {again['note']}", flush=True)
        else:
            rows, share = again["new_delivery"].get("rows", 0), again["share_of_full_run"]
            skipped = len(again["steps_skipped"])
            print(
                f"{size}: incremental run after {rows:,} new rows: {again['status']}, "
                f"{again['wall_seconds']} s = {share:.1%} of the full run; "
                f"{skipped} steps skipped, ran: "
                + ", ".join(again["steps_run"])
                + f"; resolved incrementally: {again['resolve_incremental'] or 'no kind'}",
                flush=True,
            )
        # A run that stopped, or one continued, keeps its workspace: it is what --resume needs,
        # and at the city's size it took an hour to make.
        if not args.keep and not args.resume and result["pipeline"]["status"] == "succeeded":
            shutil.rmtree(work, ignore_errors=True)
        elif not args.keep:
            print(f"{size}: kept {work} ({result['pipeline']['status']}; --resume continues it)")
    report = {
        "benchmark": "scale",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "engine": args.engine,
        "code": os.environ.get("CITYBRAIN_SCALE_FROZEN", "the live checkout"),
        "sizes": results,
        "targets": judge(results),
    }
    if args.compare is not None:
        report["ratio_to_duckdb"] = ratio_to(results, args.compare)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=2, default=str) + "\n")
    print(json.dumps({k: report[k] for k in ("targets", "ratio_to_duckdb") if k in report},
                     indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
