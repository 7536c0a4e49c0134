"""Errors a topic raises about the data it was given, as opposed to bugs."""

from __future__ import annotations

from citybrain.core.errors import UserError


class NotEnoughData(UserError):
    """The topic cannot judge on this data (too few labels, too short a history, an empty input).

    Not a failure of the run: the pipeline records the step as done with no findings and says
    why, and the steps after it go on. A small district may simply not hold enough yet.
    """
