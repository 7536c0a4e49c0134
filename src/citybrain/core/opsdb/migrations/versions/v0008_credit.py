"""credit: 双随机 inspection draws, credit disputes and the score history of credit repairs

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 05:45:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "credit_inspection_draw",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("drawn_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("scores_run_id", sa.String(length=64), nullable=False),
        sa.Column("rates", sa.JSON(), nullable=False),
        sa.Column("inspectors", sa.JSON(), nullable=False),
        sa.Column("per_target", sa.Integer(), nullable=False),
        sa.Column("targets", sa.Integer(), nullable=False),
        sa.Column("plan_sha256", sa.String(length=64), nullable=False),
        sa.Column("plan", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_inspection_draw")),
    )
    op.create_table(
        "credit_dispute",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uscc", sa.String(length=32), nullable=False),
        sa.Column("record_kind", sa.String(length=32), nullable=False),
        sa.Column("record_id", sa.String(length=128), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("filed_by", sa.String(length=64), nullable=False),
        sa.Column("filed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reviewed_by", sa.String(length=64), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("review_note", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_dispute")),
    )
    op.create_index("ix_credit_dispute_uscc", "credit_dispute", ["uscc"], unique=False)
    op.create_table(
        "credit_score_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uscc", sa.String(length=32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cause", sa.String(length=32), nullable=False),
        sa.Column("dispute_id", sa.Integer(), nullable=True),
        sa.Column("score_before", sa.Integer(), nullable=False),
        sa.Column("grade_before", sa.String(length=1), nullable=False),
        sa.Column("score_after", sa.Integer(), nullable=False),
        sa.Column("grade_after", sa.String(length=1), nullable=False),
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_score_history")),
    )
    op.create_index(
        "ix_credit_score_history_uscc_at", "credit_score_history", ["uscc", "at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_credit_score_history_uscc_at", table_name="credit_score_history")
    op.drop_table("credit_score_history")
    op.drop_index("ix_credit_dispute_uscc", table_name="credit_dispute")
    op.drop_table("credit_dispute")
    op.drop_table("credit_inspection_draw")
