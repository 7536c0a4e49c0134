"""A broken ops-database setting is one clear line, not a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from citybrain.core.errors import EnvironmentProblem, UserError
from citybrain.core.opsdb import connect, upgrade


def test_missing_sqlite_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"folder .*nowhere does not exist"):
        connect(f"sqlite:///{tmp_path / 'nowhere' / 'ops.sqlite'}")


def test_unreachable_server_is_one_line_without_the_password() -> None:
    # Port 1 on loopback: nothing listens there, so the connection is refused at once.
    url = "postgresql://citybrain:s3cret@127.0.0.1:1/ops"
    with pytest.raises(EnvironmentProblem) as caught:
        upgrade(url)
    message = str(caught.value)
    assert "cannot reach the ops database" in message
    assert "s3cret" not in message
    assert "\n" not in message
