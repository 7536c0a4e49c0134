import pytest

from citybrain.core.stdmodel import STD_TABLES, std_table


def test_every_table_has_unique_snake_case_columns() -> None:
    for table in STD_TABLES.values():
        names = table.column_names
        assert len(names) == len(set(names)), table.name
        assert all(name.isidentifier() and name == name.lower() for name in names), table.name


def test_subject_tables_carry_their_identifiers() -> None:
    assert std_table("person_registration").column("id_number").role == "id_number"
    assert std_table("enterprise_registration").column("uscc").role == "uscc"
    assert std_table("utility_reading").column("address").role == "address"


def test_unknown_table_lists_the_known_ones() -> None:
    with pytest.raises(KeyError, match="utility_reading"):
        std_table("water")
    with pytest.raises(KeyError, match="no column"):
        std_table("delivery").column("nope")
