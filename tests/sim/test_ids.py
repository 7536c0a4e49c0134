"""Identifiers are valid by python-stdnum's own checks."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from stdnum.cn import ric, uscc

from citybrain.sim.ids import mobiles, resident_ids, suffixed, usccs
from citybrain.sim.regions import CHENGDU, ELSEWHERE, FALLBACK, SICHUAN, birth_regions


def test_resident_ids_pass_stdnum() -> None:
    rng = np.random.default_rng(0)
    n = 2000
    origin = rng.integers(0, 3, n)
    years = rng.integers(1935, 2023, n)
    region = birth_regions(rng, origin, years)
    dates = years * 10000 + rng.integers(1, 13, n) * 100 + rng.integers(1, 29, n)
    ids = resident_ids(region, dates, rng.integers(0, 1000, n)).to_pylist()
    assert all(ric.is_valid(x) for x in ids)
    assert any(x.endswith("X") for x in ids)  # the check value 10 is written X


def test_every_region_code_is_valid_from_its_first_year() -> None:
    for code, _, first in CHENGDU + SICHUAN + ELSEWHERE:
        year = max(first, 1940)
        body = resident_ids(np.array([code]), np.array([year * 10000 + 101]), np.array([1]))
        assert ric.is_valid(body[0].as_py()), code
    for code in FALLBACK.values():
        body = resident_ids(np.array([code]), np.array([19400101]), np.array([1]))
        assert ric.is_valid(body[0].as_py())


def test_usccs_pass_stdnum() -> None:
    rng = np.random.default_rng(1)
    codes = usccs(rng, 3000, np.full(3000, 510100), np.ones(3000, np.int64)).to_pylist()
    assert all(uscc.is_valid(x) for x in codes)
    assert any(x[8:10] == "MA" for x in codes) and any(x[8:10].isdigit() for x in codes)


def test_mobiles_look_like_mainland_numbers() -> None:
    phones = mobiles(np.random.default_rng(2), 500).to_pylist()
    assert all(len(p) == 11 and p.isdigit() and p[0] == "1" for p in phones)


@pytest.mark.parametrize(
    "values",
    [
        pa.array(["SW001000001", "SW001000002", "SW001000003"]),
        pa.array(["SW001000001", "SW001000002", "SW001000003", "X"]).slice(1, 2),  # offset
        pa.chunked_array([["水表01", "水表02"], ["水表03"]]),  # one byte width, not ASCII
        pa.array(["a", "bb", "ccc"]),  # mixed widths
        pa.array(["ab", None, "cd"]),  # nulls stay null
        pa.array([], pa.string()),
    ],
)
def test_suffixed_matches_an_element_wise_join(values: pa.Array) -> None:
    got = suffixed(values, "-202301")
    want = pc.binary_join_element_wise(values, "-202301", "")
    if isinstance(want, pa.ChunkedArray):
        want = want.combine_chunks()
    assert got.to_pylist() == want.to_pylist()
