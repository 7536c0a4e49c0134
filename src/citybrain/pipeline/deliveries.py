"""What an ingest step reads, fingerprinted without loading anything: the source contract's text
and, for a source delivered as files, every file its connector's ``path`` matches.

Ingest itself lands only files it has not landed (a file is known by its stat, and by its bytes
when the stat changed), so when neither the contract nor any matched file changed since the step
last did its work, running it again would land nothing — only re-read 30-odd contracts and
re-check every delivered file, a fixed cost of every nightly run. The runner skips such a step
(`citybrain.pipeline.runner`); a source delivered by a database, an API or a stream is asked for
new rows every run.

The files are listed as `citybrain.ingest.connectors.source_files` finds them (a glob relative to
the contract's folder), temporary files included: a listing that sees more only makes the step
run more often. The contract is read with PyYAML's C loader for its connector alone — parsing
and validating it as ingest does costs more than the check saves.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import yaml

#: connector kinds whose deliveries are files (see `citybrain.ingest.contract`)
FILE_KINDS = frozenset({"csv", "xlsx", "jsonl", "json", "parquet"})
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _connector(text: bytes) -> dict[str, object] | None:
    try:
        spec = yaml.load(text, Loader=_Loader)  # a safe loader (C when built with libyaml)
    except yaml.YAMLError:
        return None
    connector = spec.get("connector") if isinstance(spec, dict) else None
    return connector if isinstance(connector, dict) else None


def delivers_files(contract: Path) -> bool:
    """Whether the contract's source delivers files (else, or unreadable: ``False``)."""
    try:
        connector = _connector(contract.read_bytes())
    except OSError:
        return False
    return connector is not None and connector.get("kind") in FILE_KINDS


def matched_files(contract: Path, connector: dict[str, object]) -> list[Path]:
    """The files the connector's ``path`` (a glob, relative to the contract's folder) matches."""
    text = str(connector.get("path") or "")
    if not text:
        return []
    pattern = Path(text)
    base = pattern if pattern.is_absolute() else contract.parent / pattern
    if not any(ch in text for ch in "*?["):
        return [base]
    anchor = Path(base.anchor)
    return sorted(anchor.glob(str(base.relative_to(anchor))))


def deliveries_stamp(contract: Path) -> str:
    """Sixteen hex digits that change when the contract's text changes, or a file its path
    matches appears, goes, or is written (size, modification and change time, inode: as ingest
    knows a landed file)."""
    digest = hashlib.sha256()
    try:
        text = contract.read_bytes()
    except OSError:
        text = b""
    digest.update(hashlib.sha256(text).digest())
    connector = _connector(text)
    for path in matched_files(contract, connector) if connector is not None else []:
        try:
            stat = path.stat()
        except OSError:
            continue
        key = f"{stat.st_size}:{stat.st_mtime_ns}:{stat.st_ctime_ns}:{stat.st_ino}:{stat.st_dev}"
        digest.update(f"{path}\0{key}\n".encode())
    return digest.hexdigest()[:16]
