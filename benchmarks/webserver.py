"""`citybrain serve` on a free loopback port, for the benchmarks that drive the web app in
Chromium."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def serve(root: Path) -> tuple[subprocess.Popen[bytes], str]:
    """`citybrain serve` on ``root``: the process, and its URL once /health answers."""
    port = free_port()
    exe = shutil.which("citybrain") or str(Path(sys.executable).parent / "citybrain")
    process = subprocess.Popen(
        [exe, "-w", str(root), "serve", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 240  # a shared machine under load starts slowly
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/health", timeout=1).read()
            return process, url
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("citybrain serve did not answer /health within 240 s")
