"""The parsed address: its components, admin codes and one canonical spelling."""

from __future__ import annotations

from typing import Any, NamedTuple

# Components in address order; these are also the columns of `parse_many`.
COMPONENTS: tuple[str, ...] = (
    "province",
    "province_code",
    "city",
    "city_code",
    "district",
    "district_code",
    "street",
    "street_code",
    "community",
    "road",
    "road_number",
    "estate",
    "zone",
    "building",
    "unit",
    "floor",
    "room",
)


class ParsedAddress(NamedTuple):
    """One address read into components (a named tuple: cheap to build, immutable).

    Codes are GB/T 2260 (street: the 9-digit statistical code).

    ``zone`` is a part of an estate (E1区, 二期 → 2期); ``floor`` is inferred from a 3–4 digit room
    number when not written; ``notes`` says what was guessed or corrected.
    """

    raw: str
    province: str | None = None
    province_code: str | None = None
    city: str | None = None
    city_code: str | None = None
    district: str | None = None
    district_code: str | None = None
    street: str | None = None
    street_code: str | None = None
    community: str | None = None
    road: str | None = None
    road_number: str | None = None
    estate: str | None = None
    zone: str | None = None
    building: str | None = None
    unit: str | None = None
    floor: str | None = None
    room: str | None = None
    # "current", or "historical" when an old division name was read (its successor is given
    # above, the old name in ``notes``); None when no division was read.
    admin_status: str | None = None
    admin_inferred: bool = False
    notes: tuple[str, ...] = ()

    @property
    def canonical(self) -> str:
        """One spelling for equal addresses: 四川省成都市武侯区人民南路四段12号 …3栋2单元1203室."""
        parts: list[str] = []
        add = parts.append
        if self.province:
            add(self.province)
        if self.city and self.city != self.province:
            add(self.city)
        for value in (self.district, self.street, self.community, self.road):
            if value:
                add(value)
        if self.road_number:
            add(self.road_number + "号")
        if self.estate:
            add(self.estate)
        if self.zone:
            add(self.zone)
        if self.building:
            add(self.building if self.building.endswith("楼") else self.building + "栋")
        if self.unit:
            add(self.unit + "单元")
        if self.room:
            add(self.room + "室")
        elif self.floor:
            add(self.floor + "楼")
        return "".join(parts)

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = self._asdict()
        data["canonical"] = self.canonical
        return data

    def rows(self) -> list[tuple[str, str]]:
        """(component, value) pairs for display, in address order, empty ones left out."""
        pairs = [(name, getattr(self, name)) for name in COMPONENTS]
        shown = [(name, str(value)) for name, value in pairs if value is not None]
        shown.append(("canonical", self.canonical))
        if self.notes:
            shown.append(("notes", "; ".join(self.notes)))
        return shown

    def as_table(self) -> Any:
        """The `rows` as a two-column ``pyarrow.Table`` (component, value)."""
        import pyarrow as pa

        rows = self.rows()
        return pa.table(
            {"component": [r[0] for r in rows], "value": [r[1] for r in rows]},
        )
