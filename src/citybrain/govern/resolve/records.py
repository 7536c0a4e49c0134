"""From std tables to one table of linkable records per entity kind.

Each std table that mentions a person or an enterprise contributes records through a
`RecordSpec`: which of its columns is the record key, the name, the identifier, the phone … The
records keep their lineage (``source_system``, ``source_table``, ``source_key``, ``source_row``,
``load_id``). A ``local_id`` is an account number that names one entity inside its own system (a
social-security employer number): rows that share it are one entity, whatever else they lack.
Rows that repeat one record (monthly meter readings of one account) collapse to one record per
key, the most recent load winning. All of it is one Ibis expression on the engine.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import ibis
import ibis.expr.types as ir

Kind = Literal["person", "enterprise"]

RECORD_COLUMNS: tuple[str, ...] = (
    "record_id",
    "source_system",
    "source_table",
    "source_key",
    "source_row",
    "load_id",
    "name",
    "id_number",
    "phone",
    "birth_date",
    "address",
    "local_id",
)


@dataclass(frozen=True)
class RecordSpec:
    """How one std table yields records: record column -> the table's column."""

    table: str
    key: str
    columns: Mapping[str, str]
    #: keep only rows where this column equals one of these values
    where: tuple[str, tuple[str, ...]] | None = None
    #: holder names that look like a firm go to enterprises, the others to persons
    holder: Literal["person", "firm"] | None = None
    extra: Mapping[str, str] = field(default_factory=dict)


# Firm-looking names: a legal-form or business word anywhere in the name.
FIRM_PATTERN = r"(公司|有限|集团|厂|店|中心|合作社|事务所|工作室|商行|医院|学校|酒店|餐饮|超市)"

PERSON_SPECS: tuple[RecordSpec, ...] = (
    RecordSpec("person_registration", "record_id", {
        "name": "name", "id_number": "id_number", "phone": "phone",
        "birth_date": "birth_date", "address": "address"}),
    RecordSpec("residence_permit", "permit_id", {
        "name": "name", "id_number": "id_number", "phone": "phone", "address": "address"}),
    RecordSpec("arrival", "record_id", {
        "name": "name", "id_number": "id_number", "phone": "phone"}),
    RecordSpec("test_record", "test_id", {
        "name": "name", "id_number": "id_number", "phone": "phone"}),
    RecordSpec("utility_reading", "account_id", {
        "name": "holder_name", "id_number": "holder_id_number", "phone": "holder_phone",
        "address": "address"}, holder="person"),
    RecordSpec("delivery", "stat_id", {
        "name": "recipient_name", "phone": "recipient_phone", "address": "address"}),
    RecordSpec("complaint", "ticket_id", {
        "name": "caller_name", "phone": "caller_phone", "address": "address"}),
    RecordSpec("screening", "record_id", {"name": "contact_name", "address": "address"}),
    RecordSpec("enterprise_registration", "registration_id", {
        "name": "legal_rep_name", "id_number": "legal_rep_id_number"}),
    RecordSpec("dishonest_judgment", "case_code", {"name": "name", "id_number": "identifier"},
               where=("subject_kind", ("自然人", "person"))),
)  # fmt: skip

ENTERPRISE_SPECS: tuple[RecordSpec, ...] = (
    RecordSpec("enterprise_registration", "registration_id", {
        "name": "name", "id_number": "uscc", "address": "address"}),
    RecordSpec("tax_declaration", "declaration_id", {"name": "name", "id_number": "uscc"}),
    RecordSpec("social_security", "record_id", {
        "name": "name", "id_number": "uscc", "local_id": "employer_id"}),
    RecordSpec("penalty", "decision_no", {"name": "name", "id_number": "uscc"}),
    RecordSpec("commitment", "commitment_id", {"name": "name", "id_number": "uscc"}),
    RecordSpec("transport_permit", "permit_no", {"name": "company", "id_number": "uscc"}),
    RecordSpec("dishonest_judgment", "case_code", {"name": "name", "id_number": "identifier"},
               where=("subject_kind", ("法人或其他组织", "enterprise", "企业"))),
    RecordSpec("utility_reading", "account_id", {"name": "holder_name", "address": "address"},
               holder="firm"),
)  # fmt: skip


def specs_for(kind: Kind) -> tuple[RecordSpec, ...]:
    return PERSON_SPECS if kind == "person" else ENTERPRISE_SPECS


def _text(table: ir.Table, column: str | None) -> ir.StringValue:
    if column is None or column not in table.columns:
        return ibis.null(str)
    value = table[column].cast(str).strip()
    return ibis.ifelse(value == "", ibis.null(str), value)


def records_of(table: ir.Table, spec: RecordSpec) -> ir.Table:
    """One std table's records in `RECORD_COLUMNS`, one row per (source system, key)."""
    if spec.where is not None and spec.where[0] in table.columns:
        table = table.filter(table[spec.where[0]].isin(list(spec.where[1])))
    if spec.holder is not None and spec.columns["name"] in table.columns:
        firm = table[spec.columns["name"]].re_search(FIRM_PATTERN).fill_null(False)
        table = table.filter(firm if spec.holder == "firm" else ~firm)
    key = _text(table, spec.key)
    system = table["source_system"].cast(str)
    out = table.select(
        record_id=system.concat("|", spec.table, "|", key),
        source_system=system,
        source_table=ibis.literal(spec.table),
        source_key=key,
        source_row=_text(table, "source_row"),
        load_id=_text(table, "load_id"),
        **{col: _text(table, spec.columns.get(col)) for col in RECORD_COLUMNS[6:-1]},
        local_id=system.concat("|", spec.table, "|", _text(table, spec.columns.get("local_id"))),
    ).filter(lambda t: t.source_key.notnull() & t.name.notnull())
    # Repeated rows of one record: the latest load wins, ties by source row.
    window = ibis.window(group_by=out.record_id, order_by=[ibis.desc(out.load_id), out.source_row])
    ranked = out.mutate(_rank=ibis.row_number().over(window))
    return ranked.filter(ranked._rank == 0).drop("_rank")


def build_records(std: Mapping[str, ir.Table], kind: Kind) -> ir.Table | None:
    """Every record of ``kind`` in the given std tables (absent tables are skipped)."""
    parts = [records_of(std[spec.table], spec) for spec in specs_for(kind) if spec.table in std]
    if not parts:
        return None
    return ibis.union(*parts, distinct=False)
