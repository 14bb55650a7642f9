"""The web workflow: units, users, sessions, login attempts, tasks, filings, entries and the audit trail.

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "units",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String, nullable=False, unique=True),
        sa.Column("code", sa.String),
        sa.Column("parent_id", sa.Integer, sa.ForeignKey("units.id")),
        sa.Column("created_at", sa.String),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("username", sa.String, nullable=False, unique=True),
        sa.Column("name", sa.String),
        sa.Column("role", sa.String, nullable=False),
        sa.Column("unit_id", sa.Integer, sa.ForeignKey("units.id")),
        sa.Column("password_hash", sa.String, nullable=False),
        sa.Column("active", sa.Integer, nullable=False, server_default="1"),
        sa.Column("created_at", sa.String),
    )
    op.create_table(
        "sessions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("token_hash", sa.String, nullable=False, unique=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("csrf", sa.String, nullable=False),
        sa.Column("created_at", sa.String, nullable=False), sa.Column("expires_at", sa.String, nullable=False),
        sa.Column("last_seen", sa.String, nullable=False),
        sa.Column("revoked", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("token_hash", sa.String, nullable=False, unique=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("name", sa.String), sa.Column("created_at", sa.String),
        sa.Column("revoked", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("username", sa.String, nullable=False), sa.Column("ip", sa.String),
        sa.Column("at", sa.String, nullable=False), sa.Column("ok", sa.Integer, nullable=False),
    )
    op.create_index("ix_login_attempts_user", "login_attempts", ["username", "at"])
    op.create_table(
        "tasks",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("year", sa.Integer, nullable=False), sa.Column("title", sa.String, nullable=False),
        sa.Column("rule_set", sa.String, nullable=False), sa.Column("deadline", sa.String),
        sa.Column("state", sa.String, nullable=False, server_default="open"),
        sa.Column("created_by", sa.Integer, sa.ForeignKey("users.id")), sa.Column("created_at", sa.String),
    )
    op.create_table(
        "filings",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("task_id", sa.Integer, sa.ForeignKey("tasks.id"), nullable=False),
        sa.Column("unit_id", sa.Integer, sa.ForeignKey("units.id"), nullable=False),
        sa.Column("state", sa.String, nullable=False, server_default="not-started"),
        sa.Column("version", sa.Integer, nullable=False, server_default="0"),
        sa.Column("targets", sa.Text), sa.Column("targets_upload_id", sa.Integer),
        sa.Column("updated_at", sa.String),
        sa.UniqueConstraint("task_id", "unit_id"),
    )
    op.create_table(
        "entries",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("filing_id", sa.Integer, sa.ForeignKey("filings.id"), nullable=False),
        sa.Column("table_id", sa.String, nullable=False), sa.Column("position", sa.Integer, nullable=False),
        sa.Column("field", sa.String, nullable=False), sa.Column("value", sa.Text),
        sa.Column("updated_by", sa.Integer, sa.ForeignKey("users.id")), sa.Column("updated_at", sa.String),
        sa.UniqueConstraint("filing_id", "table_id", "position", "field"),
    )
    op.create_table(
        "entry_changes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("filing_id", sa.Integer, sa.ForeignKey("filings.id"), nullable=False),
        sa.Column("table_id", sa.String, nullable=False), sa.Column("position", sa.Integer, nullable=False),
        sa.Column("field", sa.String, nullable=False), sa.Column("old", sa.Text), sa.Column("new", sa.Text),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id")), sa.Column("at", sa.String, nullable=False),
        sa.Column("source", sa.String, nullable=False), sa.Column("upload_id", sa.Integer),
    )
    op.create_index("ix_entry_changes_filing", "entry_changes", ["filing_id", "table_id", "position"])
    op.create_table(
        "uploads",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("filing_id", sa.Integer, sa.ForeignKey("filings.id"), nullable=False),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id")),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("filename", sa.String), sa.Column("size", sa.Integer), sa.Column("sha256", sa.String),
        sa.Column("content", sa.LargeBinary), sa.Column("outcome", sa.String), sa.Column("message", sa.Text),
        sa.Column("created_at", sa.String),
    )
    op.create_table(
        "events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("filing_id", sa.Integer, sa.ForeignKey("filings.id"), nullable=False),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id")),
        sa.Column("at", sa.String, nullable=False), sa.Column("action", sa.String, nullable=False),
        sa.Column("state_from", sa.String), sa.Column("state_to", sa.String),
        sa.Column("version", sa.Integer), sa.Column("comment", sa.Text),
        sa.Column("upload_id", sa.Integer), sa.Column("detail", sa.Text),
    )
    op.create_index("ix_events_filing", "events", ["filing_id"])
    op.create_table(
        "filing_versions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("filing_id", sa.Integer, sa.ForeignKey("filings.id"), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("targets", sa.Text, nullable=False), sa.Column("actuals", sa.Text, nullable=False),
        sa.Column("submission_ids", sa.Text),
        sa.Column("submitted_by", sa.Integer, sa.ForeignKey("users.id")), sa.Column("submitted_at", sa.String),
        sa.UniqueConstraint("filing_id", "version"),
    )
    op.create_table(
        "assignments",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("filing_id", sa.Integer, sa.ForeignKey("filings.id"), nullable=False),
        sa.Column("reviewer_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("assigned_by", sa.Integer, sa.ForeignKey("users.id")), sa.Column("at", sa.String),
    )
    op.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")


def downgrade() -> None:
    for name in ("assignments", "filing_versions", "events", "uploads", "entry_changes", "entries", "filings",
                 "tasks", "login_attempts", "api_tokens", "sessions", "users", "units"):
        op.drop_table(name)
