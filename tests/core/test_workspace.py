from pathlib import Path

import pytest

from citybrain.core import ZONES, ConfigError, UserError, Workspace


def test_init_creates_config_and_zones(tmp_path: Path) -> None:
    workspace = Workspace.init(tmp_path / "gaoxin", name="示例高新区")
    assert (workspace.root / "citybrain.toml").is_file()
    for zone in ZONES:
        assert workspace.zone(zone).is_dir()
    assert Workspace.open(workspace.root).config.name == "示例高新区"


def test_init_twice_needs_force(tmp_path: Path) -> None:
    Workspace.init(tmp_path / "ws")
    with pytest.raises(UserError, match="already a workspace"):
        Workspace.init(tmp_path / "ws")
    Workspace.init(tmp_path / "ws", exist_ok=True)


def test_open_missing_workspace_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no such workspace"):
        Workspace.open(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="no such config file"):
        Workspace.open(tmp_path / "empty")


def test_lake_may_live_elsewhere(tmp_path: Path) -> None:
    workspace = Workspace.init(tmp_path / "ws")
    config = workspace.root / "citybrain.toml"
    config.write_text(
        config.read_text().replace('lake = "."', f'lake = "{tmp_path / "lake"}"'), encoding="utf-8"
    )
    assert Workspace.open(workspace.root).zone("raw") == tmp_path / "lake" / "raw"


def test_unknown_zone_is_a_programmer_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown zone"):
        Workspace.init(tmp_path / "ws").zone("gold")
