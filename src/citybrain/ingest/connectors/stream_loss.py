"""Loss at a stream's source, counted per load: sequence gaps and the broker's own drop counter.

A broker (a part we do not own) can drop messages: an offline queue that is full, a restart
without persistence, a session that expired. Two witnesses make that visible:

- **sequence numbers**, where the contract declares them (``connector.sequence``, optionally per
  ``connector.publisher``): every number skipped between the last one received and the next is a
  message published but never received — exact, though only once a later message arrives;
- **the broker's counters** (Mosquitto's ``$SYS/broker/publish/messages/dropped``): a rise since
  the previous load means the broker dropped messages — at once, but for every client together.

:class:`LossTracker` carries both from load to load (through each manifest's ``stream``) and
writes, per load, ``rows_missing`` ("expected but not received") with its reasons: the sequence
gaps where the contract declares a sequence, else the broker's drops.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from citybrain.ingest.manifest import Manifest, StreamCheck

SEQUENCE_GAP = "sequence_gap"
BROKER_DROPPED = "broker_dropped"
ONE_PUBLISHER = "*"  # the key of the counter when the contract names no publisher field


def sequence_check(
    publishers: Sequence[str], numbers: Sequence[int], last: dict[str, int]
) -> tuple[int, int, dict[str, int]]:
    """Gaps and repeats of one batch's sequence numbers after each publisher's ``last`` one.

    Returns (numbers skipped, numbers at or below ``last`` or seen twice, each publisher's new
    highest number). A publisher seen for the first time starts at its lowest number: what it
    sent before any load cannot be known.
    """
    pubs = np.asarray(publishers, dtype=object)
    nums = np.asarray(numbers, dtype=np.int64)
    gaps = repeats = 0
    high = dict(last)
    for publisher in {str(p) for p in pubs.tolist()}:  # publishers are few: loop over distinct
        mine = nums[pubs == publisher]
        previous = last.get(publisher)
        fresh = np.unique(mine if previous is None else mine[mine > previous])
        repeats += int(mine.size - fresh.size)
        if fresh.size == 0:
            continue
        start = int(fresh[0]) - 1 if previous is None else previous
        gaps += int(fresh[-1]) - start - int(fresh.size)
        high[publisher] = int(fresh[-1])
    return gaps, repeats, high


@dataclass
class LossTracker:
    """Loss seen by one run of a stream, from where the previous load left off."""

    declares_sequence: bool
    sequence_last: dict[str, int] = field(default_factory=dict)
    dropped_counter: int | None = None  # the broker's counter as last recorded in a manifest
    pending_session_lost: bool = False

    @classmethod
    def resume(cls, declares_sequence: bool, manifests: Sequence[Manifest]) -> LossTracker:
        """Continue from the newest completed load that recorded a stream check."""
        done = [m for m in manifests if m.stream is not None and m.status == "completed"]
        if not done:
            return cls(declares_sequence)
        newest = max(done, key=lambda m: m.started_at)
        stream = newest.stream
        assert stream is not None
        last: dict[str, int] = {}
        for m in done:  # every publisher ever seen, at its highest number
            for publisher, number in (m.stream.sequence_last if m.stream else {}).items():
                last[publisher] = max(number, last.get(publisher, number))
        return cls(declares_sequence, last, stream.broker_dropped_counter)

    def dropped_since(self, counter: int | None) -> int:
        """The broker's drops since the last recorded load (a restarted broker counts anew;
        with no earlier reading, its whole count since it started)."""
        if counter is None:
            return 0
        if self.dropped_counter is None or counter < self.dropped_counter:
            return counter
        return counter - self.dropped_counter

    def pending(self, counter: int | None) -> bool:
        """Loss was seen that no load has recorded yet."""
        return self.pending_session_lost or self.dropped_since(counter) > 0

    def check(
        self, publishers: Sequence[str], numbers: Sequence[int], counter: int | None
    ) -> StreamCheck:
        gaps, repeats, high = sequence_check(publishers, numbers, self.sequence_last)
        return StreamCheck(
            sequence_last=high,
            sequence_gaps=gaps,
            sequence_repeats=repeats,
            broker_dropped_counter=counter if counter is not None else self.dropped_counter,
            broker_dropped=self.dropped_since(counter),
            session_lost=self.pending_session_lost,
        )

    def record(self, manifest: Manifest, check: StreamCheck, source: str) -> None:
        """Write a batch's check into its manifest: counts, reasons and one warning each."""
        manifest.stream = check
        missing: dict[str, int] = {}
        if check.sequence_gaps:
            missing[SEQUENCE_GAP] = check.sequence_gaps
            manifest.warnings.append(
                f"{check.sequence_gaps:,} messages expected but not received from {source} "
                "(gaps in the publishers' sequence numbers)"
            )
        if check.broker_dropped:
            if not self.declares_sequence:
                missing[BROKER_DROPPED] = check.broker_dropped
            manifest.warnings.append(
                f"the broker of {source} reports {check.broker_dropped:,} messages dropped since "
                "the previous load (all its clients; check max_queued_messages and persistence)"
            )
        if check.session_lost:
            manifest.warnings.append(
                f"the broker of {source} had lost our durable session: what it held for us is "
                "gone (restarted without persistence, or the session expired)"
            )
        manifest.missing_by_reason = missing
        manifest.rows_missing = sum(missing.values())

    def committed(self, check: StreamCheck) -> None:
        """The load holding ``check`` committed: the next load counts from here."""
        self.sequence_last = dict(check.sequence_last)
        self.dropped_counter = check.broker_dropped_counter
        self.pending_session_lost = False
