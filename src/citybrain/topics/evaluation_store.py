"""The latest evaluation of each topic, kept beside its findings so the web app can show it.

Evaluation needs ground truth, which only a synthetic city (or a labelled pilot) has, so it is
run by hand (``citybrain topic evaluate``) and its result stored here: one JSON file per topic
under the topic zone, replaced atomically, with when and against which model it was measured.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError

from citybrain.core.errors import UserError
from citybrain.core.workspace import Workspace
from citybrain.topics.base import Evaluation

FOLDER = "_evaluations"


def _path(workspace: Workspace, topic: str) -> Path:
    return workspace.zone("topic") / FOLDER / f"{topic}.json"


def save_evaluation(
    workspace: Workspace, evaluation: Evaluation, *, model_version: str, run_id: str
) -> Path:
    """Store ``evaluation`` as the topic's latest; a reader never sees a half-written file."""
    path = _path(workspace, evaluation.topic)
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {
        **evaluation.model_dump(),
        "extra": {
            **evaluation.extra,
            "evaluated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "model_version": model_version,
            "run_id": run_id,
        },
    }
    aside = path.with_suffix(f".{os.getpid()}.tmp")
    aside.write_text(json.dumps(record, ensure_ascii=False, indent=1), encoding="utf-8")
    aside.replace(path)
    return path


def load_evaluation(workspace: Workspace, topic: str) -> Evaluation | None:
    """The topic's latest stored evaluation, or None when it has never been evaluated."""
    path = _path(workspace, topic)
    if not path.is_file():
        return None
    try:
        return Evaluation.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, ValidationError) as exc:
        raise UserError(f"{path}: unreadable evaluation ({exc.__class__.__name__})") from exc
