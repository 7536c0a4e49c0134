"""Live updates: a topic/channel event bus that every API process feeds from the ops database.

Producers in other processes (``citybrain run`` opening cases, a topic run storing findings) write
to the ops database as they always do; each API process polls those change sequences once for all
its listeners and hands every listener the events its role and area scope allow. Producers inside
the API process (live vehicle positions, later) publish straight onto the same bus.
"""

from citybrain.api.live.bus import Bus, Cursor, Event, Place, Source
from citybrain.api.live.sources import CaseChanges, FindingRuns, StreamEvents

__all__ = [
    "Bus",
    "CaseChanges",
    "Cursor",
    "Event",
    "FindingRuns",
    "Place",
    "Source",
    "StreamEvents",
]
