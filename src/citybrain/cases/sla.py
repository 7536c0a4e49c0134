"""Deadlines in working hours: a case dispatched on Friday at 17:00 with 2 hours is due Monday.

The default calendar is Mon–Fri, 9:00–12:00 and 13:30–17:30 Asia/Shanghai; holidays and make-up
working days (调休) are listed in the settings.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# Far enough to cross any holiday season, short enough to stop a calendar with no working time.
_MAX_DAYS = 3660


class WorkPeriod(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    start: time
    end: time

    @model_validator(mode="after")
    def _ordered(self) -> WorkPeriod:
        if self.end <= self.start:
            raise ValueError(f"period ends ({self.end}) before it starts ({self.start})")
        return self


def _default_periods() -> list[WorkPeriod]:
    return [
        WorkPeriod(start=time(9, 0), end=time(12, 0)),
        WorkPeriod(start=time(13, 30), end=time(17, 30)),
    ]


class WorkCalendar(BaseModel):
    """When the clock of a deadline runs."""

    model_config = ConfigDict(extra="forbid")

    timezone: str = "Asia/Shanghai"
    periods: list[WorkPeriod] = Field(default_factory=_default_periods, min_length=1)
    workdays: list[int] = Field(
        default_factory=lambda: [0, 1, 2, 3, 4], description="0 = Monday … 6 = Sunday"
    )
    holidays: list[date] = Field(default_factory=list)
    extra_workdays: list[date] = Field(
        default_factory=list, description="weekend days worked instead of a holiday (调休)"
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("workdays")
    @classmethod
    def _weekdays(cls, value: list[int]) -> list[int]:
        if not value or any(d < 0 or d > 6 for d in value):
            raise ValueError("workdays are numbers 0 (Monday) to 6 (Sunday), at least one")
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def is_workday(self, day: date) -> bool:
        if day in self.extra_workdays:
            return True
        return day.weekday() in self.workdays and day not in self.holidays

    def _spans(self, day: date) -> list[tuple[datetime, datetime]]:
        if not self.is_workday(day):
            return []
        zone = self.zone
        return [
            (datetime.combine(day, p.start, zone), datetime.combine(day, p.end, zone))
            for p in sorted(self.periods, key=lambda p: p.start)
        ]


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment.isoformat()} given; pass an aware one")
    return moment


def add_working_hours(start: datetime, hours: float, calendar: WorkCalendar) -> datetime:
    """The moment ``hours`` of working time after ``start`` (UTC)."""
    if hours < 0:
        raise ValueError("hours must not be negative")
    cursor = _aware(start).astimezone(calendar.zone)
    remaining = timedelta(hours=hours)
    day = cursor.date()
    for _ in range(_MAX_DAYS):
        for span_start, span_end in calendar._spans(day):
            begin = max(span_start, cursor)
            if begin >= span_end:
                continue
            available = span_end - begin
            if remaining <= available:
                return (begin + remaining).astimezone(UTC)
            remaining -= available
        day += timedelta(days=1)
    raise ValueError(f"the work calendar has no working time in {_MAX_DAYS} days")


def working_hours_between(start: datetime, end: datetime, calendar: WorkCalendar) -> float:
    """Working hours from ``start`` to ``end``; negative when ``end`` comes first."""
    a, b = _aware(start), _aware(end)
    if b < a:
        return -working_hours_between(b, a, calendar)
    a_local, b_local = a.astimezone(calendar.zone), b.astimezone(calendar.zone)
    total = timedelta()
    day = a_local.date()
    while day <= b_local.date():
        for span_start, span_end in calendar._spans(day):
            begin, finish = max(span_start, a_local), min(span_end, b_local)
            if finish > begin:
                total += finish - begin
        day += timedelta(days=1)
    return total.total_seconds() / 3600


class SlaPolicy(BaseModel):
    """Working hours a department has to handle a case, per topic and level."""

    model_config = ConfigDict(extra="forbid")

    default_hours: dict[str, float] = Field(
        default_factory=lambda: {"high": 8.0, "medium": 16.0, "low": 40.0},
        description="by level; 7 working hours make a working day",
    )
    topics: dict[str, dict[str, float]] = Field(
        default_factory=dict, description="topic → level → working hours"
    )
    response_hours: float = Field(2.0, gt=0, description="working hours to sign for (签收) a case")
    calendar: WorkCalendar = Field(default_factory=WorkCalendar)

    @field_validator("default_hours", "topics")
    @classmethod
    def _levels(cls, value: dict[str, object]) -> dict[str, object]:
        allowed = {"high", "medium", "low"}
        for key, inner in value.items():
            keys = inner.keys() if isinstance(inner, dict) else [key]
            bad = [k for k in keys if k not in allowed]
            if bad:
                raise ValueError(f"unknown level(s) {', '.join(bad)}; levels are high, medium, low")
        return value

    def hours_for(self, topic: str, level: str) -> float:
        by_level = self.topics.get(topic, {})
        if level in by_level:
            return by_level[level]
        return self.default_hours.get(level, self.default_hours.get("medium", 16.0))

    def due(self, topic: str, level: str, start: datetime) -> datetime:
        return add_working_hours(start, self.hours_for(topic, level), self.calendar)
