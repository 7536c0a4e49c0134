"""Named sizes of the synthetic city and the ``--records`` override."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass


@dataclass(frozen=True)
class Scale:
    """Entity counts and stream rates; every generator reads only these numbers."""

    name: str
    streets: int
    communities_per_street: int
    grids_per_community: int
    dwellings: int
    office_rooms: int
    enterprises: int
    months: int
    trucks: int
    truck_pings_per_day: int
    bikes_per_operator: int
    bike_snapshots_per_day: int
    sensors: int
    sensor_readings_per_day: int
    parking_lots: int
    parking_snapshots_per_day: int
    projects: int
    arrivals_per_day: int
    start_year: int = 2023
    start_month: int = 1
    # At city size departments hand their bulk monthly exports over as Parquet (same columns);
    # CSV and JSON Lines of a billion rows would not fit a disk, nor would anyone send them so.
    bulk_parquet: bool = False
    # How densely the outcomes that topics are judged on are planted. The defaults are the city
    # as it is, at every named scale; `planted` raises them where a small city must still hold
    # enough of each to score a topic on (the adoption test), never a named scale.
    group_rental_share: float = 0.06  # of rented flats, let to groups (then 0.04 to students)
    distress_share: float = 0.06  # of firms older than the period, falling into distress
    commitment_share: float = 0.3  # of firms, signing a credit commitment in the period

    def planted(self, factor: float) -> Scale:
        """The same city with ``factor`` times as many group rentals, distressed firms and
        credit commitments (each share capped: at most half the rented flats are group rentals,
        half the firms distressed, every firm a signer)."""
        if factor <= 0:
            raise ValueError(f"planting must be above 0, got {factor:g}")
        return dataclasses.replace(
            self,
            name=f"{self.name}+planted*{factor:.4g}",
            group_rental_share=min(0.5, self.group_rental_share * factor),
            distress_share=min(0.5, self.distress_share * factor),
            commitment_share=min(1.0, self.commitment_share * factor),
        )

    def over_months(self, months: int) -> Scale:
        """The same city over ``months`` months of history instead."""
        if months < 1:
            raise ValueError(f"months must be at least 1, got {months}")
        return dataclasses.replace(self, name=f"{self.name}/{months}m", months=months)

    def scaled(self, factor: float) -> Scale:
        """The same city shape with every count multiplied by ``factor`` (months kept)."""

        def mul(v: int, lo: int = 1) -> int:
            return max(lo, round(v * factor))

        return dataclasses.replace(
            self,
            name=f"{self.name}*{factor:.4g}",
            streets=mul(self.streets) if factor > 1 else self.streets,
            dwellings=mul(self.dwellings, 60),
            office_rooms=mul(self.office_rooms, 20),
            enterprises=mul(self.enterprises, 20),
            trucks=mul(self.trucks, 3),
            bikes_per_operator=mul(self.bikes_per_operator, 10),
            sensors=mul(self.sensors, 3),
            parking_lots=mul(self.parking_lots, 2),
            projects=mul(self.projects, 3),
            arrivals_per_day=mul(self.arrivals_per_day, 2),
        )


SCALES: dict[str, Scale] = {
    "tiny": Scale(
        name="tiny",
        streets=2,
        communities_per_street=2,
        grids_per_community=2,
        dwellings=240,
        office_rooms=60,
        enterprises=60,
        months=3,
        trucks=4,
        truck_pings_per_day=4,
        bikes_per_operator=20,
        bike_snapshots_per_day=1,
        sensors=4,
        sensor_readings_per_day=4,
        parking_lots=3,
        parking_snapshots_per_day=2,
        projects=4,
        arrivals_per_day=3,
    ),
    "small": Scale(
        name="small",
        streets=3,
        communities_per_street=3,
        grids_per_community=3,
        dwellings=6_000,
        office_rooms=1_200,
        enterprises=1_500,
        months=12,
        trucks=30,
        truck_pings_per_day=24,
        bikes_per_operator=400,
        bike_snapshots_per_day=4,
        sensors=12,
        sensor_readings_per_day=24,
        parking_lots=12,
        parking_snapshots_per_day=24,
        projects=20,
        arrivals_per_day=40,
    ),
    "district": Scale(
        name="district",
        streets=6,
        communities_per_street=5,
        grids_per_community=4,
        dwellings=100_000,
        office_rooms=16_000,
        enterprises=20_000,
        months=24,
        trucks=200,
        truck_pings_per_day=48,
        bikes_per_operator=2_000,
        bike_snapshots_per_day=4,
        sensors=40,
        sensor_readings_per_day=288,
        parking_lots=60,
        parking_snapshots_per_day=96,
        projects=80,
        arrivals_per_day=600,
    ),
    "city": Scale(
        name="city",
        streets=12,
        communities_per_street=8,
        grids_per_community=6,
        dwellings=600_000,
        office_rooms=100_000,
        enterprises=120_000,
        months=36,
        trucks=1_200,
        truck_pings_per_day=250,
        bikes_per_operator=16_000,
        bike_snapshots_per_day=12,
        sensors=200,
        sensor_readings_per_day=288,
        parking_lots=400,
        parking_snapshots_per_day=288,
        projects=400,
        arrivals_per_day=4_000,
        bulk_parquet=True,
    ),
}


def days_in_period(scale: Scale) -> int:
    """Days covered (30.44 per month on average; exact days come from the calendar)."""
    return round(scale.months * 30.44)


def estimate_records(scale: Scale) -> int:
    """Rough total of source rows, used to turn ``--records N`` into a scale factor."""
    days = days_in_period(scale)
    residents = scale.dwellings * 3
    monthly = scale.dwellings * scale.months * 5.6 + scale.enterprises * scale.months * 2.2
    streams = days * (
        scale.trucks * scale.truck_pings_per_day * 0.8
        + 3 * scale.bikes_per_operator * scale.bike_snapshots_per_day
        + scale.sensors * scale.sensor_readings_per_day
        + scale.parking_lots * scale.parking_snapshots_per_day
        + scale.arrivals_per_day
    )
    return int(residents * 1.6 + scale.dwellings * 1.3 + monthly + streams)


def resolve_scale(
    name: str,
    records: int | None = None,
    *,
    months: int | None = None,
    planting: float | None = None,
) -> Scale:
    """The named scale, resized so that about ``records`` rows are produced when given, over
    ``months`` months and with ``planting`` times the planted outcomes when given."""
    try:
        base = SCALES[name]
    except KeyError:
        raise ValueError(f"unknown scale {name!r}; choose one of {', '.join(SCALES)}") from None
    if records is not None:
        base = base.scaled(records / max(1, estimate_records(base)))
    if months is not None:
        base = base.over_months(months)
    if planting is not None:
        base = base.planted(planting)
    return base
