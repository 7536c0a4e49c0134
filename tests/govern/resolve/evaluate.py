"""Pairwise precision and recall of a resolution against the synthetic city's truth (tests only)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa


def truth_entities(sim: Path, kind: str, links: pa.Table) -> pd.DataFrame:
    """record_id, true entity_id for the records the truth knows."""
    truth = pd.read_parquet(sim / "truth" / f"links_{kind}.parquet")
    records = links.select(["record_id", "source_system", "source_key", "load_id"]).to_pandas()
    # Parcel statistics ids are unique within a month's file only.
    records["month"] = records["load_id"].str.extract(r"(\d{4}-\d{2})$")[0]
    monthly = truth["system"] == "parcel_express"
    plain = records.merge(
        truth[~monthly][["system", "key", "entity_id"]],
        left_on=["source_system", "source_key"],
        right_on=["system", "key"],
    )
    by_month = records.merge(
        truth[monthly].rename(columns={"table": "month"})[["system", "key", "month", "entity_id"]],
        left_on=["source_system", "source_key", "month"],
        right_on=["system", "key", "month"],
    )
    return pd.concat([plain, by_month])[["record_id", "entity_id"]].drop_duplicates("record_id")


def _pairs(frame: pd.DataFrame, column: str) -> set[tuple[str, str]]:
    out: set[tuple[str, str]] = set()
    for members in frame.groupby(column)["record_id"].apply(sorted):
        out.update((a, b) for i, a in enumerate(members) for b in members[i + 1 :])
    return out


def pairwise(sim: Path, kind: str, links: pa.Table, golden: str) -> dict[str, float]:
    truth = truth_entities(sim, kind, links)
    found = truth.merge(links.select(["record_id", golden]).to_pandas(), on="record_id")
    predicted, actual = _pairs(found, golden), _pairs(found, "entity_id")
    hits = len(predicted & actual)
    return {
        "precision": hits / len(predicted) if predicted else 1.0,
        "recall": hits / len(actual) if actual else 1.0,
        "predicted_pairs": len(predicted),
        "true_pairs": len(actual),
        "records_in_truth": len(found),
    }


#: records matched to their true entity as `truth_entities` does (parcel ids by month), in SQL
_MATCHED_SQL = """
WITH records AS (
    SELECT record_id, source_system, source_key, "{golden}" AS golden,
           coalesce(m.month, regexp_extract(l.load_id, '(\\d{{4}}-\\d{{2}})$', 1)) AS month
    FROM links AS l LEFT JOIN load_months AS m USING (load_id)
), matched AS (
    SELECT r.record_id, r.golden, t.entity_id
    FROM records AS r JOIN read_parquet('{truth}') AS t
      ON r.source_system = t.system AND r.source_key = t.key
     AND (t.system <> 'parcel_express' OR r.month = t."table")
)
SELECT record_id, any_value(golden) AS golden, any_value(entity_id) AS entity_id
FROM matched GROUP BY record_id
"""


def load_months(raw: Path, system: str = "parcel_express") -> pa.Table:
    """(load_id, month) of a workspace's loads of ``system``, from the month in each load's
    source file name (``express_2023-01.parquet``): a workspace's load ids do not name it."""
    ids, months = [], []
    for manifest in sorted((raw / system).glob("load_id=*/_manifest.json")):
        facts = json.loads(manifest.read_text(encoding="utf-8"))
        found = re.search(r"(\d{4}-\d{2})", Path(str(facts.get("source_file") or "")).name)
        if found:
            ids.append(facts["load_id"])
            months.append(found.group(1))
    return pa.table({"load_id": pa.array(ids, pa.string()), "month": pa.array(months, pa.string())})


def pairwise_by_counts(
    sim: Path,
    kind: str,
    links: pa.Table | str,
    golden: str,
    months: pa.Table | None = None,
    memory_limit: str = "4GB",
) -> dict[str, float]:
    """`pairwise` without listing the pairs: counted per cluster, per true entity and per
    (cluster, entity) cell, in DuckDB — so a city's 47 M person records can be scored.
    ``links``: a table, or a Parquet glob of the stored links; ``months``: `load_months` of a
    workspace (else a parcel's month is read from the end of its load id, as in the tests).
    DuckDB spills past ``memory_limit``: scoring beside a running pipeline must not starve it."""
    con = duckdb.connect()
    con.execute(f"SET memory_limit = '{memory_limit}'")
    con.execute("SET enable_progress_bar = false")  # a script's output is the scores alone
    none = pa.table({"load_id": pa.array([], pa.string()), "month": pa.array([], pa.string())})
    con.register("load_months", none if months is None else months)
    con.execute("SET preserve_insertion_order = false")
    if isinstance(links, str):
        con.execute(f"CREATE VIEW links AS SELECT * FROM read_parquet('{links}')")
    else:
        con.register("links", links)
    truth = sim / "truth" / f"links_{kind}.parquet"
    con.execute(f"CREATE TEMP TABLE found AS {_MATCHED_SQL.format(golden=golden, truth=truth)}")

    def pairs(*by: str) -> int:
        keys = ", ".join(by)
        sql = f"SELECT sum(n * (n - 1) // 2) FROM (SELECT count(*) AS n FROM found GROUP BY {keys})"
        return int(con.execute(sql).fetchone()[0] or 0)  # type: ignore[index]

    predicted, actual, hits = pairs("golden"), pairs("entity_id"), pairs("golden", "entity_id")
    records = int(con.execute("SELECT count(*) FROM found").fetchone()[0])  # type: ignore[index]
    return {
        "precision": hits / predicted if predicted else 1.0,
        "recall": hits / actual if actual else 1.0,
        "predicted_pairs": predicted,
        "true_pairs": actual,
        "records_in_truth": records,
    }


def _pairs_within(sizes: pd.Series) -> int:
    return int((sizes * (sizes - 1) // 2).sum())


def missed_by_cause(sim: Path, links: pa.Table, golden: str) -> dict[str, int]:
    """Missed person pairs, and how many of them touch a part that carries nothing to decide by.

    A part of a person (records in one cluster) that has no ID number and no mobile — a landlord's
    old meter accounts with no contact on file, a screening contact — and whose every name is
    carried by the identified records of two or more true persons cannot be attached without
    guessing: its pairs with the rest of its person are ``missed_name_only_ambiguous``. ``links``
    needs ``name_norm``, ``id_valid`` and ``phone_norm``.
    """
    truth = truth_entities(sim, "person", links)
    columns = ["record_id", golden, "name_norm", "id_valid", "phone_norm"]
    f = truth.merge(links.select(columns).to_pandas(), on="record_id")
    f["identified"] = f["id_valid"].notna() | f["phone_norm"].notna()
    carriers = (
        f[f["identified"]].dropna(subset=["name_norm"]).groupby("name_norm")["entity_id"].nunique()
    )
    f["ambiguous_name"] = f["name_norm"].map(carriers).fillna(0) >= 2
    parts = f.groupby(["entity_id", golden]).agg(
        n=("record_id", "size"), identified=("identified", "any"), names=("name_norm", "count"),
        ambiguous=("ambiguous_name", "all"),
    )  # fmt: skip
    parts["stuck"] = ~parts["identified"] & (parts["names"] > 0) & parts["ambiguous"]
    sizes = parts["n"].groupby(level="entity_id").sum()
    missed = _pairs_within(sizes) - _pairs_within(parts["n"])
    free = parts[~parts["stuck"]]["n"]
    free_sizes = free.groupby(level="entity_id").sum()
    missed_free = _pairs_within(free_sizes) - _pairs_within(free)
    return {
        "missed_pairs": missed,
        "missed_name_only_ambiguous": missed - missed_free,
        "true_pairs": _pairs_within(sizes),
    }
