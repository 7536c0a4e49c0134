"""The epidemic topic (疫情防控): entry control, household screening, close contacts, precise
medical support and a situation summary per street, from arrivals, test records, screening sheets
and the population base."""

from citybrain.topics.builtin.epidemic.topic import Epidemic, EpidemicParams

__all__ = ["Epidemic", "EpidemicParams"]
