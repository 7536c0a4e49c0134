"""stream: live events written by the stream consumer, and its detectors' state

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 02:52:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "live_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("permission", sa.String(length=32), nullable=False),
        sa.Column("system", sa.String(length=64), nullable=True),
        sa.Column("load_id", sa.String(length=64), nullable=True),
        sa.Column("street_id", sa.String(length=64), nullable=True),
        sa.Column("community_id", sa.String(length=64), nullable=True),
        sa.Column("grid_id", sa.String(length=64), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_live_event")),
    )
    op.create_index("ix_live_event_at", "live_event", ["at"], unique=False)
    op.create_table(
        "stream_detector_state",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("cursor", sa.JSON(), nullable=False),
        sa.Column("batches", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_stream_detector_state")),
    )


def downgrade() -> None:
    op.drop_table("stream_detector_state")
    op.drop_index("ix_live_event_at", table_name="live_event")
    op.drop_table("live_event")
