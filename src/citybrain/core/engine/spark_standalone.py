"""A Spark standalone cluster on loopback: one master and one worker, for tests and benchmarks.

Both are started from PySpark's own launcher (``pyspark/bin/spark-class``, shipped in the wheel),
as an operator would start them from a Spark distribution's ``sbin`` scripts, each in its own
process group. ``start`` waits until the worker has registered with the master (the master's
JSON status page lists it ALIVE); ``stop`` ends the worker, then the master.

An application reaches it with ``spark://127.0.0.1:<port>`` (``SparkCluster.master``), by
configuration alone. A production cluster is started by its operators, not by this module.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: seconds to wait for the master to listen and the worker to register (JVMs on a loaded box)
START_TIMEOUT = 180


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def spark_home() -> Path:
    """PySpark's own folder: it holds ``bin/spark-class`` and the ``jars/`` of the daemons."""
    import pyspark

    return Path(pyspark.__file__).parent


@dataclass
class SparkCluster:
    """A master and one worker offering ``cores`` and ``memory`` to executors, logs in ``base``."""

    base: Path
    cores: int = 2
    memory: str = "1g"
    daemon_memory: str = "256m"
    port: int = field(default_factory=free_port)
    ui_port: int = field(default_factory=free_port)
    worker_ui_port: int = field(default_factory=free_port)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def master(self) -> str:
        return f"spark://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "SPARK_HOME": str(spark_home()),
            "SPARK_LOCAL_IP": "127.0.0.1",
            "SPARK_LOCAL_DIRS": str(self.base / "local"),
            "SPARK_LOG_DIR": str(self.base / "logs"),
            "SPARK_DAEMON_MEMORY": self.daemon_memory,
            # executors start Python workers with the driver's interpreter and packages
            "PYSPARK_PYTHON": sys.executable,
        }

    def _start(self, name: str, *args: str) -> None:
        log = (self.base / f"{name}.log").open("wb")
        spark_class = spark_home() / "bin" / "spark-class"
        process = subprocess.Popen(
            ["bash", str(spark_class), *args],
            stdout=log, stderr=subprocess.STDOUT, env=self.env(), cwd=self.base,
            start_new_session=True,  # its own process group: stopped with what it started
        )  # fmt: skip
        log.close()
        self.processes.append(process)

    def start(self) -> None:
        (self.base / "work").mkdir(parents=True, exist_ok=True)
        self._start(
            "master", "org.apache.spark.deploy.master.Master",
            "--host", "127.0.0.1", "--port", str(self.port), "--webui-port", str(self.ui_port),
        )  # fmt: skip
        self._start(
            "worker", "org.apache.spark.deploy.worker.Worker",
            "--host", "127.0.0.1", "--webui-port", str(self.worker_ui_port),
            "--cores", str(self.cores), "--memory", self.memory,
            "--work-dir", str(self.base / "work"), self.master,
        )  # fmt: skip
        self.wait_for_worker()

    def status(self) -> dict[str, Any]:
        """The master's JSON status page (empty when it does not answer)."""
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{self.ui_port}/json/", timeout=5
            ) as answer:
                status: dict[str, Any] = json.load(answer)
        except (OSError, ValueError):
            return {}
        return status

    def alive_workers(self) -> int:
        workers = self.status().get("workers", [])
        return sum(1 for worker in workers if worker.get("state") == "ALIVE")

    def finished_apps(self) -> list[str]:
        """Names of the applications that ran on the cluster and ended."""
        return [str(app["name"]) for app in self.status().get("completedapps", [])]

    def wait_for_worker(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            exited = [p for p in self.processes if p.poll() is not None]
            if exited:
                raise RuntimeError(f"a Spark daemon exited early:\n{self.logs()}")
            if self.alive_workers() >= 1:
                return
            time.sleep(0.5)
        raise RuntimeError(f"no Spark worker registered in {START_TIMEOUT} s:\n{self.logs()}")

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}"
            for path in sorted(self.base.glob("*.log"))
        )

    def stop(self) -> None:
        # The worker first (it ends its executors), then the master.
        for process in reversed(self.processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in reversed(self.processes):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.processes.clear()
