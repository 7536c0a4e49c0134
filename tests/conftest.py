"""Shared fixtures. Each fixture module in tests/fixtures/ owns one real service or engine."""

pytest_plugins = [
    "fixtures.engines",
    "fixtures.postgres",
    "fixtures.browser",
    "fixtures.mqtt",
    "fixtures.spark_cluster",
    "fixtures.schedule",
]
