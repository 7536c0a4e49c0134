"""portal: credit commitments (信用承诺) firms sign on the portal

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 14:45:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "firm_commitment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uscc", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("text_zh", sa.Text(), nullable=False),
        sa.Column("grade", sa.String(length=1), nullable=False),
        sa.Column("signed_by", sa.String(length=64), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "kind IN ('compliance', 'tolerance')", name=op.f("ck_firm_commitment_kind")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_firm_commitment")),
    )
    op.create_index("ix_firm_commitment_uscc", "firm_commitment", ["uscc"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_firm_commitment_uscc", table_name="firm_commitment")
    op.drop_table("firm_commitment")
