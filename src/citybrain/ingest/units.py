"""Unit conversions a contract may name by unit symbol (``unit: {from: 万元, to: 元}``)."""

from __future__ import annotations

# factor such that value_in_to = value_in_from * factor, per family of units.
_FAMILIES: tuple[dict[str, float], ...] = (
    {
        "元": 1.0,
        "yuan": 1.0,
        "CNY": 1.0,
        "分": 0.01,
        "角": 0.1,
        "千元": 1e3,
        "万元": 1e4,
        "亿元": 1e8,
    },
    {"m3": 1.0, "立方米": 1.0, "L": 1e-3, "升": 1e-3, "吨水": 1.0},
    {"kWh": 1.0, "度": 1.0, "Wh": 1e-3, "MWh": 1e3, "万千瓦时": 1e4},
    {"kg": 1.0, "千克": 1.0, "公斤": 1.0, "g": 1e-3, "克": 1e-3, "t": 1e3, "吨": 1e3, "斤": 0.5},
    {"m": 1.0, "米": 1.0, "cm": 1e-2, "mm": 1e-3, "km": 1e3, "公里": 1e3},
    {"m2": 1.0, "平方米": 1.0, "km2": 1e6, "亩": 666.6666666666666, "公顷": 1e4, "ha": 1e4},
    {"s": 1.0, "秒": 1.0, "min": 60.0, "分钟": 60.0, "h": 3600.0, "小时": 3600.0},
    {"m/s": 1.0, "km/h": 1 / 3.6},
    {"ug/m3": 1.0, "μg/m3": 1.0, "mg/m3": 1e3},
)


def unit_factor(from_unit: str, to_unit: str) -> float | None:
    """The multiplier converting ``from_unit`` to ``to_unit``, or None if not a known pair."""
    for family in _FAMILIES:
        if from_unit in family and to_unit in family:
            return family[from_unit] / family[to_unit]
    return None


def unit_families() -> tuple[dict[str, float], ...]:
    """The built-in units, by family: unit → its factor to the family's first unit."""
    return tuple(dict(family) for family in _FAMILIES)
