"""Per-step peak memory: the high-water mark can be reset, so a step's peak is its own."""

from __future__ import annotations

import mmap
import sys

import pytest

from citybrain.pipeline import memory

_BLOCK = 128 * 2**20
_PAGE = mmap.PAGESIZE


@pytest.mark.skipif(sys.platform != "linux", reason="VmHWM and clear_refs are Linux")
def test_the_peak_of_a_step_is_measured_from_its_start() -> None:
    assert memory.reset_peak()
    # The process's own peak: children that ended earlier (a test worker starts many) would
    # otherwise stand above both readings.
    baseline = memory.peak_rss_bytes(children=False)
    # An anonymous map of our own, so closing it surely gives the pages back; a Python object
    # freed with `del` may stay in the allocator's heap (CI once read the same peak after reset).
    block = mmap.mmap(-1, _BLOCK)
    for offset in range(0, _BLOCK, _PAGE):  # every page written, so resident
        block[offset] = 1
    big = memory.peak_rss_bytes(children=False)
    block.close()
    assert big - baseline >= _BLOCK - 8 * 2**20
    assert memory.reset_peak()
    # after the reset the old peak is forgotten (half the block leaves room for other threads)
    assert memory.peak_rss_bytes(children=False) < big - _BLOCK // 2
