"""Per-submission figures for the bureau's comparison, computed once when a submission is recorded.

The table is derived data: a stored submission never changes, so its figures never go stale (a change of their
definition bumps ``tablestats.STATS_VERSION`` and the view recomputes rows of another version). Submissions
already in the store get theirs here, from their indicator rows and findings, by the same function.

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

COUNTS = ("ok_rows", "full_rows", "short_rows", "scorable_rows", "qualitative_rows", "stock_rows")


def upgrade() -> None:
    stats = op.create_table(
        "submission_stats",
        sa.Column("submission_id", sa.Integer, sa.ForeignKey("submissions.id"), primary_key=True,
                  autoincrement=False),
        sa.Column("version", sa.Integer, nullable=False),
        *[sa.Column(c, sa.Integer, nullable=False) for c in COUNTS],
        sa.Column("claimed_over", sa.Float, nullable=False), sa.Column("claimed_sum", sa.Float, nullable=False),
        sa.Column("missing_notes", sa.Integer, nullable=False), sa.Column("word_actuals", sa.Integer, nullable=False),
    )
    groups = op.create_table(
        "submission_group_stats",
        sa.Column("submission_id", sa.Integer, sa.ForeignKey("submissions.id"), primary_key=True,
                  autoincrement=False),
        sa.Column("group_key", sa.String, primary_key=True),
        sa.Column("score", sa.Float, nullable=False), sa.Column("weight", sa.Float, nullable=False),
    )
    _backfill(op.get_bind(), stats, groups)


def _backfill(conn, stats, groups) -> None:
    import pandas as pd

    from evaluator.tablestats import INDICATOR_COLUMNS, as_rows, group_rows, group_sums, indicator_stats

    ids = [r[0] for r in conn.execute(sa.text("SELECT id FROM submissions ORDER BY id"))]
    for k in range(0, len(ids), 900):
        chunk = ids[k:k + 900]
        inds = pd.DataFrame.from_records(conn.execute(
            sa.text(f"SELECT {', '.join(INDICATOR_COLUMNS)} FROM indicators WHERE submission_id IN :ids")
            .bindparams(sa.bindparam("ids", expanding=True)), {"ids": chunk}).fetchall(),
            columns=list(INDICATOR_COLUMNS))
        fnd = pd.DataFrame.from_records(conn.execute(
            sa.text("SELECT submission_id, code FROM findings WHERE submission_id IN :ids")
            .bindparams(sa.bindparam("ids", expanding=True)), {"ids": chunk}).fetchall(),
            columns=["submission_id", "code"])
        for table, rows in ((stats, as_rows(indicator_stats(inds, fnd), chunk)), (groups, group_rows(group_sums(inds)))):
            if rows:
                conn.execute(table.insert(), rows)


def downgrade() -> None:
    op.drop_table("submission_group_stats")
    op.drop_table("submission_stats")
