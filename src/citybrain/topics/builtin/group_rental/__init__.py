"""Group-rental detection (群租房): dwellings where far more people live than are registered."""

from citybrain.topics.builtin.group_rental.topic import GroupRental, GroupRentalParams

__all__ = ["GroupRental", "GroupRentalParams"]
