"""AI by camera: which side raised an event (NULL: Vigil's own analytics and alarms; "camera": the camera's,
over ONVIF), searchable like the other attributes. RTSP out: each user's Digest HA1 (RTSP clients only speak
Digest, which cannot be checked against the argon2 hash).

Revision ID: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("events") as b:
        b.add_column(sa.Column("source", sa.String(10), nullable=True))
    op.create_index("ix_events_source_start", "events", ["source", "start_ms"])
    with op.batch_alter_table("users") as b:
        b.add_column(sa.Column("rtsp_ha1", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as b:
        b.drop_column("rtsp_ha1")
    op.drop_index("ix_events_source_start", "events")
    with op.batch_alter_table("events") as b:
        b.drop_column("source")
