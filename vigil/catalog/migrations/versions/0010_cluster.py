"""Scale-out: nodes, camera leases, and where each segment's bytes are (a node's disk or the bucket).

Revision ID: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "nodes",
        sa.Column("id", sa.String(63), primary_key=True),
        sa.Column("url", sa.Text, nullable=False, server_default=""),
        sa.Column("started_ms", sa.BigInteger, nullable=False),
        sa.Column("seen_ms", sa.BigInteger, nullable=False),
        sa.Column("details", sa.JSON, nullable=False),
    )
    op.create_table(
        "camera_leases",
        sa.Column("camera_id", sa.String(63), primary_key=True),
        sa.Column("node_id", sa.String(63), nullable=False),
        sa.Column("since_ms", sa.BigInteger, nullable=False),
        sa.Column("expires_ms", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_camera_leases_node", "camera_leases", ["node_id"])
    with op.batch_alter_table("segments") as b:
        # null: the single node's own disk; else the node whose disk holds the file until it is uploaded
        b.add_column(sa.Column("node_id", sa.String(63), nullable=True))
        b.add_column(sa.Column("stored", sa.String(10), nullable=False, server_default="local"))  # local | s3
    op.create_index("ix_segments_stored_end", "segments", ["stored", "end_ms"])


def downgrade() -> None:
    op.drop_index("ix_segments_stored_end", "segments")
    with op.batch_alter_table("segments") as b:
        b.drop_column("stored")
        b.drop_column("node_id")
    op.drop_table("camera_leases")
    op.drop_table("nodes")
