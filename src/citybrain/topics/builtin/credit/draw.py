"""双随机、一公开: random inspection targets and random inspectors, weighted by credit grade.

Each enterprise of the newest credit run is drawn with its grade's rate (A rarely, D often —
"放管结合"); each target gets ``per_target`` distinct inspectors drawn from the list. Everything
comes from one NumPy generator seeded with ``seed`` over the enterprises sorted by USCC, so the
same seed, rates, inspectors and scores give the same plan; the plan's SHA-256 is logged with
them so a draw can be redone and checked later.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from citybrain.core.engine import Engine
from citybrain.core.errors import UserError
from citybrain.topics.builtin.credit.topic import SCORES_TABLE

DEFAULT_RATES = {"A": 0.03, "B": 0.08, "C": 0.2, "D": 0.5}
PLAN_COLUMNS = ("uscc", "name", "grade", "street_id", "inspectors")


@dataclass(frozen=True)
class Draw:
    seed: int
    scores_run_id: str
    rates: dict[str, float]
    inspectors: list[str]
    per_target: int
    plan: pa.Table  # PLAN_COLUMNS, inspectors joined with "、"
    population: dict[str, int]  # enterprises per grade

    @property
    def sha256(self) -> str:
        return plan_sha256(self.plan)

    def rows(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = self.plan.to_pylist()
        return rows


def plan_sha256(plan: pa.Table) -> str:
    text = json.dumps(plan.select(list(PLAN_COLUMNS)).to_pylist(), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


#: the workspace's inspector roster (执法检查人员名录), one name a line
ROSTER_FILE = "credit_inspectors.txt"


def default_inspectors(root: Path, last_drawn: list[str] | None) -> list[str]:
    """The roster a draw uses when none is given: the workspace's ``credit_inspectors.txt``,
    else the roster of the newest logged draw (the list in use), else one clear line."""
    path = root / ROSTER_FILE
    if path.is_file():
        names = read_inspectors(path.read_text("utf-8").splitlines())
        if not names:
            raise UserError(f"{path}: the inspector roster names nobody (one name a line)")
        return names
    if last_drawn:
        return list(last_drawn)
    raise UserError(
        f"no inspector roster: write one name a line to {path} (or pass --inspectors FILE once;"
        " later draws reuse the logged roster)"
    )


def read_inspectors(lines: list[str]) -> list[str]:
    """Inspector names, one a line (blank lines and ``#`` comments skipped), each once."""
    names = [s.strip() for s in lines if s.strip() and not s.strip().startswith("#")]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise UserError(f"inspector list names {', '.join(duplicated)} more than once")
    return names


def newest_scores(engine: Engine, run_id: str | None = None) -> tuple[pa.Table, str]:
    """The grades of the newest credit run (or of ``run_id``), sorted by USCC."""
    if not engine.exists("topic", SCORES_TABLE):
        raise UserError(
            "no credit grades yet: run the credit topic first (citybrain topic run credit)"
        )
    table = engine.table("topic", SCORES_TABLE)
    if run_id is None:
        run_id = str(engine.to_arrow(table.aggregate(r=table.run_id.max()))["r"][0].as_py())
    chosen = table.filter(table.run_id == run_id).select("uscc", "name", "grade", "street_id")
    scores = engine.to_arrow(chosen).sort_by("uscc")
    if scores.num_rows == 0:
        raise UserError(f"credit run {run_id} holds no grades")
    return scores, run_id


def draw(
    scores: pa.Table,
    run_id: str,
    seed: int,
    inspectors: list[str],
    *,
    rates: dict[str, float] | None = None,
    per_target: int = 2,
) -> Draw:
    rates = dict(DEFAULT_RATES if rates is None else rates)
    bad = {g: r for g, r in rates.items() if not 0.0 <= r <= 1.0}
    if bad:
        raise UserError(f"inspection rates must lie in 0–1: {bad}")
    if len(inspectors) < per_target:
        raise UserError(
            f"{len(inspectors)} inspector(s) on the list; each inspection needs {per_target}"
        )
    grades = np.asarray(scores["grade"].to_numpy(zero_copy_only=False), dtype=str)
    unknown = sorted(set(grades) - set(rates))
    if unknown:
        raise UserError(f"no inspection rate for grade(s) {', '.join(unknown)}")
    rng = np.random.default_rng(seed)
    present, index = np.unique(grades, return_inverse=True)
    rate = np.array([rates[g] for g in present], dtype=np.float64)[index]
    chosen = rng.random(len(grades)) < rate
    k = int(chosen.sum())
    # per target, the first per_target of a random permutation of the inspectors
    picks = np.argsort(rng.random((k, len(inspectors))), axis=1)[:, :per_target]
    roster = pa.array(inspectors, pa.string())
    columns = [roster.take(pa.array(picks[:, j])) for j in range(per_target)]
    joined = pc.binary_join_element_wise(*columns, "、") if k else pa.array([], pa.string())
    plan = scores.filter(pa.array(chosen)).select(["uscc", "name", "grade", "street_id"])
    plan = plan.append_column("inspectors", joined)
    counts = np.bincount(index, minlength=len(present))
    return Draw(
        seed,
        run_id,
        rates,
        list(inspectors),
        per_target,
        plan,
        {str(g): int(c) for g, c in zip(present, counts, strict=True)},
    )


def selected_by_grade(plan: pa.Table) -> dict[str, int]:
    counts = pc.value_counts(plan["grade"]).to_pylist() if plan.num_rows else []
    return {str(item["values"]): int(item["counts"]) for item in counts}
