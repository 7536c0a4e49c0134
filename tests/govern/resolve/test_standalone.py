"""`resolve_records` on a person table shaped unlike the synthetic city's, configured only.

The generator below writes people the way a non-Chinese register does: given and family name in
separate columns (sometimes swapped, sometimes with a typo or an accent dropped), a national
insurance-style identifier (sometimes missing, sometimes mistyped), a birth date in two written
forms (sometimes missing), a street address the Chinese parser cannot place (sometimes missing),
and no phone at all. Seeded, so every run sees the same records.
"""

from __future__ import annotations

import random
from itertools import combinations

import pyarrow as pa
import pytest
from logs import warnings_logged

from citybrain.core.errors import ConfigError
from citybrain.govern.resolve import resolve_records

_GIVEN_WRITTEN = (
    "James John Robert Michael William David Richard Joseph Thomas Charles Mary Patricia Jennifer "
    "Linda Elizabeth Barbara Susan Jessica Sarah Karen Nancy Lisa Betty Margaret Sandra Ashley "
    "Kimberly Emily Donna Michelle Daniel Matthew Anthony Mark Donald Steven Paul Andrew Joshua "
    "Kenneth Kevin Brian George Timothy Ronald Edward Jason Jeffrey Ryan Jacob Zoë Renée José "
    "Chloé Siobhán Søren Björn"
)
_FAMILY_WRITTEN = (
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez "
    "Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris "
    "Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill "
    "Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts O'Brien Müller "
    "Côté Núñez Van-Dijk"
)
GIVEN = tuple(_GIVEN_WRITTEN.split())
FAMILY = tuple(_FAMILY_WRITTEN.split())
STREETS = "High Street|Station Road|Church Lane|Mill Road|Park Avenue|Victoria Road|Green Lane"
TOWNS = "Leeds|York|Bristol|Cardiff|Norwich|Bath|Derby"

FOREIGN_CONFIG = {
    "sources": [
        {
            "table": "people",
            "key": "rid",
            "fields": {
                "given_name": "forename",
                "family_name": "surname",
                "other_id": "nino",
                "birth_date": "born",
                "address": "home",
            },
        }
    ],
    "comparisons": [{"field": "name", "order_swaps": True}, "other_id", "birth_date", "address"],
    "blocking": [["other_id_norm"], ["name_key"], ["dob"], ["surname_py", "addr_text"]],
    "training": [["other_id_norm"], ["dob"]],
    "prior_rules": [["other_id_norm"]],
    "prior_recall": 0.7,
    "exact_links": [],
}


def _typo(rng: random.Random, word: str) -> str:
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word) - 1)
    kind = rng.random()
    if kind < 0.4:  # two letters swapped
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if kind < 0.7:  # a letter dropped
        return word[:i] + word[i + 1 :]
    return word[:i] + rng.choice("aeioulnrst") + word[i + 1 :]


def _nino(rng: random.Random) -> str:
    letters = "ABCEGHJKLMNPRSTWXYZ"
    digits = "".join(rng.choice("0123456789") for _ in range(6))
    return f"{rng.choice(letters)}{rng.choice(letters)}{digits}{rng.choice('ABCD')}"


def foreign_people(
    seed: int = 11, persons: int = 500, files: tuple[str, ...] = ("register",)
) -> tuple[pa.Table, list[str]]:
    """(records, the true person of each record), 1-3 records a person, with dirt: each field
    missing, mistyped or written otherwise at its own rate; a record keeps at least two of
    identifier, birth date and address (a name alone cannot tell two Mary Smiths apart)."""
    rng = random.Random(seed)
    rows: list[dict[str, str | None]] = []
    truth: list[str] = []
    for p in range(persons):
        given, family = rng.choice(GIVEN), rng.choice(FAMILY)
        born = f"{rng.randint(1940, 2005)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        nino = _nino(rng)
        street, town = rng.choice(STREETS.split("|")), rng.choice(TOWNS.split("|"))
        home = f"{rng.randint(1, 200)} {street}, {town}"
        copies = rng.choice((1, 2, 2, 3))
        for c in range(copies):
            g, f = given, family
            if rng.random() < 0.12:
                g = _typo(rng, g)
            if rng.random() < 0.08:
                f = _typo(rng, f)
            if rng.random() < 0.05:
                g = g.upper()
            if rng.random() < 0.10:
                g, f = f, g  # written the other way round
            y, m, d = born.split("-")
            written_born: str | None = born if rng.random() < 0.6 else f"{y}/{int(m)}/{int(d)}"
            if rng.random() < 0.10:
                written_born = None
            written_nino: str | None = nino
            if rng.random() < 0.2:
                written_nino = None
            elif rng.random() < 0.05:
                written_nino = _typo(rng, nino)
            elif rng.random() < 0.3:
                written_nino = f"{nino[:2]} {nino[2:4]} {nino[4:6]} {nino[6:8]} {nino[8]}"
            written_home: str | None = home if rng.random() > 0.2 else None
            if written_home and rng.random() < 0.3:
                written_home = written_home.upper().replace(",", "")
            if sum(v is None for v in (written_nino, written_born, written_home)) > 1:
                # a register keeps something besides the name: one of the three comes back
                which = rng.randrange(3)
                written_nino = nino if which == 0 else written_nino
                written_born = born if which == 1 else written_born
                written_home = home if which == 2 else written_home
            rows.append(
                {
                    "rid": f"r{len(rows):05d}",
                    "file": files[c % len(files)],
                    "forename": g,
                    "surname": f,
                    "nino": written_nino,
                    "born": written_born,
                    "home": written_home,
                }
            )
            truth.append(f"p{p}")
    return pa.Table.from_pylist(rows), truth


def _pairs(groups: dict[str, list[str]]) -> set[tuple[str, str]]:
    return {pair for members in groups.values() for pair in combinations(sorted(members), 2)}


def _cluster_of(clusters: pa.Table) -> dict[str, str]:
    ids, found = clusters["record_id"].to_pylist(), clusters["cluster_id"].to_pylist()
    return dict(zip(ids, found, strict=True))


def _scores(clusters: pa.Table, records: pa.Table, truth: list[str]) -> tuple[float, float]:
    entity = dict(zip(records["rid"].to_pylist(), truth, strict=True))
    found: dict[str, list[str]] = {}
    actual: dict[str, list[str]] = {}
    for rid, cluster in zip(
        clusters["record_id"].to_pylist(), clusters["cluster_id"].to_pylist(), strict=True
    ):
        found.setdefault(cluster, []).append(rid)
        actual.setdefault(entity[rid], []).append(rid)
    predicted, true = _pairs(found), _pairs(actual)
    hits = len(predicted & true)
    return hits / max(1, len(predicted)), hits / max(1, len(true))


@pytest.mark.duckdb
def test_a_foreign_shaped_register_resolves_through_configuration_alone() -> None:
    records, truth = foreign_people()
    clusters = resolve_records(records, FOREIGN_CONFIG)
    assert clusters.num_rows == records.num_rows
    precision, recall = _scores(clusters, records, truth)
    print(f"foreign register: P {precision:.4f} R {recall:.4f}")
    assert precision >= 0.99 and recall >= 0.95, (precision, recall)


@pytest.mark.duckdb
def test_link_only_links_two_files_and_never_within_one() -> None:
    records, truth = foreign_people(seed=5, files=("clinic", "school"))
    clusters = resolve_records(
        records, {**FOREIGN_CONFIG, "link_type": "link_only"}, dataset="file"
    )
    file_of = dict(zip(records["rid"].to_pylist(), records["file"].to_pylist(), strict=True))
    entity = dict(zip(records["rid"].to_pylist(), truth, strict=True))
    cluster_of = dict(
        zip(clusters["record_id"].to_pylist(), clusters["cluster_id"].to_pylist(), strict=True)
    )
    # A person written twice in the clinic's file (1st and 3rd copy) and never in the school's
    # stays two records: link-only does not deduplicate a file.
    members: dict[str, list[str]] = {}
    for rid in records["rid"].to_pylist():
        members.setdefault(entity[rid], []).append(rid)
    alone = [m for m in members.values() if len(m) == 3]
    assert alone
    for rids in alone:  # copies 0 and 2 are in the clinic's file, copy 1 in the school's
        assert file_of[rids[0]] == file_of[rids[2]] == "clinic"
    within = [(a, b) for rids in members.values() for a, b in combinations(rids, 2)
              if file_of[a] == file_of[b]]  # fmt: skip
    linked_within = [p for p in within if cluster_of[p[0]] == cluster_of[p[1]]]
    # Two clinic records can share a cluster only through a school record linked to both.
    for a, _ in linked_within:
        cluster = cluster_of[a]
        assert any(file_of[r] == "school" and cluster_of[r] == cluster for r in file_of)
    across = [(a, b) for rids in members.values() for a, b in combinations(rids, 2)
              if file_of[a] != file_of[b]]  # fmt: skip
    found = sum(cluster_of[a] == cluster_of[b] for a, b in across)
    assert found / len(across) >= 0.95
    # The same records deduplicated do link the clinic's own duplicates.
    deduped = resolve_records(records, FOREIGN_CONFIG)
    dedup_of = dict(
        zip(deduped["record_id"].to_pylist(), deduped["cluster_id"].to_pylist(), strict=True)
    )
    assert sum(dedup_of[a] == dedup_of[b] for a, b in within) > len(linked_within)


def test_a_bad_configuration_is_one_line_naming_the_key() -> None:
    records, _ = foreign_people(persons=5)
    with pytest.raises(ConfigError, match=r"blocking\[0\]: 'nam_key' is not a person feature"):
        resolve_records(records, {**FOREIGN_CONFIG, "blocking": [["nam_key"]]})
    with pytest.raises(ConfigError, match=r"config: comparisons\[0\]\.field: Input should be"):
        resolve_records(records, {**FOREIGN_CONFIG, "comparisons": ["shoe_size"]})


@pytest.mark.duckdb
def test_a_table_with_too_little_to_train_is_linked_exactly_with_a_reason() -> None:
    records, _ = foreign_people(persons=5)
    config = {**FOREIGN_CONFIG, "exact_links": ["other_id"]}
    with warnings_logged() as heard:
        clusters = resolve_records(records, config)
    assert clusters.num_rows == records.num_rows
    assert any("exact identifiers only" in m and "min_records" in m for m in heard), heard
