"""Per-step peak memory: the high-water mark can be reset, so a step's peak is its own."""

from __future__ import annotations

import sys

import pytest

from citybrain.pipeline import memory


@pytest.mark.skipif(sys.platform != "linux", reason="VmHWM and clear_refs are Linux")
def test_the_peak_of_a_step_is_measured_from_its_start() -> None:
    assert memory.reset_peak()
    # The process's own peak: children that ended earlier (a test worker starts many) would
    # otherwise stand above both readings.
    baseline = memory.peak_rss_bytes(children=False)
    block = bytearray(b"\x01") * (64 * 2**20)  # every page written, so resident
    big = memory.peak_rss_bytes(children=False)
    del block
    assert big - baseline >= 60 * 2**20
    memory.reset_peak()
    # after the reset the old peak is forgotten
    assert memory.peak_rss_bytes(children=False) < big
