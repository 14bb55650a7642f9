"""The database schema: the bureau's scored submissions and the web workflow's units, users, tasks and audit trail.

These table objects are what the code queries; the Alembic revisions in ``evaluator/migrations/versions`` build
the same schema step by step (a test checks that the two agree). Times are ISO-8601 UTC strings with seconds,
the same format everywhere, so they sort and compare as text on SQLite and PostgreSQL alike.
"""
from __future__ import annotations

from sqlalchemy import (
    Column, Float, ForeignKey, Index, Integer, LargeBinary, MetaData, String, Table, Text, UniqueConstraint,
)

metadata = MetaData()

# --------------------------------------------------------------------------- the bureau's store (revision 0001)
meta = Table("meta", metadata, Column("key", String, primary_key=True), Column("value", String))
submissions = Table(
    "submissions", metadata,
    Column("id", Integer, primary_key=True),
    Column("department", String, nullable=False), Column("year", Integer, nullable=False),
    Column("table_id", String, nullable=False), Column("version", Integer, nullable=False),
    Column("title", String), Column("kind", String),
    Column("inputs_hash", String, nullable=False), Column("rule_set", String, nullable=False),
    Column("source", String), Column("created_at", String),
    Column("total", Float), Column("raw_total", Float), Column("grade", String), Column("complete", Integer),
    Column("execution_rate", Float), Column("execution_score", Float), Column("claimed_total", Float),
    Column("output_score", Float), Column("benefit_score", Float), Column("satisfaction_score", Float),
    Column("indicator_weight", Float), Column("indicator_score", Float),
    UniqueConstraint("department", "year", "table_id", "version"),
)
Index("ix_submissions_key", submissions.c.department, submissions.c.year, submissions.c.table_id)
indicators = Table(
    "indicators", metadata,
    Column("submission_id", Integer, ForeignKey("submissions.id"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("level1", String), Column("level2", String), Column("level3", String), Column("group_key", String),
    Column("target", String), Column("actual", String), Column("weight", Float), Column("score", Float),
    Column("claimed", Float), Column("status", String), Column("method", String), Column("explanation", Text),
    Column("deviation_note", Text), Column("band", String), Column("qualitative", Integer),
)
Index("ix_indicators_submission", indicators.c.submission_id)
findings = Table(
    "findings", metadata,
    Column("submission_id", Integer, ForeignKey("submissions.id"), nullable=False),
    Column("code", String), Column("severity", String), Column("message", Text), Column("location", Text),
)
Index("ix_findings_submission", findings.c.submission_id)
# every 复核 score ever given is kept (revision 0002 added the id); the latest per row is the one that counts
reviews = Table(
    "reviews", metadata,
    Column("id", Integer, primary_key=True),
    Column("submission_id", Integer, ForeignKey("submissions.id"), nullable=False),
    Column("position", Integer),  # NULL: the table's total
    Column("score", Float), Column("reviewer", String), Column("note", Text), Column("imported_at", String),
)
Index("ix_reviews_submission", reviews.c.submission_id)
# per-submission figures over its indicator rows and findings, computed when it is recorded (revision 0005;
# tablestats.py): the bureau's comparison reads one row per table instead of every indicator row
submission_stats = Table(
    "submission_stats", metadata,
    Column("submission_id", Integer, ForeignKey("submissions.id"), primary_key=True, autoincrement=False),
    Column("version", Integer, nullable=False),
    *[Column(c, Integer, nullable=False) for c in ("ok_rows", "full_rows", "short_rows", "scorable_rows",
                                                  "qualitative_rows", "stock_rows")],
    Column("claimed_over", Float, nullable=False), Column("claimed_sum", Float, nullable=False),
    Column("missing_notes", Integer, nullable=False), Column("word_actuals", Integer, nullable=False),
)
# Σ得分 / Σ分值 of a submission's scored rows per 一级指标 group (revision 0005, with submission_stats)
submission_group_stats = Table(
    "submission_group_stats", metadata,
    Column("submission_id", Integer, ForeignKey("submissions.id"), primary_key=True, autoincrement=False),
    Column("group_key", String, primary_key=True),
    Column("score", Float, nullable=False), Column("weight", Float, nullable=False),
)
samples = Table(
    "samples", metadata,
    Column("sample", String, nullable=False), Column("submission_id", Integer, ForeignKey("submissions.id")),
    Column("share", Float), Column("seed", Integer), Column("stratified", Integer), Column("created_at", String),
)

# --------------------------------------------------------------------------- the web workflow (revision 0003)
units = Table(
    "units", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String, nullable=False, unique=True),
    Column("code", String),  # 单位编码, when the bureau has one
    Column("parent_id", Integer, ForeignKey("units.id")),  # its 主管部门 (itself a unit)
    Column("created_at", String),
)
users = Table(
    "users", metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String, nullable=False, unique=True),
    Column("name", String),
    Column("role", String, nullable=False),  # clerk | head | supervisor | bureau | admin
    Column("unit_id", Integer, ForeignKey("units.id")),
    Column("password_hash", String, nullable=False),
    Column("active", Integer, nullable=False, server_default="1"),
    Column("created_at", String),
)
sessions = Table(
    "sessions", metadata,
    Column("id", Integer, primary_key=True),
    Column("token_hash", String, nullable=False, unique=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("csrf", String, nullable=False),
    Column("created_at", String, nullable=False), Column("expires_at", String, nullable=False),
    Column("last_seen", String, nullable=False),
    Column("revoked", Integer, nullable=False, server_default="0"),
)
api_tokens = Table(
    "api_tokens", metadata,
    Column("id", Integer, primary_key=True),
    Column("token_hash", String, nullable=False, unique=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("name", String), Column("created_at", String),
    Column("revoked", Integer, nullable=False, server_default="0"),
)
login_attempts = Table(
    "login_attempts", metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String, nullable=False), Column("ip", String),
    Column("at", String, nullable=False), Column("ok", Integer, nullable=False),
)
Index("ix_login_attempts_user", login_attempts.c.username, login_attempts.c.at)
tasks = Table(
    "tasks", metadata,
    Column("id", Integer, primary_key=True),
    Column("year", Integer, nullable=False), Column("title", String, nullable=False),
    Column("rule_set", String, nullable=False), Column("deadline", String),
    Column("state", String, nullable=False, server_default="open"),
    Column("created_by", Integer, ForeignKey("users.id")), Column("created_at", String),
)
# one filing per unit and task: the unit's 自评 as it moves through the workflow
filings = Table(
    "filings", metadata,
    Column("id", Integer, primary_key=True),
    Column("task_id", Integer, ForeignKey("tasks.id"), nullable=False),
    Column("unit_id", Integer, ForeignKey("units.id"), nullable=False),
    Column("state", String, nullable=False, server_default="not-started"),
    Column("version", Integer, nullable=False, server_default="0"),  # submissions so far
    Column("targets", Text),  # the TargetSet as JSON
    Column("targets_upload_id", Integer),
    Column("updated_at", String),
    UniqueConstraint("task_id", "unit_id"),
)
# the current value of every field the clerk fills; position -1 is a table-level field (budget, narrative)
entries = Table(
    "entries", metadata,
    Column("id", Integer, primary_key=True),
    Column("filing_id", Integer, ForeignKey("filings.id"), nullable=False),
    Column("table_id", String, nullable=False), Column("position", Integer, nullable=False),
    Column("field", String, nullable=False), Column("value", Text),
    Column("updated_by", Integer, ForeignKey("users.id")), Column("updated_at", String),
    UniqueConstraint("filing_id", "table_id", "position", "field"),
)
# every change of an entry, for ever: old → new, who, when, and whether typed or from which upload
entry_changes = Table(
    "entry_changes", metadata,
    Column("id", Integer, primary_key=True),
    Column("filing_id", Integer, ForeignKey("filings.id"), nullable=False),
    Column("table_id", String, nullable=False), Column("position", Integer, nullable=False),
    Column("field", String, nullable=False), Column("old", Text), Column("new", Text),
    Column("user_id", Integer, ForeignKey("users.id")), Column("at", String, nullable=False),
    Column("source", String, nullable=False),  # typed | upload
    Column("upload_id", Integer),
)
Index("ix_entry_changes_filing", entry_changes.c.filing_id, entry_changes.c.table_id, entry_changes.c.position)
uploads = Table(
    "uploads", metadata,
    Column("id", Integer, primary_key=True),
    Column("filing_id", Integer, ForeignKey("filings.id"), nullable=False),
    Column("user_id", Integer, ForeignKey("users.id")),
    Column("kind", String, nullable=False),  # targets | workbook
    Column("filename", String), Column("size", Integer), Column("sha256", String),
    Column("content", LargeBinary),
    Column("outcome", String),  # ok | refused
    Column("message", Text), Column("created_at", String),
)
# every state change, upload, submission, approval, return, assignment and review of a filing
events = Table(
    "events", metadata,
    Column("id", Integer, primary_key=True),
    Column("filing_id", Integer, ForeignKey("filings.id"), nullable=False),
    Column("user_id", Integer, ForeignKey("users.id")),
    Column("at", String, nullable=False),
    Column("action", String, nullable=False),
    Column("state_from", String), Column("state_to", String),
    Column("version", Integer), Column("comment", Text),
    Column("upload_id", Integer), Column("detail", Text),
)
Index("ix_events_filing", events.c.filing_id)
# what was submitted, version by version (a resubmission is a new version; nothing is replaced)
filing_versions = Table(
    "filing_versions", metadata,
    Column("id", Integer, primary_key=True),
    Column("filing_id", Integer, ForeignKey("filings.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("targets", Text, nullable=False), Column("actuals", Text, nullable=False),
    Column("submission_ids", Text),  # JSON list of the bureau store's submissions.id, one per table
    Column("submitted_by", Integer, ForeignKey("users.id")), Column("submitted_at", String),
    UniqueConstraint("filing_id", "version"),
)
assignments = Table(
    "assignments", metadata,
    Column("id", Integer, primary_key=True),
    Column("filing_id", Integer, ForeignKey("filings.id"), nullable=False),
    Column("reviewer_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("assigned_by", Integer, ForeignKey("users.id")), Column("at", String),
)
# --------------------------------------------------------------------------- in-year monitoring (revision 0004)
# every progress report a unit uploaded (a new row each time; nothing is replaced), with what monitoring made of it
progress_reports = Table(
    "progress_reports", metadata,
    Column("id", Integer, primary_key=True),
    Column("filing_id", Integer, ForeignKey("filings.id"), nullable=False),
    Column("month", Integer, nullable=False),
    Column("progress", Text, nullable=False),  # the ProgressSet as JSON, as read
    Column("result", Text, nullable=False),  # the MonitorResult as JSON: what the pages and the warning list show
    Column("red", Integer, nullable=False), Column("yellow", Integer, nullable=False),
    Column("unstated", Integer, nullable=False),  # warnings without a 纠偏措施
    Column("upload_id", Integer, ForeignKey("uploads.id")),
    Column("user_id", Integer, ForeignKey("users.id")), Column("created_at", String, nullable=False),
)
Index("ix_progress_reports_filing", progress_reports.c.filing_id, progress_reports.c.month)
