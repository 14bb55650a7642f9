"""In-year monitoring in the web workflow: every progress report a unit uploaded, with its monitoring result.

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "progress_reports",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("filing_id", sa.Integer, sa.ForeignKey("filings.id"), nullable=False),
        sa.Column("month", sa.Integer, nullable=False),
        sa.Column("progress", sa.Text, nullable=False), sa.Column("result", sa.Text, nullable=False),
        sa.Column("red", sa.Integer, nullable=False), sa.Column("yellow", sa.Integer, nullable=False),
        sa.Column("unstated", sa.Integer, nullable=False),
        sa.Column("upload_id", sa.Integer, sa.ForeignKey("uploads.id")),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id")), sa.Column("created_at", sa.String, nullable=False),
    )
    op.create_index("ix_progress_reports_filing", "progress_reports", ["filing_id", "month"])
    op.execute("UPDATE meta SET value = '4' WHERE key = 'schema_version'")


def downgrade() -> None:
    op.drop_index("ix_progress_reports_filing", "progress_reports")
    op.drop_table("progress_reports")
    op.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
