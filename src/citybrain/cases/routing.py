"""Routing rules: topic × location (grid → community → street) × level → department(s).

Rules are YAML validated by pydantic. For each finding the most specific location wins: a rule
naming its grid, then one naming its community, then its street, then a rule for the topic
anywhere; after those the topic's own department hint, then the default department. Within one
tier a rule naming the topic beats a rule for any topic, and an earlier rule beats a later one.

A rule may also name the subjects it is for by the start of their id (``subject_prefixes``: the
part before the first ``:``), so one topic's cases reach several receivers — a bike operator's
rebalancing moves (``meituan:TCQ00012>TCQ00031``) go to that operator. Only topics a rule names
this way have their subjects read, so the distinct keys routing decides on stay few.

A department may name the finding's area with ``{street}``, ``{community}`` or ``{grid}``
(``"{street}办事处"`` → ``"石羊街道办事处"``), filled from the address register's area names, so
one rule or one topic hint reaches every street office by name without a rule per street. A
department whose area the finding lacks is skipped and routing falls through to the next tier.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from string import Formatter

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict, Field, model_validator

from citybrain.core.yamlmodel import load_model, parse_model
from citybrain.topics import Level

TIERS = ("grid", "community", "street", "topic", "hint", "default")
_TIER_ZH = {
    "grid": "网格",
    "community": "社区",
    "street": "街道",
    "topic": "专题",
    "hint": "专题默认部门",
    "default": "默认部门",
}


PLACEHOLDERS = ("street", "community", "grid")


def placeholders(department: str) -> list[str]:
    """Area placeholders in a department name; raises ValueError for any other field."""
    try:
        fields = [f for _, f, _, _ in Formatter().parse(department) if f is not None]
    except ValueError as exc:
        raise ValueError(f"department {department!r}: {exc}") from exc
    unknown = [f for f in fields if f not in PLACEHOLDERS]
    if unknown:
        raise ValueError(
            f"department {department!r}: unknown placeholder {{{unknown[0]}}} "
            f"(use {', '.join('{' + p + '}' for p in PLACEHOLDERS)})"
        )
    return fields


def fill_department(
    department: str, area_ids: Mapping[str, str | None], area_names: Mapping[str, str]
) -> str | None:
    """``department`` with placeholders filled by area name (or id); None if an area is missing."""
    values: dict[str, str] = {}
    for field in placeholders(department):
        area = area_ids.get(field)
        if area is None:
            return None
        values[field] = area_names.get(area, area)
    return department.format(**values) if values else department


class RoutingRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    topics: list[str] = Field(default_factory=list, description="empty: every topic")
    levels: list[Level] = Field(default_factory=list, description="empty: every level")
    grids: list[str] = Field(default_factory=list)
    communities: list[str] = Field(default_factory=list)
    streets: list[str] = Field(default_factory=list)
    departments: list[str] = Field(min_length=1, description="first one leads, others assist")
    subject_prefixes: list[str] = Field(
        default_factory=list,
        description="only subjects whose id starts with one of these and ':' (empty: every one)",
    )

    @model_validator(mode="after")
    def _known_placeholders(self) -> RoutingRule:
        for department in self.departments:
            placeholders(department)
        return self

    def tier(self, grid: str | None, community: str | None, street: str | None) -> str | None:
        """The most specific location tier this rule matches, or None."""
        if grid is not None and grid in self.grids:
            return "grid"
        if community is not None and community in self.communities:
            return "community"
        if street is not None and street in self.streets:
            return "street"
        if not (self.grids or self.communities or self.streets):
            return "topic"
        return None

    def accepts(self, topic: str, level: str, prefix: str | None = None) -> bool:
        topic_ok = not self.topics or topic in self.topics
        subject_ok = not self.subject_prefixes or prefix in self.subject_prefixes
        return topic_ok and subject_ok and (not self.levels or level in self.levels)


class RoutingRules(BaseModel):
    model_config = ConfigDict(extra="forbid")

    default_department: str | None = Field(
        "城市运行管理中心", description="where a case goes when no rule and no hint applies"
    )
    supervisor: str = Field("督办中心", description="who receives escalations (督办)")
    supervisors: dict[str, str] = Field(
        default_factory=dict, description="department → its own supervisor, overriding the above"
    )
    topic_departments: dict[str, str] = Field(
        default_factory=dict, description="topic → department, overriding the topic's own hint"
    )
    rules: list[RoutingRule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_names(self) -> RoutingRules:
        for department in [self.default_department or "", *self.topic_departments.values()]:
            placeholders(department)
        seen: set[str] = set()
        for rule in self.rules:
            if rule.name in seen:
                raise ValueError(f"rule name {rule.name!r} is used twice")
            seen.add(rule.name)
        return self

    def supervisor_of(self, department: str | None) -> str:
        return self.supervisors.get(department or "", self.supervisor)

    def subject_topics(self) -> set[str] | None:
        """Topics whose subjects some rule picks by prefix (None: a rule does so for any topic)."""
        picked = [rule for rule in self.rules if rule.subject_prefixes]
        if any(not rule.topics for rule in picked):
            return None
        return {topic for rule in picked for topic in rule.topics}


@dataclass(frozen=True)
class RouteDecision:
    """Where a finding goes and why."""

    departments: tuple[str, ...]
    matched_on: str | None  # one of TIERS, None when nothing applies
    rule: str | None = None
    rule_index: int | None = None

    @property
    def department(self) -> str | None:
        return self.departments[0] if self.departments else None

    @property
    def reason_en(self) -> str:
        if self.matched_on is None:
            return "no rule, hint or default department applies"
        if self.rule is not None:
            return f"rule #{self.rule_index} {self.rule!r} matched on {self.matched_on}"
        return "the topic's department hint" if self.matched_on == "hint" else "default department"

    @property
    def reason_zh(self) -> str:
        if self.matched_on is None:
            return "无匹配规则，也无默认部门"
        if self.rule is not None:
            return f"按{_TIER_ZH[self.matched_on]}匹配规则 #{self.rule_index}「{self.rule}」"
        return f"采用{_TIER_ZH[self.matched_on]}"


def parse_routing(text: str, file: str = "<routing>") -> RoutingRules:
    return parse_model(text, RoutingRules, file)


def load_routing(path: Path) -> RoutingRules:
    return load_model(path, RoutingRules)


def route(
    rules: RoutingRules,
    *,
    topic: str,
    level: str,
    grid_id: str | None = None,
    community_id: str | None = None,
    street_id: str | None = None,
    hints: Mapping[str, str | None] | None = None,
    area_names: Mapping[str, str] | None = None,
    subject_prefix: str | None = None,
) -> RouteDecision:
    """Decide where one finding goes (the dry run shows this decision for each finding).
    ``subject_prefix`` is its subject id's part before the first ``:``, if it has one."""
    ids = {"grid": grid_id, "community": community_id, "street": street_id}
    names = area_names or {}

    def filled(departments: Sequence[str]) -> tuple[str, ...] | None:
        out = [fill_department(d, ids, names) for d in departments]
        return None if out[0] is None else tuple(d for d in out if d is not None)

    candidates: list[tuple[tuple[int, int, int], tuple[str, ...]]] = []
    for index, rule in enumerate(rules.rules):
        if not rule.accepts(topic, level, subject_prefix):
            continue
        tier = rule.tier(grid_id, community_id, street_id)
        if tier is None:
            continue
        departments = filled(rule.departments)
        if departments is not None:
            key = (TIERS.index(tier), 0 if rule.topics else 1, index)
            candidates.append((key, departments))
    if candidates:
        key, departments = min(candidates)
        return RouteDecision(departments, TIERS[key[0]], rules.rules[key[2]].name, key[2])
    hint = filled([rules.topic_departments.get(topic) or (hints or {}).get(topic) or ""])
    if hint and hint[0]:
        return RouteDecision(hint, "hint")
    default = filled([rules.default_department or ""])
    if default and default[0]:
        return RouteDecision(default, "default")
    return RouteDecision((), None)


ROUTE_COLUMNS = pa.schema(
    [
        ("department", pa.string()),
        ("co_departments", pa.list_(pa.string())),
        ("routing_rule", pa.string()),
        ("matched_on", pa.string()),
        ("route_reason_zh", pa.string()),
        ("route_reason_en", pa.string()),
    ]
)
_KEYS = ("topic", "level", "grid_id", "community_id", "street_id")


def _subject_prefixes(rules: RoutingRules, findings: pa.Table) -> pa.Array:
    """Per finding, its subject id's part before ``:`` where a rule picks subjects of its topic
    that way, else null (so the subject does not multiply the keys routing decides on)."""
    n = findings.num_rows
    picked = rules.subject_topics()
    nothing = pa.nulls(n, pa.string())
    if picked is not None and not picked:
        return nothing
    subject = pc.cast(findings.column("subject_id"), pa.string())
    head = pc.struct_field(pc.extract_regex(subject, r"^(?P<head>[^:]*):"), "head")
    if picked is None:
        return head
    mine = pc.is_in(findings.column("topic"), value_set=pa.array(sorted(picked), pa.string()))
    return pc.if_else(pc.fill_null(mine, False), head, nothing)


def route_table(
    rules: RoutingRules,
    findings: pa.Table,
    hints: Mapping[str, str | None] | None = None,
    area_names: Mapping[str, str] | None = None,
) -> pa.Table:
    """``findings`` with the routing columns added; decided once per distinct key, joined back."""
    columns = [pc.fill_null(pc.cast(findings.column(name), pa.string()), "\x00") for name in _KEYS]
    columns.append(pc.fill_null(_subject_prefixes(rules, findings), "\x00"))
    joined = pc.binary_join_element_wise(*columns, "\x1f")
    distinct = pc.unique(joined)
    decisions: list[RouteDecision] = []
    for key in distinct.to_pylist():
        topic, level, grid, community, street, prefix = (
            None if part == "\x00" else part for part in key.split("\x1f")
        )
        decisions.append(
            route(
                rules,
                topic=topic or "",
                level=level or "medium",
                grid_id=grid,
                community_id=community,
                street_id=street,
                hints=hints,
                area_names=area_names,
                subject_prefix=prefix,
            )
        )
    per_key = pa.table(
        {
            "department": pa.array([d.department for d in decisions], pa.string()),
            "co_departments": pa.array(
                [list(d.departments[1:]) for d in decisions], pa.list_(pa.string())
            ),
            "routing_rule": pa.array([d.rule for d in decisions], pa.string()),
            "matched_on": pa.array([d.matched_on for d in decisions], pa.string()),
            "route_reason_zh": pa.array([d.reason_zh for d in decisions], pa.string()),
            "route_reason_en": pa.array([d.reason_en for d in decisions], pa.string()),
        },
        schema=ROUTE_COLUMNS,
    )
    index = pc.index_in(joined, value_set=distinct)
    routed = per_key.take(index)
    out = findings
    for name in ROUTE_COLUMNS.names:
        if name in out.column_names:
            out = out.drop_columns([name])
        out = out.append_column(name, routed.column(name))
    return out


def department_hints(topics: Sequence[object]) -> dict[str, str | None]:
    """``{topic name: department_hint}`` for topic classes or instances."""
    return {
        str(getattr(t, "name", "")): getattr(t, "department_hint", None)
        for t in topics
        if getattr(t, "name", None)
    }
