"""The shared-bike topic (共享单车): parked bikes per fenced zone against its capacity."""

from citybrain.topics.builtin.shared_bikes.topic import SharedBikes

__all__ = ["SharedBikes"]
