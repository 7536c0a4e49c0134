"""After the default generator has run: a profile's systems rewritten as its departments hand them
over, and its source contracts put beside them."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from citybrain.sim.geography import Geography
from citybrain.sim.profiles.base import Profile
from citybrain.sim.profiles.reexport import reexport, replace_texts

CONTRACTS_DIR = "contracts"


def hand_over(profile: Profile, out: Path, systems: list[str], geo: Geography) -> dict[str, int]:
    """Rewrite the exports of ``systems`` in ``out``; rows per system as handed over. ``geo`` is
    the district's map (reshaped). The connection files of the default city's servers go: the
    other city hands over files."""
    rows: dict[str, int] = {}
    texts = profile.all_texts(geo)
    for export in profile.exports:
        if export.system not in systems:
            continue
        written = reexport(out, export, texts)
        rows[export.system] = rows.get(export.system, 0) + sum(written.values())
    for system in rows:
        (out / system / "connection.json").unlink(missing_ok=True)
    if profile.contracts is not None:
        target = out / CONTRACTS_DIR
        target.mkdir(exist_ok=True)
        for contract in sorted(profile.contracts.glob("*.yaml")):
            if _system_of(contract) in systems:
                shutil.copyfile(contract, target / contract.name)
    return rows


def _system_of(contract: Path) -> str:
    """The system folder a contract reads (its connector path's first part)."""
    for line in contract.read_text(encoding="utf-8").splitlines():
        text = line.strip()
        if text.startswith(("path:", "url:")):
            value = text.split(":", 1)[1].split("#")[0].strip().strip("'\"")
            return value.removeprefix("sqlite:///").split("/")[0]
    return contract.stem


def restate_truth(profile: Profile, out: Path, geo: Geography) -> None:
    """The district's truth in its own words: texts as its exports say them (湖州…有限公司, case
    numbers 浙0521…), the fields of planted dirt and renamed columns under the names its
    departments use. Files the re-export made whole (a cut, a wrong row width, invalid bytes:
    read as far as they went) are no broken files any more, so they leave ``broken_files``."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    truth = out / "truth"
    texts = profile.all_texts(geo)
    names: dict[str, dict[str, str]] = {}
    globs: dict[str, list[str]] = {}
    for export in profile.exports:
        names.setdefault(export.system, {}).update(export.columns)
        globs.setdefault(export.system, []).append(export.source)
    for path in sorted(truth.glob("*.parquet")):
        table = replace_texts(pq.read_table(path), texts)
        if path.stem == "dirt":
            table = _renamed(table, names, ("key_field", "field"))
        elif path.stem == "schema_changes":
            table = _renamed_json(table, names)
        elif path.stem == "broken_files":
            gone = [
                any(Path(p).match(g) for g in globs.get(s, []))
                for s, p in zip(table["system"].to_pylist(), table["path"].to_pylist(), strict=True)
            ]
            table = table.filter(pc.invert(pa.array(gone, pa.bool_())))
        pq.write_table(table, path, compression="zstd")


def _renamed(table: Any, names: dict[str, dict[str, str]], columns: tuple[str, ...]) -> Any:
    import pyarrow as pa

    systems = table["system"].to_pylist()
    for column in columns:
        values = table[column].to_pylist()
        new = [names.get(s, {}).get(v, v) for s, v in zip(systems, values, strict=True)]
        table = table.set_column(table.schema.get_field_index(column), column, pa.array(new))
    return table


def _renamed_json(table: Any, names: dict[str, dict[str, str]]) -> Any:
    """schema_changes: ``renamed`` is a JSON object old → new, ``added``/``dropped`` names."""
    import json

    import pyarrow as pa

    systems = table["system"].to_pylist()
    renamed = []
    for s, text in zip(systems, table["renamed"].to_pylist(), strict=True):
        mapping = names.get(s, {})
        pairs = json.loads(text) if text else {}
        renamed.append(
            json.dumps(
                {mapping.get(a, a): mapping.get(b, b) for a, b in pairs.items()},
                ensure_ascii=False,
            )
            if text
            else text
        )
    table = table.set_column(table.schema.get_field_index("renamed"), "renamed", pa.array(renamed))
    for column in ("added", "dropped"):
        values = table[column].to_pylist()
        new = [
            ",".join(names.get(s, {}).get(v, v) for v in val.split(",")) if val else val
            for s, val in zip(systems, values, strict=True)
        ]
        table = table.set_column(table.schema.get_field_index(column), column, pa.array(new))
    return table
