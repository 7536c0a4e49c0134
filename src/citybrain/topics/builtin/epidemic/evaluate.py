"""Evaluation against the synthetic city's truth: close contacts and screening gaps.

Contacts are scored per person: the people the topic names as close contacts against the truth's
contacts who are not themselves infected. A found person is a true person through their records
(arrivals, test records, registrations, permits → ``truth/links_person``; the most frequent
entity wins); a found person none of whose records the truth knows counts as a false contact.

Screening gaps are scored per (round, community): the communities the topic reports below the
coverage threshold against those no screening sheet of that round came from although people live
there (the sheets' dwellings are in ``truth/links_dwelling``, one table per community and round).

Medical support from the chronic-care register is scored per person when the city delivers the
register: the residents the topic finds on it in a case's grid against the truth's listed
persons (``truth/chronic_conditions``) whose dwelling lies in a grid where a found case lives.
"""

from __future__ import annotations

import re
from collections.abc import Hashable
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from citybrain.topics import Evaluation, TopicContext, save_evaluation
from citybrain.topics.builtin.epidemic.analysis import Analysis, keyed_inputs


class EpidemicEvaluation(Evaluation):
    """The shared evaluation with the figures the epidemic topic is judged by at top level."""

    contacts_recall: float
    contacts_precision: float
    screening_gap_f1: float
    screening_gaps_match: bool


def _scores(found: AbstractSet[Hashable], truth: AbstractSet[Hashable]) -> dict[str, float]:
    hit = len(found & truth)
    precision = hit / len(found) if found else 0.0
    recall = hit / len(truth) if truth else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def person_of_key(records: pd.DataFrame, truth_dir: Path) -> pd.Series:
    """person_key → true person id, through (source_system, record_key) of its records."""
    links = pq.read_table(truth_dir / "links_person.parquet").to_pandas()
    links = links.rename(columns={"system": "source_system", "key": "record_key"})
    links = links.drop_duplicates(["source_system", "record_key"])
    joined = records.merge(links[["source_system", "record_key", "entity_id"]], how="inner")
    if joined.empty:
        return pd.Series(dtype="int64")
    counts = joined.groupby(["person_key", "entity_id"]).size().rename("n").reset_index()
    best = counts.sort_values(["person_key", "n", "entity_id"], ascending=[True, False, True])
    return best.drop_duplicates("person_key").set_index("person_key")["entity_id"]


def score_contacts(found_keys: list[str], records: pd.DataFrame, truth_dir: Path) -> dict[str, Any]:
    truth = pq.read_table(truth_dir / "contacts.parquet").to_pandas()
    infected = set(pq.read_table(truth_dir / "infections.parquet")["person_id"].to_pylist())
    true_set = set(truth["person_id"].tolist()) - infected
    mapped = person_of_key(records, truth_dir)
    found: set[object] = set()
    unknown = 0
    for i, key in enumerate(sorted(set(found_keys))):
        if key in mapped.index:
            found.add(int(mapped[key]))
        else:  # no record of it in the truth: a false contact of its own
            found.add(f"unmatched:{i}")
            unknown += 1
    s = _scores(found, true_set)
    by_kind = truth.loc[~truth["person_id"].isin(infected)].groupby("kind")["person_id"]
    recall_by_kind = {
        kind: len(set(ids) & found) / len(set(ids)) for kind, ids in by_kind if len(ids)
    }
    return {
        **s,
        "contacts_true": len(true_set),
        "contacts_found": len(found),
        "contacts_unmatched": unknown,
        "recall_by_kind": recall_by_kind,
    }


def planted_gaps(truth_dir: Path, ctx: TopicContext) -> set[tuple[int, str]]:
    """(round, community name) with residents where no sheet of that round came from."""
    episodes = pq.read_table(truth_dir / "epidemic_episodes.parquet").num_rows
    links = pq.read_table(truth_dir / "links_dwelling.parquet").to_pandas()
    sheets = links.loc[links["system"] == "household_screening", "table"].unique()
    covered = set()
    for name in sheets:
        m = re.fullmatch(r"(.+)_(\d+)", str(name))
        if m:
            covered.add((int(m[2]) + 1, m[1]))
    persons = pq.read_table(truth_dir / "persons.parquet", columns=["dwelling_id"]).to_pandas()
    dwellings = pq.read_table(
        truth_dir / "dwellings.parquet", columns=["dwelling_id", "address_id", "use"]
    ).to_pandas()
    lived = dwellings.loc[
        dwellings["dwelling_id"].isin(persons["dwelling_id"]) & (dwellings["use"] != "office")
    ]
    engine = ctx.engine
    addr = engine.to_pandas(
        engine.table("std", "standard_address").select("address_id", "grid_code")
    )
    areas = engine.to_pandas(
        engine.table("std", "admin_area").select("level", "code", "name", "parent_code")
    )
    grid_parent = areas.loc[areas["level"] == "grid"].set_index("code")["parent_code"]
    names = areas.loc[areas["level"] == "community"].set_index("code")["name"]
    grids = lived.merge(addr, on="address_id")["grid_code"].dropna().unique()
    communities = {str(names[grid_parent[g]]) for g in grids if g in grid_parent}
    return {(r, c) for r in range(1, episodes + 1) for c in communities} - covered


def score_gaps(
    found: Analysis, params_min: float, truth_dir: Path, ctx: TopicContext
) -> dict[str, Any]:
    engine = ctx.engine
    areas = engine.to_pandas(engine.table("std", "admin_area").select("level", "code", "name"))
    names = areas.loc[areas["level"] == "community"].set_index("code")["name"]
    g = found.communities
    reported = {
        (int(r), str(names.get(a, a)))
        for r, a, c in zip(g["round"], g["area_id"], g["coverage"], strict=True)
        if c < params_min
    }
    truth = planted_gaps(truth_dir, ctx)
    s = _scores(reported, truth)
    return {
        **s,
        "gaps_true": sorted(f"{r}:{c}" for r, c in truth),
        "gaps_found": sorted(f"{r}:{c}" for r, c in reported),
        "match": reported == truth,
    }


def score_care(found: Analysis, truth_dir: Path, ctx: TopicContext) -> dict[str, Any] | None:
    """Residents on the chronic-care register in the case grids, found against the truth's
    (None: the city has no register, or the truth has no chronic conditions)."""
    path = truth_dir / "chronic_conditions.parquet"
    if not found.care_connected or not path.is_file():
        return None
    listed = pq.read_table(path).to_pandas()
    listed = listed.loc[listed["listed"].astype(bool)]
    persons = pq.read_table(truth_dir / "persons.parquet", columns=["person_id", "dwelling_id"])
    dwellings = pq.read_table(
        truth_dir / "dwellings.parquet", columns=["dwelling_id", "address_id"]
    )
    engine = ctx.engine
    addr = engine.to_pandas(
        engine.table("std", "standard_address").select("address_id", "grid_code")
    )
    homes = listed.merge(persons.to_pandas(), on="person_id").merge(
        dwellings.to_pandas(), on="dwelling_id"
    )
    homes = homes.merge(addr, on="address_id")
    grids = set(found.cases["grid_id"].dropna().astype(str))
    truth = set(homes.loc[homes["grid_code"].astype(str).isin(grids), "person_id"].astype(int))
    need = found.support
    keys = sorted(need.loc[need["condition"].notna(), "person_key"].astype(str).unique())
    mapped = person_of_key(records_of(ctx, keys), truth_dir) if keys else pd.Series()
    named: set[object] = {int(mapped[k]) if k in mapped.index else f"unmatched:{k}" for k in keys}
    return {**_scores(named, truth), "true": len(truth), "found": len(named)}


def records_of(ctx: TopicContext, keys: list[str]) -> pd.DataFrame:
    """(person_key, source_system, record_key) of every record of ``keys``."""
    keyed = keyed_inputs(
        lambda d: ctx.engine.table(*d.split(".", 1)), lambda d: ctx.engine.exists(*d.split(".", 1))
    )
    parts = [keyed.residents.select("person_key", "source_system", "record_key")]
    t = keyed.tests
    parts.append(t.select("person_key", "source_system", record_key=t.test_id.cast("string")))
    if keyed.arrivals is not None:
        a = keyed.arrivals
        parts.append(a.select("person_key", "source_system", record_key=a.record_id.cast("string")))
    if keyed.care is not None:
        c = keyed.care
        parts.append(c.select("person_key", "source_system", record_key=c.record_id.cast("string")))
    wanted = ctx.engine.register("epidemic_eval_keys", pa.table({"k": pa.array(keys, pa.string())}))
    frames = []
    for part in parts:
        frames.append(ctx.engine.to_pandas(part.semi_join(wanted, part.person_key == wanted.k)))
    return pd.concat(frames, ignore_index=True)


def evaluate_epidemic(
    topic: str, found: Analysis, truth_dir: Path, ctx: TopicContext, findings: int
) -> Evaluation:
    keys = sorted(found.contacts["person_key"].dropna().astype(str).unique().tolist())
    con = score_contacts(keys, records_of(ctx, keys), truth_dir)
    min_coverage = float(getattr(ctx.params, "min_coverage", 0.5))
    gaps = score_gaps(found, min_coverage, truth_dir, ctx)
    care = score_care(found, truth_dir, ctx)
    result = EpidemicEvaluation(
        topic=topic,
        contacts_recall=float(con["recall"]),
        contacts_precision=float(con["precision"]),
        screening_gap_f1=float(gaps["f1"]),
        screening_gaps_match=bool(gaps["match"]),
        precision=float(con["precision"]),
        recall=float(con["recall"]),
        f1=float(con["f1"]),
        threshold=ctx.params.threshold,
        support=int(con["contacts_true"]),
        flagged=int(con["contacts_found"]),
        extra={
            "contacts_f1": con["f1"],
            "contacts_true": con["contacts_true"],
            "contacts_found": con["contacts_found"],
            "contacts_unmatched": con["contacts_unmatched"],
            "contacts_recall_by_kind": con["recall_by_kind"],
            "cases_found": len(found.cases),
            "screening_gap_precision": gaps["precision"],
            "screening_gap_recall": gaps["recall"],
            "screening_gaps_true": gaps["gaps_true"],
            "screening_gaps_found": gaps["gaps_found"],
            "findings": findings,
            # None: no chronic-care register in this city (or no such truth)
            "care_recall": None if care is None else care["recall"],
            "care_precision": None if care is None else care["precision"],
            "care_true": None if care is None else care["true"],
            "care_found": None if care is None else care["found"],
        },
    )
    return save_evaluation(result, ctx)
