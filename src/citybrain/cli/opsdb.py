"""The ops database for one CLI command: the workspace's, brought up to date, closed afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from citybrain.cli.state import state
from citybrain.core import Workspace

if TYPE_CHECKING:
    from sqlalchemy import Engine as SqlEngine


@contextmanager
def workspace_ops_engine() -> Iterator[tuple[Workspace, SqlEngine]]:
    """The ``-w`` workspace and its ops database's engine, disposed of when the block ends."""
    from citybrain.core.opsdb import connect, upgrade

    workspace = Workspace.open(state.workspace)
    ops_engine = connect(workspace.ops_db_url)
    try:
        upgrade(ops_engine)  # a no-op at head; brings an older workspace's ops database up to date
        yield workspace, ops_engine
    finally:
        ops_engine.dispose()
