"""Probabilistic linkage with Splink: a model per entity kind, trained on the data itself.

No labels: the prior comes from deterministic rules (valid identifiers agree) — or, when none of
them finds a pair, from the configured default, never zero; u probabilities from random sampling
(seeded, so reruns agree); m probabilities from expectation maximisation over the training rules
that find pairs (a rule that finds none is skipped with a warning). Predictions above the
threshold become edges. Splink's own warnings reach citybrain's log at warning level.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pyarrow as pa
from splink import Linker, SettingsCreator
from splink.internals.exceptions import SplinkException

from citybrain.core.logging import get_logger
from citybrain.govern.resolve import blocking, comparisons
from citybrain.govern.resolve.model import Plan

log = get_logger("citybrain.govern.resolve")

EDGE_SCHEMA = pa.schema(
    [
        ("record_id_l", pa.string()),
        ("record_id_r", pa.string()),
        ("match_probability", pa.float64()),
    ]
)


class Untrainable(Exception):
    """The records gave the model nothing to learn from; the message says why (one line)."""


class _ToCitybrain(logging.Handler):
    """Splink's records, re-logged under ``citybrain.splink`` (so they reach our handlers)."""

    target = get_logger("citybrain.splink")

    def emit(self, record: logging.LogRecord) -> None:
        message = " ".join(record.getMessage().split())
        message = message.removeprefix("-- WARNING -- ").removeprefix("WARNING: ")
        self.target.log(record.levelno, message)


def route_splink_logs() -> None:
    """Splink's warnings (and worse) go to citybrain's log; its chatter below that does not."""
    splink = logging.getLogger("splink")
    splink.setLevel(logging.WARNING)
    splink.propagate = False
    if not any(isinstance(h, _ToCitybrain) for h in splink.handlers):
        for handler in list(splink.handlers):
            splink.removeHandler(handler)
        splink.addHandler(_ToCitybrain())


def settings(plan: Plan) -> SettingsCreator:
    extra: dict[str, Any] = {}
    if plan.dataset is not None:
        extra["source_dataset_column_name"] = plan.dataset
    return SettingsCreator(
        link_type=plan.config.link_type,
        unique_id_column_name="record_id",
        comparisons=[comparisons.build(plan.kind, c, plan.present) for c in plan.comparisons],
        blocking_rules_to_generate_predictions=[blocking.rule(r) for r in plan.blocking],
        probability_two_random_records_match=plan.config.default_prior,
        retain_matching_columns=False,
        retain_intermediate_calculation_columns=False,
        **extra,
    )


def train(db_api: Any, records: pa.Table, plan: Plan, *, seed: int = 42) -> Linker:
    """A Splink linker over ``records`` with m and u trained from the records themselves.

    Raises `Untrainable` when no training rule finds pairs to learn from.
    """
    route_splink_logs()
    frame = db_api.register(records)
    linker = Linker(frame, settings(plan), log_level=None)
    _estimate_prior(linker, records, plan)
    try:
        linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=seed)
    except (SplinkException, ArithmeticError, ValueError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise Untrainable(f"u probabilities could not be estimated ({first})") from exc
    trained = _expectation_maximisation(linker, records, plan, plan.training)
    if not trained and plan.fallback_training:
        log.warning(f"{plan.kind}: no training rule found pairs; trying the fallback rules")
        trained = _expectation_maximisation(linker, records, plan, plan.fallback_training)
    if not trained:
        tried = ", ".join(blocking.describe(r) for r in (*plan.training, *plan.fallback_training))
        raise Untrainable(f"no training rule found record pairs to learn from ({tried})")
    return linker


def _expectation_maximisation(
    linker: Linker, records: pa.Table, plan: Plan, rules: tuple[tuple[str, ...], ...]
) -> list[str]:
    """An EM session per rule that finds pairs; the rules trained on."""
    trained = []
    for rule in rules:
        if blocking.pair_count(records, rule, plan.dataset) == 0:
            log.warning(f"{plan.kind}: training rule {blocking.describe(rule)} skipped: no pairs")
            continue
        try:
            linker.training.estimate_parameters_using_expectation_maximisation(
                blocking.rule(rule), record_sample_proportion=1.0
            )
        except (SplinkException, ArithmeticError, ValueError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            log.warning(f"{plan.kind}: training rule {blocking.describe(rule)} skipped: {first}")
            continue
        trained.append(blocking.describe(rule))
    return trained


def _estimate_prior(linker: Linker, records: pa.Table, plan: Plan) -> None:
    """The prior from the prior rules that find pairs; the configured default otherwise."""
    firing = [r for r in plan.prior_rules if blocking.pair_count(records, r, plan.dataset) > 0]
    default = plan.config.default_prior
    if not firing:
        tried = ", ".join(blocking.describe(r) for r in plan.prior_rules) or "none configured"
        log.warning(f"{plan.kind}: no prior rule finds a pair ({tried}); prior set to {default:g}")
        return
    try:
        linker.training.estimate_probability_two_random_records_match(
            [blocking.rule(r) for r in firing], recall=plan.config.prior_recall
        )
    except (SplinkException, ArithmeticError, ValueError) as exc:
        first = str(exc).splitlines()[0]
        log.warning(f"{plan.kind}: prior not estimated ({first}); prior set to {default:g}")


def load(db_api: Any, records: pa.Table, plan: Plan, model_json: str) -> Linker:
    """A linker over ``records`` with the trained parameters of a saved model.

    Saved SQL is in the training engine's dialect, so the comparisons are rebuilt from ``plan``
    for this engine and only the trained numbers are taken over: a model trained on DuckDB
    scores on Spark and the other way round.
    """
    route_splink_logs()
    frame = db_api.register(records)
    return Linker(frame, settings_for(db_api, plan, model_json), log_level=None)


class ModelMismatch(Exception):
    """A saved model whose comparisons are not the ones the configuration now builds."""


def settings_for(db_api: Any, plan: Plan, model_json: str) -> dict[str, Any]:
    saved = json.loads(model_json)
    names = [c.get("output_column_name") for c in saved["comparisons"]]
    wanted = [c for c in plan.config.comparisons if c.field in _names_to_fields(names)]
    plan = Plan(**{**plan.__dict__, "comparisons": tuple(wanted)})
    built = settings(plan).create_settings_dict(db_api.sql_dialect.sql_dialect_str)
    if [c.get("output_column_name") for c in built["comparisons"]] != names:
        raise ModelMismatch(f"the saved {plan.kind} model compares {', '.join(map(str, names))}")
    built["probability_two_random_records_match"] = saved["probability_two_random_records_match"]
    for comparison, trained in zip(built["comparisons"], saved["comparisons"], strict=True):
        levels = comparison["comparison_levels"]
        if len(levels) != len(trained["comparison_levels"]):
            name = trained["output_column_name"]
            raise ModelMismatch(f"the saved {plan.kind} model's {name} has other levels")
        for level, trained_level in zip(levels, trained["comparison_levels"], strict=True):
            for key in ("m_probability", "u_probability"):
                if key in trained_level:
                    level[key] = trained_level[key]
    return built


def _names_to_fields(names: list[Any]) -> set[str]:
    """Comparison output names -> the fields they compare (birth dates are output as ``dob``)."""
    return {"birth_date" if n == "dob" else str(n) for n in names}


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
