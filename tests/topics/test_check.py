"""`topic check`: a city's catalog against a topic's data contract, on the tiny city — complete,
with an input removed, with a column dropped, with a column of the wrong type."""

# ruff: noqa: F811 (test arguments are the imported fixtures)

from __future__ import annotations

from pathlib import Path

import pytest

from citybrain.core import Workspace
from citybrain.core.catalog import Catalog, ColumnInfo, DatasetSpec
from citybrain.topics.builtin.group_rental import GroupRental
from citybrain.topics.check import check_contract
from cli.runner import run_cli

# the tiny city's session fixtures, shared with the built-in topics' tests
from topics.builtin.conftest import tiny_std_workspace, tiny_truth  # noqa: F401


def _copy_catalog(
    source: Workspace,
    target: Path,
    *,
    drop_table: str | None = None,
    drop_column: tuple[str, str] | None = None,
    retype: tuple[str, str, str] | None = None,
) -> Catalog:
    """A catalog holding what ``source`` registered in std, less what the test takes away."""
    original = Catalog.open(source.ops_db_url)
    copy = Catalog.open(f"sqlite:///{target}")
    for dataset in original.list_datasets():
        if dataset.zone != "std" or dataset.name == drop_table:
            continue
        columns = []
        for column in dataset.columns:
            if drop_column == (dataset.name, column.name):
                continue
            if retype is not None and retype[:2] == (dataset.name, column.name):
                column = ColumnInfo(name=column.name, type=retype[2])
            columns.append(column)
        copy.register_dataset(
            DatasetSpec(zone="std", name=dataset.name, path=dataset.path, columns=tuple(columns))
        )
    original.close()
    return copy


def test_the_tiny_city_meets_the_group_rental_contract(tiny_std_workspace: Workspace) -> None:
    catalog = Catalog.open(tiny_std_workspace.ops_db_url)
    with tiny_std_workspace.engine() as engine:
        result = check_contract(GroupRental(), catalog, engine)
    assert result.passed, result.summary()
    assert len(result.inputs) == len(GroupRental.inputs)
    for status in result.inputs:
        assert status.present and status.rows and status.rows > 0
        assert status.completeness is not None and 0.0 < status.completeness <= 1.0
        assert status.to_map() == ""


def test_a_removed_input_and_a_dropped_column_are_named(
    tiny_std_workspace: Workspace, tmp_path: Path
) -> None:
    catalog = _copy_catalog(
        tiny_std_workspace,
        tmp_path / "ops.sqlite",
        drop_table="delivery",
        drop_column=("complaint", "text"),
    )
    result = check_contract(GroupRental(), catalog)
    assert not result.passed
    unmet = {status.spec.dataset: status for status in result.unmet}
    assert set(unmet) == {"std.delivery", "std.complaint"}
    assert not unmet["std.delivery"].present
    assert "standard: delivery" in unmet["std.delivery"].to_map()
    assert "recipient_phone" in unmet["std.delivery"].to_map()
    assert unmet["std.complaint"].missing_columns == ("text",)
    assert unmet["std.complaint"].to_map() == "map std.complaint.text"
    line = result.summary()
    assert "\n" not in line
    assert "std.delivery is missing" in line and "column text missing" in line


def test_a_column_of_the_wrong_type_is_unmet(tiny_std_workspace: Workspace, tmp_path: Path) -> None:
    catalog = _copy_catalog(
        tiny_std_workspace, tmp_path / "ops.sqlite", retype=("utility_reading", "usage", "string")
    )
    result = check_contract(GroupRental(), catalog)
    (status,) = result.unmet
    assert status.wrong_types == (("usage", "float64", "string"),)
    assert "usage is string, not float64" in result.summary()


def test_cli_check_passes_on_the_tiny_city(
    tiny_std_workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    root = str(tiny_std_workspace.root)
    code, out, _ = run_cli(["-w", root, "topic", "check", "group_rental"], capsys)
    assert code == 0, out
    assert "std.utility_reading" in out and "contract is met" in out


def test_cli_check_on_a_city_missing_inputs_exits_non_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    workspace = Workspace.init(tmp_path / "ws")
    code, out, err = run_cli(["-w", str(workspace.root), "topic", "check", "group_rental"], capsys)
    assert code != 0
    # the table names every input and the columns to map …
    for spec in GroupRental.inputs:
        assert spec.dataset in out
    assert "recipient_phone" in out
    # … and the error is one line, no traceback
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "not met" in lines[0] and "Traceback" not in err
