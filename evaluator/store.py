"""The finance bureau's store: every scored submission, version by version, in SQLite (or any SQLAlchemy URL).

A submission is one department's table for one year. Scoring the same inputs under the same rule set again
changes nothing; changed inputs add a new version and keep the old ones. The schema is created and migrated by
the program (``migrate``), recorded in the ``meta`` table.
"""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any, Iterable

from sqlalchemy import (
    Column, Float, ForeignKey, Index, Integer, MetaData, String, Table, Text, UniqueConstraint, create_engine, func,
    insert, select, text,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from .errors import EvaluatorError

__all__ = ["Store", "SCHEMA_VERSION", "default_url"]

SCHEMA_VERSION = 1
metadata = MetaData()

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
reviews = Table(
    "reviews", metadata,
    Column("submission_id", Integer, ForeignKey("submissions.id"), nullable=False),
    Column("position", Integer),  # NULL: the table's total
    Column("score", Float), Column("reviewer", String), Column("note", Text), Column("imported_at", String),
)
samples = Table(
    "samples", metadata,
    Column("sample", String, nullable=False), Column("submission_id", Integer, ForeignKey("submissions.id")),
    Column("share", Float), Column("seed", Integer), Column("stratified", Integer), Column("created_at", String),
)

def _insert_many(conn, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert many rows. On SQLite, one plain ``executemany`` with tuples: SQLAlchemy's per-row parameter
    processing costs more than SQLite's own work here (hundreds of thousands of indicator rows per batch)."""
    if not rows:
        return
    if conn.dialect.name != "sqlite":
        conn.execute(insert(table), rows)
        return
    names = [c.name for c in table.columns]
    sql = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
    conn.exec_driver_sql(sql, [tuple(map(r.get, names)) for r in rows])


MIGRATIONS: dict[int, list[str]] = {
    # version → SQL to go from version-1; version 1 is metadata.create_all
}


def default_url(path: str | Path = "evaluator.db") -> str:
    return f"sqlite:///{Path(path)}"


class Store:
    """A thin layer over the database: connect, migrate, record submissions, query views."""

    def __init__(self, url: str | None = None):
        self.url = url or default_url()
        try:
            self.engine: Engine = create_engine(self.url, future=True)
            self.migrate()
        except SQLAlchemyError as e:
            raise EvaluatorError(f"无法打开数据库（{type(e).__name__}）", where=self.url,
                                 hint="请检查 --db 参数，例如 sqlite:///evaluator.db") from e

    def migrate(self) -> int:
        """Create the schema on first use, then apply any newer migrations in order."""
        with self.engine.begin() as conn:
            if self.url.startswith("sqlite"):
                conn.execute(text("PRAGMA journal_mode=WAL"))
            metadata.create_all(conn)
            row = conn.execute(select(meta.c.value).where(meta.c.key == "schema_version")).first()
            current = int(row[0]) if row else 0
            if current == 0:
                conn.execute(insert(meta).values(key="schema_version", value=str(SCHEMA_VERSION)))
                return SCHEMA_VERSION
            if current > SCHEMA_VERSION:
                raise EvaluatorError(f"数据库由更新版本的 evaluator 创建（结构版本 {current}）", where=self.url,
                                     hint="请升级 evaluator")
            for version in range(current + 1, SCHEMA_VERSION + 1):
                for sql in MIGRATIONS.get(version, []):
                    conn.execute(text(sql))
            conn.execute(meta.update().where(meta.c.key == "schema_version").values(value=str(SCHEMA_VERSION)))
        return SCHEMA_VERSION

    # writing ---------------------------------------------------------------------------------------------
    def latest(self, conn, department: str, year: int, table_id: str) -> Any:
        return conn.execute(
            select(submissions.c.id, submissions.c.version, submissions.c.inputs_hash, submissions.c.rule_set)
            .where(submissions.c.department == department, submissions.c.year == year,
                   submissions.c.table_id == table_id)
            .order_by(submissions.c.version.desc()).limit(1)).first()

    def record(self, items: Iterable[dict[str, Any]]) -> dict[str, int]:
        """Store scored tables: each item has 'submission' (columns), 'indicators' and 'findings' (lists of dicts).

        One query finds the latest versions, then each table goes in with one statement: unchanged inputs
        (same hash and rule set) are skipped, changed ones get the next version number.
        Returns counts of new, new-version and unchanged submissions."""
        items = list(items)
        counts = {"new": 0, "updated": 0, "unchanged": 0}
        now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        with self.engine.begin() as conn:
            latest = {}
            for r in conn.execute(select(submissions.c.department, submissions.c.year, submissions.c.table_id,
                                         submissions.c.version, submissions.c.inputs_hash, submissions.c.rule_set)):
                key = (r.department, r.year, r.table_id)
                if key not in latest or r.version > latest[key].version:
                    latest[key] = r
            next_id = (conn.execute(select(func.max(submissions.c.id))).scalar() or 0) + 1
            subs, inds, finds = [], [], []
            for item in items:
                sub = item["submission"]
                last = latest.get((sub["department"], sub["year"], sub["table_id"]))
                if last and last.inputs_hash == sub["inputs_hash"] and last.rule_set == sub["rule_set"]:
                    counts["unchanged"] += 1
                    continue
                counts["updated" if last else "new"] += 1
                sid, next_id = next_id, next_id + 1
                subs.append({**sub, "id": sid, "version": (last.version + 1) if last else 1, "created_at": now})
                inds += [{**row, "submission_id": sid} for row in item["indicators"]]
                finds += [{**f, "submission_id": sid} for f in item["findings"]]
            for table, rows in ((submissions, subs), (indicators, inds), (findings, finds)):
                for k in range(0, len(rows), 50_000):
                    _insert_many(conn, table, rows[k:k + 50_000])
        return counts

    # reading ---------------------------------------------------------------------------------------------
    def current(self, year: int | None = None) -> list[dict[str, Any]]:
        """The latest version of every submission (of ``year``)."""
        latest = (select(submissions.c.department, submissions.c.year, submissions.c.table_id,
                         func.max(submissions.c.version).label("v"))
                  .group_by(submissions.c.department, submissions.c.year, submissions.c.table_id).subquery())
        q = select(submissions).join(latest, (submissions.c.department == latest.c.department)
                                     & (submissions.c.year == latest.c.year)
                                     & (submissions.c.table_id == latest.c.table_id)
                                     & (submissions.c.version == latest.c.v))
        if year is not None:
            q = q.where(submissions.c.year == year)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q.order_by(submissions.c.department, submissions.c.table_id))]

    def years(self) -> list[int]:
        with self.engine.connect() as conn:
            return [r[0] for r in conn.execute(select(submissions.c.year).distinct().order_by(submissions.c.year))]

    def indicators_of(self, ids: list[int], columns: tuple[str, ...] | None = None) -> list[dict[str, Any]]:
        cols = [indicators.c[c] for c in columns] if columns else [indicators]
        out: list[dict[str, Any]] = []
        with self.engine.connect() as conn:
            for k in range(0, len(ids), 900):
                chunk = ids[k:k + 900]
                out += [dict(r._mapping) for r in conn.execute(
                    select(*cols).where(indicators.c.submission_id.in_(chunk))
                    .order_by(indicators.c.submission_id, indicators.c.position))]
        return out

    def indicator_frame(self, ids: list[int], columns: tuple[str, ...]):
        """The indicators of many submissions as a DataFrame, read in bulk (900 ids a query: SQLite's limit)."""
        import pandas as pd

        base = select(*[indicators.c[c] for c in columns])
        with self.engine.connect() as conn:
            frames = [pd.read_sql(base.where(indicators.c.submission_id.in_(ids[k:k + 900])), conn)
                      for k in range(0, len(ids), 900)]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=list(columns))

    def findings_of(self, ids: list[int]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        with self.engine.connect() as conn:
            for k in range(0, len(ids), 900):
                out += [dict(r._mapping) for r in conn.execute(
                    select(findings.c.submission_id, findings.c.code, findings.c.severity)
                    .where(findings.c.submission_id.in_(ids[k:k + 900])))]
        return out

    def versions(self, department: str, year: int, table_id: str) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(
                select(submissions).where(submissions.c.department == department, submissions.c.year == year,
                                          submissions.c.table_id == table_id).order_by(submissions.c.version))]

    def save_sample(self, name: str, ids: list[int], share: float, seed: int, stratified: bool) -> None:
        now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        with self.engine.begin() as conn:
            conn.execute(samples.delete().where(samples.c.sample == name))
            if ids:
                conn.execute(insert(samples), [{"sample": name, "submission_id": i, "share": share, "seed": seed,
                                                "stratified": int(stratified), "created_at": now} for i in ids])

    def save_reviews(self, rows: list[dict[str, Any]]) -> int:
        now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        with self.engine.begin() as conn:
            for sid in {r["submission_id"] for r in rows}:
                conn.execute(reviews.delete().where(reviews.c.submission_id == sid))
            if rows:
                conn.execute(insert(reviews), [{**r, "imported_at": now} for r in rows])
        return len(rows)

    def reviews_of(self, ids: list[int]) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            out = []
            for k in range(0, len(ids), 900):
                out += [dict(r._mapping) for r in conn.execute(
                    select(reviews).where(reviews.c.submission_id.in_(ids[k:k + 900])))]
            return out

    @staticmethod
    def location_json(location: dict[str, Any]) -> str:
        return json.dumps(location, ensure_ascii=False, sort_keys=True)
