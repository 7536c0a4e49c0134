"""The policy catalogue (政策目录) as configuration: each policy a set of rules over enterprise
attributes at the latest month.

The default catalogue is below; a workspace overrides it with ``policies.yaml`` in its root::

    policies:
      rent_relief:
        zh: 小微企业房租减免
        en: rent relief for small firms in difficulty
        department: 区经信局
        when:
          revenue_3m: {max: 30}         # 万元 a month, mean of the last three months
          revenue_ratio_3m: {max: 0.7}  # against the three months before
      shared_staff_out:
        ...
        when: {insured_change_3m: {max: -3}}
        partners: {insured_change_3m: {min: 3}}   # qualifies only if some other firm matches

A condition is ``{min: x}``, ``{max: x}``, both, ``{prefix: [...]}`` or ``{in: [...]}`` (for the
industry code), or ``true``/``false`` (for ``individual``). An attribute the firm lacks (no social
security, too short a history) fails the condition. A bad file — an unknown attribute, a YAML
syntax error — is one line naming the file, the line and the key.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from citybrain.core.yamlmodel import load_model, parse_model

FILE_NAME = "policies.yaml"

DEFAULT_CATALOGUE = """\
# 政策目录: who each policy is for (rules over enterprise attributes, latest month)
policies:
  employment_stabilisation:
    zh: 稳岗补贴
    en: employment-stabilisation subsidy
    department: 区人社局
    when:
      individual: false
      insured: {min: 10}
      insured_ratio_6m: {min: 1.0}
      arrears_3m: {max: 0}
  rent_relief:
    zh: 小微企业房租减免
    en: rent relief for small firms in difficulty
    department: 区经信局
    when:
      revenue_3m: {max: 30}
      revenue_ratio_3m: {max: 0.7}
  rd_credit:
    zh: 研发费用加计扣除
    en: R&D expense super-deduction
    department: 区科技局
    when:
      individual: false
      industry_code: {prefix: [I65, M73, C39, C27]}
      age_months: {min: 12}
  shared_staff_out:
    zh: 共享用工（富余员工输出）
    en: shared employment (lend surplus staff)
    department: 区人社局
    when:
      insured_change_3m: {max: -3}
    partners:
      insured_change_3m: {min: 3}
  shared_staff_in:
    zh: 共享用工（用工缺口输入）
    en: shared employment (take on staff)
    department: 区人社局
    when:
      insured_change_3m: {min: 3}
    partners:
      insured_change_3m: {max: -3}
"""


class Range(BaseModel):
    """A numeric condition: ``min`` ≤ value ≤ ``max`` (either may be left out)."""

    model_config = ConfigDict(extra="forbid")
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _some(self) -> Range:
        if self.min is None and self.max is None:
            raise ValueError("give min, max or both")
        return self


class Codes(BaseModel):
    """A code condition: starts with one of ``prefix`` or is one of ``in``."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    prefix: list[str] | None = None
    in_: list[str] | None = Field(None, alias="in")

    @model_validator(mode="after")
    def _some(self) -> Codes:
        if self.prefix is None and self.in_ is None:
            raise ValueError("give prefix, in or both")
        return self


class Rules(BaseModel):
    """The attributes a rule may test (see `attributes.ATTRIBUTES` for what each means)."""

    model_config = ConfigDict(extra="forbid")
    individual: bool | None = None
    industry_code: Codes | None = None
    age_months: Range | None = None
    insured: Range | None = None
    insured_change_3m: Range | None = None
    insured_ratio_6m: Range | None = None
    arrears_3m: Range | None = None
    late_filings_3m: Range | None = None
    revenue_3m: Range | None = None
    revenue_ratio_3m: Range | None = None

    def tested(self) -> dict[str, bool | Codes | Range]:
        """The attributes this rule set tests, in declaration order."""
        out: dict[str, bool | Codes | Range] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out


class PolicyModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    zh: str
    en: str
    department: str = "企业服务中心"
    priority: Literal["high", "medium", "low"] = "medium"
    when: Rules
    partners: Rules | None = None

    @model_validator(mode="after")
    def _tests_something(self) -> PolicyModel:
        if not self.when.tested():
            raise ValueError("'when' tests no attribute")
        return self


class CatalogueModel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    policies: dict[str, PolicyModel]


@dataclass(frozen=True)
class Policy:
    key: str
    zh: str
    en: str
    department: str
    priority: str
    when: dict[str, bool | Codes | Range]
    partners: dict[str, bool | Codes | Range] | None


def _policies(model: CatalogueModel) -> tuple[Policy, ...]:
    return tuple(
        Policy(
            key,
            p.zh,
            p.en,
            p.department,
            p.priority,
            p.when.tested(),
            p.partners.tested() if p.partners is not None else None,
        )
        for key, p in model.policies.items()
    )


def parse_catalogue(text: str, file: str) -> tuple[Policy, ...]:
    return _policies(parse_model(text, CatalogueModel, file))


def load_catalogue(root: Path) -> tuple[Policy, ...]:
    """The workspace's catalogue (``root/policies.yaml``), or the default."""
    path = root / FILE_NAME
    if not path.is_file():
        return parse_catalogue(DEFAULT_CATALOGUE, "(default policy catalogue)")
    return _policies(load_model(path, CatalogueModel))
