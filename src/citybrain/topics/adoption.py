"""Adopting proven topics in another city (拿来主义), side by side.

The first city runs a topic, evaluates it and exports its bundle; the second city lands its own
systems through nothing but its own source contracts, imports the bundle (checksum, signature and
data contract checked) and runs the same installed code. Both are evaluated against their own
truth and their headline figures printed side by side. Used by ``benchmarks/adoption.py`` and by
the adoption test; nothing here reads a city's truth except through ``Topic.evaluate``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from citybrain.core.catalog import Catalog
from citybrain.core.errors import UserError
from citybrain.topics.base import Topic, TopicContext

if TYPE_CHECKING:
    from citybrain.core.workspace import Workspace

#: topic → the figure whose difference between the cities decides adoption
HEADLINE = {"group_rental": "f1", "credit": "auc"}
#: figures kept from an evaluation, beside the headline
KEPT = ("precision", "recall", "f1", "auc", "auc_unseen", "support", "flagged", "threshold")
#: the sim systems the two adopted topics read (what the second city's data office connected:
#: ``sim.profiles.deqing``); the first city generates only these
SYSTEMS = (
    "place_address_register", "police_household", "police_residence_permit", "water_utility",
    "power_grid", "gas_utility", "food_delivery_platform", "parcel_express", "hotline_12345",
    "market_registry", "tax_declarations", "social_security", "court_dishonest",
    "admin_penalties", "credit_commitments",
)  # fmt: skip
#: the first city's shipped contracts (``ingest/contracts/sim``) of those systems
FIRST_CITY_SOURCES = (
    "water_utility", "power_grid", "gas_utility", "food_delivery_platform", "parcel_express",
    "hotline_12345", "police_household", "police_residence_permit",
    "place_address_register_admin_area", "place_address_register_road",
    "place_address_register_road_alias", "place_address_register_standard_address",
    "market_registry", "tax_declarations", "social_security", "court_dishonest",
    "admin_penalties", "credit_commitments",
)  # fmt: skip


def land(workspace: Workspace, contracts: Iterable[Path]) -> dict[str, int]:
    """Ingest ``contracts`` (every one must load) and standardise; rows landed per system."""
    from citybrain.govern.standardize import standardize_workspace
    from citybrain.ingest import ingest_sources, recorder_for

    summary = ingest_sources(workspace, list(contracts), recorder=recorder_for(workspace))
    failed = {r.system: r.status for r in summary.results if r.status != "ok"}
    if failed:
        raise UserError(f"{workspace.root}: these sources did not load: {failed}")
    standardize_workspace(workspace)
    return {r.system: int(getattr(r, "rows", 0) or 0) for r in summary.results}


def run_and_evaluate(
    workspace: Workspace, topic: Topic, truth: Path, *, run_id: str | None = None
) -> dict[str, Any]:
    """Run ``topic`` (with its imported bundle's parameters, if any), evaluate it against
    ``truth`` and keep the evaluation; its figures, findings and the run's id."""
    from citybrain.topics.evaluation_store import save_evaluation
    from citybrain.topics.runner import latest_findings, read_inputs, run_topic, topic_params

    with Catalog.open(workspace.ops_db_url) as catalog, workspace.engine() as engine:
        run = run_topic(topic, workspace, engine, catalog, run_id=run_id)
        ctx = TopicContext(
            workspace=workspace,
            engine=engine,
            run_id=run.run_id,
            params=topic_params(workspace, topic),
            model_version=topic.model_version,
            inputs=read_inputs(topic, engine),
        )
        result = topic.evaluate(latest_findings(engine, topic.name), truth, ctx)
        save_evaluation(workspace, result, model_version=topic.model_version, run_id=run.run_id)
    figures = result.model_dump()
    out: dict[str, Any] = {key: figures[key] for key in KEPT if figures.get(key) is not None}
    out["findings"] = run.findings
    out["run_id"] = run.run_id
    return out


def export_bundles(workspace: Workspace, topics: Iterable[Topic], folder: Path) -> dict[str, Path]:
    """Each topic's signed bundle (``folder/<name>.cbtopic``), as this city holds it."""
    from citybrain.topics.bundle import export_bundle

    bundles = {}
    with Catalog.open(workspace.ops_db_url) as catalog:
        for topic in topics:
            bundles[topic.name] = folder / f"{topic.name}.cbtopic"
            export_bundle(topic, workspace, catalog, bundles[topic.name])
    return bundles


def import_bundles(
    workspace: Workspace, bundles: Mapping[str, Path], topic_of: Callable[[str], Topic]
) -> None:
    """Import every bundle into ``workspace``; refused bundles raise ``BundleRefused``."""
    from citybrain.topics.bundle import import_bundle

    with Catalog.open(workspace.ops_db_url) as catalog, workspace.engine() as engine:
        for path in bundles.values():
            import_bundle(path, topic_of, workspace, catalog, engine)


@dataclass(frozen=True)
class Compared:
    """One figure of one topic in both cities."""

    topic: str
    figure: str
    first: float | None
    second: float | None
    headline: bool

    @property
    def diff(self) -> float | None:
        if self.first is None or self.second is None:
            return None
        return self.second - self.first


def compare(
    first: Mapping[str, Mapping[str, Any]], second: Mapping[str, Mapping[str, Any]]
) -> list[Compared]:
    """The headline figure, then precision, recall, F1 and support (positives in the truth),
    of every topic evaluated in both."""
    rows = []
    for name in first:
        headline = HEADLINE.get(name, "f1")
        others = ("precision", "recall", "f1", "support")
        figures = [headline] + [f for f in others if f != headline]
        for figure in figures:
            a, b = first[name].get(figure), second.get(name, {}).get(figure)
            rows.append(
                Compared(
                    name,
                    figure,
                    None if a is None else float(a),
                    None if b is None else float(b),
                    figure == headline,
                )
            )
    return rows


def side_by_side(rows: Iterable[Compared], names: tuple[str, str]) -> str:
    """The figures as a plain table, one line per topic and figure, the cities side by side."""

    def cell(value: float | None, sign: str = "", count: bool = False) -> str:
        if value is None:
            return "—"
        return f"{value:{sign}.0f}" if count else f"{value:{sign}.3f}"

    lines = [f"{'topic':<14}{'figure':<11}{names[0]:>12}{names[1]:>12}{'diff':>8}"]
    for row in rows:
        mark = " *" if row.headline else ""
        count = row.figure == "support"
        lines.append(
            f"{row.topic:<14}{row.figure:<11}{cell(row.first, count=count):>12}"
            f"{cell(row.second, count=count):>12}{cell(row.diff, '+', count):>8}{mark}"
        )
    return "\n".join(lines)


def outside(rows: Iterable[Compared], tolerance: float) -> list[Compared]:
    """Headline figures missing in a city or differing by more than ``tolerance``."""
    return [
        row
        for row in rows
        if row.headline and (row.diff is None or abs(row.diff) > tolerance + 1e-9)
    ]
