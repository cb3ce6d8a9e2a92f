"""AI search and counting: target attributes on events (colours, plate) with their indexes; people counts per
5 minutes; heat-map cells per camera-hour; licence-plate allow/block lists.

Revision ID: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

ATTRIBUTES = ("upper_color", "lower_color", "body_color")


def upgrade() -> None:
    with op.batch_alter_table("events") as b:
        for c in ATTRIBUTES:
            b.add_column(sa.Column(c, sa.String(16), nullable=True))
        b.add_column(sa.Column("plate", sa.String(20), nullable=True))
    # Each search filter has an index that starts with it and ends with the time, so a filter + time range +
    # newest-first page is one index range scan, whatever the table's size.
    op.create_index("ix_events_label_start", "events", ["label", "start_ms"])
    # The commonest search, "people on this camera today", in one range scan however busy the camera is.
    op.create_index("ix_events_camera_label_start", "events", ["camera_id", "label", "start_ms"])
    for c in ATTRIBUTES:
        op.create_index(f"ix_events_{c}_start", "events", [c, "start_ms"])
    op.create_index("ix_events_plate_start", "events", ["plate", "start_ms"])
    op.create_index("ix_face_sightings_gender_t", "face_sightings", ["gender", "t_ms"])
    op.create_table(
        "people_counts",
        sa.Column("camera_id", sa.String(63), primary_key=True),
        sa.Column("rule_id", sa.String(63), primary_key=True),
        sa.Column("bucket_ms", sa.BigInteger, primary_key=True),  # start of the 5-minute bucket (UTC)
        sa.Column("in_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("out_count", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_table(
        "heat_cells",
        sa.Column("camera_id", sa.String(63), primary_key=True),
        sa.Column("hour_ms", sa.BigInteger, primary_key=True),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("cols", sa.Integer, nullable=False),
        sa.Column("cells", sa.LargeBinary, nullable=False),  # float32 seconds of presence, row-major
    )
    op.create_table(
        "plate_lists",
        sa.Column("plate", sa.String(20), primary_key=True),
        sa.Column("list", sa.String(10), nullable=False),  # allow | block
        sa.Column("note", sa.Text, nullable=False, server_default=""),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("plate_lists")
    op.drop_table("heat_cells")
    op.drop_table("people_counts")
    op.drop_index("ix_face_sightings_gender_t", "face_sightings")
    op.drop_index("ix_events_plate_start", "events")
    for c in ATTRIBUTES:
        op.drop_index(f"ix_events_{c}_start", "events")
    op.drop_index("ix_events_camera_label_start", "events")
    op.drop_index("ix_events_label_start", "events")
    with op.batch_alter_table("events") as b:
        for c in (*ATTRIBUTES, "plate"):
            b.drop_column(c)
