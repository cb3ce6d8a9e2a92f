"""Failed logins in the catalog, so every node of a cluster counts them (login throttling).

Revision ID: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(200), nullable=False),  # user:<name> | addr:<address>
        sa.Column("t_ms", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_login_failures_key_t", "login_failures", ["key", "t_ms"])


def downgrade() -> None:
    op.drop_table("login_failures")
