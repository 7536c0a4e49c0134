"""Clusters never hold two valid identifiers: a component that does is split along its weakest
links (two firms of one name in one building, joined by an account that names neither code)."""

from __future__ import annotations

import pyarrow as pa

from citybrain.govern.resolve.clusters import split_conflicts
from citybrain.govern.resolve.probabilistic import EDGE_SCHEMA


def _edges(*rows: tuple[str, str, float]) -> pa.Table:
    left, right, probability = zip(*rows, strict=True)
    return pa.table(
        {"record_id_l": left, "record_id_r": right, "match_probability": probability},
        schema=EDGE_SCHEMA,
    )


def test_a_component_with_two_codes_is_split_at_its_weakest_link() -> None:
    # a: firm with code X; b: same name, code Y; c: a power account naming neither, closer to b;
    # d: a record of a's own with no code; e: another firm, untouched
    profiles = pa.table(
        {"record_id": ["a", "b", "c", "d", "e"], "id_valid": ["X", "Y", None, None, "Z"]}
    )
    components = pa.table(
        {"record_id": ["a", "b", "c", "d", "e"], "cluster_id": ["a", "a", "a", "a", "e"]}
    )
    edges = _edges(("a", "c", 0.991), ("b", "c", 0.998), ("a", "d", 1.0))
    split = split_conflicts(components, profiles, edges).to_pydict()
    assert dict(zip(split["record_id"], split["cluster_id"], strict=True)) == {
        "a": "a", "d": "a", "b": "b", "c": "b", "e": "e"
    }  # fmt: skip


def test_components_without_a_conflict_are_left_as_they_are() -> None:
    profiles = pa.table({"record_id": ["a", "b", "c"], "id_valid": ["X", "X", None]})
    components = pa.table({"record_id": ["a", "b", "c"], "cluster_id": ["a", "a", "a"]})
    edges = _edges(("a", "b", 1.0), ("b", "c", 0.995))
    assert split_conflicts(components, profiles, edges).equals(components)
