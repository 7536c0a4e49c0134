"""The ``[api]`` section of citybrain.toml: validated, applied by create_app, overridden by env."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from citybrain.api import create_app
from citybrain.api.settings import ApiSettings
from citybrain.core import Workspace
from citybrain.core.config import parse_config
from citybrain.core.errors import ConfigError
from citybrain.core.opsdb import upgrade


def test_defaults_without_an_api_section() -> None:
    config = parse_config('name = "x"\n')
    settings = ApiSettings.for_config(config.api)
    assert settings.access_token_minutes == 15
    assert settings.cors_origins == ()
    assert settings.workers == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[api]\naccess_token_minutes = 0", "api.access_token_minutes"),
        ("[api]\nworkers = 100", "api.workers"),
        ('[api]\ncors_origins = ["*"]', "name each origin"),
        ('[api]\ncors_origins = ["https://a.example/path"]', "no path"),
        ("[api]\nrate_limits = 3", "api.rate_limits: unknown key"),
    ],
)
def test_bad_values_are_named(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config(text, "citybrain.toml")


def test_the_workspace_file_is_applied_and_the_environment_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = parse_config(
        "[api]\naccess_token_minutes = 5\nmax_body_bytes = 4096\nworkers = 2\n"
        'cors_origins = ["https://screen.example.gov.cn"]\n'
    )
    settings = ApiSettings.for_config(config.api)
    assert (settings.access_token_minutes, settings.workers) == (5, 2)
    monkeypatch.setenv("CITYBRAIN_API_ACCESS_TOKEN_MINUTES", "7")
    assert ApiSettings.for_config(config.api).access_token_minutes == 7


def test_cors_is_off_by_default_and_on_for_listed_origins(tmp_path: Path) -> None:
    workspace = Workspace.init(tmp_path / "ws")
    upgrade(workspace.ops_db_url)
    origin = "https://screen.example.gov.cn"
    preflight = {"Origin": origin, "Access-Control-Request-Method": "GET"}
    with TestClient(create_app(workspace)) as client:
        response = client.options("/api/v1/catalog/datasets", headers=preflight)
        assert "access-control-allow-origin" not in response.headers
    config = workspace.root / "citybrain.toml"
    config.write_text(
        config.read_text(encoding="utf-8") + f'\n[api]\ncors_origins = ["{origin}"]\n'
        "max_body_bytes = 2048\n",
        encoding="utf-8",
    )
    app = create_app(Workspace.open(workspace.root))
    with TestClient(app) as client:
        response = client.options("/api/v1/catalog/datasets", headers=preflight)
        assert response.headers["access-control-allow-origin"] == origin
        other = client.options(
            "/api/v1/catalog/datasets",
            headers={**preflight, "Origin": "https://evil.example"},
        )
        assert other.headers.get("access-control-allow-origin") != "https://evil.example"
        too_big = client.post("/api/v1/auth/token", content=b"x" * 4096)
        assert too_big.status_code == 413
    app.state.security.ops_engine.dispose()
