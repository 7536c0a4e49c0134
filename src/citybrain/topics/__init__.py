"""Topics (专题): plugins that find problems and explain every finding.

This module is the public API a topic plugin uses — built-in topics use nothing else.
"""

from citybrain.topics.base import (
    Evaluation,
    InputSpec,
    KeptState,
    LegendEntry,
    MapLayer,
    OverviewTile,
    PagePanel,
    PeriodSpec,
    Topic,
    TopicContext,
    TopicParams,
)
from citybrain.topics.errors import NotEnoughData
from citybrain.topics.evaluation import (
    binary_scores,
    evaluation_folder,
    pr_curve,
    precision_at_k,
    save_evaluation,
)
from citybrain.topics.findings import (
    FINDINGS_SCHEMA,
    LEVEL_ZH,
    REASON_TYPE,
    FindingsError,
    Level,
    Signal,
    build_reasons,
    findings_table,
    join_text,
    levels_from_scores,
    one_reason_per_row,
    validate_findings,
)
from citybrain.topics.registry import ENTRY_POINT_GROUP, discover_topics, get_topic

__all__ = [
    "ENTRY_POINT_GROUP",
    "FINDINGS_SCHEMA",
    "LEVEL_ZH",
    "REASON_TYPE",
    "Evaluation",
    "FindingsError",
    "InputSpec",
    "KeptState",
    "LegendEntry",
    "Level",
    "MapLayer",
    "NotEnoughData",
    "OverviewTile",
    "PagePanel",
    "PeriodSpec",
    "Signal",
    "Topic",
    "TopicContext",
    "TopicParams",
    "binary_scores",
    "build_reasons",
    "discover_topics",
    "evaluation_folder",
    "findings_table",
    "get_topic",
    "join_text",
    "levels_from_scores",
    "one_reason_per_row",
    "pr_curve",
    "precision_at_k",
    "save_evaluation",
    "validate_findings",
]
