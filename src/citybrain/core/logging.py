"""Structured logging with run ids, so a nightly run can be followed line by line.

Plain text for people at a terminal, one JSON object per line (``--log-json`` or
``[logging] json = true``) for log collectors. Every record carries the current run id.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
import uuid
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

_run_id: ContextVar[str | None] = ContextVar("citybrain_run_id", default=None)

# Attributes every LogRecord has; anything else came through ``extra=`` and is structured data.
_STANDARD_ATTRS = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "run_id"}


def new_run_id() -> str:
    """A sortable, unique run id: UTC time to the microsecond, then a random suffix. (To the
    second, two runs of one second sorted by chance, and "the latest run's findings" with them.)"""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}-{uuid.uuid4().hex[:8]}"


@contextlib.contextmanager
def run_context(run_id: str | None = None) -> Iterator[str]:
    """Tag every log record emitted inside the block with ``run_id``."""
    rid = run_id or new_run_id()
    token = _run_id.set(rid)
    try:
        yield rid
    finally:
        _run_id.reset(token)


class _RunIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.run_id = _run_id.get() or "-"
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "run_id": getattr(record, "run_id", "-"),
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS:
                payload[key] = value
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return json.dumps(payload, ensure_ascii=False, default=str)


def configure_logging(level: str = "INFO", *, json_format: bool = False) -> None:
    """Configure the ``citybrain`` logger tree once per process (idempotent)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_RunIdFilter())
    if json_format:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)-7s [%(run_id)s] %(name)s: %(message)s")
        )
    root = logging.getLogger("citybrain")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


def get_logger(name: str) -> logging.Logger:
    return logging.getLogger(name if name.startswith("citybrain") else f"citybrain.{name}")
