"""The streaming path: one long-running consumer of the live sources (``citybrain stream``),
landing micro-batches in the raw zone and feeding incremental detectors and the live feed.

Light on purpose: import :mod:`citybrain.stream.runner` for the consumer.
"""

from citybrain.stream.detector import StreamBatch, StreamDetector, StreamEvent

__all__ = ["StreamBatch", "StreamDetector", "StreamEvent"]
