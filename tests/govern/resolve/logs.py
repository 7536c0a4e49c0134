"""Collect what the resolver logs at warning level (the ``citybrain`` logger may not propagate)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(f"{record.name}: {record.getMessage()}")


@contextmanager
def warnings_logged(name: str = "citybrain") -> Iterator[list[str]]:
    """The messages logged at warning level or above under ``name`` inside the block."""
    logger = logging.getLogger(name)
    handler = _Collect()
    logger.addHandler(handler)
    level = logger.level
    if logger.getEffectiveLevel() > logging.WARNING:
        logger.setLevel(logging.WARNING)
    try:
        yield handler.messages
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
