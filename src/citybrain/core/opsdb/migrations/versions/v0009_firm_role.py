"""security: a 'firm' role for enterprises' portal accounts (issued by the city, one USCC each)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 11:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BEFORE = ("admin", "data_steward", "analyst", "clerk", "leader", "auditor", "public", "system")
_AFTER = (*_BEFORE, "firm")


def _role_check(roles: tuple[str, ...]) -> None:
    # SQLite cannot alter a CHECK constraint: batch mode rebuilds the table (env.py sets it).
    with op.batch_alter_table("api_user", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_api_user_role"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_api_user_role"), f"role IN ({', '.join(repr(r) for r in roles)})"
        )


def upgrade() -> None:
    _role_check(_AFTER)


def downgrade() -> None:
    _role_check(_BEFORE)
