"""Opening cases from findings, in bulk.

Findings at or above their topic's threshold open cases. A subject and topic never has two open
cases: findings for a subject whose case is open attach to it as evidence. The work is done on
whole columns — threshold, location, routing, dedup by key — and the database sees one query per
500 keys and one bulk insert per table, never a round trip per finding.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Engine as SqlEngine
from sqlalchemy import Table, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from citybrain.cases.areas import AreaIndex, fill_locations
from citybrain.cases.opsdb_models import Case, CaseEvent, CaseEvidence, DepartmentWebhook
from citybrain.cases.routing import route_table
from citybrain.cases.settings import CaseSettings
from citybrain.cases.states import Action, Status
from citybrain.cases.webhooks import enqueue_notification
from citybrain.core.errors import UserError
from citybrain.core.opsdb import session, utcnow
from citybrain.topics import LEVEL_ZH, Level, validate_findings
from citybrain.topics.registry import installed_topic

CHUNK = 500
SYSTEM_ACTOR = "system"
T = TypeVar("T")


@dataclass(frozen=True)
class OpenResult:
    opened: list[int] = field(default_factory=list)  # ids of the new cases
    attached_to: list[int] = field(default_factory=list)  # open cases that got new evidence
    evidence: int = 0  # evidence rows written
    below_threshold: int = 0
    dispatched: int = 0
    unrouted: int = 0


def _chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _core(model: type[Any]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


def open_key_column(findings: pa.Table) -> pa.Array:
    """``topic|subject_type|subject_id``: the identity of an open case."""
    return pc.binary_join_element_wise(
        findings.column("topic"),
        findings.column("subject_type"),
        findings.column("subject_id"),
        "|",
    )


def above_threshold(findings: pa.Table, settings: CaseSettings) -> pa.Table:
    topics = pc.unique(findings.column("topic"))
    limits = pa.array([settings.threshold_for(t) for t in topics.to_pylist()], pa.float64())
    per_row = limits.take(pc.index_in(findings.column("topic"), value_set=topics))
    return findings.filter(pc.greater_equal(findings.column("score"), per_row))


def _first_reason_text(findings: pa.Table) -> pa.Array:
    reasons = findings.column("reasons")
    has = pc.greater(pc.fill_null(pc.list_value_length(reasons), 0), 0)
    first = pc.list_element(pc.if_else(has, reasons, pa.scalar(None, reasons.type)), 0)
    return pc.fill_null(pc.struct_field(first, "text_zh"), "")


def _heads(findings: pa.Table) -> pa.Table:
    """One finding per open key: the highest score (then the latest period)."""
    ordered = findings.sort_by(
        [("open_key", "ascending"), ("score", "descending"), ("period", "descending")]
    )
    keys = ordered.column("open_key").combine_chunks()
    if len(keys) == 0:
        return ordered
    first = pa.concat_arrays(
        [pa.array([True]), pc.not_equal(keys.slice(1), keys.slice(0, len(keys) - 1))]
    )
    return ordered.filter(first)


def _open_cases_by_key(db: Session, keys: Sequence[str]) -> dict[str, tuple[int, str]]:
    """``{open_key: (case id, status)}`` of the open cases among ``keys``."""
    found: dict[str, tuple[int, str]] = {}
    for part in _chunks(keys):
        rows = db.execute(
            select(Case.open_key, Case.id, Case.status).where(Case.open_key.in_(part))
        )
        found.update({key: (case_id, status) for key, case_id, status in rows if key})
    return found


def _existing_evidence(db: Session, case_ids: Sequence[int]) -> set[tuple[int, str, str]]:
    seen: set[tuple[int, str, str]] = set()
    for part in _chunks(case_ids):
        rows = db.execute(
            select(CaseEvidence.case_id, CaseEvidence.period, CaseEvidence.model_version).where(
                CaseEvidence.case_id.in_(part)
            )
        )
        seen.update((int(a), str(b), str(c)) for a, b, c in rows)
    return seen


def _case_rows(
    heads: pa.Table, settings: CaseSettings, now: datetime
) -> tuple[list[dict[str, Any]], list[bool]]:
    columns = {name: heads.column(name).to_pylist() for name in heads.column_names}
    titles = _first_reason_text(heads).to_pylist()
    due_by: dict[tuple[str, str], datetime] = {}
    rows: list[dict[str, Any]] = []
    dispatched: list[bool] = []
    for i in range(heads.num_rows):
        topic, level, department = (
            columns["topic"][i],
            columns["level"][i],
            columns["department"][i],
        )
        send = settings.auto_dispatch and department is not None
        if send and (topic, level) not in due_by:
            due_by[(topic, level)] = settings.sla.due(topic, level, now)
        rows.append(
            {
                "topic": topic,
                "subject_type": columns["subject_type"][i],
                "subject_id": columns["subject_id"][i],
                "period": columns["period"][i],
                "source": "finding",
                "title": f"{columns['subject_id'][i]}：{titles[i]}" if titles[i] else "",
                "level": level,
                "score": columns["score"][i],
                "lon": columns["lon"][i],
                "lat": columns["lat"][i],
                "grid_id": columns["grid_id"][i],
                "community_id": columns["community_id"][i],
                "street_id": columns["street_id"][i],
                "status": Status.dispatched.value if send else Status.new.value,
                "department": department,
                "co_departments": columns["co_departments"][i] or [],
                "routing_rule": columns["routing_rule"][i],
                "sla_due_at": due_by[(topic, level)] if send else None,
                "dispatched_at": now if send else None,
                "open_key": columns["open_key"][i],
                "version": 1,
                "created_at": now,
                "updated_at": now,
            }
        )
        dispatched.append(send)
    return rows, dispatched


@functools.cache
def _topic_title(topic: str) -> str | None:
    """An installed topic's display name (群租房), read once per process from its own entry point;
    None if it is not installed or a plugin is broken."""
    try:
        found = installed_topic(topic)
    except UserError:
        return None
    return found.title_zh if found is not None else None


def _topic_words(topic: str) -> str:
    """``群租房（group_rental）``: the topic's name in words with its key beside (the key alone only
    for a topic that is not installed)."""
    title = _topic_title(topic)
    return f"{title}（{topic}）" if title else topic


def _insert_cases(
    db: Session, heads: pa.Table, settings: CaseSettings, now: datetime, actor: str
) -> tuple[dict[str, int], int]:
    rows, dispatched = _case_rows(heads, settings, now)
    if not rows:
        return {}, 0
    # Core inserts (executemany, batched RETURNING), not ORM unit-of-work rows: one statement
    # per batch instead of one per case.
    table = _core(Case)
    result = db.execute(table.insert().returning(table.c.open_key, table.c.id), rows).all()
    ids = {str(key): int(case_id) for key, case_id in result}
    events: list[dict[str, Any]] = []
    for row, send in zip(rows, dispatched, strict=True):
        case_id = ids[row["open_key"]]
        reason = f"专题发现：{_topic_words(row['topic'])} score {row['score']:.2f}"
        events.append(_event(case_id, Action.create, actor, now, None, Status.new, reason))
        if send:
            details = {"department": row["department"], "rule": row["routing_rule"]}
            events.append(
                _event(case_id, Action.dispatch, actor, now, Status.new, Status.dispatched,
                       "按路由规则自动派发 (dispatched by routing rule)", details)
            )  # fmt: skip
    db.execute(_core(CaseEvent).insert(), events)
    return ids, sum(dispatched)


def _event(
    case_id: int,
    action: Action,
    actor: str,
    now: datetime,
    from_status: Status | None,
    to_status: Status,
    comment: str,
    details: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "case_id": case_id,
        "action": action.value,
        "actor": actor,
        "at": now,
        "from_status": from_status.value if from_status else None,
        "to_status": to_status.value,
        "comment": comment,
        "attachments": [],
        "details": details or {},
    }


def _json_reasons(reasons: pa.ChunkedArray) -> pa.ChunkedArray:
    """``reasons`` with NaN numbers as nulls: JSON has no NaN, and PostgreSQL's JSON refuses it
    (SQLite took it), so a topic's "no figure" must reach the case as null. Findings without
    reasons get an empty list, as the evidence row stores them anyway."""

    def clean(chunk: pa.ListArray) -> pa.ListArray:
        items = chunk.values
        if not pa.types.is_struct(items.type):
            return chunk
        fields = []
        for i in range(items.type.num_fields):
            field = items.field(i)
            if pa.types.is_floating(field.type):
                field = pc.if_else(pc.is_nan(field), pa.scalar(None, field.type), field)
            fields.append(field)
        values = pa.StructArray.from_arrays(
            fields, fields=list(items.type), mask=pc.invert(items.is_valid())
        )
        # a finding without reasons becomes an empty list: the case's evidence stores [] for it
        return pa.ListArray.from_arrays(chunk.offsets, values)

    return pa.chunked_array([clean(c) for c in reasons.chunks], reasons.type)


def _insert_evidence(
    db: Session,
    kept: pa.Table,
    ids: Mapping[str, int],
    existing_cases: Sequence[int],
    now: datetime,
) -> tuple[int, dict[int, int]]:
    seen = _existing_evidence(db, existing_cases)
    ordered = kept.sort_by([("score", "descending")])
    ordered = ordered.set_column(
        ordered.schema.get_field_index("reasons"), "reasons", _json_reasons(ordered["reasons"])
    )
    columns = {
        name: ordered.column(name).to_pylist()
        for name in ("open_key", "topic", "subject_id", "period", "score", "level",
                     "model_version", "reasons")
    }  # fmt: skip
    rows: list[dict[str, Any]] = []
    per_case: dict[int, int] = {}
    for i in range(ordered.num_rows):
        case_id = ids[columns["open_key"][i]]
        identity = (case_id, columns["period"][i], columns["model_version"][i])
        if identity in seen:
            continue
        seen.add(identity)
        per_case[case_id] = per_case.get(case_id, 0) + 1
        rows.append(
            {
                "case_id": case_id,
                "topic": columns["topic"][i],
                "subject_id": columns["subject_id"][i],
                "period": columns["period"][i],
                "score": columns["score"][i],
                "level": columns["level"][i],
                "model_version": columns["model_version"][i],
                "reasons": columns["reasons"][i] or [],
                "attached_at": now,
            }
        )
    if rows:
        db.execute(_core(CaseEvidence).insert(), rows)
    return len(rows), per_case


def dry_run(
    findings: pa.Table,
    *,
    settings: CaseSettings | None = None,
    areas: AreaIndex | None = None,
    hints: Mapping[str, str | None] | None = None,
    area_names: Mapping[str, str] | None = None,
) -> pa.Table:
    """Where each finding above threshold would go, and why; nothing is written.

    The findings come back located and with ``department``, ``co_departments``,
    ``routing_rule``, ``matched_on`` and ``route_reason_zh`` / ``route_reason_en`` added.
    """
    config = settings or CaseSettings()
    kept = above_threshold(validate_findings(findings).combine_chunks(), config)
    return route_table(config.routing, fill_locations(kept, areas), hints, area_names)


def open_cases(
    ops_engine: SqlEngine,
    findings: pa.Table,
    *,
    settings: CaseSettings | None = None,
    areas: AreaIndex | None = None,
    hints: Mapping[str, str | None] | None = None,
    area_names: Mapping[str, str] | None = None,
    clock: Callable[[], datetime] = utcnow,
    actor: str = SYSTEM_ACTOR,
) -> OpenResult:
    """Open cases for findings above threshold; attach the rest to the subject's open case.

    ``hints`` maps topic names to their ``department_hint`` (see ``routing.department_hints``);
    ``areas`` locates findings that have a point but no grid id; ``area_names`` (area id → name,
    see ``areas.area_names``) fills department placeholders such as ``{street}办事处``.
    """
    config = settings or CaseSettings()
    table = validate_findings(findings).combine_chunks()
    kept = above_threshold(table, config)
    below = table.num_rows - kept.num_rows
    if kept.num_rows == 0:
        return OpenResult(below_threshold=below)
    kept = fill_locations(kept, areas)
    kept = route_table(config.routing, kept, hints, area_names)
    kept = kept.append_column("open_key", open_key_column(kept))
    heads = _heads(kept)
    for attempt in range(2):
        try:
            return _write(ops_engine, kept, heads, config, clock(), actor, below)
        except IntegrityError as exc:  # another opener took a key between our read and write
            if attempt == 1:
                raise UserError(f"opening cases collided with another writer twice: {exc}") from exc
    raise AssertionError("unreachable")


def _write(
    ops_engine: SqlEngine,
    kept: pa.Table,
    heads: pa.Table,
    config: CaseSettings,
    now: datetime,
    actor: str,
    below: int,
) -> OpenResult:
    with session(ops_engine) as db:
        keys = heads.column("open_key").to_pylist()
        open_now = _open_cases_by_key(db, keys)
        existing = {key: case_id for key, (case_id, _) in open_now.items()}
        status_of = dict(open_now.values())
        fresh = heads.filter(
            pc.invert(
                pc.is_in(heads.column("open_key"), value_set=pa.array(list(existing), pa.string()))
            )
        )
        new_ids, dispatched = _insert_cases(db, fresh, config, now, actor)
        ids = {**existing, **new_ids}
        written, per_case = _insert_evidence(db, kept, ids, sorted(set(existing.values())), now)
        attached = sorted(case_id for case_id in set(existing.values()) if case_id in per_case)
        raised = _raise_levels(db, heads, existing, attached, config, now)
        if attached:
            db.execute(
                _core(CaseEvent).insert(),
                [
                    _event(case_id, Action.attach, actor, now, Status(status_of[case_id]),
                           Status(status_of[case_id]),
                           _attach_comment(per_case[case_id], raised.get(case_id)),
                           {"evidence": per_case[case_id],
                            **({"level": dict(zip(("from", "to"), raised[case_id], strict=True))}
                               if case_id in raised else {})})
                    for case_id in attached
                ],
            )  # fmt: skip
        _notify_dispatched(db, [new_ids[k] for k in new_ids], now)
        unrouted = fresh.column("department").null_count
        return OpenResult(
            opened=sorted(new_ids.values()),
            attached_to=attached,
            evidence=written,
            below_threshold=below,
            dispatched=dispatched,
            unrouted=unrouted,
        )


_RANK = {"high": 0, "medium": 1, "low": 2}


def _raise_levels(
    db: Session,
    heads: pa.Table,
    existing: Mapping[str, int],
    attached: Sequence[int],
    config: CaseSettings,
    now: datetime,
) -> dict[int, tuple[str, str]]:
    """Raise open cases whose new evidence is graver than the case; ``{case id: (from, to)}``.

    A case opened as 'low' that now has 'high' evidence must not keep its slow SLA: the deadline
    moves forward to what the new level allows from now, never back.
    """
    if not attached:
        return {}
    level_of = dict(
        zip(heads.column("open_key").to_pylist(), heads.column("level").to_pylist(), strict=True)
    )
    wanted = {existing[key]: level for key, level in level_of.items() if key in existing}
    raised: dict[int, tuple[str, str]] = {}
    for part in _chunks(list(attached)):
        for case in db.scalars(select(Case).where(Case.id.in_(part))):
            new_level = wanted.get(case.id)
            if new_level is None or _RANK.get(new_level, 1) >= _RANK.get(case.level, 1):
                continue
            raised[case.id] = (case.level, new_level)
            case.level = new_level
            if case.sla_due_at is not None:
                sooner = config.sla.due(case.topic, new_level, now)
                due = (
                    case.sla_due_at
                    if case.sla_due_at.tzinfo
                    else case.sla_due_at.replace(tzinfo=sooner.tzinfo)
                )
                case.sla_due_at = min(due, sooner)
            case.updated_at = now
    db.flush()
    return raised


def _attach_comment(evidence: int, raised: tuple[str, str] | None) -> str:
    text = f"追加 {evidence} 条新证据 (new evidence attached)"
    if raised is None:
        return text
    old, new = (LEVEL_ZH[Level(level)] for level in raised)
    return f"{text}；等级由{old}升为{new} (level raised {raised[0]} → {raised[1]})"


def _notify_dispatched(db: Session, case_ids: Sequence[int], now: datetime) -> None:
    hooked = set(db.scalars(select(DepartmentWebhook.department)))
    if not hooked or not case_ids:
        return
    for part in _chunks(list(case_ids)):
        cases = db.scalars(
            select(Case).where(
                Case.id.in_(part),
                Case.status == Status.dispatched.value,
                Case.department.in_(hooked),
            )
        )
        for case in cases:
            enqueue_notification(db, case, "case.dispatched", case.department, now)
