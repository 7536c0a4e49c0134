"""Declared inputs are enforced: a topic run by the runner sees only the columns it declared (and
the ones standardisation adds to every row); reading another fails with one line naming it."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from citybrain.core import Workspace
from citybrain.core.catalog import Catalog, ColumnInfo, DatasetSpec
from citybrain.core.engine import Engine
from citybrain.core.stdmodel import FLAGS_COLUMN, LINEAGE_COLUMNS
from citybrain.govern.standardize.pipeline import MATCH_OUTPUT
from citybrain.topics import FINDINGS_SCHEMA, InputSpec, Topic, TopicContext
from citybrain.topics.base import IMPLICIT_COLUMNS, UndeclaredColumn
from citybrain.topics.runner import read_inputs, run_topic


class CountsComplaints(Topic):
    """Reads the declared ``received_at`` and the implicit ``address_id``; finds nothing."""

    name = "counts_complaints"
    title_zh = "投诉计数"
    title_en = "Complaint count"
    subject_type = "place"
    inputs = (InputSpec(table="complaint", columns=("received_at",)),)

    def run(self, ctx: TopicContext) -> pa.Table:
        complaint = ctx.input("std.complaint")
        counted = complaint.aggregate(by="address_id", n=complaint.received_at.count())
        ctx.extra["counted"] = ctx.engine.to_arrow(counted).num_rows
        return FINDINGS_SCHEMA.empty_table()


class ReadsText(CountsComplaints):
    name = "reads_text"

    def run(self, ctx: TopicContext) -> pa.Table:
        complaint = ctx.input("std.complaint")
        ctx.engine.to_arrow(complaint.filter(complaint.text.notnull()))
        return FINDINGS_SCHEMA.empty_table()


class SelectsText(CountsComplaints):
    name = "selects_text"

    def run(self, ctx: TopicContext) -> pa.Table:
        ctx.engine.to_arrow(ctx.input("std.complaint").select("received_at", "text"))
        return FINDINGS_SCHEMA.empty_table()


@pytest.fixture
def city(tmp_path: Path, engine: Engine) -> tuple[Workspace, Engine, Catalog]:
    workspace = Workspace.init(tmp_path / "ws")
    catalog = Catalog.open(workspace.ops_db_url)
    complaints = pa.table(
        {
            "received_at": ["2025-03-01", "2025-03-02"],
            "text": ["隔断群租", "噪音"],
            "address_id": ["A1", "A2"],
            "source_system": ["hotline_12345"] * 2,
        }
    )
    engine.write(complaints, "std", "complaint")
    catalog.register_dataset(
        DatasetSpec(
            zone="std",
            name="complaint",
            columns=tuple(ColumnInfo(name=c, type="string") for c in complaints.column_names),
        )
    )
    return workspace, engine, catalog


def test_the_implicit_columns_are_what_standardisation_adds() -> None:
    assert set(IMPLICIT_COLUMNS) == {*MATCH_OUTPUT, *LINEAGE_COLUMNS, FLAGS_COLUMN}


def test_a_topic_is_handed_only_declared_and_implicit_columns(
    city: tuple[Workspace, Engine, Catalog],
) -> None:
    _, engine, _ = city
    handed = read_inputs(CountsComplaints(), engine)["std.complaint"]
    assert set(handed.columns) == {"received_at", "address_id", "source_system"}
    assert InputSpec(table="complaint").allowed(("a", "b")) == ("a", "b")  # nothing declared: all


def test_a_declared_read_runs(city: tuple[Workspace, Engine, Catalog]) -> None:
    workspace, engine, catalog = city
    assert run_topic(CountsComplaints(), workspace, engine, catalog).findings == 0


@pytest.mark.parametrize("topic", [ReadsText(), SelectsText()], ids=["attribute", "select"])
def test_reading_an_undeclared_column_fails_naming_topic_input_and_column(
    city: tuple[Workspace, Engine, Catalog], topic: Topic
) -> None:
    workspace, engine, catalog = city
    with pytest.raises(UndeclaredColumn) as caught:
        run_topic(topic, workspace, engine, catalog)
    assert str(caught.value) == (
        f"topic {topic.name} reads std.complaint.text, which it does not declare in its inputs"
    )
