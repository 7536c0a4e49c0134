"""Topics are found through real entry points, as a third-party package would install them."""

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from citybrain.core import UserError
from citybrain.topics import discover_topics, get_topic

PLUGIN = """
import pyarrow as pa
from citybrain.topics import Topic, TopicContext, InputSpec

class NoisyBars(Topic):
    name = "noisy_bars"
    title_zh = "噪声扰民"
    title_en = "Noisy bars"
    subject_type = "enterprise"
    inputs = (InputSpec(table="complaint", columns=("text", "address")),)

    def run(self, ctx: TopicContext) -> pa.Table:
        raise NotImplementedError
"""


def install_plugin(site: Path, module: str, target: str) -> None:
    (site / f"{module}.py").write_text(PLUGIN, encoding="utf-8")
    dist = site / f"{module}-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(f"[citybrain.topics]\n{module} = {target}\n")


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Path]:
    sys.path.insert(0, str(tmp_path))
    yield tmp_path
    sys.path.remove(str(tmp_path))
    for name in [m for m in sys.modules if m.startswith("cb_plugin")]:
        del sys.modules[name]


def test_installed_plugin_is_discovered(site: Path) -> None:
    install_plugin(site, "cb_plugin_ok", "cb_plugin_ok:NoisyBars")
    topics = discover_topics()
    assert "noisy_bars" in topics
    topic = get_topic("noisy_bars")
    assert topic.inputs[0].dataset == "std.complaint"
    assert topic.default_params().threshold == 0.5


def test_broken_plugin_is_named(site: Path) -> None:
    install_plugin(site, "cb_plugin_bad", "cb_plugin_bad:Missing")
    with pytest.raises(UserError, match="cb_plugin_bad"):
        discover_topics()


def test_unknown_topic_lists_installed_ones() -> None:
    with pytest.raises(UserError, match="unknown topic 'nope'"):
        get_topic("nope")


def test_one_topic_is_found_without_importing_the_others(site: Path) -> None:
    """A live detector's first case names its topic; loading every installed topic for that
    (scikit-learn, SciPy) held the first alert for seconds."""
    import subprocess

    probe = (
        "import sys; from citybrain.topics.registry import installed_topic; "
        "t = installed_topic('muck_trucks'); print(t.title_zh, 'sklearn' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["渣土车监管", "False"]
    # registered under another name: found by loading them all
    install_plugin(site, "cb_plugin_alias", "cb_plugin_alias:NoisyBars")
    from citybrain.topics.registry import installed_topic

    found = installed_topic("noisy_bars")
    assert found is not None and found.title_zh == "噪声扰民"
    assert installed_topic("nope") is None
