"""``citybrain credit …``: 双随机 inspection draws and credit repair (信用修复) over the grades.

Every draw is logged in the ops database with its seed, rates, inspector list, the credit run it
drew from and the plan's SHA-256, so ``credit replay ID`` can draw it again and prove it is the
same plan. Disputes, reviews and draws leave audit-log entries.
"""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy import select

from citybrain.cli.opsdb import workspace_ops_engine
from citybrain.cli.state import state
from citybrain.cli.ui import console
from citybrain.core import UserError, Workspace

credit_app = typer.Typer(
    help=(
        "守信通 credit: 双随机 inspection draws and credit repair.\n\n"
        "Example: citybrain credit draw --seed 7"
    ),
    no_args_is_help=True,
)


def _rates(values: list[str]) -> dict[str, float] | None:
    from citybrain.topics.builtin.credit.draw import DEFAULT_RATES

    if not values:
        return None
    rates = dict(DEFAULT_RATES)
    for item in values:
        grade, sep, rate = item.partition("=")
        try:
            rates[grade.strip().upper()] = float(rate)
        except ValueError:
            raise UserError(f"--rate {item!r}: write GRADE=SHARE, e.g. D=0.5") from None
        if not sep:
            raise UserError(f"--rate {item!r}: write GRADE=SHARE, e.g. D=0.5")
    return rates


def _audit(db: Any, by: str, action: str, subjects: list[str], detail: dict[str, Any]) -> None:
    from citybrain.api.security.audit import append

    append(
        db, actor=by, role="steward", action=action, endpoint=f"cli:credit {action}",
        subjects=subjects, detail=detail,
    )  # fmt: skip


def _print_plan(title: str, rows: list[dict[str, Any]]) -> None:
    table = Table(title=title)
    for column in ("#", "统一社会信用代码 USCC", "企业 name", "等级 grade", "检查人员 inspectors"):
        table.add_column(column)
    for i, row in enumerate(rows, 1):
        table.add_row(str(i), row["uscc"], row["name"] or "", row["grade"], row["inspectors"])
    console.print(table)


@credit_app.command("draw")
def draw_command(
    seed: Annotated[int, typer.Option(help="Seed of the draw (logged; same seed, same plan).")],
    inspectors: Annotated[
        Path | None,
        typer.Option(
            help="Inspectors to draw from, one name a line (default: the workspace's"
            " credit_inspectors.txt, else the roster of the last logged draw).",
            exists=True,
        ),
    ] = None,
    rate: Annotated[
        list[str], typer.Option(help="Share of a grade inspected, e.g. --rate D=0.5 (repeat).")
    ] = [],  # noqa: B006 (typer reads the default)
    per_target: Annotated[int, typer.Option(help="Inspectors per target.", min=1)] = 2,
    by: Annotated[str | None, typer.Option(help="Who draws (logged).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Draw a 双随机 inspection plan from the newest credit grades and log it.

    Example: citybrain -w ./gaoxin credit draw --seed 20261206
    """
    from citybrain.core.opsdb import session
    from citybrain.topics.builtin.credit import draw as drawing
    from citybrain.topics.opsdb_models import CreditInspectionDraw

    actor = by or getpass.getuser()
    with workspace_ops_engine() as (workspace, ops_engine):
        if inspectors is not None:
            names = drawing.read_inspectors(inspectors.read_text("utf-8").splitlines())
        else:
            with session(ops_engine) as db:
                last = db.scalars(
                    select(CreditInspectionDraw.inspectors)
                    .order_by(CreditInspectionDraw.id.desc())
                    .limit(1)
                ).first()
            names = drawing.default_inspectors(workspace.root, list(last) if last else None)
        with workspace.engine() as engine:
            scores, run_id = drawing.newest_scores(engine)
        plan = drawing.draw(scores, run_id, seed, names, rates=_rates(rate), per_target=per_target)
        with session(ops_engine) as db:
            logged = CreditInspectionDraw(
                actor=actor, seed=seed, scores_run_id=run_id, rates=plan.rates,
                inspectors=plan.inspectors, per_target=per_target, targets=plan.plan.num_rows,
                plan_sha256=plan.sha256, plan=plan.rows(),
            )  # fmt: skip
            db.add(logged)
            db.flush()
            draw_id = logged.id
            _audit(db, actor, "credit.draw", [], {"draw_id": draw_id, "seed": seed,
                                                  "plan_sha256": plan.sha256})  # fmt: skip
    if as_json:
        out = {
            "draw_id": draw_id, "seed": seed, "scores_run_id": run_id, "rates": plan.rates,
            "population": plan.population, "selected": drawing.selected_by_grade(plan.plan),
            "plan_sha256": plan.sha256, "plan": plan.rows(),
        }  # fmt: skip
        typer.echo(json.dumps(out, ensure_ascii=False))
        return
    _print_plan(f"双随机抽查计划 / inspection plan — draw {draw_id}, seed {seed}", plan.rows())
    console.print(
        f"draw {draw_id}: {plan.plan.num_rows} targets of {scores.num_rows} enterprises "
        f"(credit run {run_id}); plan sha256 {plan.sha256}"
    )


@credit_app.command("replay")
def replay_command(draw_id: Annotated[int, typer.Argument(help="A logged draw.")]) -> None:
    """Draw a logged draw again from its seed and check it gives the same plan.

    Example: citybrain credit replay 3
    """
    from citybrain.core.opsdb import session
    from citybrain.topics.builtin.credit import draw as drawing
    from citybrain.topics.opsdb_models import CreditInspectionDraw

    with workspace_ops_engine() as (workspace, ops_engine):
        with session(ops_engine) as db:
            logged = db.get(CreditInspectionDraw, draw_id)
            if logged is None:
                raise UserError(f"no inspection draw {draw_id}")
            seed, run_id, rates = logged.seed, logged.scores_run_id, dict(logged.rates)
            names, per_target, sha = list(logged.inspectors), logged.per_target, logged.plan_sha256
        with workspace.engine() as engine:
            scores, _ = drawing.newest_scores(engine, run_id)
    again = drawing.draw(scores, run_id, seed, names, rates=rates, per_target=per_target)
    if again.sha256 != sha:
        raise UserError(f"draw {draw_id} does NOT reproduce: plan sha256 {again.sha256} ≠ {sha}")
    console.print(f"draw {draw_id} reproduced from seed {seed}: plan sha256 {sha}")


@credit_app.command("dispute")
def dispute_command(
    uscc: Annotated[str, typer.Argument(help="The enterprise's unified social credit code.")],
    kind: Annotated[str, typer.Option(help="penalty, dishonest or commitment.")],
    record: Annotated[str, typer.Option(help="Decision no., case code or commitment id.")],
    reason: Annotated[str, typer.Option(help="Why the record is wrong.")],
    by: Annotated[str, typer.Option(help="Who files it (the subject's agent or a clerk).")],
) -> None:
    """File an objection (异议) to one record behind an enterprise's grade.

    Example: citybrain credit dispute 91510100MA61234567 --kind penalty --record "示高监罚〔2023〕00031号" --reason "已撤销" --by clerk1
    """  # noqa: E501
    from citybrain.core.opsdb import session
    from citybrain.topics.builtin.credit.repair import file_dispute

    with (
        workspace_ops_engine() as (workspace, ops_engine),
        workspace.engine() as engine,
        session(ops_engine) as db,
    ):
        dispute = file_dispute(
            db, engine, uscc=uscc, kind=kind, record_id=record, reason=reason, by=by
        )
        dispute_id = dispute.id
        _audit(db, by, "credit.dispute", [uscc], {"dispute_id": dispute_id, "kind": kind,
                                                  "record": record})  # fmt: skip
    console.print(f"dispute {dispute_id} filed for {uscc} ({kind} {record}); awaiting review")


@credit_app.command("review")
def review_command(
    dispute_id: Annotated[int, typer.Argument(help="A pending dispute.")],
    by: Annotated[str, typer.Option(help="The reviewing steward.")],
    uphold: Annotated[bool, typer.Option("--uphold/--reject", help="Decision.")],
    note: Annotated[str, typer.Option(help="The steward's note.")] = "",
) -> None:
    """Review a dispute; upholding it withdraws the record and redoes the grade (信用修复).

    Example: citybrain credit review 1 --uphold --by steward2 --note "处罚决定已撤销"
    """
    from citybrain.core.opsdb import session
    from citybrain.topics.builtin.credit.repair import decision_detail, review

    with (
        workspace_ops_engine() as (workspace, ops_engine),
        workspace.engine() as engine,
        session(ops_engine) as db,
    ):
        dispute, repair = review(db, engine, dispute_id, uphold=uphold, by=by, note=note)
        detail = decision_detail(dispute, repair)
        _audit(db, by, "credit.repair" if repair else "credit.review", [dispute.uscc], detail)
        uscc = dispute.uscc
    if repair is None:
        console.print(f"dispute {dispute_id} rejected; the grade of {uscc} stays")
        return
    console.print(
        f"dispute {dispute_id} upheld: {uscc} {repair.grade_before} ({repair.score_before}) → "
        f"{repair.grade_after} ({repair.score_after})"
    )


@credit_app.command("commitment")
def commitment_command(
    commitment_id: Annotated[int, typer.Argument(help="A commitment signed on the portal.")],
    by: Annotated[str, typer.Option(help="The checking steward.")],
    kept: Annotated[bool, typer.Option("--kept/--broken", help="The check's result.")],
) -> None:
    """Record the check of a portal commitment (信用承诺); the firm's grade is redone at once.

    Example: citybrain credit commitment 3 --broken --by steward2
    """
    from citybrain.api.opsdb_models import FirmCommitment
    from citybrain.core.opsdb import session
    from citybrain.core.opsdb.base import utcnow
    from citybrain.topics.builtin.credit.commitments import regrade
    from citybrain.topics.builtin.credit.features import BROKEN, KEPT

    result = KEPT if kept else BROKEN
    with (
        workspace_ops_engine() as (workspace, ops_engine),
        workspace.engine() as engine,
        session(ops_engine) as db,
    ):
        row = db.get(FirmCommitment, commitment_id)
        if row is None:
            raise UserError(f"no commitment {commitment_id} signed on the portal")
        if row.check_result is not None:
            raise UserError(f"commitment {commitment_id} was already checked: {row.check_result}")
        row.check_result, row.checked_by, row.checked_at = result, by, utcnow()
        done = regrade(db, engine, row.uscc, result)
        _audit(db, by, "credit.commitment_check", [row.uscc],
               {"commitment_id": commitment_id, "check_result": result,
                "grade_before": done.grade_before, "grade_after": done.grade_after,
                "run_id": done.run_id})  # fmt: skip
    console.print(
        f"commitment {commitment_id} {result}: {done.uscc} {done.grade_before} "
        f"({done.score_before}) → {done.grade_after} ({done.score_after})"
    )


@credit_app.command("history")
def history_command(
    uscc: Annotated[str, typer.Argument(help="The enterprise's unified social credit code.")],
) -> None:
    """The grade changes of an enterprise outside topic runs (credit repairs).

    Example: citybrain credit history 91510100MA61234567
    """
    from citybrain.core.opsdb import session
    from citybrain.topics.opsdb_models import CreditScoreHistory

    table = Table("at (UTC)", "cause", "dispute", "before", "after", "credit run")
    with workspace_ops_engine() as (_, ops_engine), session(ops_engine) as db:
        rows = db.scalars(
            select(CreditScoreHistory)
            .where(CreditScoreHistory.uscc == uscc)
            .order_by(CreditScoreHistory.at)
        ).all()
        for r in rows:
            table.add_row(
                r.at.strftime("%Y-%m-%d %H:%M"), r.cause, str(r.dispute_id or ""),
                f"{r.grade_before} {r.score_before}", f"{r.grade_after} {r.score_after}", r.run_id,
            )  # fmt: skip
    console.print(table)


@credit_app.command("documents")
def documents_command(
    uscc: Annotated[str, typer.Argument(help="The enterprise's unified social credit code.")],
) -> None:
    """Documents the enterprise's grade lets it replace with a signed credit commitment (信用承诺).

    The matrix is credit_commitments.yaml in the workspace, or the default.

    Example: citybrain credit documents 91510100MA61234567
    """
    import pyarrow.compute as pc

    from citybrain.topics.builtin.credit import draw as drawing
    from citybrain.topics.builtin.credit.matrix import load_matrix, replaceable

    workspace = Workspace.open(state.workspace)
    matrix = load_matrix(workspace.root)
    with workspace.engine() as engine:
        scores, _ = drawing.newest_scores(engine)
    row = scores.filter(pc.equal(scores["uscc"], uscc))
    if row.num_rows == 0:
        raise UserError(f"no credit grade for {uscc}")
    grade = str(row["grade"][0].as_py())
    docs = replaceable(matrix, grade)
    table = Table(
        title=f"{uscc}: grade {grade} — 可承诺替代的材料 / documents a commitment replaces"
    )
    table.add_column("key")
    table.add_column("材料")
    table.add_column("document")
    for doc in docs:
        table.add_row(doc.key, doc.zh, doc.en)
    console.print(table)
    if not docs:
        console.print(f"等级{grade}不适用告知承诺 / grade {grade}: no document may be replaced")
