"""The store: every scored submission, version by version, and the web workflow, in SQLite or PostgreSQL.

A submission is one department's table for one year. Scoring the same inputs under the same rule set again
changes nothing; changed inputs add a new version and keep the old ones. The schema (``schema.py``) is built and
upgraded by the Alembic revisions shipped in ``evaluator/migrations``; a store made before them (``meta``
schema_version 1) is recognised and upgraded in place. Opening a store that is up to date writes nothing, so a
read-only database can be compared; a file that is not an evaluator store is refused untouched.

Ids come from the database. On SQLite every writing transaction starts with ``BEGIN IMMEDIATE`` (writers queue
behind a busy timeout instead of failing), on PostgreSQL writers that number versions take an advisory lock.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import re
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Iterable, Iterator

from sqlalchemy import create_engine, event, func, insert, inspect, select, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError, SQLAlchemyError

from .errors import EvaluatorError
from .schema import (findings, indicators, meta, reviews, samples, submission_group_stats, submission_stats,
                     submissions)

__all__ = ["Store", "HEAD", "REVISIONS", "default_url", "now"]

REVISIONS = ("0001", "0002", "0003", "0004", "0005")  # the Alembic revisions in evaluator/migrations/versions, in order (tested)
HEAD = REVISIONS[-1]
OLD_TABLES = {"meta", "submissions", "indicators", "findings", "reviews", "samples"}  # evaluator 0.1's store
BUSY_TIMEOUT_S = 60  # how long a SQLite writer waits for another one before giving up
_LOCK_KEY = 0x65766C  # PostgreSQL advisory lock: schema changes and version numbering, one writer at a time
DRIVERS = {"psycopg": "pip install 'evaluator[postgres]'（PostgreSQL 驱动 psycopg 3）",
           "psycopg2": "pip install psycopg2-binary，或改用 postgresql+psycopg://…（pip install 'evaluator[postgres]'）"}


def now() -> str:
    """The current time as the store writes it: ISO-8601 UTC with seconds."""
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _insert_many(conn, table, rows: list[dict[str, Any]] | list[tuple]) -> None:
    """Insert many rows (dicts, or tuples in the table's column order), 50,000 to a statement. On SQLite, one
    plain ``executemany`` with tuples: SQLAlchemy's per-row parameter processing costs more than SQLite's own work
    here (hundreds of thousands of indicator rows per batch)."""
    names = [c.name for c in table.columns]
    for k in range(0, len(rows), 50_000):
        part = rows[k:k + 50_000]
        if conn.dialect.name != "sqlite":
            conn.execute(insert(table), [dict(zip(names, r)) for r in part] if isinstance(part[0], tuple) else part)
            continue
        sql = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
        conn.exec_driver_sql(sql, part if isinstance(part[0], tuple) else [tuple(map(r.get, names)) for r in part])


def _insert_submissions(conn, columns: list[str], rows: list[tuple]) -> list[int]:
    """Insert ``submissions`` rows (tuples of ``columns``, the id left to the database) and return their ids in
    order. On SQLite one ``executemany``: SQLAlchemy's ``RETURNING`` in parameter order ran a statement per row
    there (a third of a batch's storing). Inside the write lock each row gets the next id after the largest, so
    the new ids are those above the largest before, in order."""
    if not rows:
        return []
    if conn.dialect.name != "sqlite":
        ids: list[int] = []
        for k in range(0, len(rows), 10_000):
            ids += conn.execute(insert(submissions).returning(submissions.c.id, sort_by_parameter_order=True),
                                [dict(zip(columns, r)) for r in rows[k:k + 10_000]]).scalars().all()
        return ids
    before = conn.exec_driver_sql("SELECT COALESCE(MAX(id), 0) FROM submissions").scalar()
    conn.exec_driver_sql(f"INSERT INTO submissions ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                         rows)
    ids = [r[0] for r in conn.exec_driver_sql("SELECT id FROM submissions WHERE id > ? ORDER BY id", (before,))]
    if len(ids) != len(rows):  # (only if the ids ran out at 2⁶³: SQLite then picks unused ones at random)
        raise EvaluatorError("无法为新的提交分配编号", hint="数据库的编号已用尽，请换用新的数据库")
    return ids


def _owned_rows(stored: list[tuple[int, dict[str, Any]]], key: str) -> list[tuple]:
    """Each stored item's ``key`` rows (indicators, findings) with its submission id, the tables' first column:
    the items bring them as tuples in the tables' column order without the id (``bureau.score_items``)."""
    out: list[tuple] = []
    for sid, item in stored:
        head = (sid,)
        out += [head + r for r in item["rows"][key]]
    return out


def _stats_rows(stored: list[tuple[int, dict[str, Any]]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The ``submission_stats`` and ``submission_group_stats`` rows of the stored items, in their order, from the
    figures each brings (``stats``: its ``submission_stats`` row and ``submission_group_stats`` rows without the
    id, computed by ``tablestats.stats_of``)."""
    stats: list[dict[str, Any]] = []
    groups: list[dict[str, Any]] = []
    for sid, item in stored:
        row, rows = item["stats"]
        stats.append({"submission_id": sid, **row})
        groups += [{"submission_id": sid, **g} for g in rows]
    return stats, groups


def _first_line(e: Exception) -> str:
    return str(getattr(e, "orig", None) or e).strip().splitlines()[0][:200] if str(e).strip() else ""


def default_url(path: str | Path = "evaluator.db") -> str:
    return f"sqlite:///{Path(path)}"


def _sqlite_file(url) -> Path | None:
    """The file of a SQLite URL (None for memory databases)."""
    db = url.database or ""
    if url.get_backend_name() != "sqlite" or db in ("", ":memory:") or url.query.get("mode") == "memory":
        return None
    return Path(db.removeprefix("file:")) if url.query.get("uri") else Path(db)


def _read_only(url, path: Path):
    """A SQLite file we may not write (read-only file, folder or file system) is opened read-only; when even
    the WAL index beside it cannot be created, as immutable (nobody can change a file there)."""
    query = {"mode": "ro", "uri": "true"}
    if not os.access(path.parent, os.W_OK) and not Path(f"{path}-shm").exists():
        query["immutable"] = "1"
    return url.set(database=f"file:{path.resolve()}", query=query)


_PASSWORD = re.compile(r"(^|://)([^:/@]*:)[^@/]*@")  # the password of user:password@ in an address not parsed


def _create_engine(url_text: str) -> Engine:
    """An engine for ``url_text``; a missing driver or a malformed URL is the one-line Chinese message."""
    hint = "例如 sqlite:///evaluator.db 或 postgresql+psycopg://用户@主机/数据库"
    try:
        url = make_url(url_text)
    except (ArgumentError, ValueError) as e:  # ValueError: a port that is not a number
        raise EvaluatorError("数据库地址无法识别", where=_PASSWORD.sub(r"\1\2***@", url_text), hint=hint) from e
    sqlite = url.get_backend_name() == "sqlite"
    path = _sqlite_file(url)
    if path is not None and not path.exists() and not path.parent.is_dir():
        raise EvaluatorError("数据库所在的文件夹不存在", where=str(path.parent), hint="请先建立该文件夹，或换一个路径")
    if path is not None and path.is_file() and not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)):
        url = _read_only(url, path)
    try:
        engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_S} if sqlite else {})
    except NoSuchModuleError as e:
        raise EvaluatorError(f"不支持的数据库类型“{url.drivername}”", where=url.render_as_string(hide_password=True),
                             hint=hint) from e
    except ImportError as e:
        name = (e.name or "").split(".")[0] or url.get_driver_name()
        raise EvaluatorError(f"缺少数据库驱动 {name}", where=url.render_as_string(hide_password=True),
                             hint="请安装：" + DRIVERS.get(name, f"pip install {name}")) from e
    if sqlite:
        @event.listens_for(engine, "connect")
        def _connect(dbapi_conn, _record):
            dbapi_conn.isolation_level = None  # transactions are begun below, not by the driver
            dbapi_conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_S * 1000}")

        @event.listens_for(engine, "begin")
        def _begin(conn):
            conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("writing") else "BEGIN")
    return engine


class Store:
    """A thin layer over the database: open (and upgrade) it, record submissions, query views.

    Use it as a context manager, or call ``close()``: the engine's connections are closed then."""

    def __init__(self, url: str | None = None):
        self.url = url or default_url()
        self.engine: Engine = _create_engine(self.url)
        self._writer = self.engine.execution_options(writing=True)
        try:
            self._open()
        except EvaluatorError:
            self.close()
            raise
        except SQLAlchemyError as e:
            self.close()
            raise EvaluatorError(f"无法打开数据库（{type(e).__name__}：{_first_line(e)}）", where=self.shown_url,
                                 hint="请检查 --db 参数，例如 sqlite:///evaluator.db") from e

    # lifecycle -------------------------------------------------------------------------------------------
    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def file(self) -> Path | None:
        """The SQLite file the store is in; None for an in-memory SQLite database and for other databases."""
        return _sqlite_file(make_url(self.url))

    @property
    def shown_url(self) -> str:
        """The store's address as it may be shown (a PostgreSQL password hidden)."""
        return make_url(self.url).render_as_string(hide_password=True)

    @contextmanager
    def writing(self) -> Iterator[Connection]:
        """A writing transaction: on SQLite it holds the write lock from its first statement."""
        try:
            with self._writer.begin() as conn:
                yield conn
        except OperationalError as e:  # a read-only database, a full disk, a lock held too long
            reason = _first_line(e)
            what = "数据库是只读的，无法写入" if "readonly" in reason or "read-only" in reason else f"无法写入数据库（{reason}）"
            raise EvaluatorError(what, where=self.shown_url,
                                 hint="请检查数据库文件和所在文件夹的写权限、磁盘空间") from e

    def lock(self, conn: Connection, key: int | None = None) -> None:
        """Serialise writers that number things (versions, schema), or that change one thing (``key``, e.g. a
        filing), on PostgreSQL until the transaction ends; SQLite's BEGIN IMMEDIATE already serialises writers."""
        if conn.dialect.name == "postgresql":
            if key is None:
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
            else:
                conn.execute(text("SELECT pg_advisory_xact_lock(:k, :n)"), {"k": _LOCK_KEY, "n": int(key)})

    # schema ----------------------------------------------------------------------------------------------
    def _open(self) -> None:
        """Check what the database holds without writing; upgrade it (under a lock) only when it needs it."""
        path = self.file
        if path is not None and path.is_file() and path.stat().st_size:
            with open(path, "rb") as fh:
                if fh.read(16) != b"SQLite format 3\x00":
                    raise EvaluatorError("这个文件不是 SQLite 数据库，未做任何修改", where=str(path),
                                         hint="请用 --db 指定 evaluator 的数据库文件，或一个新的文件名")
        with self.engine.connect() as conn:
            state = self._state(conn)
        if state == HEAD:
            return
        if path is not None:
            raw = self.engine.raw_connection()  # outside any transaction: the journal mode cannot change inside one
            try:
                cur = raw.cursor()
                if cur.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                    cur.execute("PRAGMA journal_mode=WAL")  # readers never wait for a writer
                cur.close()
            finally:
                raw.close()
        with self.writing() as conn:
            self.lock(conn)
            self._upgrade(conn, self._state(conn))  # again: another process may have done it meanwhile

    def _state(self, conn: Connection) -> str | None:
        """The schema revision the database is at: None when empty, "old" for a store of evaluator 0.1."""
        names = set(inspect(conn).get_table_names())
        if "alembic_version" in names:
            rev = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            if rev is not None and rev not in REVISIONS:
                raise EvaluatorError(f"数据库由更新版本的 evaluator 创建（结构版本 {rev}）", where=self.shown_url,
                                     hint="请升级 evaluator")
            return rev
        if not names:
            return None
        if OLD_TABLES <= names:
            row = conn.execute(select(meta.c.value).where(meta.c.key == "schema_version")).first()
            if row and row[0] == "1":
                return "old"
        shown = "、".join(sorted(names)[:5]) + ("等" if len(names) > 5 else "")
        raise EvaluatorError(f"数据库中已有其他程序的表（{shown}），不是 evaluator 的数据库；为免损坏，未做任何修改",
                             where=self.shown_url, hint="请用 --db 指定 evaluator 的数据库，或一个新的（空的）数据库")

    def _upgrade(self, conn: Connection, state: str | None) -> None:
        if state == HEAD:
            return
        from alembic import command
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", "evaluator:migrations")
        cfg.attributes["connection"] = conn
        if state == "old":
            command.stamp(cfg, "0001")
        command.upgrade(cfg, "head")

    def migrate(self) -> str:
        """The schema revision after opening (opening upgrades the store)."""
        with self.engine.connect() as conn:
            return self._state(conn)

    # writing ---------------------------------------------------------------------------------------------
    def latest(self, conn, department: str, year: int, table_id: str) -> Any:
        return conn.execute(
            select(submissions.c.id, submissions.c.version, submissions.c.inputs_hash, submissions.c.rule_set)
            .where(submissions.c.department == department, submissions.c.year == year,
                   submissions.c.table_id == table_id)
            .order_by(submissions.c.version.desc()).limit(1)).first()

    def record(self, items: Iterable[dict[str, Any]]) -> dict[str, int]:
        """Store scored tables: each item has 'submission' (columns), 'rows' (its indicator and finding rows) and
        'stats' (its figures), as ``bureau.score_items`` builds them (see ``_owned_rows``, ``_stats_rows``).

        Unchanged inputs (same hash and rule set as the latest version) are skipped, changed ones get the next
        version number. Returns counts of new, new-version and unchanged submissions."""
        return self.record_ids(items)[0]

    def record_ids(self, items: Iterable[dict[str, Any]]) -> tuple[dict[str, int], list[int]]:
        """``record``, also returning each item's submission id (the new version's, or the unchanged latest's).

        One query finds the latest versions; ids come from the database (``_insert_submissions``), in the items'
        order.
        The whole call is one transaction that holds the write lock, so two writers never number the same
        version twice."""
        items = list(items)
        counts = {"new": 0, "updated": 0, "unchanged": 0}
        stamp = now()
        columns = [c.name for c in submissions.columns if c.name != "id"]
        with self.writing() as conn:
            self.lock(conn)
            latest = self._latest_of(conn, sorted({item["submission"]["department"] for item in items}))
            ids: list[int | None] = []
            subs, fresh, copies = [], [], []
            for item in items:
                sub = item["submission"]
                key = (sub["department"], sub["year"], sub["table_id"])
                last = latest.get(key)
                if last and last.inputs_hash == sub["inputs_hash"] and last.rule_set == sub["rule_set"]:
                    counts["unchanged"] += 1
                    if last.id is None:  # the same as an earlier item of this call: its id once inserted
                        copies.append((len(ids), last.slot))
                    ids.append(last.id)
                    continue
                counts["updated" if last else "new"] += 1
                version = (last.version + 1) if last else 1
                row = {**sub, "version": version, "created_at": stamp}
                subs.append(tuple(map(row.get, columns)))
                # the same table twice in one call: the second is compared with the first
                latest[key] = SimpleNamespace(id=None, slot=len(ids), version=version, inputs_hash=sub["inputs_hash"],
                                              rule_set=sub["rule_set"])
                fresh.append((len(ids), item))
                ids.append(None)
            stored = []
            for (slot, item), sid in zip(fresh, _insert_submissions(conn, columns, subs)):
                ids[slot] = sid
                stored.append((sid, item))
            for slot, source in copies:
                ids[slot] = ids[source]
            stats, groups = _stats_rows(stored)
            for table, key in ((indicators, "indicators"), (findings, "findings")):
                _insert_many(conn, table, _owned_rows(stored, key))
            for table, rows in ((submission_stats, stats), (submission_group_stats, groups)):
                _insert_many(conn, table, rows)
        return counts, ids  # type: ignore[return-value]

    def _latest_of(self, conn: Connection, departments: list[str]) -> dict[tuple, Any]:
        """The latest version of every stored table of these departments, by (department, year, table_id): read
        by the key's index, not the whole table (a batch records chunk after chunk into a growing store)."""
        latest: dict[tuple, Any] = {}
        cols = (submissions.c.id, submissions.c.department, submissions.c.year, submissions.c.table_id,
                submissions.c.version, submissions.c.inputs_hash, submissions.c.rule_set)
        for k in range(0, len(departments), 900):
            for r in conn.execute(select(*cols).where(submissions.c.department.in_(departments[k:k + 900]))):
                key = (r.department, r.year, r.table_id)
                if key not in latest or r.version > latest[key].version:
                    latest[key] = r
        return latest

    # reading ---------------------------------------------------------------------------------------------
    def stored_folders(self, rule_set: str) -> dict[str, dict[str, list[Any]]]:
        """source folder → inputs hash → the latest versions of the tables stored from it with that hash, for
        every (folder, hash) all of whose tables' latest versions still are those (same folder, hash and
        ``rule_set``). ``batch`` hashes a folder's files first: with such a hash, reading and storing them again
        would only count them unchanged (``record_ids``), so they are not read."""
        rows = self._raw(select(submissions.c.id, submissions.c.department, submissions.c.year,
                                submissions.c.table_id, submissions.c.version, submissions.c.inputs_hash,
                                submissions.c.rule_set, submissions.c.source))
        latest: dict[tuple, tuple] = {}
        keys_of: dict[tuple[str, str], set[tuple]] = {}
        for r in rows:
            key = (r[1], r[2], r[3])
            if key not in latest or r[4] > latest[key][4]:
                latest[key] = r
            keys_of.setdefault((r[7], r[5]), set()).add(key)
        out: dict[str, dict[str, list[Any]]] = {}
        for (source, digest), keys in keys_of.items():
            last = [latest[k] for k in sorted(keys)]
            if all(r[7] == source and r[5] == digest and r[6] == rule_set for r in last):
                out.setdefault(source, {})[digest] = [SimpleNamespace(id=r[0], department=r[1], year=r[2],
                                                                       table_id=r[3]) for r in last]
        return out

    def indicator_counts(self, ids: list[int]) -> dict[int, int]:
        """How many indicator rows each of ``ids`` has (one grouped pass over the index: for thousands of ids
        cheaper than building queries of 900 bound ids each)."""
        if not ids:
            return {}
        wanted = set(ids)
        q = select(indicators.c.submission_id, func.count()).group_by(indicators.c.submission_id)
        return {sid: n for sid, n in self._raw(q) if sid in wanted}

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
        names = [c.name for c in submissions.columns]
        return [dict(zip(names, r)) for r in self._raw(q.order_by(submissions.c.department, submissions.c.table_id))]

    def current_frame(self, year: int, stats: bool = False, columns: tuple[str, ...] | None = None):
        """``current(year)`` as a DataFrame (of ``columns``, default all), in one query read straight from the
        driver's cursor; with ``stats``, each submission's ``submission_stats`` columns too (``stats_version``
        None where it has none)."""
        import pandas as pd

        latest = (select(submissions.c.department, submissions.c.table_id, func.max(submissions.c.version).label("v"))
                  .where(submissions.c.year == year)
                  .group_by(submissions.c.department, submissions.c.table_id).subquery())
        cols = [submissions.c[c] for c in columns] if columns else list(submissions.columns)
        q = select(*cols).join(latest, (submissions.c.department == latest.c.department)
                               & (submissions.c.table_id == latest.c.table_id)
                               & (submissions.c.version == latest.c.v)).where(submissions.c.year == year)
        names = [c.name for c in cols]
        if stats:
            extra = [c for c in submission_stats.columns if c.name != "submission_id"]
            q = q.add_columns(*extra).outerjoin(submission_stats, submission_stats.c.submission_id == submissions.c.id)
            names += ["stats_version" if c.name == "version" else c.name for c in extra]
        rows = self._raw(q.order_by(submissions.c.department, submissions.c.table_id))
        return pd.DataFrame.from_records(rows, columns=names)

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
        """The indicators of many submissions as a DataFrame, read in bulk (900 ids a query: SQLite's limit).

        Rows come straight from the driver's cursor as tuples: building SQLAlchemy rows and letting pandas
        convert them cost more than SQLite's own reading (656,000 rows for a province)."""
        import pandas as pd

        base = select(*[indicators.c[c] for c in columns])
        rows: list[tuple] = []
        with self.engine.connect() as conn:
            for k in range(0, len(ids), 900):
                rows += conn.execute(base.where(indicators.c.submission_id.in_(ids[k:k + 900]))).cursor.fetchall()
        return pd.DataFrame.from_records(rows, columns=list(columns))

    def group_frame(self, ids: list[int]):
        """The stored Σ得分 / Σ分值 per 一级指标 group of these submissions (``tablestats.group_sums``'s frame)."""
        import pandas as pd

        cols = [submission_group_stats.c[c] for c in ("submission_id", "group_key", "score", "weight")]
        rows: list[tuple] = []
        with self.engine.connect() as conn:
            for k in range(0, len(ids), 900):
                rows += conn.execute(select(*cols).where(submission_group_stats.c.submission_id.in_(ids[k:k + 900]))
                                     ).cursor.fetchall()
        frame = pd.DataFrame.from_records(rows, columns=["submission_id", "group_key", "score", "weight"]).astype(
            {"submission_id": int, "score": float, "weight": float})
        return frame.set_index(["submission_id", "group_key"]).sort_index()

    def _raw(self, query) -> list[tuple]:
        with self.engine.connect() as conn:
            return conn.execute(query).cursor.fetchall()

    def findings_of(self, ids: list[int]) -> list[dict[str, Any]]:
        names = ("submission_id", "code", "severity")
        base = select(*[findings.c[n] for n in names])
        return [dict(zip(names, r)) for k in range(0, len(ids), 900)
                for r in self._raw(base.where(findings.c.submission_id.in_(ids[k:k + 900])))]

    def versions(self, department: str, year: int, table_id: str) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(
                select(submissions).where(submissions.c.department == department, submissions.c.year == year,
                                          submissions.c.table_id == table_id).order_by(submissions.c.version))]

    def state_key(self) -> tuple:
        """A cheap fingerprint of what the bureau's view reads: it changes whenever a submission or a 复核 score
        is added (both only ever grow), so a view computed for one key stays right until the key changes."""
        with self.engine.connect() as conn:
            subs = conn.execute(select(func.max(submissions.c.id), func.count()).select_from(submissions)).first()
            revs = conn.execute(select(func.max(reviews.c.id)).select_from(reviews)).scalar()
        return (*subs, revs)

    def submissions_by_id(self, ids: list[int]) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(r._mapping) for k in range(0, len(ids), 900) for r in conn.execute(
                select(submissions).where(submissions.c.id.in_(ids[k:k + 900])).order_by(submissions.c.id))]

    def save_sample(self, name: str, ids: list[int], share: float, seed: int, stratified: bool) -> None:
        with self.writing() as conn:
            conn.execute(samples.delete().where(samples.c.sample == name))
            if ids:
                conn.execute(insert(samples), [{"sample": name, "submission_id": i, "share": share, "seed": seed,
                                                "stratified": int(stratified), "created_at": now()} for i in ids])

    def save_reviews(self, rows: list[dict[str, Any]]) -> int:
        """Add 复核 scores; earlier ones stay in the store (the latest per row is the one that counts)."""
        stamp = now()
        with self.writing() as conn:
            if rows:
                conn.execute(insert(reviews), [{**r, "imported_at": stamp} for r in rows])
        return len(rows)

    def reviewed_ids(self) -> set[int]:
        """The submissions that have any 复核 score (one query; most stores have none or a sample)."""
        with self.engine.connect() as conn:
            return set(conn.execute(select(reviews.c.submission_id).distinct()).scalars())

    def reviews_of(self, ids: list[int], history: bool = False) -> list[dict[str, Any]]:
        """The latest 复核 score of each reviewed row of these submissions (every one with ``history``)."""
        out: list[dict[str, Any]] = []
        with self.engine.connect() as conn:
            for k in range(0, len(ids), 900):
                out += [dict(r._mapping) for r in conn.execute(
                    select(reviews).where(reviews.c.submission_id.in_(ids[k:k + 900])).order_by(reviews.c.id))]
        if history:
            return out
        latest = {(r["submission_id"], r["position"]): r for r in out}
        return sorted(latest.values(), key=lambda r: r["id"])

    @staticmethod
    def location_json(location: dict[str, Any]) -> str:
        return _LOCATION_JSON(location)


# json.dumps(location, ensure_ascii=False, sort_keys=True) without building an encoder for each of a batch's findings
_LOCATION_JSON = json.JSONEncoder(ensure_ascii=False, sort_keys=True).encode
