"""Splink's own warnings reach citybrain's log at warning level; its chatter below does not."""

from __future__ import annotations

import logging

from logs import warnings_logged

from citybrain.govern.resolve.probabilistic import route_splink_logs


def test_splink_warnings_reach_the_citybrain_log() -> None:
    route_splink_logs()
    route_splink_logs()  # twice: still one handler, each message once
    with warnings_logged() as heard:
        logging.getLogger("splink.internals.linker").warning(
            "\n -- WARNING --\nYou have called predict()"
        )
        logging.getLogger("splink.internals.linker").info("Probability two random records match")
    assert heard == ["citybrain.splink: You have called predict()"]
