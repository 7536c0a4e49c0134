"""Data quality (数据质量): per source and field — completeness, validity, uniqueness, consistency
across sources, timeliness — a 0–100 score per source, its trend across loads, and alerts.

The public surface (the CLI, the API and the web app all render the same objects)::

    report = quality_report(workspace)                 # QualityReport
    report.rows(), report.alert_rows(), report.to_dict()
    report.source("water_utility").score
    quality_report(workspace, record=True)             # also store scores and alerts (ops DB)
    score_history(url, "water_utility"), recent_alerts(url)
"""

from citybrain.govern.quality.assess import assess
from citybrain.govern.quality.model import (
    WEIGHTS,
    Alert,
    Consistency,
    FieldQuality,
    LoadScore,
    QualityReport,
    SourceQuality,
)
from citybrain.govern.quality.store import ScorePoint, recent_alerts, record, score_history
from citybrain.govern.quality.workspace import quality_report

__all__ = [
    "WEIGHTS",
    "Alert",
    "Consistency",
    "FieldQuality",
    "LoadScore",
    "QualityReport",
    "ScorePoint",
    "SourceQuality",
    "assess",
    "quality_report",
    "recent_alerts",
    "record",
    "score_history",
]
