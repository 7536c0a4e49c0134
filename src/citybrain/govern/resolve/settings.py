"""The resolver's configuration: which std columns identify a person, an enterprise, a vehicle.

A city says, per entity kind, which std tables carry records and which of their columns is which
kind of field (name, family/given name, resident ID, other identifier, phone, birth date, gender,
address, employer, local account number), which comparisons to score, which blocking rules,
training rules and deterministic rules to use, the threshold, and dedupe or link-only. Rules
name *feature columns* (`FEATURES`), which the resolver derives from the fields.

The same format is the ``[resolve]`` section of ``citybrain.toml``, a workspace's
``resolve.yaml``, or the ``config`` of `citybrain.govern.resolve.resolve_records`. The built-in
defaults (`DEFAULT_PERSON`, `DEFAULT_ENTERPRISE`) are the synthetic city's model; the keys a
kind's configuration gives replace the default's, the keys it leaves out keep it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from citybrain.core.errors import ConfigError

T = TypeVar("T")

FieldKind = Literal[
    "name", "family_name", "given_name", "id_number", "other_id", "phone", "birth_date",
    "gender", "address", "employer", "local_id",
]  # fmt: skip
FIELD_KINDS: tuple[str, ...] = FieldKind.__args__  # type: ignore[attr-defined]

#: Feature columns the resolver derives, by the field they come from.
PERSON_FEATURES: dict[str, tuple[str, ...]] = {
    "name": ("name_norm", "name_py", "surname", "surname_py", "given_py", "name_key"),
    "id_number": ("id_valid", "id_raw"),
    "other_id": ("other_id_norm",),
    "birth_date": ("dob",),
    "gender": ("gender",),
    "phone": ("phone_norm", "phone_raw"),
    "address": ("addr_place", "addr_room", "addr_text"),
    "employer": ("employer_norm",),
    "local_id": ("local_id",),
}
ENTERPRISE_FEATURES: dict[str, tuple[str, ...]] = {
    "name": ("name_norm", "name_core", "name_py"),
    "id_number": ("id_valid", "id_raw"),
    "other_id": ("other_id_norm",),
    "phone": ("phone_norm", "phone_raw"),
    "address": ("addr_place", "addr_room", "addr_text"),
    "local_id": ("local_id",),
}
FEATURES: dict[str, dict[str, tuple[str, ...]]] = {
    "person": PERSON_FEATURES,
    "enterprise": ENTERPRISE_FEATURES,
}

ComparisonField = Literal[
    "name", "id_number", "other_id", "birth_date", "gender", "phone", "address", "employer",
]  # fmt: skip
ExactLink = Literal["valid_id", "local_id", "phone_and_surname", "registered_name", "other_id"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Where(_Strict):
    """Keep only rows whose ``column`` holds one of ``values``."""

    column: str
    values: tuple[str, ...]


class SourceConfig(_Strict):
    """One std table that carries records of the kind: field kind -> the table's column."""

    table: str = Field(min_length=1)
    key: str = Field(min_length=1)
    fields: dict[FieldKind, str]
    where: Where | None = None
    #: holder names that look like a firm go to enterprises, the others to persons
    holder: Literal["person", "firm"] | None = None

    @field_validator("fields")
    @classmethod
    def _some_field(cls, fields: dict[str, str]) -> dict[str, str]:
        if not fields:
            raise ValueError("name at least one column (e.g. name: holder_name)")
        return fields


class ComparisonConfig(_Strict):
    """One comparison of the model and its options (a bare string is ``{field: <string>}``)."""

    field: ComparisonField
    #: names: Jaro-Winkler similarity of the pinyin / letters that still counts as close
    jaro_winkler: float = Field(0.9, gt=0, lt=1)
    #: names: a level for the same names in the other order (given/family swapped)
    order_swaps: bool = True
    #: identifiers: edits (Levenshtein) that still count as a typo of the same number
    max_edits: int = Field(2, ge=0, le=4)


class KindConfig(_Strict):
    """How one entity kind (person, enterprise) is resolved."""

    enabled: bool = True
    link_type: Literal["dedupe_only", "link_only"] = "dedupe_only"
    sources: tuple[SourceConfig, ...] = ()
    comparisons: tuple[ComparisonConfig, ...]
    #: pairs scored at all: each rule is a list of feature columns that must be equal
    blocking: tuple[tuple[str, ...], ...]
    #: EM sessions, in order, each blocked on equal feature columns
    training: tuple[tuple[str, ...], ...]
    #: EM sessions tried only when no ``training`` rule found pairs (a city with fewer fields)
    fallback_training: tuple[tuple[str, ...], ...] = ()
    #: rules whose pairs are (nearly) certain matches: they estimate the prior
    prior_rules: tuple[tuple[str, ...], ...] = (("id_valid",),)
    #: share of all true matches `prior_rules` are believed to find
    prior_recall: float = Field(0.5, gt=0, le=1)
    #: the prior when no prior rule finds a pair (never zero)
    default_prior: float = Field(1e-4, gt=0, lt=1)
    #: links made without a model, before it
    exact_links: tuple[ExactLink, ...] = ("valid_id", "local_id")
    #: persons: unidentified parts join the one identified person with their name
    attach_by_name: bool = False
    threshold: float = Field(0.99, gt=0, lt=1)
    #: fewer distinct records than this: exact links only, no model
    min_records: int = Field(20, ge=2)
    #: region for phone numbers written without a country code (ISO 3166 code)
    phone_region: str = Field("CN", pattern=r"^[A-Z]{2}$")
    #: processes that compute the features of the records' chunks side by side (0: the CPUs
    #: this process may use; 1: no other process)
    workers: int = Field(0, ge=0)

    @field_validator("comparisons", mode="before")
    @classmethod
    def _bare(cls, value: Any) -> Any:
        if isinstance(value, (list, tuple)):
            return [{"field": v} if isinstance(v, str) else v for v in value]
        return value

    @field_validator("blocking", "training", "fallback_training", "prior_rules")
    @classmethod
    def _non_empty_rules(cls, rules: tuple[tuple[str, ...], ...]) -> tuple[tuple[str, ...], ...]:
        for rule in rules:
            if not rule:
                raise ValueError("a rule names at least one feature column")
        return rules


def _check_columns(config: KindConfig, kind: str) -> KindConfig:
    known = {c for columns in FEATURES[kind].values() for c in columns}
    for key in ("blocking", "training", "fallback_training", "prior_rules"):
        for i, rule in enumerate(getattr(config, key)):
            for column in rule:
                if column not in known:
                    raise ValueError(
                        f"{key}[{i}]: {column!r} is not a {kind} feature column "
                        f"(one of {', '.join(sorted(known))})"
                    )
    return config


class VehicleConfig(_Strict):
    """Vehicles: one golden vehicle per normalised plate (or VIN where there is no plate)."""

    enabled: bool = True
    permits: str = "transport_permit"
    pings: str = "vehicle_ping"


class DwellingConfig(_Strict):
    """Dwellings: the address base at room level, and the records whose address names a room."""

    enabled: bool = True
    addresses: str = "standard_address"


def _person_sources() -> tuple[SourceConfig, ...]:
    def s(table: str, key: str, **fields: str) -> SourceConfig:
        return SourceConfig(table=table, key=key, fields=fields)

    return (
        s("person_registration", "record_id", name="name", id_number="id_number", phone="phone",
          birth_date="birth_date", address="address"),
        s("residence_permit", "permit_id", name="name", id_number="id_number", phone="phone",
          address="address"),
        s("arrival", "record_id", name="name", id_number="id_number", phone="phone"),
        s("test_record", "test_id", name="name", id_number="id_number", phone="phone"),
        SourceConfig(table="utility_reading", key="account_id", holder="person", fields={
            "name": "holder_name", "id_number": "holder_id_number", "phone": "holder_phone",
            "address": "address"}),
        s("delivery", "stat_id", name="recipient_name", phone="recipient_phone",
          address="address"),
        s("complaint", "ticket_id", name="caller_name", phone="caller_phone", address="address"),
        s("screening", "record_id", name="contact_name", address="address"),
        s("enterprise_registration", "registration_id", name="legal_rep_name",
          id_number="legal_rep_id_number"),
        SourceConfig(table="dishonest_judgment", key="case_code",
                     fields={"name": "name", "id_number": "identifier"},
                     where=Where(column="subject_kind", values=("自然人", "person"))),
    )  # fmt: skip


def _enterprise_sources() -> tuple[SourceConfig, ...]:
    def s(table: str, key: str, **fields: str) -> SourceConfig:
        return SourceConfig(table=table, key=key, fields=fields)

    return (
        s("enterprise_registration", "registration_id", name="name", id_number="uscc",
          address="address"),
        s("tax_declaration", "declaration_id", name="name", id_number="uscc"),
        s("social_security", "record_id", name="name", id_number="uscc", local_id="employer_id"),
        s("penalty", "decision_no", name="name", id_number="uscc"),
        s("commitment", "commitment_id", name="name", id_number="uscc"),
        s("transport_permit", "permit_no", name="company", id_number="uscc"),
        SourceConfig(table="dishonest_judgment", key="case_code",
                     fields={"name": "name", "id_number": "identifier"},
                     where=Where(column="subject_kind",
                                 values=("法人或其他组织", "enterprise", "企业"))),
        SourceConfig(table="utility_reading", key="account_id", holder="firm",
                     fields={"name": "holder_name", "address": "address"}),
    )  # fmt: skip


def _cmp(field: str, **options: Any) -> ComparisonConfig:
    return ComparisonConfig(field=field, **options)


#: The synthetic city's person model: Chinese names (characters and pinyin), resident IDs,
#: mobiles, dwellings. Its figures are the benchmark's.
DEFAULT_PERSON = KindConfig(
    sources=_person_sources(),
    comparisons=(
        _cmp("name", order_swaps=False), _cmp("id_number"), _cmp("birth_date"), _cmp("gender"),
        _cmp("phone"), _cmp("address"), _cmp("other_id"), _cmp("employer"),
    ),
    blocking=(
        ("id_raw",), ("phone_norm",), ("name_py", "dob"), ("name_py", "addr_room"),
        ("surname_py", "addr_place", "addr_room"), ("other_id_norm",),
    ),
    training=(("phone_norm",), ("name_py", "dob"), ("id_raw",)),
    fallback_training=(("name_py", "addr_room"), ("name_py",)),
    prior_rules=(("id_valid",),),
    prior_recall=0.1,
    exact_links=("valid_id", "local_id", "phone_and_surname"),
    attach_by_name=True,
    threshold=0.99,
)  # fmt: skip

DEFAULT_ENTERPRISE = KindConfig(
    sources=_enterprise_sources(),
    comparisons=(_cmp("name", jaro_winkler=0.92), _cmp("id_number"), _cmp("address")),
    blocking=(("id_raw",), ("name_core",), ("name_py",)),
    training=(("name_core",), ("id_raw",)),
    fallback_training=(("name_py",), ("addr_place", "addr_room")),
    prior_rules=(("id_valid",),),
    prior_recall=0.8,
    exact_links=("valid_id", "local_id", "registered_name"),
    threshold=0.99,
)


class ResolveConfig(_Strict):
    """The ``resolve`` section: one entry per entity kind; a kind left out keeps its default."""

    person: KindConfig = DEFAULT_PERSON
    enterprise: KindConfig = DEFAULT_ENTERPRISE
    dwelling: DwellingConfig = Field(default_factory=DwellingConfig)
    vehicle: VehicleConfig = Field(default_factory=VehicleConfig)

    @model_validator(mode="before")
    @classmethod
    def _over_defaults(cls, data: Any) -> Any:
        """A kind's keys replace the default's keys; the keys left out keep the default's."""
        if not isinstance(data, Mapping):
            return data
        out = dict(data)
        for kind, default in (("person", DEFAULT_PERSON), ("enterprise", DEFAULT_ENTERPRISE)):
            given = out.get(kind)
            if isinstance(given, Mapping):
                out[kind] = {**default.model_dump(), **given}
        return out

    @model_validator(mode="after")
    def _columns(self) -> ResolveConfig:
        for kind in ("person", "enterprise"):
            try:
                _check_columns(self.kind(kind), kind)
            except ValueError as exc:
                raise ValueError(f"{kind}.{exc}") from None
        return self

    def kind(self, kind: str) -> KindConfig:
        config: KindConfig = getattr(self, kind)
        return config


def kind_config(data: KindConfig | Mapping[str, Any], kind: str = "person") -> KindConfig:
    """A validated `KindConfig` from a model or a plain mapping; errors are one line."""
    if isinstance(data, KindConfig):
        return _check(lambda: _check_columns(data, kind), "config")
    return _check(lambda: _check_columns(KindConfig.model_validate(data), kind), "config")


def parse_resolve(data: Mapping[str, Any] | None, source: str) -> ResolveConfig:
    """The ``resolve`` section (already read from TOML or YAML) as a `ResolveConfig`."""
    return _check(lambda: ResolveConfig.model_validate(dict(data or {})), source)


def load_resolve_config(root: Path, section: Mapping[str, Any] | None) -> ResolveConfig:
    """A workspace's resolver configuration: ``[resolve]`` in ``citybrain.toml``, else
    ``resolve.yaml`` beside it, else the defaults. Both at once is an error (which one wins?)."""
    path = root / "resolve.yaml"
    if path.is_file():
        if section:
            raise ConfigError(
                f"{path}: the workspace also has a [resolve] section in citybrain.toml",
                hint="keep one of the two",
            )
        from ruamel.yaml import YAML
        from ruamel.yaml.error import YAMLError

        try:
            data = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
        except YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML: {str(exc).splitlines()[0]}") from None
        if data is not None and not isinstance(data, Mapping):
            raise ConfigError(f"{path}: expected a mapping of entity kinds (person: …)")
        return parse_resolve(data, str(path))
    return parse_resolve(section, "citybrain.toml: resolve")


def _check(make: Callable[[], T], source: str) -> T:
    try:
        return make()
    except ValidationError as exc:
        raise ConfigError(_describe(exc, source)) from None
    except ValueError as exc:
        raise ConfigError(f"{source}: {exc}") from None


def _describe(error: ValidationError, source: str) -> str:
    from citybrain.core.yamlmodel import first_problem, key_text  # ruamel only on an error

    loc, problem = first_problem(error)
    return f"{source}: {key_text(loc)}: {problem}" if loc else f"{source}: {problem}"
