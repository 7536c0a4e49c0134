"""守信通 credit (信用评价): enterprise grades with reasons, inspection draws and credit repair."""

from citybrain.topics.builtin.credit.topic import Credit, CreditParams

__all__ = ["Credit", "CreditParams"]
