"""Topic bundles: export carries version, parameters, thresholds, model and evaluation card with a
checksum and signature; import refuses a tampered bundle, another key, and unmet data."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import ClassVar

import pyarrow as pa
import pytest
from pydantic import Field

from citybrain.core import Workspace
from citybrain.core.catalog import Catalog, ColumnInfo, DatasetSpec
from citybrain.core.engine import Engine
from citybrain.topics import FINDINGS_SCHEMA, Evaluation, InputSpec, Topic, TopicContext
from citybrain.topics.base import TopicParams
from citybrain.topics.bundle import (
    KEY_ENV,
    BundleRefused,
    export_bundle,
    import_bundle,
    imported_params,
    read_bundle,
)
from citybrain.topics.evaluation_store import save_evaluation
from citybrain.topics.runner import run_topic
from cli.runner import run_cli

KEY = "a shared key between two cities"


class ToyParams(TopicParams):
    window: int = Field(3, ge=1)


class Toy(Topic):
    name = "toy_complaints"
    title_zh = "示例"
    title_en = "Toy"
    subject_type = "place"
    params_model: ClassVar[type[TopicParams]] = ToyParams
    inputs = (InputSpec(table="complaint", columns=("received_at", "text")),)
    seen: ClassVar[list[TopicParams]] = []

    def run(self, ctx: TopicContext) -> pa.Table:
        Toy.seen.append(ctx.params)
        return FINDINGS_SCHEMA.empty_table()


def _city(root: Path, engine: Engine, columns: tuple[str, ...]) -> tuple[Workspace, Catalog]:
    workspace = Workspace.init(root)
    catalog = Catalog.open(workspace.ops_db_url)
    table = pa.table({c: ["x", "y"] for c in columns})
    engine.write(table, "std", "complaint")
    catalog.register_dataset(
        DatasetSpec(
            zone="std",
            name="complaint",
            columns=tuple(
                ColumnInfo(name=c, type="timestamp" if c == "received_at" else "string")
                for c in columns
            ),
        )
    )
    catalog.record_stats(("std", "complaint"), rows=2)
    return workspace, catalog


@pytest.fixture
def key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(KEY_ENV, KEY)
    return KEY


@pytest.fixture
def exported(tmp_path: Path, engine: Engine, key: str) -> Path:
    workspace, catalog = _city(tmp_path / "first", engine, ("received_at", "text"))
    save_evaluation(
        workspace,
        Evaluation(topic="toy_complaints", precision=0.8, recall=0.6, f1=0.686),
        model_version="toy_complaints-1",
        run_id="r1",
    )
    model = workspace.zone("topic") / "toy_complaints_model"
    model.mkdir(parents=True)
    (model / "weights.txt").write_text("0.3 0.7")
    out = tmp_path / "toy.cbtopic"
    export_bundle(Toy(), workspace, catalog, out, params=ToyParams(window=5, threshold=0.6))
    return out


@pytest.mark.duckdb
def test_export_carries_version_params_thresholds_model_and_card(exported: Path) -> None:
    bundle = read_bundle(exported)
    assert bundle.topic["name"] == "toy_complaints" and bundle.topic["version"] == "1"
    assert bundle.topic["inputs"][0]["columns"] == ["received_at", "text"]
    assert bundle.params["window"] == 5 and bundle.params["threshold"] == 0.6
    assert bundle.thresholds == {"high": 0.8, "medium": 0.6}
    assert bundle.members["model/weights.txt"] == b"0.3 0.7"
    card = bundle.card
    assert card["evaluation"]["f1"] == pytest.approx(0.686)
    assert card["evaluation"]["extra"]["evaluated_at"]
    assert card["validated_on"] == [
        {"input": "std.complaint", "rows": 2, "last_refreshed_at": card["validated_on"][0][
            "last_refreshed_at"]}
    ]  # fmt: skip
    assert card["city"] and card["exported_at"]
    assert bundle.manifest["signature_method"] == "HMAC-SHA256"
    assert len(bundle.manifest["checksum"]) == 64


def _rewrite(source: Path, target: Path, change: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            new.writestr(info.filename, change.get(info.filename, old.read(info)))
    return target


@pytest.mark.duckdb
def test_a_tampered_bundle_is_refused(exported: Path, tmp_path: Path) -> None:
    params = json.loads(zipfile.ZipFile(exported).read("params.json"))
    params["threshold"] = 0.01
    forged = _rewrite(
        exported, tmp_path / "forged.cbtopic", {"params.json": json.dumps(params).encode()}
    )
    with pytest.raises(BundleRefused, match=r"checksum mismatch in params\.json"):
        read_bundle(forged)
    # the forger also rewrites the manifest's digests and checksum: the signature gives it away
    manifest = json.loads(zipfile.ZipFile(exported).read("manifest.json"))
    import hashlib

    manifest["files"]["params.json"] = hashlib.sha256(json.dumps(params).encode()).hexdigest()
    listing = "".join(f"{n}\0{d}\n" for n, d in sorted(manifest["files"].items()))
    manifest["checksum"] = hashlib.sha256(listing.encode()).hexdigest()
    forged = _rewrite(
        exported,
        tmp_path / "forged2.cbtopic",
        {
            "params.json": json.dumps(params).encode(),
            "manifest.json": json.dumps(manifest).encode(),
        },
    )
    with pytest.raises(BundleRefused, match="signature does not match"):
        read_bundle(forged)


@pytest.mark.duckdb
def test_another_key_is_refused(exported: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "some other city's key entirely")
    with pytest.raises(BundleRefused, match="signature does not match"):
        read_bundle(exported)


@pytest.mark.duckdb
def test_import_refuses_a_city_that_does_not_meet_the_contract(
    exported: Path, tmp_path: Path, engine: Engine
) -> None:
    workspace, catalog = _city(tmp_path / "second", engine, ("received_at",))
    with pytest.raises(BundleRefused, match=r"std\.complaint: column text missing"):
        import_bundle(exported, lambda _: Toy(), workspace, catalog, engine)
    assert imported_params(workspace, Toy()) is None


@pytest.mark.duckdb
def test_an_imported_bundle_sets_the_parameters_of_later_runs(
    exported: Path, tmp_path: Path, engine: Engine
) -> None:
    workspace, catalog = _city(tmp_path / "second", engine, ("received_at", "text"))
    bundle, check = import_bundle(exported, lambda _: Toy(), workspace, catalog, engine)
    assert check.passed and bundle.params["window"] == 5
    Toy.seen.clear()
    run_topic(Toy(), workspace, engine, catalog)
    assert Toy.seen == [ToyParams(window=5, threshold=0.6)]
    # the kept copy is verified again on every run
    kept = workspace.zone("topic") / "_bundles" / "toy_complaints.cbtopic"
    _rewrite(kept, kept.with_suffix(".tmp"), {"params.json": b'{"window": 1}'}).replace(kept)
    with pytest.raises(BundleRefused, match="checksum mismatch"):
        run_topic(Toy(), workspace, engine, catalog)


def test_cli_export_and_import_errors_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace = Workspace.init(tmp_path / "ws")
    out = tmp_path / "gr.cbtopic"
    monkeypatch.delenv(KEY_ENV, raising=False)
    code, _, err = run_cli(
        ["-w", str(workspace.root), "topic", "export", "group_rental", "--out", str(out)], capsys
    )
    assert code != 0 and f"set {KEY_ENV}" in err and len(err.strip().splitlines()) == 1
    monkeypatch.setenv(KEY_ENV, KEY)
    code, _, err = run_cli(
        ["-w", str(workspace.root), "topic", "export", "group_rental", "--out", str(out)], capsys
    )
    assert code == 0, err
    # this empty city does not meet group_rental's contract: import refuses in one line
    code, _, err = run_cli(["-w", str(workspace.root), "topic", "import", str(out)], capsys)
    assert code != 0 and "refused" in err and "std.utility_reading is missing" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    broken = tmp_path / "broken.cbtopic"
    broken.write_bytes(out.read_bytes()[:-40])
    code, _, err = run_cli(["-w", str(workspace.root), "topic", "import", str(broken)], capsys)
    assert code != 0 and "not a topic bundle" in err and len(err.strip().splitlines()) == 1
