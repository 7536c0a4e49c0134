"""Per-step peak memory: the high-water mark can be reset, so a step's peak is its own."""

from __future__ import annotations

import sys

import pytest

from citybrain.pipeline import memory


@pytest.mark.skipif(sys.platform != "linux", reason="VmHWM and clear_refs are Linux")
def test_the_peak_of_a_step_is_measured_from_its_start() -> None:
    assert memory.reset_peak()
    baseline = memory.peak_rss_bytes()
    block = bytearray(64 * 2**20)  # zero-filled: every page written, so resident
    big = memory.peak_rss_bytes()
    del block
    assert big - baseline >= 60 * 2**20
    memory.reset_peak()
    # after the reset the old peak is forgotten (children's peaks aside, none here)
    assert memory.peak_rss_bytes() < big
