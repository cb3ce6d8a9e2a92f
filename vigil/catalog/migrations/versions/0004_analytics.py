"""Analytics: event columns for targets and snapshots; per-camera rules.

Revision ID: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("events") as b:
        b.add_column(sa.Column("rule_id", sa.String(63), nullable=True))
        b.add_column(sa.Column("label", sa.String(32), nullable=True))
        b.add_column(sa.Column("score", sa.Float, nullable=True))
        b.add_column(sa.Column("track_id", sa.Integer, nullable=True))
        b.add_column(sa.Column("snapshot", sa.Text, nullable=True))
    op.create_index("ix_events_camera_start", "events", ["camera_id", "start_ms"])
    op.create_index("ix_events_type_start", "events", ["type", "start_ms"])
    op.create_table(
        "rules",
        sa.Column("camera_id", sa.String(63), primary_key=True),
        sa.Column("id", sa.String(63), primary_key=True),
        sa.Column("position", sa.Integer, nullable=False, server_default="0"),
        sa.Column("definition", sa.JSON, nullable=False),
        sa.Column("updated_ms", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("rules")
    op.drop_index("ix_events_type_start", "events")
    op.drop_index("ix_events_camera_start", "events")
    with op.batch_alter_table("events") as b:
        for c in ("snapshot", "track_id", "score", "label", "rule_id"):
            b.drop_column(c)
