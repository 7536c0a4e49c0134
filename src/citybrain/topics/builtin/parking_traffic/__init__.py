"""The parking topic (智能交通): lot occupancy now and an hour ahead."""

from citybrain.topics.builtin.parking_traffic.topic import ParkingTraffic

__all__ = ["ParkingTraffic"]
