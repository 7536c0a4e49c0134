"""Case settings: routing, SLA, report merging, Open311 services and opening thresholds.

A workspace may keep them in ``cases.yaml`` at its root; every key has a default, so a workspace
without the file still opens, routes and times its cases. An example (a test parses it):

```yaml
default_threshold: 0.5
thresholds: {group_rental: 0.6}
auto_dispatch: true
routing:
  default_department: 城市运行管理中心
  supervisor: 区督查室
  supervisors: {科技园街道办: 街道督查组}
  rules:
    - name: group-rental-by-street
      topics: [group_rental]
      streets: [S01]
      departments: [科技园街道办, 派出所]
    - name: muck-trucks-high
      topics: [muck_trucks]
      levels: [high]
      departments: [城管执法局]
    - name: bikes-by-community   # {street} {community} {grid}: the area of the finding, by name
      topics: [shared_bikes]
      departments: ["{community}居委会", "{street}办事处"]
    - name: bike-moves-to-meituan  # subject ids "meituan:…": that operator's rebalancing moves
      topics: [bike_rebalancing]
      subject_prefixes: [meituan]
      departments: [美团单车（运营企业）]
sla:
  default_hours: {high: 8, medium: 16, low: 40}
  topics:
    muck_trucks: {high: 2}
  response_hours: 2
  calendar:
    timezone: Asia/Shanghai
    periods: [{start: "09:00", end: "12:00"}, {start: "13:30", end: "17:30"}]
    holidays: [2026-10-01, 2026-10-02]
    extra_workdays: [2026-09-27]
merge: {distance_m: 30, window_hours: 48}
services:
  - {service_code: street_vending, service_name: 占道经营, group: 市容}
```
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from citybrain.cases.routing import RoutingRules
from citybrain.cases.sla import SlaPolicy
from citybrain.core.yamlmodel import load_model, parse_model
from citybrain.topics import Level

SETTINGS_FILE = "cases.yaml"


class Service(BaseModel):
    """A kind of problem citizens and patrols report (an Open311 service)."""

    model_config = ConfigDict(extra="forbid")

    service_code: str = Field(min_length=1, max_length=64)
    service_name: str
    description: str = ""
    group: str = ""
    keywords: list[str] = Field(default_factory=list)
    level: Level = Level.medium


def _default_services() -> list[Service]:
    return [
        Service(service_code="street_vending", service_name="占道经营", group="市容"),
        Service(service_code="illegal_dumping", service_name="乱堆乱放", group="市容"),
        Service(service_code="noise", service_name="噪声扰民", group="环境"),
        Service(service_code="muck_spill", service_name="渣土撒漏", group="城管"),
        Service(service_code="bike_clutter", service_name="共享单车乱停放", group="交通"),
        Service(service_code="group_rental", service_name="群租房", group="住房"),
        Service(service_code="road_damage", service_name="道路破损", group="市政"),
        Service(service_code="air_pollution", service_name="大气污染", group="环境"),
    ]


class MergePolicy(BaseModel):
    """Reports of one problem: same category, this close in space and in time."""

    model_config = ConfigDict(extra="forbid")

    distance_m: float = Field(50.0, ge=0)
    window_hours: float = Field(72.0, ge=0)


class CaseSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    routing: RoutingRules = Field(default_factory=RoutingRules)
    sla: SlaPolicy = Field(default_factory=SlaPolicy)
    merge: MergePolicy = Field(default_factory=MergePolicy)
    services: list[Service] = Field(default_factory=_default_services)
    default_threshold: float = Field(0.5, ge=0, le=1, description="score that opens a case")
    thresholds: dict[str, float] = Field(default_factory=dict, description="topic → threshold")
    auto_dispatch: bool = Field(True, description="dispatch routed cases as soon as they open")

    def threshold_for(self, topic: str) -> float:
        return self.thresholds.get(topic, self.default_threshold)

    def service(self, code: str) -> Service | None:
        return next((s for s in self.services if s.service_code == code), None)


def parse_case_settings(text: str, file: str = SETTINGS_FILE) -> CaseSettings:
    return parse_model(text, CaseSettings, file)


def load_case_settings(path: Path) -> CaseSettings:
    return load_model(path, CaseSettings)


def settings_for_workspace(root: Path) -> CaseSettings:
    """The workspace's ``cases.yaml``, or the defaults when it has none."""
    path = root / SETTINGS_FILE
    return load_case_settings(path) if path.is_file() else CaseSettings()
