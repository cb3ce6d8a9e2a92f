"""Each face vector says which model made it, so a model change re-embeds instead of comparing vectors of two
models (meaningless: every similarity would be noise).

Revision ID: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

OLD_MODEL = "dlib-resnet-v1"  # the only model before this revision


def upgrade() -> None:
    for table in ("face_images", "face_sightings"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("model", sa.String(40), nullable=False, server_default=OLD_MODEL))


def downgrade() -> None:
    for table in ("face_images", "face_sightings"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("model")
