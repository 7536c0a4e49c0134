"""The synthetic city's live sources: contracts for the truck GPS and bike positions it streams.

``citybrain sim publish CITY/muck_truck_gps`` (and ``…/bike_meituan``) sends each ping as one MQTT
message; the contracts in ``contracts/`` here subscribe to those topics, so ``citybrain stream``
lands them and hands them to the detectors (``muck_trucks`` reads ``muck_truck_gps_live``,
``bike_positions`` reads ``bike_meituan_live``). Their rows keep the delivered column names: the
history of the same systems goes over as files through their own contracts and standardisation.

:func:`write_live_sources` writes them into a workspace's ``sources/`` pointed at a broker (the
demo does, after ``workspace init --sim``).
"""

from __future__ import annotations

from pathlib import Path

from citybrain.core.errors import UserError

LIVE_CONTRACTS = Path(__file__).parent / "contracts"
MUCK_TRUCK_SOURCE = "muck_truck_gps_live"
BIKE_SOURCE = "bike_meituan_live"


def live_contracts() -> list[Path]:
    return sorted(LIVE_CONTRACTS.glob("*.yaml"))


def write_live_sources(
    sources_dir: Path, host: str, port: int, *, overwrite: bool = False
) -> list[Path]:
    """Write the live contracts into ``sources_dir`` with the broker's address; an existing file
    is kept unless ``overwrite``. Returns the files written."""
    from ruamel.yaml import YAML

    from citybrain.ingest.check import check_contract

    if not 0 < port < 65536 or not host:
        raise UserError(f"broker {host}:{port}: expected a host and a port 1-65535")
    yaml = YAML(typ="rt")
    yaml.width = 4096
    yaml.preserve_quotes = True
    sources_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for shipped in live_contracts():
        target = sources_dir / shipped.name
        if target.exists() and not overwrite:
            continue
        tree = yaml.load(shipped.read_text(encoding="utf-8"))
        tree["connector"]["host"], tree["connector"]["port"] = host, port
        with target.open("w", encoding="utf-8") as handle:
            yaml.dump(tree, handle)
        checked = check_contract(target)
        if not checked.passed:
            raise AssertionError(f"shipped live contract {shipped.name} is invalid:\n{checked}")
        written.append(target)
    return written
