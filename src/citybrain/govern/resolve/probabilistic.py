"""Probabilistic linkage with Splink: a model per entity kind, trained on the data itself.

No labels: the prior comes from deterministic rules (valid identifiers agree), u probabilities
from random sampling (seeded, so reruns agree), m probabilities from expectation maximisation
over a few blocking rules. Predictions above the threshold become edges.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from splink import Linker, SettingsCreator

from citybrain.govern.resolve import blocking, comparisons

EDGE_SCHEMA = pa.schema(
    [
        ("record_id_l", pa.string()),
        ("record_id_r", pa.string()),
        ("match_probability", pa.float64()),
    ]
)


@dataclass(frozen=True)
class ModelSpec:
    """What one entity kind's Splink model is made of; plain data, no engine."""

    kind: str
    comparisons: Callable[[], list[Any]]
    prediction_rules: Callable[[], list[Any]]
    training_rules: Callable[[], list[Any]]
    deterministic_rules: Callable[[], list[Any]]
    #: share of true matches the deterministic rules are believed to find
    deterministic_recall: float
    #: pairs at or above this match probability are the same entity
    threshold: float

    def settings(self) -> SettingsCreator:
        return SettingsCreator(
            link_type="dedupe_only",
            unique_id_column_name="record_id",
            comparisons=self.comparisons(),
            blocking_rules_to_generate_predictions=self.prediction_rules(),
            retain_matching_columns=False,
            retain_intermediate_calculation_columns=False,
        )


PERSON_MODEL = ModelSpec(
    kind="person",
    comparisons=comparisons.person_comparisons,
    prediction_rules=blocking.person_prediction_rules,
    training_rules=blocking.person_training_rules,
    deterministic_rules=blocking.person_deterministic_rules,
    deterministic_recall=0.1,
    threshold=0.99,
)

ENTERPRISE_MODEL = ModelSpec(
    kind="enterprise",
    comparisons=comparisons.enterprise_comparisons,
    prediction_rules=blocking.enterprise_prediction_rules,
    training_rules=blocking.enterprise_training_rules,
    deterministic_rules=blocking.enterprise_deterministic_rules,
    deterministic_recall=0.8,
    threshold=0.99,
)

MODELS = {"person": PERSON_MODEL, "enterprise": ENTERPRISE_MODEL}


def _quiet() -> None:
    logging.getLogger("splink").setLevel(logging.ERROR)


def train(db_api: Any, records: pa.Table, spec: ModelSpec, *, seed: int = 42) -> Linker:
    """A Splink linker over ``records`` with m and u trained from the records themselves."""
    _quiet()
    frame = db_api.register(records)
    linker = Linker(frame, spec.settings(), log_level=logging.ERROR)
    linker.training.estimate_probability_two_random_records_match(
        spec.deterministic_rules(), recall=spec.deterministic_recall
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=seed)
    for rule in spec.training_rules():
        linker.training.estimate_parameters_using_expectation_maximisation(
            rule, record_sample_proportion=1.0
        )
    return linker


def load(db_api: Any, records: pa.Table, spec: ModelSpec, model_json: str) -> Linker:
    """A linker over ``records`` with the trained parameters of a saved model.

    Saved SQL is in the training engine's dialect, so the comparisons are rebuilt from ``spec``
    for this engine and only the trained numbers are taken over: a model trained on DuckDB
    scores on Spark and the other way round.
    """
    _quiet()
    frame = db_api.register(records)
    return Linker(frame, settings_for(db_api, spec, model_json), log_level=logging.ERROR)


def settings_for(db_api: Any, spec: ModelSpec, model_json: str) -> dict[str, Any]:
    saved = json.loads(model_json)
    settings = spec.settings().create_settings_dict(db_api.sql_dialect.sql_dialect_str)
    settings["probability_two_random_records_match"] = saved["probability_two_random_records_match"]
    for comparison, trained in zip(settings["comparisons"], saved["comparisons"], strict=True):
        levels = comparison["comparison_levels"]
        for level, trained_level in zip(levels, trained["comparison_levels"], strict=True):
            for key in ("m_probability", "u_probability"):
                if key in trained_level:
                    level[key] = trained_level[key]
    return settings


def model_json(linker: Linker) -> str:
    return json.dumps(linker.misc.save_model_to_json(), ensure_ascii=False, sort_keys=True)


def predict_edges(linker: Linker, threshold: float) -> pa.Table:
    """Pairs at or above ``threshold``, as (record_id_l, record_id_r, match_probability)."""
    scored = linker.inference.predict(threshold_match_probability=threshold)
    return _edges(scored)


def predict_new_edges(linker: Linker, existing: Any, new: Any, threshold: float) -> pa.Table:
    """Pairs between new and existing records, and among the new ones, at or above threshold."""
    between = linker.inference.predict_between(existing, new, threshold_match_probability=threshold)
    within = linker.inference.predict_within(new, threshold_match_probability=threshold)
    return pa.concat_tables([_edges(between), _edges(within)])


def _edges(scored: Any) -> pa.Table:
    table = scored.as_pyarrow_table()
    table = table.select(["record_id_l", "record_id_r", "match_probability"])
    out = table.rename_columns(list(EDGE_SCHEMA.names)).cast(EDGE_SCHEMA)
    scored.drop_table_from_database_and_remove_from_cache()
    return out
