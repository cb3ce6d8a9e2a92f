"""Faces: named face databases, persons, enrolled face images, and face sightings.

Revision ID: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "face_databases",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("kind", sa.String(10), nullable=False, server_default="allow"),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "persons",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("database_id", sa.Integer, nullable=False, index=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("details", sa.JSON, nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "face_images",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("person_id", sa.Integer, nullable=False, index=True),
        sa.Column("database_id", sa.Integer, nullable=False, index=True),
        sa.Column("path", sa.Text, nullable=False),
        sa.Column("embedding", sa.LargeBinary, nullable=False),
        sa.Column("quality", sa.Float, nullable=False, server_default="0"),
        sa.Column("source", sa.String(40), nullable=False, server_default="upload"),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "face_sightings",
        sa.Column("event_id", sa.Integer, primary_key=True),
        sa.Column("camera_id", sa.String(63), nullable=False),
        sa.Column("t_ms", sa.BigInteger, nullable=False, index=True),
        sa.Column("embedding", sa.LargeBinary, nullable=False),
        sa.Column("person_id", sa.Integer, nullable=True),
        sa.Column("score", sa.Float, nullable=True),
        sa.Column("gender", sa.String(10), nullable=True),
        sa.Column("age", sa.Integer, nullable=True),
        sa.Column("expression", sa.String(16), nullable=True),
    )
    op.create_index("ix_face_sightings_camera_t", "face_sightings", ["camera_id", "t_ms"])
    op.create_index("ix_face_sightings_person_t", "face_sightings", ["person_id", "t_ms"])


def downgrade() -> None:
    for t in ("face_sightings", "face_images", "persons", "face_databases"):
        op.drop_table(t)
