"""The address index: one register reads as one version whatever order its rows come in."""

from __future__ import annotations

import pyarrow as pa

from citybrain.govern.standardize.addressbase import _road_aliases


def test_road_aliases_do_not_depend_on_row_order() -> None:
    rows = {
        "name": ["天府大道北段", "天府大道南段", "科苑南路", None],
        "old_name": ["天府大道", "天府大道", "科园南路", "老路"],
    }
    forward = pa.table(rows)
    backward = forward.take(list(reversed(range(forward.num_rows))))
    assert _road_aliases(forward) == _road_aliases(backward)
    assert _road_aliases(forward)["天府大道"] == ("天府大道北段", "天府大道南段")
    assert "老路" not in _road_aliases(forward)  # an old name with no new one is no alias
