"""Other ways of writing the same address: shorthand (3-2-1203), old road names, dropped
administrative levels and noise words."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np
import pyarrow as pa

from citybrain.sim.dirt.core import (
    Dirtied,
    as_array,
    map_rows,
    stable_hash,
)

_CANONICAL = re.compile(
    r"(?P<b>\d+)(?:号楼|栋|幢|座)(?P<u>\d+)单元(?:(?P<f>\d+)(?:楼|层))?(?P<r>\d{3,4})(?:室|号)?"
)


def _shorthand(text: str, variant: int) -> str:
    def sub(m: re.Match[str]) -> str:
        b, u, r = m.group("b"), m.group("u"), m.group("r")
        floor = m.group("f") or str(int(r) // 100)
        number = int(r) % 100
        forms = (
            f"{b}-{u}-{r}",
            f"{b}栋{u}-{r}",
            f"{b}幢{u}单元{floor}楼{number}号",
            f"{b}号楼{u}单元{r}",
            f"{b}栋{u}单元{r}",
        )
        return forms[variant]

    return _CANONICAL.sub(sub, text, count=1)


def address_shorthand(
    values: pa.Array | pa.ChunkedArray, rng: np.random.Generator, rate: float
) -> Dirtied:
    """Shorten 3栋2单元1203室 to 3-2-1203, 3栋2-1203, 3幢2单元12楼3号, 3号楼2单元1203 or
    3栋2单元1203."""
    return map_rows(values, rng, rate, 5, _shorthand)


def old_road_names(
    values: pa.Array | pa.ChunkedArray,
    rng: np.random.Generator,
    rate: float,
    aliases: Mapping[str, str | Sequence[str]],
) -> Dirtied:
    """Write a road by an old name from the register's alias list (current name → old name(s))."""
    olds = {k: [v] if isinstance(v, str) else list(v) for k, v in aliases.items() if v}
    if not olds:
        return Dirtied(as_array(values), np.zeros(len(values), dtype=np.bool_))
    pattern = re.compile("|".join(re.escape(k) for k in sorted(olds, key=len, reverse=True)))

    def rename(text: str, variant: int) -> str:
        def sub(m: re.Match[str]) -> str:
            choices = olds[m.group(0)]
            return choices[variant % len(choices)]

        return pattern.sub(sub, text, count=1)

    return map_rows(values, rng, rate, 4, rename)


_ADMIN = re.compile(
    r"^(?P<p>[^省市区县]{2,7}省)?(?P<c>[^省市区县]{2,7}市)?(?P<d>[^省市区县街道路]{2,8}?(?:区|县))?"
)


def _drop_levels(text: str, variant: int) -> str:
    m = _ADMIN.match(text)
    if not m or (not m.group("p") and not m.group("c")):
        return text  # without a province or city in front, a leading "…区" may be an estate
    cut = (m.end("p") if m.group("p") else 0, m.end("c") if m.group("c") else 0, m.end())[variant]
    return text[cut:] if cut else text


def drop_admin_levels(
    values: pa.Array | pa.ChunkedArray, rng: np.random.Generator, rate: float
) -> Dirtied:
    """Leave out upper admin levels: the province; province and city; or down to the district."""
    return map_rows(values, rng, rate, 3, _drop_levels)


_BOUNDARY = set("省市区县道路街号苑园城栋幢座元楼")
_SUFFIXES = ("附近", "对面", "旁边", " 附近", "（对面）")
_INSERTS = (" ", "，", "、", "  ")


def _noise(text: str, variant: int) -> str:
    if variant < len(_SUFFIXES):
        return text + _SUFFIXES[variant]
    if variant == len(_SUFFIXES):
        return "地址：" + text
    cuts = [i + 1 for i, c in enumerate(text[:-1]) if c in _BOUNDARY]
    if not cuts:
        return text + " "
    at = cuts[stable_hash(text, variant) % len(cuts)]
    return text[:at] + _INSERTS[variant - len(_SUFFIXES) - 1] + text[at:]


def noise_words(
    values: pa.Array | pa.ChunkedArray, rng: np.random.Generator, rate: float
) -> Dirtied:
    """Add 附近 / 对面 / 旁边, a 地址： prefix, or a space, "，" or "、" between address parts."""
    return map_rows(values, rng, rate, len(_SUFFIXES) + 1 + len(_INSERTS), _noise)
