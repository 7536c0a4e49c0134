"""A served city for the topic, case desk, entity and governance pages: the address register and
group-rental findings of ``web.conftest``, plus two runs in the catalog, open cases for the clerk's
street office, an enterprise's records — or, with ``pipeline``, a tiny generated city taken through
the real pipeline (ingest, standardise, quality, base): catalog, lineage, load runs, quarantined
rows, quality scores and alerts, golden entities."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest

from citybrain.api import create_app
from citybrain.api.security.accounts import create_demo_users
from citybrain.cases import CaseSettings, open_cases
from citybrain.core import Workspace
from citybrain.core.catalog import Catalog, DatasetSpec
from citybrain.core.opsdb import connect, session, upgrade
from citybrain.topics.findings import FINDINGS_SCHEMA
from citybrain.topics.runner import findings_table_name
from fixtures.browser import serve_in_thread
from fixtures.tinycity import built_once, copy_workspace, shared_root, tiny_city
from web.conftest import CITY, seed_findings, seed_register

CLERK_OFFICE = "S01街道办"  # the demo clerk's department (create_demo_users, street S01)
FIRM = "91510100MA61234567"  # a unified social credit code with a registration and a penalty
FINDINGS = findings_table_name("group_rental")


def _earlier_run(workspace: Workspace) -> None:
    """A first run with five findings, so the topic's trend has two points (5, then 3)."""
    reason = {
        "signal": "water", "observed": 30.0, "expected": 9.0, "contribution": 0.5,
        "text_zh": "月用水30吨，同类住户约9吨", "text_en": "30 t of water a month; others 9",
    }  # fmt: skip
    rows = [
        {
            "topic": "group_rental", "subject_type": "dwelling", "subject_id": f"D{i}",
            "period": "2026-01", "score": 0.6 + i / 20, "level": "medium", "lon": 104.01,
            "lat": 30.51, "grid_id": "G01", "community_id": "C01", "street_id": "S01",
            "model_version": "group_rental-1", "reasons": [reason],
        }
        for i in range(5)
    ]  # fmt: skip
    table = pa.Table.from_pylist(rows, schema=FINDINGS_SCHEMA)
    table = table.append_column("run_id", pa.array(["run-0"] * 5, pa.string()))
    with workspace.engine() as engine:
        engine.write(table, "topic", FINDINGS, partition_by=["run_id"], mode="append")


def _catalog_runs(catalog: Catalog) -> None:
    start = datetime(2026, 2, 1, 9, tzinfo=UTC)
    # Without the pipeline the std input is registered here, so the lineage reaches it.
    std = DatasetSpec(zone="std", name="utility_reading", system_id="power_grid",
                      owner_department="供电公司", sensitivity="internal")  # fmt: skip
    if not any(d.name == std.name for d in catalog.list_datasets(zone="std")):
        catalog.register_dataset(std)
    catalog.register_dataset(
        DatasetSpec(zone="topic", name=FINDINGS, owner_department="数据局", sensitivity="personal")
    )
    for n, rows in enumerate((5, 3)):
        catalog.record_stats(("topic", FINDINGS), rows=rows, run_id=f"run-{n}",
                             recorded_at=start + timedelta(days=30 * n))  # fmt: skip
    catalog.add_lineage(("std", std.name), ("topic", FINDINGS), kind="topic", run_id="run-1")


def _open_cases(workspace: Workspace) -> list[int]:
    """Cases for the latest findings, routed to the clerk's street office (dispatched)."""
    with workspace.engine() as engine:
        latest = engine.to_arrow(engine.table("topic", FINDINGS)).filter(
            pa.compute.equal(pa.compute.field("run_id"), "run-1")
        )
    findings = latest.drop_columns(["run_id"])
    result = open_cases(connect(workspace.ops_db_url), findings, settings=CaseSettings(),
                        hints={"group_rental": CLERK_OFFICE})  # fmt: skip
    return list(result.opened)


def _enterprise(workspace: Workspace) -> None:
    registration = pa.table({
        "uscc": [FIRM], "name": ["成都示例科技有限公司"], "status": ["存续"],
        "legal_rep_name": ["王小明"], "industry_code": ["I65"],
    })  # fmt: skip
    penalty = pa.table({"uscc": [FIRM], "decision_no": ["成市监罚〔2026〕1号"]})
    taxes = pa.table({"uscc": [FIRM], "period": ["2026-01"]})
    with workspace.engine() as engine:
        engine.write(registration, "std", "enterprise_registration")
        engine.write(penalty, "std", "penalty")
        engine.write(taxes, "std", "tax_declaration")


def _run_pipeline(workspace: Workspace, sim: Path) -> None:
    """The pipeline's own stages on the tiny generated city in ``sim``: its file deliveries
    ingested, standardised, scored for quality (stored with alerts) and resolved into the base
    zone."""
    from citybrain.govern.base import build_workspace_base
    from citybrain.govern.quality import quality_report
    from citybrain.govern.standardize import standardize_workspace
    from citybrain.ingest import discover_sources, ingest_sources, load_contract, recorder_for
    from citybrain.ingest.simsources import write_sim_sources

    write_sim_sources(workspace.root / "sources", sim)
    files = [
        path
        for path in discover_sources(workspace)
        if load_contract(path).connector.kind in ("csv", "jsonl", "parquet", "xlsx")
    ]
    ingest_sources(workspace, files, recorder=recorder_for(workspace))
    standardize_workspace(workspace)
    quality_report(workspace, record=True)
    build_workspace_base(workspace)


@dataclass(frozen=True)
class FullCity:
    """A served city that went through the pipeline, and a few facts to look for in it."""

    url: str
    uscc: str  # an enterprise of the base zone
    estate: str  # an estate with dwellings in the base zone
    full_address: str  # a dwelling of that estate, as the base holds it (in clear)
    raw_datasets: int  # the raw zone's datasets in its catalog: one per system landed


def _evaluation(workspace: Workspace) -> None:
    """The group-rental topic's stored evaluation, as `citybrain topic evaluate` leaves it."""
    from citybrain.topics import Evaluation
    from citybrain.topics.evaluation_store import save_evaluation

    scored = Evaluation(
        topic="group_rental", precision=0.9, recall=0.75, f1=0.818, support=40, flagged=33,
        baselines={"electricity_threshold": {"precision": 0.4, "recall": 0.5, "f1": 0.444}},
    )  # fmt: skip
    save_evaluation(workspace, scored, model_version="test", run_id="test")


def serve_pages_city(root: Path, *, pipeline: Path | None = None) -> Iterator[str]:
    """Serve the pages' city from ``root/ws``; with ``pipeline`` (a generated city's folder),
    that city taken through the pipeline's stages too."""
    yield from serve_in_thread(create_app(build_pages_city(root, pipeline=pipeline)))


def build_pages_city(root: Path, *, pipeline: Path | None = None) -> Workspace:
    """The pages' city in ``root/ws`` (what ``serve_pages_city`` serves)."""
    workspace = Workspace.init(root / "ws", name=CITY)
    upgrade(workspace.ops_db_url)
    with session(connect(workspace.ops_db_url)) as db:
        create_demo_users(db, street="S01")
    if pipeline is not None:
        _run_pipeline(workspace, pipeline)
    seed_register(workspace)
    _earlier_run(workspace)
    seed_findings(workspace)
    _evaluation(workspace)
    _catalog_runs(Catalog(connect(workspace.ops_db_url)))
    _open_cases(workspace)
    if pipeline is None:  # the pipeline's city has enterprises of its own
        _enterprise(workspace)
    return workspace


#: the city ``full_city`` built in this worker: each test module that imports the fixture makes a
#: fixture definition of its own, and the city is built by the first of them only
_BUILT: list[FullCity] = []


@pytest.fixture(scope="session")
def full_city(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FullCity]:
    """One pipeline-built city per test run (built by the first worker to ask, under a lock),
    served from a copy of its own by each test worker, shared by the entity and governance
    tests (the pages write: audit rows, unmasking, case notes)."""
    if _BUILT:
        yield _BUILT[0]
        return
    city = tiny_city(tmp_path_factory, 7)
    built = built_once(
        shared_root(tmp_path_factory) / "shared-full-city",
        lambda out: build_pages_city(out, pipeline=city),
    )
    workspace = copy_workspace(built / "ws", tmp_path_factory.mktemp("full-city") / "ws")
    served = serve_in_thread(create_app(workspace))
    url = next(served)
    with workspace.engine() as engine:
        firm = engine.to_arrow(engine.table("base", "enterprise").select("uscc").limit(1))
        dwellings = engine.table("base", "dwelling")
        flat = engine.to_arrow(
            dwellings.filter(dwellings.estate_name.notnull())
            .select("estate_name", "full_address")
            .order_by("full_address")
            .limit(1)
        )
    row = flat.to_pylist()[0]
    with Catalog(connect(workspace.ops_db_url)) as catalog:
        raw = len(catalog.list_datasets(zone="raw"))
    _BUILT.append(
        FullCity(url, firm["uscc"][0].as_py(), row["estate_name"], row["full_address"], raw)
    )
    yield _BUILT[0]
    served.close()
