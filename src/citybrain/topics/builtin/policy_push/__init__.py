"""政策主动推送 (policy push): which firms each policy is for, found before they ask."""

from citybrain.topics.builtin.policy_push.topic import PolicyPush, PolicyPushParams

__all__ = ["PolicyPush", "PolicyPushParams"]
