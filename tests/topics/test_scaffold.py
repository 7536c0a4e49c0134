"""`topic new`: the scaffolded package passes its own tests as generated (with its entry point
simulated by a dist-info folder). That it really installs with `uv pip install -e`, is listed by
`citybrain topic list`, runs in `citybrain run` and shows in the web app is one test of the whole
path: tests/web/test_scaffolded_topic.py."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from citybrain.core import UserError
from citybrain.topics.scaffold import scaffold_topic
from cli.runner import run_cli

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
