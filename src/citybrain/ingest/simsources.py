"""A workspace's sources for the synthetic city: the shipped contracts, pointed at one sim folder.

The contracts in ``contracts/sim/`` name their files relative to a synthetic city's root
(``water_utility/YS_*.csv``, ``sqlite:///health_tests/health.db``) and its servers on their default
addresses. :func:`write_sim_sources` copies them into ``<workspace>/sources/`` with absolute paths
and the servers' addresses filled in, keeping every comment (round-trip YAML), so
``citybrain workspace init WS --sim DIR`` followed by ``citybrain ingest --all`` loads the city.

This module reads the sim's output folder only; it never imports ``citybrain.sim``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ruamel.yaml import YAML

from citybrain.core.errors import UserError
from citybrain.ingest.check import check_contract

SIM_CONTRACTS = Path(__file__).parent / "contracts" / "sim"
DEFAULT_SIM_API = "http://127.0.0.1:8808"
DEFAULT_MQTT = "127.0.0.1:1883"
SIM_TAG = "sim"  # marks a source fed by the synthetic city, so errors can say what to start
FILE_KINDS = ("csv", "xlsx", "jsonl", "json", "parquet")
SQLITE_PREFIX = "sqlite:///"


@dataclass
class SimSources:
    """What :func:`write_sim_sources` wrote, and what the user still has to do."""

    files: list[Path] = field(default_factory=list)
    hints: list[str] = field(default_factory=list)


def shipped_sim_contracts() -> list[Path]:
    """The contract files shipped for the synthetic city's systems."""
    return sorted(SIM_CONTRACTS.glob("*.yaml"))


def city_contracts(sim_dir: Path) -> list[Path]:
    """The contracts for one generated city: its own ``contracts/`` folder when it has one (a
    district other than the default, ``citybrain sim --profile …``), else the shipped ones."""
    own = sorted((Path(sim_dir) / "contracts").glob("*.yaml"))
    return own or shipped_sim_contracts()


def parse_broker(text: str) -> tuple[str, int]:
    """``host:port`` (or just ``host``) → (host, port); a bad port is a user error."""
    host, _, port = text.strip().rpartition(":") if ":" in text else (text.strip(), "", "1883")
    try:
        number = int(port)
    except ValueError:
        number = -1
    if not host or not 0 < number < 65536:
        raise UserError(f"--mqtt {text!r}: expected HOST:PORT, e.g. {DEFAULT_MQTT}")
    return host, number


def _check_api(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UserError(f"--sim-api {url!r}: expected a base URL such as {DEFAULT_SIM_API}")
    return url.rstrip("/")


def _check_sim_dir(sim_dir: Path) -> Path:
    folder = sim_dir.expanduser().resolve()
    if not (folder / "README.json").is_file():
        raise UserError(
            f"{folder}: not a synthetic city (no README.json)",
            hint=f"generate one with `citybrain sim --scale tiny --out {sim_dir}`",
        )
    return folder


def _point(connector: dict[str, Any], sim_dir: Path, api: str, broker: tuple[str, int]) -> None:
    """Rewrite one connector mapping in place to the city's folder and servers."""
    kind = connector.get("kind")
    if kind in FILE_KINDS:
        relative = str(connector["path"])
        if kind != "parquet" and _handed_over_as_parquet(sim_dir, relative):
            # At city scale the bulk monthly exports come as Parquet with the same columns.
            for option in [k for k in connector if k not in ("kind", "path")]:
                del connector[option]
            connector["kind"] = "parquet"
            relative = str(Path(relative).with_suffix(".parquet"))
        connector["path"] = str(sim_dir / relative)
    elif kind == "sql" and str(connector.get("url", "")).startswith(SQLITE_PREFIX):
        relative = str(connector["url"])[len(SQLITE_PREFIX) :]
        connector["url"] = SQLITE_PREFIX + str(sim_dir / relative)
    elif kind == "http":
        parts = urlsplit(str(connector["url"]))
        connector["url"] = api + parts.path + (f"?{parts.query}" if parts.query else "")
    elif kind == "mqtt":
        connector["host"], connector["port"] = broker
        cadence = connector.get("cadence")
        every = _reading_interval(sim_dir, str(connector.get("topic", "")))
        if isinstance(cadence, dict) and every:
            cadence["every_seconds"] = every  # this city's sensors report this often


def _reading_interval(sim_dir: Path, topic: str) -> int | None:
    """How often the sensors of the city's MQTT system on ``topic`` report (its connection.json)."""
    for path in sorted(sim_dir.glob("*/connection.json")):
        try:
            conn = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        prefix = str(conn.get("topic_prefix", ""))
        if conn.get("kind") == "mqtt" and prefix and topic.startswith(prefix):
            every = conn.get("reading_every_seconds")
            return int(every) if isinstance(every, int) and every > 0 else None
    return None


def _handed_over_as_parquet(sim_dir: Path, pattern: str) -> bool:
    """The contract's files are absent but the same names in ``.parquet`` are delivered."""
    if any(sim_dir.glob(pattern)):
        return False
    return any(sim_dir.glob(str(Path(pattern).with_suffix(".parquet"))))


def _api_key_hints(sim_dir: Path) -> list[str]:
    """The sim's HTTP systems that want an API key: the key is a secret, so it goes in the
    environment variable the contract names, never into the contract."""
    conn = sim_dir / "transport_arrivals" / "connection.json"
    try:
        key = json.loads(conn.read_text(encoding="utf-8")).get("api_key")
    except (OSError, ValueError):
        return []
    if not key:
        return []
    return [f"export CITYBRAIN_SIM_TRANSPORT_KEY={key}  (the API key of transport_arrivals)"]


def check_sim_options(sim_dir: Path, sim_api: str, mqtt: str) -> None:
    """Raise the user error :func:`write_sim_sources` would, before anything is created."""
    _check_sim_dir(Path(sim_dir))
    _check_api(sim_api)
    parse_broker(mqtt)


def write_sim_sources(
    sources_dir: Path,
    sim_dir: Path,
    *,
    sim_api: str = DEFAULT_SIM_API,
    mqtt: str = DEFAULT_MQTT,
    overwrite: bool = False,
) -> SimSources:
    """Write the city's contracts (`city_contracts`) into ``sources_dir``, pointed at the city in
    ``sim_dir``.

    File paths and SQLite URLs become absolute paths under ``sim_dir``; HTTP URLs keep their path
    on ``sim_api``; MQTT sources use the ``mqtt`` broker (``host:port``). An existing contract is
    kept unless ``overwrite`` — a data-office engineer may have edited it. Each written file is
    checked; a shipped contract that no longer validates is a bug, raised as one.
    """
    city = _check_sim_dir(Path(sim_dir))
    api = _check_api(sim_api)
    broker = parse_broker(mqtt)
    sources_dir.mkdir(parents=True, exist_ok=True)
    yaml = YAML(typ="rt")
    yaml.width = 4096  # keep long flow mappings on one line, as written
    yaml.preserve_quotes = True
    result = SimSources(hints=_api_key_hints(city))
    for shipped in city_contracts(city):
        target = sources_dir / shipped.name
        if target.exists() and not overwrite:
            continue
        tree = yaml.load(shipped.read_text(encoding="utf-8"))
        _point(tree["connector"], city, api, broker)
        tags = tree.setdefault("tags", [])
        if SIM_TAG not in tags:
            tags.append(SIM_TAG)
        with target.open("w", encoding="utf-8") as handle:
            yaml.dump(tree, handle)
        checked = check_contract(target)
        if not checked.passed:
            raise AssertionError(f"shipped contract {shipped.name} became invalid:\n{checked}")
        result.files.append(target)
    return result
