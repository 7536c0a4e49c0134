"""credit: a portal commitment's check — kept (已履约) or broken (未履约), by whom and when

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 20:45:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("firm_commitment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("check_result", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("checked_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("firm_commitment", schema=None) as batch_op:
        batch_op.drop_column("checked_at")
        batch_op.drop_column("checked_by")
        batch_op.drop_column("check_result")
