"""The audit log: who logged in, from where, who watched or exported what, who changed what.

Revision ID: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("t_ms", sa.BigInteger, nullable=False),
        # null: nobody logged in (a failed login's attempted name is in details)
        sa.Column("username", sa.String(64), nullable=True),
        sa.Column("address", sa.String(64), nullable=False, server_default=""),
        # login, login_failed, live, rtsp, or "<METHOD> <route>", e.g. "DELETE /api/cameras/{camera_id}"
        sa.Column("action", sa.String(200), nullable=False),
        sa.Column("camera_id", sa.String(63), nullable=True),
        sa.Column("status", sa.Integer, nullable=True),
        sa.Column("details", sa.JSON, nullable=False),
    )
    op.create_index("ix_audit_t", "audit", ["t_ms"])
    op.create_index("ix_audit_user_t", "audit", ["username", "t_ms"])


def downgrade() -> None:
    op.drop_table("audit")
