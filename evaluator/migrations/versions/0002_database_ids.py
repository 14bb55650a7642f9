"""Ids from the database: every 复核 score kept with its own id; PostgreSQL's id sequence caught up.

evaluator 0.1 numbered submissions itself (max(id)+1), so on PostgreSQL the ``submissions_id_seq`` sequence
never advanced; it is set past the largest id here. Reviews were replaced on re-import; from now on each is
kept, with an id, and the latest per row counts.

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("SELECT setval(pg_get_serial_sequence('submissions', 'id'), "
                   "COALESCE((SELECT MAX(id) FROM submissions), 0) + 1, false)")
        op.execute("ALTER TABLE reviews ADD COLUMN id SERIAL PRIMARY KEY")  # what create_all makes of the model
    else:
        with op.batch_alter_table("reviews", recreate="always") as batch:
            batch.add_column(sa.Column("id", sa.Integer, primary_key=True))
    op.create_index("ix_reviews_submission", "reviews", ["submission_id"])
    op.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")


def downgrade() -> None:
    op.drop_index("ix_reviews_submission", "reviews")
    with op.batch_alter_table("reviews") as batch:
        batch.drop_column("id")
