"""The resolver's configuration: ``[resolve]`` in citybrain.toml or ``resolve.yaml``, validated
with one-line errors that name the key; a kind configured without sources keeps the defaults'."""

from __future__ import annotations

from pathlib import Path

import pytest

from citybrain.core.config import parse_config
from citybrain.core.errors import ConfigError
from citybrain.govern.resolve import DEFAULT_PERSON, ResolveConfig, load_resolve_config

TOML = """
[resolve.person]
comparisons = ["name", "other_id", "birth_date"]
blocking = [["other_id_norm"], ["name_key", "dob"]]
training = [["other_id_norm"]]
prior_rules = [["other_id_norm"]]
link_type = "link_only"

[[resolve.person.sources]]
table = "patients"
key = "patient_no"
fields = {given_name = "forename", family_name = "surname", other_id = "passport"}
"""


def test_the_defaults_are_the_synthetic_citys_model() -> None:
    config = load_resolve_config(Path("/nonexistent"), {})
    assert config == ResolveConfig()
    assert config.person == DEFAULT_PERSON
    assert {s.table for s in config.person.sources} >= {"person_registration", "delivery"}


def test_a_toml_section_configures_a_kind(tmp_path: Path) -> None:
    section = parse_config(TOML).resolve
    config = load_resolve_config(tmp_path, section)
    person = config.person
    assert person.link_type == "link_only"
    assert [c.field for c in person.comparisons] == ["name", "other_id", "birth_date"]
    assert person.sources[0].fields == {
        "given_name": "forename", "family_name": "surname", "other_id": "passport",
    }  # fmt: skip
    assert config.enterprise.sources  # the kind not configured keeps its default


def test_the_keys_a_kind_leaves_out_keep_the_defaults(tmp_path: Path) -> None:
    (tmp_path / "resolve.yaml").write_text("person:\n  threshold: 0.95\n", encoding="utf-8")
    config = load_resolve_config(tmp_path, None)
    assert config.person.threshold == 0.95
    assert config.person.model_copy(update={"threshold": 0.99}) == DEFAULT_PERSON


@pytest.mark.parametrize(
    ("yaml", "message"),
    [
        ("person:\n  threshold: 2\n", r"resolve\.yaml: person\.threshold: Input should be less"),
        ("person:\n  comparisons: [name]\n  blocking: [[phone]]\n  training: []\n",
         r"resolve\.yaml: person\.blocking\[0\]: 'phone' is not a person feature column"),
        ("persons: {}\n", r"resolve\.yaml: persons: unknown key"),
        ("person:\n  sources: [{table: t, key: k, fields: {shoe: s}}]\n  comparisons: [name]\n"
         "  blocking: [[name_py]]\n  training: [[name_py]]\n",
         r"person\.sources\[0\]\.fields\.shoe\.\[key\]: Input should be"),
        ("- person\n", r"expected a mapping"),
        ("person: [\n", r"not valid YAML"),
    ],
)  # fmt: skip
def test_a_bad_resolve_yaml_is_one_line_naming_the_key(
    tmp_path: Path, yaml: str, message: str
) -> None:
    (tmp_path / "resolve.yaml").write_text(yaml, encoding="utf-8")
    with pytest.raises(ConfigError, match=message) as caught:
        load_resolve_config(tmp_path, None)
    assert "\n" not in str(caught.value)


def test_both_a_section_and_a_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "resolve.yaml").write_text("person: {}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="also has a \\[resolve\\] section"):
        load_resolve_config(tmp_path, {"person": {}})
