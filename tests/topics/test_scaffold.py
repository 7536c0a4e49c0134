"""`topic new`: the scaffolded package passes its own tests as generated (with its entry point
simulated by a dist-info folder), and (slow) really installs with `uv pip install -e` into a
throwaway environment where `citybrain topic list` shows it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from citybrain.core import UserError, Workspace
from citybrain.topics.scaffold import scaffold_topic
from cli.runner import run_cli

# the tiny city's session fixture, shared with the built-in topics' tests
from topics.builtin.conftest import tiny_std_workspace  # noqa: F401

NAME = "noise_hotspots"


def _simulated_install(made_root: Path, tmp_path: Path) -> Path:
    """A folder holding the dist-info an install would write: metadata and the entry point."""
    site = tmp_path / "site"
    info = site / "citybrain_topic_noise_hotspots-0.1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: citybrain-topic-noise-hotspots\nVersion: 0.1.0\n"
    )
    pyproject = tomllib.loads((made_root / "pyproject.toml").read_text())
    points = pyproject["project"]["entry-points"]["citybrain.topics"]
    lines = "".join(f"{name} = {value}\n" for name, value in points.items())
    (info / "entry_points.txt").write_text(f"[citybrain.topics]\n{lines}")
    return site


def test_the_scaffold_has_an_entry_point_inputs_params_run_evaluate_tests_and_readme(
    tmp_path: Path,
) -> None:
    made = scaffold_topic(
        NAME, tmp_path / "pkg", title_zh="噪声投诉热点", title_en="Noise hotspots"
    )
    names = {path.relative_to(made.root).as_posix() for path in made.files}
    assert names == {
        "pyproject.toml",
        "README.md",
        "src/citybrain_topic_noise_hotspots/__init__.py",
        "src/citybrain_topic_noise_hotspots/topic.py",
        "tests/test_topic.py",
    }
    pyproject = (made.root / "pyproject.toml").read_text()
    assert 'noise_hotspots = "citybrain_topic_noise_hotspots.topic:NoiseHotspots"' in pyproject
    topic = (made.root / "src/citybrain_topic_noise_hotspots/topic.py").read_text()
    for part in (
        "inputs = ",
        "params_model",
        "def run(",
        "def evaluate(",
        'title_zh = "噪声投诉热点"',
    ):
        assert part in topic
    assert "topic check noise_hotspots" in (made.root / "README.md").read_text()


def _generated_tests(tmp_path: Path, marks: str) -> subprocess.CompletedProcess[str]:
    made = scaffold_topic(NAME, tmp_path / "pkg")
    site = _simulated_install(made.root, tmp_path)
    env = {**os.environ, "PYTHONPATH": str(site)}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", marks],
        cwd=made.root,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )


def test_the_generated_package_passes_its_own_tests(tmp_path: Path) -> None:
    done = _generated_tests(tmp_path, "not slow")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "3 passed" in done.stdout


@pytest.mark.slow
def test_the_generated_package_passes_its_tiny_city_test(tmp_path: Path) -> None:
    done = _generated_tests(tmp_path, "slow")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "1 passed" in done.stdout


def test_bad_names_and_a_used_folder_are_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(UserError, match="not a topic name"):
        scaffold_topic("Noise-Hotspots", tmp_path / "a")
    used = tmp_path / "used"
    used.mkdir()
    (used / "keep.txt").write_text("x")
    code, _, err = run_cli(["topic", "new", NAME, "--out", str(used)], capsys)
    assert code != 0 and "not an empty folder" in err and len(err.strip().splitlines()) == 1
    assert (used / "keep.txt").read_text() == "x"


@pytest.mark.slow
def test_it_installs_with_uv_pip_install_e_and_citybrain_lists_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A throwaway venv that sees this environment's packages (a .pth file), into which
    `uv pip install --offline -e` installs the package (hatchling comes from uv's cache)."""
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not on PATH")
    code, out, _ = run_cli(["topic", "new", NAME, "--out", str(tmp_path / "pkg")], capsys)
    assert code == 0, out
    venv = tmp_path / "venv"
    subprocess.run([uv, "venv", "-q", str(venv), "--python", sys.executable], check=True)
    site_packages = next(Path(p) for p in sys.path if p.endswith("site-packages"))
    # `import` lines of a .pth run: addsitedir also reads the editable citybrain's own .pth
    (venv / "lib/python3.11/site-packages/citybrain_env.pth").write_text(
        f"import site; site.addsitedir({str(site_packages)!r})\n"
    )
    python = venv / "bin/python"
    subprocess.run(
        [uv, "pip", "install", "--offline", "--no-deps", "--python", str(python), "-e",
         str(tmp_path / "pkg")],
        check=True,
        capture_output=True,
        timeout=300,
    )  # fmt: skip
    workspace = Workspace.init(tmp_path / "ws")
    listed = subprocess.run(
        [str(python), "-c", "from citybrain.cli.main import main; main()",
         "-w", str(workspace.root), "topic", "list"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    assert listed.returncode == 0, listed.stderr
    assert NAME in listed.stdout and "group_rental" in listed.stdout
    # the project's own environment is untouched
    assert (
        NAME
        not in subprocess.run(
            [
                sys.executable,
                "-c",
                "from citybrain.topics import discover_topics as d; print(list(d()))",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )


@pytest.mark.slow
def test_the_installed_scaffold_runs_in_citybrain_run(
    tiny_std_workspace: Workspace,  # noqa: F811 (the imported fixture)
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Installed (its dist-info and sources on the path), the scaffolded topic is a step of
    `citybrain run` and stores its findings on the tiny city, like a built-in topic."""
    from citybrain.api.deps.topics import installed_topics
    from citybrain.pipeline import run_pipeline
    from citybrain.topics import discover_topics
    from citybrain.topics.runner import latest_findings
    from fixtures.tinycity import copy_workspace

    # the API reads installed topics once per process (create_app starts that scan): done before
    # the package is on the path, so later tests in this process never see it
    assert NAME not in installed_topics()
    made = scaffold_topic(NAME, tmp_path / "pkg")
    monkeypatch.syspath_prepend(str(made.root / "src"))
    monkeypatch.syspath_prepend(str(_simulated_install(made.root, tmp_path)))
    assert NAME in discover_topics()
    workspace = copy_workspace(tiny_std_workspace.root, tmp_path / "ws")
    summary = run_pipeline(workspace, only=f"topic:{NAME}")
    step = next(s for s in summary.steps if s.name == f"topic:{NAME}")
    assert step.status == "succeeded", (step.summary, step.error)
    with workspace.engine() as engine:
        findings = latest_findings(engine, NAME)
    assert findings.num_rows == step.rows_out

    # the API the web app reads serves its page, map layer and tile (installed topics are read
    # once per server process: here the scan that sees the package, as a restarted server would)
    from datetime import UTC, datetime, timedelta

    from fastapi.testclient import TestClient

    from citybrain.api import create_app
    from citybrain.api.deps.topics import get_installed_topics
    from citybrain.api.security import accounts, tokens
    from citybrain.api.settings import ApiSettings
    from citybrain.core.opsdb import session

    app = create_app(workspace, ApiSettings(rate_limit_enabled=False, auth_cache_seconds=0))
    app.dependency_overrides[get_installed_topics] = discover_topics
    security = app.state.security
    with session(security.ops_engine) as db:
        user = accounts.create_user(db, "leader-1", role="leader", password=None).id
    token = tokens.issue_access_token(
        security.signing_key, user, datetime.now(UTC), timedelta(minutes=5)
    )
    with TestClient(app) as client:
        got = client.get(f"/api/v1/topics/{NAME}", headers={"Authorization": f"Bearer {token}"})
    security.ops_engine.dispose()
    assert got.status_code == 200, got.text
    info = got.json()
    assert info["readiness"]["ready"] and info["has_findings"]
    assert info["title_zh"] and info["map_layers"] and info["overview_tiles"]
    assert NAME not in installed_topics()
