"""Economic operation (经济运行)."""

from citybrain.topics.builtin.economic_operation.topic import (
    EconomicOperation,
    EconomicOperationParams,
)

__all__ = ["EconomicOperation", "EconomicOperationParams"]
