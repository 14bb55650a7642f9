"""The bureau's store as evaluator 0.1 created it (its ``meta.schema_version`` 1).

A store made before Alembic is stamped with this revision when first opened, then upgraded.

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("meta", sa.Column("key", sa.String, primary_key=True), sa.Column("value", sa.String))
    op.create_table(
        "submissions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("department", sa.String, nullable=False), sa.Column("year", sa.Integer, nullable=False),
        sa.Column("table_id", sa.String, nullable=False), sa.Column("version", sa.Integer, nullable=False),
        sa.Column("title", sa.String), sa.Column("kind", sa.String),
        sa.Column("inputs_hash", sa.String, nullable=False), sa.Column("rule_set", sa.String, nullable=False),
        sa.Column("source", sa.String), sa.Column("created_at", sa.String),
        sa.Column("total", sa.Float), sa.Column("raw_total", sa.Float), sa.Column("grade", sa.String),
        sa.Column("complete", sa.Integer), sa.Column("execution_rate", sa.Float),
        sa.Column("execution_score", sa.Float), sa.Column("claimed_total", sa.Float),
        sa.Column("output_score", sa.Float), sa.Column("benefit_score", sa.Float),
        sa.Column("satisfaction_score", sa.Float), sa.Column("indicator_weight", sa.Float),
        sa.Column("indicator_score", sa.Float),
        sa.UniqueConstraint("department", "year", "table_id", "version"),
    )
    op.create_index("ix_submissions_key", "submissions", ["department", "year", "table_id"])
    op.create_table(
        "indicators",
        sa.Column("submission_id", sa.Integer, sa.ForeignKey("submissions.id"), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("level1", sa.String), sa.Column("level2", sa.String), sa.Column("level3", sa.String),
        sa.Column("group_key", sa.String), sa.Column("target", sa.String), sa.Column("actual", sa.String),
        sa.Column("weight", sa.Float), sa.Column("score", sa.Float), sa.Column("claimed", sa.Float),
        sa.Column("status", sa.String), sa.Column("method", sa.String), sa.Column("explanation", sa.Text),
        sa.Column("deviation_note", sa.Text), sa.Column("band", sa.String), sa.Column("qualitative", sa.Integer),
    )
    op.create_index("ix_indicators_submission", "indicators", ["submission_id"])
    op.create_table(
        "findings",
        sa.Column("submission_id", sa.Integer, sa.ForeignKey("submissions.id"), nullable=False),
        sa.Column("code", sa.String), sa.Column("severity", sa.String), sa.Column("message", sa.Text),
        sa.Column("location", sa.Text),
    )
    op.create_index("ix_findings_submission", "findings", ["submission_id"])
    op.create_table(
        "reviews",
        sa.Column("submission_id", sa.Integer, sa.ForeignKey("submissions.id"), nullable=False),
        sa.Column("position", sa.Integer), sa.Column("score", sa.Float), sa.Column("reviewer", sa.String),
        sa.Column("note", sa.Text), sa.Column("imported_at", sa.String),
    )
    op.create_table(
        "samples",
        sa.Column("sample", sa.String, nullable=False),
        sa.Column("submission_id", sa.Integer, sa.ForeignKey("submissions.id")),
        sa.Column("share", sa.Float), sa.Column("seed", sa.Integer), sa.Column("stratified", sa.Integer),
        sa.Column("created_at", sa.String),
    )
    op.bulk_insert(sa.table("meta", sa.column("key"), sa.column("value")), [{"key": "schema_version", "value": "1"}])


def downgrade() -> None:
    for name in ("samples", "reviews", "findings", "indicators", "submissions", "meta"):
        op.drop_table(name)
