"""The Splink database API of an engine, ready for linkage — the one place backends differ.

Splink on Spark breaks long lineages by writing intermediate tables under the SparkContext's
checkpoint directory, which a fresh session does not have; it goes beside the lake.
"""

from __future__ import annotations

from typing import Any

from citybrain.core.engine import Engine


def splink_api(engine: Engine) -> Any:
    api = engine.splink_api()
    session = getattr(api, "spark", None)
    if session is not None and session.sparkContext.getCheckpointDir() is None:
        folder = engine.lake_root / "_splink_checkpoints"
        folder.mkdir(parents=True, exist_ok=True)
        session.sparkContext.setCheckpointDir(str(folder))
    return api
