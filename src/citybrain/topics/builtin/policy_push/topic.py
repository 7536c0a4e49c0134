"""政策主动推送 (policy push): per policy of the catalogue, the firms to contact and why.

"不是企业上门找我们，而是我们预先知道企业的问题，主动帮助他们": each policy is a set of rules over
what the lake knows of a firm (registry, declared revenue, insured staff, arrears, late filings —
`attributes`); a firm meeting every rule is a finding with one reason per rule (observed value
against the policy's bound), plus the partner firms for a matching policy (共享用工).

A finding is one (policy, firm) pair — subject type ``enterprise_policy``, subject id
``<policy>:<golden enterprise id>`` — so each becomes its own *service* case for the enterprise
service centre (企业服务中心). The case's outcome is the label (`SERVICE_OUTCOMES`): applied or
declined mean the firm did qualify (confirmed), "not eligible" that it did not (rejected), and a
pair a case judged not eligible is not pushed again.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray
from pydantic import Field

from citybrain.topics import (
    REASON_TYPE,
    Evaluation,
    InputSpec,
    Level,
    MapLayer,
    OverviewTile,
    PagePanel,
    Topic,
    TopicContext,
    TopicParams,
    findings_table,
    join_text,
)
from citybrain.topics.builtin.enterprise_warning import features
from citybrain.topics.builtin.enterprise_warning.topic import firm_coordinates
from citybrain.topics.builtin.policy_push.attributes import ATTRIBUTES, Attributes, compute
from citybrain.topics.builtin.policy_push.catalogue import Codes, Policy, Range, load_catalogue

SERVICE_DEPARTMENT = "企业服务中心"
SUBJECT_TYPE = "enterprise_policy"
#: service outcome of a policy case → (zh, the case outcome that records it as a label)
SERVICE_OUTCOMES: dict[str, tuple[str, str | None]] = {
    "contacted": ("已联系", None),  # still open: no label yet
    "applied": ("已申报", "confirmed"),
    "declined": ("企业放弃", "confirmed"),  # qualified, chose not to apply
    "not eligible": ("不符合条件", "rejected"),
}
_PRIORITY_SCORE = {"high": 0.9, "medium": 0.7, "low": 0.55}
_MAX_PARTNERS = 3


class PolicyPushParams(TopicParams):
    medium: float = Field(0.6, ge=0.0, le=1.0, description="score of a medium-priority push")
    high: float = Field(0.85, ge=0.0, le=1.0, description="score of a high-priority push")


def matches(attrs: Attributes, rules: dict[str, bool | Codes | Range]) -> NDArray[np.bool_]:
    """Firms meeting every rule (an unknown attribute fails its rule)."""
    ok = np.ones(attrs.individual.size, bool)
    for name, rule in rules.items():
        if name == "individual":
            ok &= attrs.individual == bool(rule)
        elif name == "industry_code":
            assert isinstance(rule, Codes)
            codes, back = np.unique(attrs.industry, return_inverse=True)
            hit = np.zeros(codes.size, bool)
            for prefix in rule.prefix or []:
                hit |= np.char.startswith(codes.astype(str), prefix)
            if rule.in_ is not None:
                hit |= np.isin(codes, rule.in_)
            ok &= hit[back] & (attrs.industry != "")
        else:
            assert isinstance(rule, Range)
            value = attrs.numbers[name]
            with np.errstate(invalid="ignore"):
                if rule.min is not None:
                    ok &= value >= rule.min
                if rule.max is not None:
                    ok &= value <= rule.max
    return ok


def qualify(attrs: Attributes, policy: Policy) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """Per firm: qualifies for ``policy``; and the partner firms (all False without partners)."""
    when = matches(attrs, policy.when)
    if policy.partners is None:
        return when, np.zeros_like(when)
    partner = matches(attrs, policy.partners)
    # another firm must match: a firm is never its own partner
    others = partner.sum() - (partner & when).astype(np.int64)
    return when & (others > 0), partner


def _num(values: NDArray[np.float64], decimals: int) -> pa.Array:
    text = pc.cast(pc.round(pa.array(values, pa.float64()), decimals), pa.string())
    if decimals == 0:
        text = pc.replace_substring_regex(text, r"\.0$", "")
    return pc.fill_null(text, "?")


def _const(n: int, text: str) -> pa.Array:
    return pa.array([text] * n, pa.string())


def _rule_reason(
    name: str, rule: bool | Codes | Range, attrs: Attributes, rows: NDArray[np.int64]
) -> dict[str, pa.Array]:
    """One reason column set for ``rows``: the firm's value against the policy's bound."""
    n = rows.size
    zh, en, unit_zh, unit_en, decimals = ATTRIBUTES[name]
    nan = np.full(n, np.nan)
    if name == "individual":
        text_zh = "个体工商户" if rule else "企业法人（非个体工商户）"
        text_en = "a sole proprietor" if rule else "a company (not a sole proprietor)"
        return _reason(name, nan, nan, _const(n, text_zh), _const(n, text_en))
    if name == "industry_code":
        assert isinstance(rule, Codes)
        wanted = "、".join([*(f"{p}*" for p in rule.prefix or []), *(rule.in_ or [])])
        code = pa.array(attrs.industry[rows], pa.string())
        return _reason(
            name,
            nan,
            nan,
            join_text(f"{zh}", code, f"，属政策支持行业（{wanted}）"),
            join_text(f"{en} ", code, f", among the industries the policy supports ({wanted})"),
        )
    assert isinstance(rule, Range)
    observed = attrs.numbers[name][rows]
    bounds_zh, bounds_en = [], []
    if rule.min is not None:
        bounds_zh.append(f"≥{_fmt(rule.min)}")
        bounds_en.append(f"≥ {_fmt(rule.min)}")
    if rule.max is not None:
        bounds_zh.append(f"≤{_fmt(rule.max)}")
        bounds_en.append(f"≤ {_fmt(rule.max)}")
    expected = np.full(n, rule.min if rule.min is not None else rule.max, dtype=np.float64)
    value = _num(observed, decimals)
    return _reason(
        name,
        observed,
        expected,
        join_text(f"{zh}", value, f"{unit_zh}（政策要求{'且'.join(bounds_zh)}）"),
        join_text(f"{en} ", value, f" {unit_en} (the policy asks {' and '.join(bounds_en)})"),
    )


def _fmt(value: float) -> str:
    return f"{value:g}"


def _reason(
    name: str,
    observed: NDArray[np.float64],
    expected: NDArray[np.float64],
    text_zh: pa.Array,
    text_en: pa.Array,
    contribution: float = 0.0,
) -> dict[str, pa.Array]:
    n = len(text_zh)
    return {
        "signal": _const(n, name),
        "observed": pa.array(observed, pa.float64()),
        "expected": pa.array(expected, pa.float64()),
        "contribution": pa.array(np.full(n, contribution), pa.float64()),
        "text_zh": text_zh,
        "text_en": text_en,
    }


def _partner_reason(
    attrs: Attributes, policy: Policy, rows: NDArray[np.int64], partner: NDArray[np.bool_]
) -> dict[str, pa.Array]:
    """The firms to match with: same street first, then the largest by the first measure the
    partner rule tests; named (up to three) per distinct street, joined back to the rows."""
    assert policy.partners is not None
    firms = attrs.firms
    names = np.asarray(
        pc.fill_null(firms.column("name"), "?").to_numpy(zero_copy_only=False), dtype=str
    )
    street = np.asarray(
        pc.fill_null(firms.column("street_id"), "").to_numpy(zero_copy_only=False), dtype=str
    )
    measure = next((k for k in policy.partners if k in attrs.numbers), None)
    size = np.abs(np.nan_to_num(attrs.numbers[measure])) if measure else np.zeros(street.size)
    candidates = np.flatnonzero(partner)
    streets, back = np.unique(street[rows], return_inverse=True)
    listed_zh, listed_en = [], []
    for s in streets.tolist():  # distinct streets only
        order = np.lexsort((-size[candidates], street[candidates] != s))
        top = names[candidates[order[:_MAX_PARTNERS]]].tolist()
        listed_zh.append("、".join(top))
        listed_en.append(", ".join(top))
    count = (candidates.size - partner[rows].astype(np.int64)).astype(np.float64)
    n = rows.size
    return _reason(
        "partners",
        count,
        np.zeros(n),
        join_text("可对接企业", _num(count, 0), "家（同街道优先）：",
                  pa.array(np.array(listed_zh, dtype=object)[back], pa.string())),
        join_text(_num(count, 0), " firm(s) to match with (same street first): ",
                  pa.array(np.array(listed_en, dtype=object)[back], pa.string())),
    )  # fmt: skip


def _as_list(parts: list[dict[str, pa.Array]], n: int) -> pa.ListArray:
    """Each of the ``n`` rows gets every part's reason, in the order given."""
    k = len(parts)
    columns = [pa.concat_arrays([p[f.name] for p in parts]) for f in REASON_TYPE]
    struct = pa.StructArray.from_arrays(columns, fields=list(REASON_TYPE))
    order = (np.arange(k)[None, :] * n + np.arange(n)[:, None]).ravel()
    offsets = pa.array(np.arange(n + 1, dtype=np.int32) * k)
    return pa.ListArray.from_arrays(offsets, struct.take(pa.array(order)))


class PolicyPush(Topic):
    """Firms each policy is for, pushed to them before they ask (政策主动推送)."""

    name = "policy_push"
    title_zh = "政策主动推送"
    title_en = "Policy push"
    subject_type = SUBJECT_TYPE
    version = "1"
    department_hint = SERVICE_DEPARTMENT
    params_model: ClassVar[type[TopicParams]] = PolicyPushParams
    inputs = (
        *features.PANEL_INPUTS,
        InputSpec(table="standard_address", columns=("address_id", "lon", "lat"),
                  optional=True),
    )  # fmt: skip

    def level_thresholds(self, params: TopicParams) -> dict[Level, float]:
        assert isinstance(params, PolicyPushParams)
        return {Level.high: params.high, Level.medium: params.medium}

    def attributes(self, ctx: TopicContext) -> Attributes:
        def has(dataset: str) -> bool:
            if ctx.inputs is not None:
                return dataset in ctx.inputs
            zone, _, table = dataset.partition(".")
            return ctx.engine.exists(zone, table)

        return compute(features.build_panel(ctx.engine, ctx.input, has))

    def run(self, ctx: TopicContext) -> pa.Table:
        policies = load_catalogue(ctx.workspace.root)
        attrs = self.attributes(ctx)
        judged = _not_eligible(ctx)
        tables = [self._findings(ctx, attrs, p, judged) for p in policies]
        return pa.concat_tables(tables) if tables else pa.table({})

    def _findings(
        self, ctx: TopicContext, attrs: Attributes, policy: Policy, judged: pa.Array
    ) -> pa.Table:
        eligible, partner = qualify(attrs, policy)
        ids = attrs.firms.column(features.GOLDEN).cast(pa.string())
        subject = join_text(f"{policy.key}:", ids.combine_chunks())
        eligible &= ~np.asarray(
            pc.is_in(subject, value_set=judged).to_numpy(zero_copy_only=False), dtype=bool
        )
        rows = np.flatnonzero(eligible).astype(np.int64)
        n = rows.size
        take = pa.array(rows, pa.int64())
        firms = attrs.firms.take(take)
        head = _reason(
            "policy",
            np.full(n, np.nan),
            np.full(n, np.nan),
            _const(n, f"符合「{policy.zh}」条件，建议{policy.department}会同企业服务中心主动联系"),
            _const(n, f"qualifies for the {policy.en}; {policy.department} and the enterprise"
                      " service centre to contact the firm"),
            contribution=1.0,
        )  # fmt: skip
        parts = [head, *(_rule_reason(k, r, attrs, rows) for k, r in policy.when.items())]
        if policy.partners is not None:
            parts.append(_partner_reason(attrs, policy, rows, partner))
        score = pa.array(np.full(n, _PRIORITY_SCORE[policy.priority]), pa.float64())
        lon, lat = firm_coordinates(ctx, firms)
        month = features.month_label(np.array([attrs.month] * n, np.int64))
        return findings_table(
            self.name,
            self.subject_type,
            subject_id=subject.take(take),
            period=month,
            score=score,
            thresholds=self.level_thresholds(ctx.params),
            reasons=_as_list(parts, n),
            model_version=ctx.model_version,
            lon=lon,
            lat=lat,
            grid_id=firms.column("grid_id").cast(pa.string()),
            community_id=firms.column("community_id").cast(pa.string()),
            street_id=firms.column("street_id").cast(pa.string()),
        )

    def evaluate(self, findings: pa.Table, truth_dir: Path, ctx: TopicContext) -> Evaluation:
        from citybrain.topics.builtin.policy_push.evaluate import evaluate_push

        return evaluate_push(self.name, findings, truth_dir, ctx)

    def map_layers(self) -> list[MapLayer]:
        return [
            MapLayer(
                id="policy_push_firms",
                title_zh="政策推送企业",
                title_en="Firms to contact about a policy",
                color="#2f9e44",
            )
        ]

    def overview_tiles(self) -> list[OverviewTile]:
        return [
            OverviewTile(
                id="policy_push_firms",
                title_zh="待推送政策企业",
                title_en="Policy matches to contact",
                unit_zh="项",
                unit_en="matches",
            )
        ]

    def page_panels(self) -> list[PagePanel]:
        return [
            PagePanel(
                id="policy_push_how_to_read",
                title_zh="如何看懂政策推送",
                title_en="How to read the policy pushes",
                text_zh=(
                    "每条政策是对企业属性的一组条件（政策目录 policies.yaml）：注册登记、近3个月"
                    "申报营业收入、社保参保人数及其变化、社保欠缴、逾期申报。企业满足一条政策的"
                    "全部条件即列出，理由逐条写明企业的数值和政策的要求；共享用工另列可对接的企业。"
                    "每条推送转企业服务中心联系企业，结果记为已联系、已申报、企业放弃或不符合条件；"
                    "判为不符合条件的不再推送。"
                ),
                text_en=(
                    "Each policy is a set of conditions on what the lake knows of a firm (the"
                    " catalogue, policies.yaml): registry, declared revenue over the last three"
                    " months, insured staff and its change, social-security arrears, late filing."
                    " A firm meeting all of a policy's conditions is listed, each reason giving"
                    " the firm's value and the policy's bound; shared employment also names the"
                    " firms to match with. Each push goes to the enterprise service centre, whose"
                    " outcome is contacted, applied, declined or not eligible; a firm judged not"
                    " eligible is not pushed that policy again."
                ),
            ),
            PagePanel(
                id="policy_push_by_street",
                title_zh="各街道推送企业",
                title_en="Pushes by street",
                kind="breakdown",
                by="street",
            ),
        ]


def _not_eligible(ctx: TopicContext) -> pa.Array:
    """Subject ids (``policy:firm``) a closed service case judged not eligible."""
    labels = ctx.labels
    if labels is None or labels.num_rows == 0 or "label" not in labels.column_names:
        return pa.array([], pa.string())
    mine = labels.filter(pc.equal(labels.column("label"), 0))
    if "topic" in mine.column_names:
        mine = mine.filter(pc.equal(mine.column("topic"), PolicyPush.name))
    return pc.unique(mine.column("subject_id").cast(pa.string())).combine_chunks()
