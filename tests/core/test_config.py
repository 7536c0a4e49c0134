from pathlib import Path

import pytest

from citybrain.core import ConfigError, Workspace, parse_config


def test_defaults_are_duckdb_and_sqlite() -> None:
    config = parse_config("")
    assert config.engine.kind == "duckdb"
    assert config.ops_db.url.startswith("sqlite:///")


def test_spark_settings_are_read() -> None:
    config = parse_config(
        '[engine]\nkind = "spark"\n[engine.spark]\nmaster = "local[2]"\n'
        'conf = { "spark.sql.shuffle.partitions" = "4" }\n'
    )
    assert config.engine.kind == "spark"
    assert config.engine.spark.master == "local[2]"
    assert config.engine.spark.conf == {"spark.sql.shuffle.partitions": "4"}


def test_address_workers_are_read_and_default_to_every_cpu() -> None:
    assert parse_config("").standardize.address_workers == 0
    config = parse_config("[standardize]\naddress_workers = 1\n")
    assert config.standardize.address_workers == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[engine]\nkind = "oracle"\n', "engine.kind"),
        ("[engine]\nthreads = 4\n", "engine.threads: unknown key"),
        ('[ops_db]\nurl = "postgresql://u:secret@h/db"\n', "ops_db.url"),
        ('[ops_db]\nurl = "not a url"\n', "ops_db.url"),
        ("[logging]\nlevel = 3\n", "logging.level"),
        ("[standardize]\naddress_workers = -1\n", "standardize.address_workers"),
    ],
)
def test_wrong_value_names_the_key(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config(text, "citybrain.toml")
    message = str(raised.value)
    assert message.startswith("citybrain.toml: ")
    assert expected in message
    assert "\n" not in message


def test_broken_toml_is_one_line() -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        parse_config("[engine\nkind=1")


def test_password_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = parse_config(
        '[ops_db]\nurl = "postgresql+psycopg://city@127.0.0.1/ops"\npassword_env = "OPS_PW"\n'
    )
    with pytest.raises(ConfigError, match="OPS_PW"):
        config.ops_db_url(tmp_path)
    monkeypatch.setenv("OPS_PW", "s3cr:t")
    assert config.ops_db_url(tmp_path) == "postgresql+psycopg://city:s3cr%3At@127.0.0.1/ops"


def test_workspace_url_substitutes_the_root(tmp_path: Path) -> None:
    workspace = Workspace.init(tmp_path / "ws")
    assert workspace.ops_db_url == f"sqlite:///{workspace.root}/ops.sqlite"
