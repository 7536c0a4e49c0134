"""Air quality (环境保护): station AQI by HJ 633-2012, pollution episodes and faulty sensors."""

from citybrain.topics.builtin.air_quality.topic import AirQuality, AirQualityParams

__all__ = ["AirQuality", "AirQualityParams"]
