"""Enterprise early warning (企业运行预警)."""

from citybrain.topics.builtin.enterprise_warning.topic import (
    EnterpriseWarning,
    EnterpriseWarningParams,
)

__all__ = ["EnterpriseWarning", "EnterpriseWarningParams"]
