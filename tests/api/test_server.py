"""Process-wide tuning is the server entry point's, never the library's: building the app (and its
topics warm-up) leaves the garbage collector alone; ``tune_process`` freezes the heap after it."""

from __future__ import annotations

import gc
import threading

from api.conftest import Harness
from citybrain.api.server import tune_process


def test_building_the_app_leaves_the_collector_alone(api: Harness) -> None:
    for thread in threading.enumerate():
        if thread.name == "topics-warm-up":
            thread.join(timeout=60)  # whatever the warm-up does, it has done
    assert gc.get_freeze_count() == 0
    assert gc.isenabled()


def test_the_entry_point_freezes_the_heap_after_the_warm_up(api: Harness) -> None:
    try:
        tune_process().join(timeout=60)
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
