"""The muck-truck topic (渣土车): GPS tracks against transport permits and sites."""

from citybrain.topics.builtin.muck_trucks.topic import MuckTrucks

__all__ = ["MuckTrucks"]
