"""portal: residents sign in by phone — a 'resident' role, one-time codes and the SMS outbox

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 17:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BEFORE = (
    "admin", "data_steward", "analyst", "clerk", "leader", "auditor", "public", "system", "firm",
)  # fmt: skip
_AFTER = (*_BEFORE, "resident")


def _role_check(roles: tuple[str, ...]) -> None:
    # SQLite cannot alter a CHECK constraint: batch mode rebuilds the table (env.py sets it).
    with op.batch_alter_table("api_user", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_api_user_role"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_api_user_role"), f"role IN ({', '.join(repr(r) for r in roles)})"
        )


def upgrade() -> None:
    _role_check(_AFTER)
    op.create_table(
        "phone_code",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phone_hash", sa.String(length=64), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_phone_code")),
    )
    op.create_index(
        "ix_phone_code_phone_hash_created_at",
        "phone_code",
        ["phone_hash", "created_at"],
        unique=False,
    )
    op.create_table(
        "sms_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_outbox")),
    )


def downgrade() -> None:
    op.drop_table("sms_outbox")
    op.drop_index("ix_phone_code_phone_hash_created_at", table_name="phone_code")
    op.drop_table("phone_code")
    op.execute("DELETE FROM api_user WHERE role = 'resident'")
    _role_check(_BEFORE)
