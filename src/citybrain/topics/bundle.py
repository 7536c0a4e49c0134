"""Topic bundles: ``citybrain topic export NAME`` / ``citybrain topic import FILE``.

A bundle carries what one city proved about a topic to another (拿来主义): the topic's package
and version, its parameters and level thresholds, its data contract, the trained model (the files
under ``topic/<name>_model/``, when the topic keeps one), and an evaluation card (the figures of
its latest evaluation, when and on which data it was measured, with the figures' files from
``topic/<name>_evaluation/``).

It is one zip file: ``manifest.json`` lists every other member with its SHA-256, ``checksum`` is
the SHA-256 of that list, and ``signature`` is HMAC-SHA256 of the checksum with the key in the
environment variable ``CITYBRAIN_BUNDLE_KEY`` (shared by the cities that trust each other; never
in ``citybrain.toml``). Import refuses a bundle whose files, checksum or signature do not match,
a bundle for another version of the topic, and a city whose data does not meet the contract.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from citybrain.core.errors import UserError
from citybrain.topics.base import Topic, TopicParams
from citybrain.topics.check import ContractCheck, check_contract
from citybrain.topics.evaluation_store import load_evaluation
from citybrain.topics.registry import ENTRY_POINT_GROUP

if TYPE_CHECKING:
    from citybrain.core.catalog import Catalog
    from citybrain.core.engine import Engine
    from citybrain.core.workspace import Workspace

KEY_ENV = "CITYBRAIN_BUNDLE_KEY"
FORMAT = "citybrain-topic-bundle/1"
MANIFEST = "manifest.json"
#: where an imported bundle is kept in the importing workspace (topic zone)
IMPORTED = "_bundles"


class BundleRefused(UserError):
    """A bundle that is tampered with, signed with another key, or does not fit this city."""


def bundle_key() -> bytes:
    key = os.environ.get(KEY_ENV, "")
    if len(key) < 16:
        raise UserError(
            f"no bundle signing key: set {KEY_ENV} (at least 16 characters)",
            hint="the cities that share bundles use the same key; it never goes in citybrain.toml",
        )
    return key.encode("utf-8")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _checksum(files: dict[str, str]) -> str:
    """SHA-256 over the member list (name and SHA-256 of each, sorted)."""
    listing = "".join(f"{name}\0{digest}\n" for name, digest in sorted(files.items()))
    return _sha256(listing.encode("utf-8"))


def _sign(checksum: str, key: bytes) -> str:
    return hmac.new(key, checksum.encode("ascii"), hashlib.sha256).hexdigest()


def package_of(topic: Topic) -> tuple[str, str]:
    """The distribution that installs ``topic`` and its version ("", "" when not installed)."""
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        if entry.name == topic.name and entry.dist is not None:
            return entry.dist.name, entry.dist.version
    return "", ""


def _folder_files(folder: Path, prefix: str) -> dict[str, bytes]:
    if not folder.is_dir():
        return {}
    return {
        f"{prefix}/{path.relative_to(folder).as_posix()}": path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def _validated_on(catalog: Catalog, topic: Topic) -> list[dict[str, Any]]:
    """The inputs as the exporting city holds them: rows and when they were last refreshed."""
    from citybrain.core.catalog import DatasetNotFound

    held = []
    for spec in topic.inputs:
        try:
            dataset = catalog.get_dataset((spec.zone, spec.table))
        except DatasetNotFound:
            continue
        refreshed = dataset.freshness.last_refreshed_at
        held.append(
            {
                "input": spec.dataset,
                "rows": dataset.latest.rows if dataset.latest else None,
                "last_refreshed_at": refreshed.isoformat() if refreshed else None,
            }
        )
    return held


def export_bundle(
    topic: Topic,
    workspace: Workspace,
    catalog: Catalog,
    out: Path,
    *,
    params: TopicParams | None = None,
) -> dict[str, Any]:
    """Write ``topic``'s bundle to ``out``; returns its manifest."""
    key = bundle_key()
    params = params or topic.default_params()
    evaluation = load_evaluation(workspace, topic.name)
    package, version = package_of(topic)
    topic_zone = workspace.zone("topic")
    model = _folder_files(topic_zone / f"{topic.name}_model", "model")
    figures = _folder_files(topic_zone / f"{topic.name}_evaluation", "figures")
    card = {
        "evaluation": evaluation.model_dump() if evaluation else None,
        "evaluated": evaluation is not None,
        "city": workspace.config.name,
        "validated_on": _validated_on(catalog, topic),
        "figures": sorted(figures),
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    topic_info = {
        "name": topic.name,
        "title_zh": topic.title_zh,
        "title_en": topic.title_en,
        "version": topic.version,
        "model_version": topic.model_version,
        "package": package,
        "package_version": version,
        "inputs": [spec.model_dump() for spec in topic.inputs],
        "model": sorted(model) or "none kept: the topic fits its model when it runs",
    }
    thresholds = {level.value: value for level, value in topic.level_thresholds(params).items()}
    members: dict[str, bytes] = {
        "topic.json": _json(topic_info),
        "params.json": _json(params.model_dump(mode="json")),
        "thresholds.json": _json(thresholds),
        "evaluation_card.json": _json(card),
        **model,
        **figures,
    }
    files = {name: _sha256(data) for name, data in members.items()}
    checksum = _checksum(files)
    manifest = {
        "format": FORMAT,
        "topic": topic.name,
        "files": files,
        "checksum": checksum,
        "signature": _sign(checksum, key),
        "signature_method": "HMAC-SHA256",
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    aside = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    with zipfile.ZipFile(aside, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(MANIFEST, _json(manifest))
        for name, data in members.items():
            archive.writestr(name, data)
    aside.replace(out)
    return manifest


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=1, sort_keys=True).encode("utf-8")


@dataclass(frozen=True)
class Bundle:
    """A verified bundle's contents."""

    manifest: dict[str, Any]
    topic: dict[str, Any]
    params: dict[str, Any]
    thresholds: dict[str, float]
    card: dict[str, Any]
    members: dict[str, bytes]


def read_bundle(path: Path) -> Bundle:
    """Open and verify a bundle: every file against the manifest, the checksum, the signature."""
    key = bundle_key()
    if not path.is_file():
        raise UserError(f"{path}: no such bundle file")
    try:
        with zipfile.ZipFile(path) as archive:
            members = {info.filename: archive.read(info) for info in archive.infolist()}
    except (zipfile.BadZipFile, OSError) as exc:
        raise BundleRefused(f"{path}: not a topic bundle ({exc})") from None
    try:
        manifest = json.loads(members.pop(MANIFEST))
        files: dict[str, str] = manifest["files"]
        checksum: str = manifest["checksum"]
        signature: str = manifest["signature"]
    except (KeyError, TypeError, ValueError):
        raise BundleRefused(f"{path}: not a topic bundle (no readable manifest)") from None
    if manifest.get("format") != FORMAT:
        raise BundleRefused(f"{path}: unknown bundle format {manifest.get('format')!r}")
    if set(members) != set(files):
        extra = sorted(set(members) ^ set(files))
        raise BundleRefused(f"{path}: refused, files added or removed: {', '.join(extra)}")
    changed = sorted(name for name, data in members.items() if _sha256(data) != files[name])
    if changed:
        raise BundleRefused(f"{path}: refused, checksum mismatch in {', '.join(changed)}")
    if _checksum(files) != checksum:
        raise BundleRefused(f"{path}: refused, the manifest's checksum does not match its files")
    if not hmac.compare_digest(_sign(checksum, key), str(signature)):
        raise BundleRefused(
            f"{path}: refused, the signature does not match (tampered, or signed with another key)"
        )
    try:
        return Bundle(
            manifest=manifest,
            topic=json.loads(members["topic.json"]),
            params=json.loads(members["params.json"]),
            thresholds=json.loads(members["thresholds.json"]),
            card=json.loads(members["evaluation_card.json"]),
            members=members,
        )
    except (KeyError, ValueError):
        raise BundleRefused(f"{path}: not a topic bundle (a part is missing)") from None


def bundle_params(bundle: Bundle, topic: Topic) -> TopicParams:
    try:
        return topic.params_model.model_validate(bundle.params)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise BundleRefused(f"the bundle's parameter {where}: {first['msg']}") from None


def import_bundle(
    path: Path, topic_of: Any, workspace: Workspace, catalog: Catalog, engine: Engine
) -> tuple[Bundle, ContractCheck]:
    """Verify ``path``, check it fits the installed topic and this city's data, and keep it.

    ``topic_of(name)`` returns the installed topic (``get_topic``). Nothing is kept when refused.
    """
    bundle = read_bundle(path)
    topic: Topic = topic_of(bundle.topic["name"])
    if str(bundle.topic["version"]) != str(topic.version):
        raise BundleRefused(
            f"the bundle is for {topic.name} version {bundle.topic['version']}, "
            f"this city has version {topic.version} installed"
        )
    bundle_params(bundle, topic)
    check = check_contract(topic, catalog, engine)
    if not check.passed:
        raise BundleRefused(
            f"refused: {check.summary()}", hint=f"see `citybrain topic check {topic.name}`"
        )
    folder = workspace.zone("topic") / IMPORTED
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{topic.name}.cbtopic").write_bytes(path.read_bytes())
    return bundle, check


def imported_params(workspace: Workspace, topic: Topic) -> TopicParams | None:
    """The parameters of the bundle imported for ``topic``, re-verified (None: none imported)."""
    path = workspace.zone("topic") / IMPORTED / f"{topic.name}.cbtopic"
    if not path.is_file():
        return None
    return bundle_params(read_bundle(path), topic)


def bundle_summary(bundle: Bundle) -> str:
    evaluation = bundle.card.get("evaluation") or {}
    figures = ", ".join(
        f"{key} {evaluation[key]:.3f}" for key in ("precision", "recall", "f1") if key in evaluation
    )
    return (
        f"{bundle.topic['name']} {bundle.topic['version']} from {bundle.card.get('city')}"
        f" ({figures or 'not evaluated'})"
    )
