"""The finance bureau's view: score many departments in one run, store them, compare, flag, sample for 复核.

``batch`` finds every submission under a folder, scores them all in one vectorised pass, and stores each table
(unchanged inputs are skipped, changed ones become a new version). ``build_view`` turns the store into the
tables a 绩效科 analyst reads — ranking, grade distribution, 一级指标 scores, execution against score, flags,
change against earlier years, 自评 vs 复核 — and ``write_view`` renders them as an xlsx workbook and a static HTML
dashboard.
"""
from __future__ import annotations

import base64
import gc
import hashlib
import math
import multiprocessing
import os
import unicodedata
import warnings
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import pandas as pd

from .errors import Code, EvaluatorError, InputFileError, quote
from .load import load_targets, paused_gc
from markupsafe import Markup

from .model import TABLE_KIND_LABEL, Actual, ActualSet, TableKind, TargetSet
from .output import no_formulas, print_a4_landscape_xlsxwriter, write_atomic
from .rules import RuleSet
from .store import Store
from .tablestats import (INDICATOR_COLUMNS, STATS_COLUMNS, STATS_VERSION, STOCK_PHRASES,  # noqa: F401
                         group_sums, indicator_stats)

__all__ = ["discover", "batch", "build_view", "write_view", "dashboard_charts", "FLAGS", "draw_sample", "write_review_workbook",
           "import_reviews", "review_score", "BatchResult", "Loaded", "score_items"]

TARGET_NAMES = ("targets.yaml", "targets.yml", "targets.json")
ACTUAL_NAMES = ("actuals.yaml", "actuals.yml", "actuals.json")

# how much each flag weighs: an 错误 is an inconsistency the unit must correct, a 警告 a likely inflated
# self-evaluation to look into, a 提示 worth a glance
FLAG_SEVERITY = {"total-mismatch": "错误", "claimed-score-mismatch": "警告", "full-low-execution": "警告",
                 "score-above-spending": "警告", "missing-deviation-note": "提示", "qualitative-undescribed": "提示",
                 "underspent": "提示", "word-actual": "提示"}
SEVERITY_ORDER = ("错误", "警告", "提示")
FLAGS = {
    "full-low-execution": "所有指标满分，但预算执行率低于 90%",
    "qualitative-undescribed": "定性指标全部只写“达成”等套话，没有完成情况描述",
    "missing-deviation-note": "未得满分的指标多数缺少偏差原因（至少 2 项且过半）",
    "claimed-score-mismatch": "申报得分比按规则计算的得分合计高出 3 分以上",
    "total-mismatch": "自评总分与各行得分合计不一致",
    "score-above-spending": "指标得分率高于预算执行率 5 个百分点以上（绩效与资金使用不匹配）",
    "underspent": "预算执行率低于 80%（超过 20% 资金未使用）",
    "word-actual": "定量指标的实际完成值只写了“已完成”等文字，未填数值（按定性档次计分）",
}


# --------------------------------------------------------------------------- discovery and batch scoring
@dataclass
class Submission:
    targets: Path
    actuals: Path
    digest: str | None = None  # of the two files' bytes (None: a file is missing)
    stored: list[Any] | None = None  # the store's latest versions of its tables, when stored from these very bytes


def _digest(sub: Submission) -> str | None:
    """The inputs hash stored with each of a folder's tables: both files' bytes, before anything is parsed."""
    try:
        return hashlib.sha256(sub.targets.read_bytes() + b"\0" + sub.actuals.read_bytes()).hexdigest()[:16]
    except OSError:
        return None  # (reading it then says what is wrong)


@dataclass
class BatchResult:
    scored_tables: int = 0
    indicators: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (file, message)


def discover(root: str | Path) -> list[Submission]:
    """Every folder under ``root`` that holds a targets file and an actuals file (or a filled workbook)."""
    base = Path(root)
    if not base.is_dir():
        raise InputFileError("目录不存在", where=str(base), hint="请检查路径")
    found = []
    for t, files in sorted(_walk(base)):
        folder = t.parent
        actual = next((folder / n for n in ACTUAL_NAMES if n in files), None)
        if actual is None:
            actual = next(iter(sorted(p for p in folder.glob("*.xlsx") if not p.name.startswith("~$"))), None)
        found.append(Submission(t, actual if actual is not None else folder / ACTUAL_NAMES[0]))
    return found


def _walk(folder: Path) -> Iterator[tuple[Path, set[str]]]:
    """Every targets file under ``folder`` (what ``rglob("targets.*")`` finds: folders entered but not through a
    link, an unreadable folder skipped), with the names of the files beside it (``is_file``: links followed) — one
    listing per folder, where ``rglob`` and the look-ups of the actuals' names made three."""
    try:
        with os.scandir(folder) as it:
            entries = list(it)
    except PermissionError:
        return
    files, targets = set(), []
    for e in entries:
        if e.is_dir(follow_symlinks=False):
            yield from _walk(folder / e.name)
        if e.name in TARGET_NAMES:
            targets.append(folder / e.name)
        if e.name in ACTUAL_NAMES and e.is_file():
            files.add(e.name)
    for t in targets:
        yield t, files


def _load_pair(sub: Submission) -> tuple[TargetSet, ActualSet, tuple[Any, Any]]:
    """A folder's targets and actuals: the tables as models, the indicators of data files as columns
    (``load_columns``; a filled workbook is read as its model)."""
    from .intake import DATA, read_actuals, sniff  # the actuals file's type by its content, as in every command
    from .load_columns import load_actuals_columns, load_targets_columns

    targets = load_targets_columns(sub.targets)
    if not sub.actuals.exists():
        raise InputFileError("找不到实际完成值文件（actuals.yaml/json 或填报表 .xlsx）", where=str(sub.actuals.parent))
    try:
        kind = sniff(sub.actuals)
    except OSError:
        kind = None  # (read_actuals says what is wrong, as before)
    if kind not in DATA:  # a filled workbook is read against the whole targets, indicators and all
        return targets.model, read_actuals(sub.actuals, targets.full(), kind=kind), (targets, None)
    actuals = read_actuals(sub.actuals, targets.model, data_reader=load_actuals_columns, kind=kind)
    return targets.model, actuals.model, (targets, actuals)


MISSING_NOTES_MIN = 2  # missing-deviation-note: at least this many shortfalls unexplained, and half of them
CLAIMED_OVER_POINTS = 3.0  # claimed-score-mismatch: the unit's row scores exceed the rule's by this many points
HTML_FLAG_ROWS = 500  # the dashboard lists this many flags; the workbook has them all
CHUNK = 200  # departments scored and stored together: bounds memory, keeps the vectorised pass large
MAX_JOBS = 4  # default cap on batch worker processes (memory grows with each; $EVALUATOR_JOBS overrides)
PARALLEL_MIN = 100  # folders to read below which the default is one process


def batch(root: str | Path, rules: RuleSet, store: Store, year: int | None = None,
          progress: Callable[[int, int], None] | None = None, jobs: int | None = None) -> BatchResult:
    """Score and store every submission under ``root``; a bad file is listed and skipped, never fatal.

    Chunks of departments are read, scored and stored by worker processes (``jobs``; $EVALUATOR_JOBS; default
    one per core, at most ``MAX_JOBS``), each chunk stored in its turn (``_in_workers``): the store ends up the
    same whichever way it ran."""
    subs = discover(root)
    if not subs:
        raise InputFileError("目录下没有找到任何提交", where=str(root),
                             hint="每个部门一个子目录，内含 targets.yaml（或 .json）和 actuals.yaml（或填好的填报表 .xlsx），"
                                  "例如 省/财政局/targets.yaml、省/财政局/actuals.yaml；可用 evaluator synth 生成示例")
    # a folder whose files hash as they did when its tables were stored is not read again: storing it would only
    # count its tables unchanged (same inputs hash and rule set as their latest versions)
    stored = store.stored_folders(rules.label)
    for sub in subs:
        if (kept := stored.get(str(sub.targets.parent))) is not None:  # (others are hashed where they are read)
            sub.digest = _digest(sub)
            sub.stored = kept.get(sub.digest) if sub.digest else None
    chunks = [subs[start:start + CHUNK] for start in range(0, len(subs), CHUNK)]
    run = _Run(len(subs), progress)
    if (jobs := _jobs(chunks, jobs)) > 1:  # as many chunks for each worker, so that they finish together
        size = -(-len(subs) // (jobs * -(-len(subs) // (jobs * CHUNK))))
        chunks = [subs[start:start + size] for start in range(0, len(subs), size)]
    # the cycle collector paused meanwhile (as in the workers, _batch_chunk): a chunk is hundreds of thousands of
    # objects, none in a cycle
    with paused_gc():
        if jobs > 1 and _shared(store):
            _in_workers(chunks, rules, year, jobs, store, run)
        else:
            for chunk in chunks:
                items, errors = _batch_chunk(chunk, rules, year)
                run.stored(len(chunk), *_record_chunk(store, items, run.admitted(errors, items)))
    run.result.indicators += sum(store.indicator_counts(run.unread).values())
    run.result.counts = run.totals
    return run.result


class _Run:
    """What ``batch`` carries from chunk to chunk, in the folders' order: the result so far, which folder holds
    each department and year, the stored tables counted unchanged without reading their files."""

    def __init__(self, total: int, progress: Callable[[int, int], None] | None):
        self.result, self.total, self.progress = BatchResult(), total, progress
        self.totals = {"new": 0, "updated": 0, "unchanged": 0}
        self.owner: dict[tuple[str, int], str] = {}  # (department, year) → the folder that holds it in this run
        self.unread: list[int] = []  # submission ids of the tables counted unchanged without reading their files
        self.done = 0

    def admitted(self, errors: list[tuple[str, str]], items: list[dict[str, Any]]) -> list[bool]:
        """A chunk's unreadable files listed, and which of its items may be stored (``_one_folder_each``)."""
        self.result.errors += errors
        kept = {id(item) for item in _one_folder_each(items, self.owner, self.result.errors)}
        return [id(item) in kept for item in items]

    def stored(self, folders: int, tables: int, counts: dict[str, int], same: list[int], indicators: int) -> None:
        self.result.scored_tables += tables
        self.result.indicators += indicators
        self.totals["unchanged"] += len(same)
        self.unread += same
        for k, v in counts.items():
            self.totals[k] += v
        self.done += folders
        if self.progress:
            self.progress(self.done, self.total)


def _record_chunk(store: Store, items: list[dict[str, Any]], kept: list[bool]
                  ) -> tuple[int, dict[str, int], list[int], int]:
    """Store a chunk's admitted items: how many, the store's counts, the ids of those stored before from the same
    files (not read, not stored again), the indicators stored."""
    items = [item for item, keep in zip(items, kept) if keep]
    same = [item["stored"] for item in items if "stored" in item]
    fresh = [item for item in items if "stored" not in item]
    return (len(items), store.record(fresh) if fresh else {}, same,
            sum(len(item["rows"]["indicators"]) for item in fresh))


def _one_folder_each(items: list[dict[str, Any]], owner: dict[tuple[str, int], str],
                     errors: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """Keep one folder per department and year: a second folder with the same 单位名称 and 年度 (every ``import``
    names its first form the same way) would be stored as a new version of the first — its tables are refused,
    with both folders named, and the first folder (in sorted order) stands."""
    kept, refused = [], set()
    for item in items:
        sub = item["submission"]
        first = owner.setdefault((sub["department"], sub["year"]), sub["source"])
        if first == sub["source"]:
            kept.append(item)
        elif sub["source"] not in refused:
            refused.add(sub["source"])
            errors.append((sub["source"], f"单位“{quote(sub['department'])}” {sub['year']} 年度的提交已在 {first} 中，"
                                          "两个目录的单位名称和年度相同，本目录未评分（请核对单位名称，或删除重复的目录）"))
    return kept


def _jobs(chunks: list[list[Submission]], jobs: int | None) -> int:
    """How many worker processes: ``jobs``, $EVALUATOR_JOBS, or one per core (at most ``MAX_JOBS``: each holds a
    chunk of ~200 departments, ~300 MB at peak); never more than the chunks to read. A run with only a few
    folders to read (a rerun after a few changes, the unreadable ones read again) reads them here: starting
    workers and waiting for them cost more than reading (~12 ms a department)."""
    jobs = jobs or int(os.environ.get("EVALUATOR_JOBS", "0") or 0) or (
        min(os.cpu_count() or 1, MAX_JOBS) if sum(sub.stored is None for c in chunks for sub in c) >= PARALLEL_MIN
        else 1)
    to_read = sum(1 for chunk in chunks if any(sub.stored is None for sub in chunk))
    return min(jobs, to_read) if "fork" in multiprocessing.get_all_start_methods() else 1


def _shared(store: Store) -> bool:
    """Whether worker processes can open the store themselves (not an in-memory SQLite database)."""
    return store.file is not None or store.engine.dialect.name != "sqlite"


def _in_workers(chunks: list[list[Submission]], rules: RuleSet, year: int | None, jobs: int, store: Store,
                run: _Run) -> None:
    """Chunks read, scored and stored by ``jobs`` forked workers, each on its own connection, each chunk stored in
    its turn: a worker that has scored a chunk sends its tables' departments and years here (``run.admitted``,
    which needs every earlier chunk's), stores what is admitted once the chunk before is stored, and takes the
    next chunk. So the rows go into the database from where they were made — nothing of them crosses a pipe —
    the ids are given in the folders' order, and this process only keeps count. A chunk with nothing to read
    (every folder stored before from the same bytes) is counted here, in its turn."""
    from multiprocessing.connection import wait

    from . import columns, evaluation, explain, findings, frame, intake, load_columns, score, totals  # noqa: F401

    ctx = multiprocessing.get_context("fork")  # (the modules above imported once, here, for every worker)
    store.engine.dispose()  # no open connection crosses the fork (each worker opens its own)
    workers, conns = [], []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # 3.12+: fork with threads
            for _ in range(jobs):
                here, there = ctx.Pipe()
                conns.append(here)
                proc = ctx.Process(target=_worker, args=(there, conns, chunks, rules, year, store.url), daemon=True)
                proc.start()
                there.close()
                workers.append(proc)
        todo = deque(k for k, chunk in enumerate(chunks) if any(sub.stored is None for sub in chunk))
        idle = list(reversed(conns))
        ready: dict[int, tuple[Any, list[dict[str, Any]], list]] = {}
        turn, writing = 0, False  # the next chunk to store; whether a worker is storing it now
        while turn < len(chunks):
            while idle and todo:
                idle.pop().send(todo.popleft())
            if not writing and all(sub.stored is not None for sub in chunks[turn]):
                items, errors = _batch_chunk(chunks[turn], rules, year)  # (nothing read, nothing to store)
                run.stored(len(chunks[turn]), *_record_chunk(store, items, run.admitted(errors, items)))
                turn += 1
                continue
            if not writing and turn in ready:
                conn, keys, errors = ready.pop(turn)
                conn.send(run.admitted(errors, keys))
                writing = True
            for conn in wait(conns):
                try:
                    msg = conn.recv()
                except EOFError:  # (killed: out of memory, or by hand)
                    raise EvaluatorError("批量评分的工作进程意外退出，本批次未写完的部门没有存入数据库",
                                         hint="已存入的部门保留；可能是内存不足，可设置环境变量 EVALUATOR_JOBS=1 后重新运行 "
                                              "batch（未变化的提交会跳过）") from None
                if msg[0] == "ready":
                    ready[msg[1]] = (conn, msg[2], msg[3])
                elif msg[0] == "stored":
                    run.stored(len(chunks[turn]), *msg[1:])
                    turn, writing = turn + 1, False
                    idle.append(conn)
                else:
                    raise msg[1]
    except BaseException:  # (an error, Ctrl-C: a chunk being stored is rolled back, those stored stay)
        for proc in workers:
            proc.terminate()
        raise
    finally:
        for conn in conns:
            try:
                conn.send(None)
            except OSError:
                pass
            conn.close()
        for proc in workers:
            proc.join()


def _worker(conn, parent_ends: list, chunks: list[list[Submission]], rules: RuleSet, year: int | None,
            url: str) -> None:
    """A batch worker (``_in_workers``): for each chunk number it is sent, read and score the chunk, send its
    tables' departments, years and folders and its unreadable files, receive which tables to store, store them
    (the chunk before is stored by then), and send the counts."""
    import signal

    for end in parent_ends:  # (inherited: closed, so that the parent's end gives EOF here when the parent is gone)
        end.close()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it ends the workers
    gc.enable()  # (forked while the parent's collector is paused)
    try:
        with Store(url) as store:
            while (k := conn.recv()) is not None:
                # the collector paused until the chunk is stored and freed: resumed earlier, its first pass would
                # walk every object the chunk made (all of them young), for nothing
                with paused_gc():
                    items, errors = _batch_chunk(chunks[k], rules, year)
                    conn.send(("ready", k, [{"submission": {key: item["submission"][key]
                                                             for key in ("department", "year", "source")}}
                                            for item in items], errors))
                    if (kept := conn.recv()) is None:
                        return
                    conn.send(("stored", *_record_chunk(store, items, kept)))
                    del items
    except (EOFError, BrokenPipeError):
        return  # the parent has gone
    except BaseException as e:  # noqa: BLE001 - the parent raises it
        try:
            conn.send(("error", e))
        except Exception:  # noqa: BLE001 - an error that does not pickle
            conn.send(("error", RuntimeError(f"{type(e).__name__}: {e}")))


def _batch_chunk(subs: list[Submission], rules: RuleSet, year: int | None
                 ) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    """Read and score a chunk of submissions: the items to store and the unreadable files.

    A submission already stored from the same bytes is not read: it gives one item per stored table, marked
    ``stored`` (its submission id), in the same place, so the one-folder-per-department rule sees every folder.
    Python's cycle collector is paused meanwhile (``load.paused_gc``): the chunk's models, rows and items are
    hundreds of thousands of objects, none in a cycle, that each collection walked again (−20 % CPU)."""
    with paused_gc():
        return _read_and_score(subs, rules, year)


def _read_and_score(subs: list[Submission], rules: RuleSet, year: int | None
                    ) -> tuple[list[dict[str, Any]], list[tuple[str, str]]]:
    from .frame import Files

    loaded: list[Loaded] = []
    errors: list[tuple[str, str]] = []
    items: list[dict[str, Any]] = []
    for sub in subs:
        if sub.stored is not None:
            if loaded:  # (the folders before it, in order)
                items += score_items(loaded, rules)[0]
                loaded = []
            items += [{"submission": {"department": r.department, "year": r.year, "table_id": r.table_id,
                                      "source": str(sub.targets.parent)}, "stored": r.id}
                      for r in sub.stored if year is None or r.year == year]
            continue
        try:
            targets, actuals, columns = _load_pair(sub)
        except EvaluatorError as e:
            errors.append((str(sub.targets.parent), e.render()))
            continue
        if year is not None and targets.year != year:
            continue
        digest = sub.digest or _digest(sub)
        loaded.append(Loaded(targets, actuals, Files(str(sub.targets), str(sub.actuals)), digest,
                             str(sub.targets.parent), columns))
    items += score_items(loaded, rules)[0]
    return items, errors


@dataclass
class Loaded:
    """A department read and ready to score: its inputs, where they came from, and their hash."""

    targets: TargetSet
    actuals: ActualSet
    files: Any  # frame.Files: the names findings point at
    digest: str
    source: str
    # the load_columns.Columns of the targets and actuals data files (None: a workbook) when the models above hold
    # the tables without their indicators
    columns: tuple[Any, Any] | None = None

    def frame_columns(self, table_prefix: str) -> tuple[dict[str, list], list[Any]]:
        """``frame.indicator_rows`` of this department as ``FRAME_COLUMNS`` lists: from the columns when they serve
        (``frame.column_parts``), else from the models."""
        from .frame import FRAME_COLUMNS, column_parts, indicator_rows
        from .load_columns import model_columns

        targets, actuals = self.targets, self.actuals
        if self.columns is not None:
            tc, ac = self.columns
            acols = ac.columns if ac is not None else [model_columns(t.indicators, Actual) for t in actuals.tables]
            got = column_parts(targets, tc.columns, actuals, acols, self.files, table_prefix)
            if got is not None:
                return got
            targets, actuals = tc.full(), ac.full() if ac is not None else actuals
        rows, found = indicator_rows(targets, actuals, self.files, table_prefix=table_prefix)
        return {name: [r[k] for r in rows] for k, name in enumerate(FRAME_COLUMNS)}, found


def score_items(loaded: list[Loaded], rules: RuleSet) -> tuple[list[dict[str, Any]], int]:
    """Score departments in one vectorised pass into the items ``Store.record`` takes, and count the indicators.

    ``batch`` calls it on each chunk of files; the web application on a unit's submission. Each item carries its
    store rows ready-made, built from the scored frame's columns (``_store_rows``): the indicator and finding rows
    as tuples, the table's figures (``submission_stats``) — no dict per indicator, and little to send back from a
    worker process."""
    from .columns import num, records, records_column
    from .findings import (ROW_COLUMNS, TABLE_FINDING_COLUMNS, finding_row, finding_rows, row_findings,
                           table_column_findings)
    from .frame import FRAME_COLUMNS, columns_frame
    from .score import score_frame
    from .totals import table_totals

    parts: dict[str, list] = {name: [] for name in FRAME_COLUMNS}  # every department's rows, column by column
    meta, pre_findings = {}, {}
    for one in loaded:
        targets, actuals, files, digest = one.targets, one.actuals, one.files, one.digest
        dept = targets.unit_name
        key = f"{dept}\x1f{targets.year}\x1f{one.source}\x1f"  # by folder: two folders' tables never merge
        dept_columns, found = one.frame_columns(key)
        for name, values in dept_columns.items():
            parts[name] += values
        claimed = {t.table: t.claimed_total for t in actuals.tables}
        notes = {key + t.id: " ".join(filter(None, [c.summary or "" for c in t.cost_notes] +
                                             [c.basis or "" for c in t.cost_notes])) for t in targets.tables}
        with_rows = set(dept_columns["table"])  # (the tables with indicators)
        for t in targets.tables:
            if key + t.id in with_rows:
                meta[key + t.id] = {"department": dept, "year": targets.year, "table_id": t.id, "title": t.title,
                                    "kind": t.kind.value, "inputs_hash": digest, "source": one.source,
                                    "claimed_total": claimed.get(t.id), "files": files, "notes": notes}
        for f in found:
            pre_findings.setdefault(key + (f.location.table or ""), []).append(f)
    if not parts["table"]:
        return [], 0
    scored = score_frame(columns_frame(parts), rules)
    del parts
    totals = table_totals(scored, rules)
    totals_of = dict(zip(totals.index, records(totals)))
    codes, keys = pd.factorize(scored["table"])
    if len(codes) > 1 and (np.diff(codes) < 0).any():  # a table's rows together, tables in order of appearance
        scored = scored.iloc[np.argsort(codes, kind="stable")].reset_index(drop=True)
        codes = np.sort(codes, kind="stable")
    ends = np.searchsorted(codes, np.arange(len(keys)), side="right").tolist()
    mask = finding_rows(scored, rules)
    flagged = records(scored.take(np.flatnonzero(mask)), ROW_COLUMNS)  # (the few rows taken first: then each column)
    flagged_ends = np.searchsorted(codes[mask], np.arange(len(keys)), side="right").tolist()
    listed: dict[str, list] = {}

    def column(name: str) -> list:  # a column of the scored frame as a list, made once (the table checks and the
        if name not in listed:  # store rows read the same ones)
            listed[name] = records_column(scored, name)
        return listed[name]

    cols = {c: column(c) for c in TABLE_FINDING_COLUMNS}
    sums = _table_sums(scored, codes, len(keys))
    items, findings_of = [], []
    start = flagged_start = 0
    for k, table_key in enumerate(keys):
        m = meta[table_key]
        files = m["files"]
        t = totals_of[table_key]
        end = ends[k]
        fnd = list(pre_findings.get(table_key, []))
        if flagged_start < flagged_ends[k]:
            fnd += row_findings(flagged[flagged_start:flagged_ends[k]], rules, files, m["notes"], finding_row)
        fnd += table_column_findings(table_key, t, {c: cols[c][start:end] for c in TABLE_FINDING_COLUMNS}, rules,
                                     files, m["claimed_total"])
        start, flagged_start = end, flagged_ends[k]
        items.append({"submission": {
            "department": m["department"], "year": m["year"], "table_id": m["table_id"], "title": m["title"],
            "kind": m["kind"], "inputs_hash": m["inputs_hash"], "rule_set": rules.label, "source": m["source"],
            "total": num(t["total"]), "raw_total": num(t["raw_total"]),
            "grade": t["grade"] if isinstance(t["grade"], str) else None,
            "complete": int(bool(t["complete"])), "execution_rate": num(t["rate"]),
            "execution_score": num(t["execution_score"]), "claimed_total": m["claimed_total"],
            **{name: per_table[k] for name, per_table in sums.items()},
        }})
        findings_of.append(fnd)
    _store_rows(items, scored, ends, findings_of, rules, column)
    return items, len(scored)


def _table_sums(scored: pd.DataFrame, codes: np.ndarray, tables: int) -> dict[str, list[float | None]]:
    """Per table (``codes``: each row's table, a table's rows together, in order): the 得分 of its scored (``ok``)
    rows per 一级指标 group, the 分值 of its applicable rows and the 得分 of its scored rows, summed and rounded to 10
    places (sums of rounded scores, without float noise) — the same floats as a loop over each table's rows: the
    groups by ``bincount`` (it adds a table's values in row order from 0.0, as ``+=`` does), the two totals by
    ``sum`` over each table's slice (as ``sum`` over its rows)."""
    from .columns import num

    status = scored["status"].to_numpy(dtype=object)
    group = scored["group"].to_numpy(dtype=object)
    score, weight = scored["score"].to_numpy(dtype=float), scored["weight"].to_numpy(dtype=float)
    ok = status == "ok"

    def groups(mask: np.ndarray) -> list[float | None]:
        return [num(round(v, 10)) for v in np.bincount(codes[mask], score[mask], minlength=tables).tolist()]

    def total(mask: np.ndarray, values: np.ndarray) -> list[float]:
        ends = np.searchsorted(codes[mask], np.arange(tables), side="right").tolist()
        picked = values[mask].tolist()
        return [round(float(sum(picked[a:b])), 10) for a, b in zip([0, *ends], ends)]

    return {"output_score": groups(ok & (group == "output")), "benefit_score": groups(ok & (group == "benefit")),
            "satisfaction_score": groups(ok & (group == "satisfaction")),
            "indicator_weight": total(status != "na", weight), "indicator_score": total(ok, score)}


def _store_rows(items: list[dict[str, Any]], scored: pd.DataFrame, ends: list[int], findings_of: list[list],
                rules: RuleSet, col: Callable[[str], list]) -> None:
    """Each item's ``rows`` (its ``indicators`` and ``findings`` rows as tuples in the tables' column order, the
    submission id left out) and ``stats`` (its ``submission_stats`` and ``submission_group_stats`` rows, without
    the id), from the scored frame's columns: the values a dict per row gave, computed by the same functions.
    ``findings_of``: each item's findings, ``Finding`` models or (the rows' own) ``findings.FindingRow``; ``col``:
    a column of ``scored`` as ``columns.records_column`` lists it."""
    from .evaluation import _floats
    from .explain import frame_texts
    from .tablestats import stats_of

    method = col("method")
    weight, score, claimed = (_floats(scored[c]) for c in ("weight", "score", "claimed"))  # (as num gives each)
    actual, group, status = col("actual_raw"), col("group"), col("status")
    qualitative = [int(m == "qualitative") for m in method]
    rows = list(zip(list(map(int, col("position"))), col("level1"), col("level2"), col("level3"), group,
                    col("target_raw"), actual, weight, score, claimed, status, method,
                    frame_texts(scored, rules), col("deviation_note"),
                    col("band_used"), qualitative))
    sid = np.repeat(np.arange(len(items)), np.diff([0, *ends]))  # (the item's index for its id)
    found = [(k, f) for k, fnd in enumerate(findings_of) for f in fnd]
    numbers = [scored[c].to_numpy(dtype=float) for c in ("score", "weight", "claimed")]  # (the floats listed above)
    stats, group_stats = stats_of(dict(zip(INDICATOR_COLUMNS, (sid, status, *numbers, qualitative, actual, group))),
                                  [(k, f.code) for k, f in found], list(range(len(items))))
    groups: list[list[dict[str, Any]]] = [[] for _ in items]
    for g in group_stats:
        groups[g.pop("submission_id")].append(g)
    finding_rows: list[list[tuple]] = [[] for _ in items]
    for k, f in found:  # (a Finding, or a FindingRow: its location already the dict)
        where = f.location if isinstance(f.location, dict) else f.location.model_dump(exclude_none=True)
        finding_rows[k].append((f.code, f.severity.value, f.message, Store.location_json(where)))
    start = 0
    for k, item in enumerate(items):
        del stats[k]["submission_id"]
        item["rows"] = {"indicators": rows[start:ends[k]], "findings": finding_rows[k]}
        item["stats"] = (stats[k], groups[k])
        start = ends[k]



def build_view(store: Store, year: int | None = None, tolerance: float = 10.0,
               groups: bool = False) -> dict[str, pd.DataFrame]:
    """Everything the comparison shows, as data frames (computed once, rendered by ``write_view``).

    It reads one row per table: the submission and the figures the store computed over its indicator rows when
    it recorded it (``tablestats``); indicator rows are read only for 复核ed tables and for any submission stored
    without those figures. ``groups``: also each table's Σ得分 / Σ分值 per 一级指标 (``group_sums``; the web's
    comparison shows its rates, the workbook does not)."""
    years = store.years()
    if not years:
        raise EvaluatorError("数据库中还没有评分结果", where=store.shown_url, hint="请先运行 evaluator batch 目录")
    year = year or years[-1]
    subs = store.current_frame(year, stats=True)
    if subs.empty:
        raise EvaluatorError(f"数据库中没有 {year} 年度的评分结果", where=store.shown_url,
                             hint=f"已有年度：{'、'.join(map(str, years))}")
    subs, group_frame = _with_stats(store, subs, groups)
    flags = _flags(subs)
    subs = subs.drop(columns=["stats_version", *STATS_COLUMNS])
    described: dict[int, list[str]] = {}
    for sid, flag in zip(flags["submission_id"].tolist(), flags["flag"].tolist()):  # sorted, no duplicates
        described.setdefault(sid, []).append(FLAGS[flag])
    subs["flags"] = [("；".join(described[i]) if i in described else "") for i in subs["id"].tolist()]
    dept = _departments(subs)
    previous = [y for y in years if y < year]
    if previous:
        prev = _departments(store.current_frame(previous[-1], columns=DEPARTMENT_COLUMNS))
        dept = dept.merge(prev[["department", "score"]].rename(columns={"score": "previous"}), on="department",
                          how="left")
        dept["change"] = dept["score"] - dept["previous"]
    else:
        dept["previous"] = np.nan
        dept["change"] = np.nan
    grades = subs.groupby(subs["grade"].fillna("无法确定")).size().rename("tables").to_frame()
    grades["departments"] = dept.groupby(dept["grade"].fillna("无法确定")).size()
    grades = grades.fillna(0).astype(int).reindex(["优", "良", "中", "差", "无法确定"], fill_value=0)
    review = _review_view(store, subs, tolerance)
    return {"year": pd.DataFrame({"year": [year], "previous": [previous[-1] if previous else None]}),
            "submissions": subs, "departments": dept, "grades": grades, "flags": flags.merge(
                subs[["id", "department", "table_id", "title"]], left_on="submission_id", right_on="id"),
            "review": review, **({"group_sums": group_frame} if groups else {})}


def _with_stats(store: Store, subs: pd.DataFrame, groups: bool) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The submissions with their stored figures, and their Σ得分 / Σ分值 per 一级指标 group
    (``tablestats.group_sums``); those stored without them (or under another definition) get them computed here
    from their indicator rows and findings."""
    stale = subs["stats_version"] != STATS_VERSION
    sums = store.group_frame(subs.loc[~stale, "id"].tolist()) if groups else None
    if stale.any():
        ids = subs.loc[stale, "id"].tolist()
        inds = store.indicator_frame(ids, INDICATOR_COLUMNS)
        fnd = pd.DataFrame(store.findings_of(ids), columns=["submission_id", "code", "severity"])
        fresh = indicator_stats(inds, fnd).reindex(ids, fill_value=0)
        subs = subs.copy()
        for c in STATS_COLUMNS:
            subs.loc[stale, c] = fresh[c].to_numpy()
        subs.loc[stale, "stats_version"] = STATS_VERSION
        if groups:
            sums = pd.concat([sums, group_sums(inds)]).sort_index()
    return subs, sums


DEPARTMENT_COLUMNS = ("department", "table_id", "kind", "total", "execution_rate", "complete", "output_score",
                      "benefit_score", "satisfaction_score")  # what _departments reads


def _departments(subs: pd.DataFrame) -> pd.DataFrame:
    """One row per department: its 部门整体 table's total when it has one (无法确定 when that table has none — never
    the mean of its project tables), else the mean of its tables' totals (无法确定 when any of them has none)."""
    s = subs.copy()
    s["is_dept"] = s["kind"] == TableKind.DEPARTMENT.value
    has_dept = s.groupby("department")["is_dept"].transform("any")
    base = s[s["is_dept"] | ~has_dept]
    g, b = s.groupby("department", sort=True), base.groupby("department", sort=True)
    undetermined = base["total"].isna().groupby(base["department"], sort=True).any()
    out = pd.DataFrame({
        "score": b["total"].mean().round(2).where(~undetermined), "execution_rate": b["execution_rate"].mean(),
        "tables": g.size(), "complete": g["complete"].sum().astype(int), "mean_table": g["total"].mean().round(2),
        "output": g["output_score"].mean(), "benefit": g["benefit_score"].mean(),
        "satisfaction": g["satisfaction_score"].mean(),
        "flags": (s["flags"] != "").groupby(s["department"]).sum().astype(int) if "flags" in s else 0,
    }).reset_index()
    from .rules import load_rules  # grade bands of the default rule set, for departments
    rules = load_rules()
    out["grade"] = [rules.grade_for(x) if pd.notna(x) else None for x in out["score"]]
    out = out.sort_values(["score", "department"], ascending=[False, True], na_position="last").reset_index(drop=True)
    out.insert(0, "rank", range(1, len(out) + 1))
    first = ["rank", "department", "score", "grade"]
    return out[first + [c for c in out.columns if c not in first]]


def _flags(subs: pd.DataFrame) -> pd.DataFrame:
    """One row per (submission, flag) — the likely inflated or inconsistent self-evaluations — from each
    submission's own columns and its figures over its rows (``tablestats``)."""
    s = subs.set_index("id")
    rows: list[tuple[int, str]] = []
    rate = s["execution_rate"]
    all_full = (s["ok_rows"] > 0) & (s["full_rows"] == s["ok_rows"])
    rows += [(sid, "full-low-execution") for sid in s.index[all_full & (rate < 0.9)]]
    rows += [(sid, "underspent") for sid in s.index[rate < 0.8]]
    # 定性 达成 with no description: every qualitative indicator of the table answered with a stock phrase
    bare = (s["qualitative_rows"] >= 2) & (s["stock_rows"] == s["qualitative_rows"])
    rows += [(sid, "qualitative-undescribed") for sid in s.index[bare]]
    # calibrated on the synthetic province (README): one reason forgotten, or one score typed a point high, is
    # ordinary; a table where most shortfalls go unexplained, or the claimed scores run well above the rule, is not
    missing = (s["missing_notes"] >= MISSING_NOTES_MIN) & (s["missing_notes"] * 2 >= s["short_rows"])
    rows += [(sid, "missing-deviation-note") for sid in s.index[missing]]
    rows += [(sid, "claimed-score-mismatch") for sid in s.index[s["claimed_over"] >= CLAIMED_OVER_POINTS]]
    rows += [(sid, "word-actual") for sid in s.index[s["word_actuals"] > 0]]
    # totals that do not match their own rows: claimed 总分 ≠ Σ claimed row scores (computed where none) + 执行
    stated = s[s["claimed_total"].notna()]
    own = stated["claimed_sum"] + stated["execution_score"].fillna(0)
    rows += [(sid, "total-mismatch") for sid in stated.index[(own - stated["claimed_total"]).abs() > 0.5]]
    # the platform's red warning: indicator score ratio above the execution ratio by more than 5 points
    ratio = s["indicator_score"] / s["indicator_weight"].replace(0, np.nan)
    rows += [(sid, "score-above-spending") for sid in s.index[(ratio - rate) > 0.05]]
    out = pd.DataFrame(rows, columns=["submission_id", "flag"]).drop_duplicates()
    out["description"] = out["flag"].map(FLAGS)
    out["severity"] = out["flag"].map(FLAG_SEVERITY)
    return out.sort_values(["submission_id", "flag"]).reset_index(drop=True)


# --------------------------------------------------------------------------- 复核
def draw_sample(store: Store, year: int | None = None, share: float = 0.15, seed: int = 1, stratify: bool = False,
                name: str = "default") -> pd.DataFrame:
    """A reproducible sample of submissions (tables) for 复核: same store, share and seed → same sample."""
    if not 0 < share <= 1:
        raise EvaluatorError("抽样比例应在 0 到 1 之间", hint="例如 --share 0.15")
    years = store.years()
    if not years:
        raise EvaluatorError("数据库中还没有评分结果", where=store.shown_url, hint="请先运行 evaluator batch 目录")
    subs = pd.DataFrame(store.current(year or years[-1])).sort_values(["department", "table_id"]).reset_index(drop=True)
    rng = np.random.default_rng(seed)
    groups = [g for _, g in subs.groupby(subs["grade"].fillna("无法确定"), sort=True)] if stratify else [subs]
    picked = []
    for g in groups:
        k = max(1, math.ceil(len(g) * share)) if len(g) else 0
        picked.append(g.iloc[np.sort(rng.choice(len(g), size=min(k, len(g)), replace=False))])
    sample = pd.concat(picked).sort_values(["department", "table_id"])
    store.save_sample(name, sample["id"].tolist(), share, seed, stratify)
    return sample


REVIEW_HEADER = ("提交编号", "表名称", "序号", "一级指标", "二级指标", "三级指标", "年度指标值", "实际完成值", "分值",
                 "申报得分", "规则得分", "计算过程", "偏差原因", "复核得分", "复核意见")
REVIEW_WIDTHS = (7, 16, 4, 9, 11, 18, 11, 12, 6, 7, 7, 34, 24, 8, 20)
REVIEW_SHEETS_MAX = 200  # more departments than this: one sheet, filtered by 部门, instead of a sheet each


def write_review_workbook(store: Store, sample: pd.DataFrame, path: Path) -> Path:
    """The reviewers' workbook: a 目录 and one sheet per department (one filtered sheet for a large sample) with
    every indicator of its sampled tables. Each word means one thing: 申报得分 is what the unit claimed, 规则得分
    what the rule gives (with its 计算过程), then the unit's 偏差原因; reviewers fill 复核得分 / 复核意见."""
    import datetime as dt
    import io

    import xlsxwriter

    from .output import SHEET_FORBIDDEN, safe_name

    inds = pd.DataFrame(store.indicators_of(sample["id"].tolist()))
    by_id = sample.set_index("id")
    year = int(sample["year"].max()) if len(sample) and "year" in sample else 2000
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False})
    wb.set_properties({"created": dt.datetime(year + 1, 1, 1), "author": "", "title": "复核表"})
    base = {"font_name": "宋体", "font_size": 10, "border": 1, "valign": "vcenter", "text_wrap": True}
    head = wb.add_format({**base, "bold": True, "bg_color": "#D9D9D9", "align": "center", "locked": True})
    text = wb.add_format({**base, "locked": True, "bg_color": "#F2F2F2"})
    num = wb.add_format({**base, "locked": True, "bg_color": "#F2F2F2", "num_format": "0.00"})
    fill = wb.add_format({**base, "locked": False, "bg_color": "#FFF2CC"})
    fill_num = wb.add_format({**base, "locked": False, "bg_color": "#FFF2CC", "num_format": "0.00"})
    index = wb.add_worksheet("目录")
    index.write_row(0, 0, ["部门", "工作表", "抽查表数", "指标数"], head)
    depts = sorted(sample["department"].unique()) if len(sample) else []
    one_sheet = len(depts) > REVIEW_SHEETS_MAX
    names, used = {}, {"目录"}
    for d in depts:
        base_name = SHEET_FORBIDDEN.sub("", safe_name(d))[:28] or "部门"
        name, n = base_name, 2
        while name.casefold() in used:
            name, n = f"{base_name[:25]}（{n}）", n + 1
        used.add(name.casefold())
        names[d] = "复核" if one_sheet else name
    inds["department"] = inds["submission_id"].map(by_id["department"])
    inds = inds.sort_values(["department", "submission_id", "position"], kind="stable")
    groups = [("复核", inds)] if one_sheet else [(names[d], part) for d, part in inds.groupby("department", sort=True)]
    header = (["部门"] if one_sheet else []) + list(REVIEW_HEADER)
    off = 1 if one_sheet else 0
    for sheet_name, part in groups:
        ws = wb.add_worksheet(sheet_name)
        ws.write_row(0, 0, header, head)
        for k, r in enumerate(part.itertuples(index=False), start=1):
            s = by_id.loc[r.submission_id]
            values = [int(r.submission_id), s["title"], int(r.position) + 1, r.level1, r.level2, r.level3, r.target,
                      r.actual, r.weight, r.claimed, r.score, r.explanation, r.deviation_note]
            if one_sheet:
                ws.write_string(k, 0, str(s["department"]), text)
            for c, v in enumerate(values):
                missing = v is None or (isinstance(v, float) and v != v)
                if missing:
                    ws.write_blank(k, c + off, None, text)
                elif isinstance(v, (int, float)) and not isinstance(v, bool):
                    ws.write_number(k, c + off, float(v) if c in (8, 9, 10) else int(v), num if c in (8, 9, 10) else text)
                else:
                    ws.write_string(k, c + off, str(v), text)
            ws.write_blank(k, 13 + off, None, fill_num)
            ws.write_blank(k, 14 + off, None, fill)
        n = len(part)
        if n:
            ws.data_validation(1, 13 + off, n, 13 + off, {
                "validate": "decimal", "criteria": ">=", "value": 0, "ignore_blank": True,
                "error_title": "复核得分", "error_message": "请填写 0 到该指标分值之间的数字"})
        for c, w in enumerate(((16,) if one_sheet else ()) + REVIEW_WIDTHS):
            ws.set_column(c, c, w)
        ws.freeze_panes(1, 6 + off)
        ws.autofilter(0, 0, max(n, 1), len(header) - 1)
        ws.protect("", {"autofilter": True, "sort": False, "format_columns": True, "format_rows": True})
        print_a4_landscape_xlsxwriter(ws, 0)
    for k, d in enumerate(depts, start=1):
        part = sample[sample["department"] == d]
        index.write_row(k, 0, [d, names[d], len(part), int((inds["department"] == d).sum())], text)
    index.set_column(0, 0, 30)
    index.set_column(1, 1, 24)
    index.set_column(2, 3, 10)
    index.freeze_panes(1, 0)
    index.set_paper(9)
    index.fit_to_pages(1, 0)
    index.repeat_rows(0)
    wb.close()
    return write_atomic(path, buf.getvalue())


def import_reviews(store: Store, path: Path, reviewer: str | None = None) -> int:
    """Read the reviewers' workbook: each 复核得分 is stored against its submission and row.

    Every sheet whose first row holds 提交编号, 序号 and 复核得分 is read. A score must be a finite number from 0 to the
    row's 分值 (as stored, not as the sheet shows it), for a 提交编号 and 序号 the store knows; a formula Excel never
    calculated is refused too. Any problem refuses the whole file, each named by its cell."""
    from openpyxl import load_workbook
    from openpyxl.utils import get_column_letter

    from .errors import check_file_size

    check_file_size(path, "复核表")
    try:
        wb = load_workbook(path, data_only=True)
    except Exception as e:
        raise InputFileError(f"无法打开复核表（{type(e).__name__}）", where=str(path)) from e
    need = ("提交编号", "序号", "复核得分")
    sheets = []
    for ws in wb.worksheets:
        head = [str(c.value or "").strip() for c in next(ws.iter_rows(min_row=1, max_row=1), ())]
        if all(h in head for h in need):
            sheets.append((ws, {h: head.index(h) for h in head if h}))
    if not sheets:
        first = [str(c.value or "").strip() for c in next(wb.worksheets[0].iter_rows(max_row=1), ())]
        missing = [h for h in need if h not in first]
        raise InputFileError(f"复核表缺少列：{'、'.join(missing)}", where=f"{path} 第 1 行")
    raw = []  # (cell named, submission id, 序号, score, note, is an uncalculated formula)
    formulas = None
    for ws, col in sheets:
        letter = get_column_letter(col["复核得分"] + 1)
        for k, row in enumerate(ws.iter_rows(min_row=2, values_only=True), start=2):
            where = f"工作表“{ws.title}”{letter}{k}"
            cell = lambda h: row[col[h]] if h in col and col[h] < len(row) else None  # noqa: E731
            score = cell("复核得分")
            if score in (None, ""):
                if formulas is None:
                    formulas = load_workbook(path, data_only=False)
                f = formulas[ws.title].cell(row=k, column=col["复核得分"] + 1).value
                if isinstance(f, str) and f.startswith("="):
                    raw.append((where, cell("提交编号"), cell("序号"), f, None, True))
                continue
            raw.append((where, cell("提交编号"), cell("序号"), score, cell("复核意见"), False))
    ids = sorted({n for _, v, *_ in raw if (n := _whole(v)) is not None})
    weights = {(r["submission_id"], r["position"]): r["weight"]
               for r in store.indicators_of(ids, ("submission_id", "position", "weight"))}
    known = {sid for sid, _ in weights}
    rows, problems = [], []
    for where, sid, pos, score, note, formula in raw:
        if formula:
            problems.append(f"{where}（复核得分）是公式“{score}”，但没有计算结果：请在 Excel/WPS 中打开并保存后再导入，或直接填写数值")
            continue
        sid_n, pos_n = _whole(sid), _whole(pos)
        if sid_n is None or sid_n not in known:
            problems.append(f"{where}：提交编号“{sid}”不在数据库中（请使用本数据库导出的复核表）")
            continue
        if pos_n is None or (sid_n, pos_n - 1) not in weights:
            problems.append(f"{where}：提交 {sid_n} 没有序号“{pos}”的指标")
            continue
        value, problem = review_score(score, weights[(sid_n, pos_n - 1)])
        if problem:
            problems.append(f"{where}（复核得分）：{problem}")
            continue
        rows.append({"submission_id": sid_n, "position": pos_n - 1, "score": value, "reviewer": reviewer,
                     "note": None if note in (None, "") else str(note)})
    if problems:
        more = f"\n  另有 {len(problems) - 20} 处" if len(problems) > 20 else ""
        raise InputFileError(f"复核表有 {len(problems)} 处问题，未导入：\n  " + "\n  ".join(problems[:20]) + more,
                             where=str(path), hint="请逐格改正后重新导入")
    return store.save_reviews(rows)


def review_score(raw: Any, weight: float | None) -> tuple[float | None, str | None]:
    """A 复核得分 as typed → (score, None), or (None, why not): a finite number from 0 to the row's 分值. The one
    rule for the reviewers' workbook and the web application."""
    try:
        value = float(str(raw).strip()) if not isinstance(raw, bool) else math.nan
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        return None, f"“{raw}”不是数字"
    if value < 0:
        return None, f"{value:g} 小于 0"
    if weight is not None and value > float(weight) + 1e-9:
        return None, f"{value:g} 超过该指标的分值 {float(weight):g}"
    return value, None


def _whole(v: Any) -> int | None:
    """A whole number typed or stored in a cell (12, 12.0, "12"), else None."""
    try:
        f = float(str(v).strip())
    except (TypeError, ValueError):
        return None
    return int(f) if math.isfinite(f) and f.is_integer() else None


def _review_view(store: Store, subs: pd.DataFrame, tolerance: float) -> pd.DataFrame:
    sampled = store.reviewed_ids()  # asking for the 复核 of every table took 37 queries of 900 ids
    reviewed = pd.DataFrame(store.reviews_of([i for i in subs["id"].tolist() if i in sampled]) if sampled else [])
    if reviewed.empty:
        return pd.DataFrame()
    inds = store.indicator_frame(sorted(set(reviewed["submission_id"].tolist())),
                                 ("submission_id", "position", "status", "score", "weight", "claimed"))
    merged = inds.merge(reviewed[["submission_id", "position", "score"]].rename(columns={"score": "review"}),
                        on=["submission_id", "position"], how="inner")
    merged["self"] = merged["claimed"].fillna(merged["score"])
    per = merged.groupby("submission_id").agg(self_rows=("self", "sum"), review_rows=("review", "sum"),
                                              items=("review", "size"),
                                              self_full=("self", lambda s: 0), review_full=("review", lambda s: 0))
    full_self = (merged["self"] >= merged["weight"] - 1e-9).groupby(merged["submission_id"]).mean()
    full_review = (merged["review"] >= merged["weight"] - 1e-9).groupby(merged["submission_id"]).mean()
    per["self_full"], per["review_full"] = full_self, full_review
    scorable = inds[inds["status"] != "na"].groupby("submission_id").size()
    per["partial"] = [bool(per.loc[i, "items"] < scorable.get(i, 0)) for i in per.index]  # not every row reviewed
    s = subs.set_index("id")
    # 自评 total: the unit's own total if it stated one, else the engine's; 复核 total: rows as reviewed
    rest = inds[~inds.set_index(["submission_id", "position"]).index.isin(
        merged.set_index(["submission_id", "position"]).index)].groupby("submission_id")["score"].sum()
    per["self_total"] = [s.loc[i, "claimed_total"] if pd.notna(s.loc[i, "claimed_total"]) else s.loc[i, "total"]
                         for i in per.index]
    per["review_total"] = [round(per.loc[i, "review_rows"] + rest.get(i, 0.0) + (s.loc[i, "execution_score"] or 0), 2)
                           for i in per.index]
    from .rules import load_rules

    rules = load_rules()
    per["self_grade"] = [rules.grade_for(x) if pd.notna(x) else None for x in per["self_total"]]
    per["review_grade"] = [rules.grade_for(x) for x in per["review_total"]]
    per["deviation"] = per["self_total"] - per["review_total"]
    per["flag"] = (per["deviation"].abs() >= tolerance) | (per["self_grade"] != per["review_grade"])
    per = per.join(s[["department", "table_id", "title"]]).reset_index()
    return per[["submission_id", "department", "table_id", "title", "items", "partial", "self_total", "review_total",
                "deviation", "self_grade", "review_grade", "self_full", "review_full", "flag"]]


# --------------------------------------------------------------------------- rendering
def dashboard_charts(view: dict[str, pd.DataFrame]) -> dict[str, bytes]:
    """The dashboard's charts (PNG by name) from a comparison view: the HTML dashboard's and the web page's."""
    from . import charts
    from .fonts import chart_font

    dept = view["departments"].dropna(subset=["score"])
    shown = "".join(dept.head(15)["department"]) + "".join(dept.tail(15)["department"])
    charts.use_font(chart_font(shown + "得分最高的部门最低（共个，按总分）评价等级分布按表优良中差无法确定各一级指标得分率产出效益满意度"
                                       "预算执行率与指标正常高于个百分点以上…%" + "".join(map(chr, range(32, 127)))))
    try:
        return _draw_charts(view, charts)
    finally:
        charts.use_font(None)


def _draw_charts(view: dict[str, pd.DataFrame], charts) -> dict[str, bytes]:
    with charts.chart_style() as plt:
        out = {}
        dept = view["departments"].dropna(subset=["score"])
        colors = {"优": "#2f5597", "良": "#5b9bd5", "中": "#ffc000", "差": "#c55a11"}
        for key, part, title in (("ranking", dept.head(15), "得分最高的部门"),
                                 ("weakest", dept.tail(15).iloc[::-1], "得分最低的部门")):
            n = len(part)
            if not n:
                continue
            fig, ax = plt.subplots(figsize=(6.2, max(2.2, 0.26 * n + 0.9)))
            fig.subplots_adjust(left=0.34, right=0.89, top=1 - 0.42 / max(2.2, 0.26 * n + 0.9), bottom=0.12)  # (room for " 100.00")
            ax.barh(range(n), part["score"], color=[colors.get(g, "#a5a5a5") for g in part["grade"]], height=0.65)
            # the axis starts near the lowest score shown: differences of a few points stay visible
            low = max(0.0, math.floor((float(dept["score"].min()) - 3) / 5) * 5)
            ax.set_xlim(low, 100)
            for i, v in enumerate(part["score"]):
                ax.text(v, i, f" {v:.2f}", va="center", fontsize=7)
            charts.row_labels(ax, [charts.short_label(d, 14) for d in part["department"]], 7)
            ax.set_ylim(n - 0.5, -0.5)
            ax.set_xlabel("总分")
            ax.set_title(f"{title}（共 {len(dept)} 个部门，按总分）")
            out[key] = charts.save_figure(fig, plt, "png")

        g = view["grades"]
        fig, ax = plt.subplots(figsize=(6, 2.6))
        fig.subplots_adjust(left=0.1, right=0.97, top=0.86, bottom=0.15)
        ax.bar(g.index, g["tables"], color=["#2f5597", "#5b9bd5", "#ffc000", "#c55a11", "#a5a5a5"][: len(g)])
        for i, v in enumerate(g["tables"]):
            ax.text(i, v, f"{v}", ha="center", va="bottom", fontsize=8)
        ax.set_title("评价等级分布（按表）")
        out["grades"] = charts.save_figure(fig, plt, "png")

        subs = view["submissions"]
        fig, ax = plt.subplots(figsize=(6, 2.8))
        fig.subplots_adjust(left=0.1, right=0.97, top=0.86, bottom=0.15)
        data = [(subs["output_score"] / 50 * 100).dropna(), (subs["benefit_score"] / 30 * 100).dropna(),
                (subs["satisfaction_score"] / 10 * 100).dropna()]
        ax.boxplot(data, tick_labels=["产出", "效益", "满意度"], showfliers=False)
        ax.set_ylabel("得分率（%）")
        ax.set_title("各一级指标得分率分布")
        out["groups"] = charts.save_figure(fig, plt, "png")

        fig, ax = plt.subplots(figsize=(6, 3.6))
        fig.subplots_adjust(left=0.12, right=0.97, top=0.88, bottom=0.14)
        x = subs["execution_rate"].clip(upper=1.1) * 100
        y = subs["indicator_score"] / subs["indicator_weight"].replace(0, np.nan) * 100
        red = (y - x) > 5
        ax.scatter(x[~red], y[~red], s=6, color="#2f5597", label="正常")
        ax.scatter(x[red], y[red], s=8, color="#c00000", label="得分率高于执行率 5 个百分点以上")
        ax.plot([40, 110], [45, 115], color="#c00000", linestyle="--", linewidth=0.8)
        ax.axvline(80, color="#ffc000", linestyle=":", linewidth=1)
        ax.set_xlabel("预算执行率（%）")
        ax.set_ylabel("指标得分率（%）")
        ax.set_title("预算执行率与指标得分")
        ax.legend(fontsize=7, frameon=False, loc="lower right")
        out["execution"] = charts.save_figure(fig, plt, "png")
    return out


def write_view(view: dict[str, pd.DataFrame], out_dir: str | Path) -> list[Path]:
    """The bureau's workbook (排名, 等级分布, 一级指标, 执行与得分, 疑点, 同比, 复核) and a static HTML dashboard."""
    with paused_gc():  # (with XlsxWriter's cell tuples, 15–20 % of the workbook's time; with whole rows, noise)
        return _write_view(view, out_dir)


def _write_view(view: dict[str, pd.DataFrame], out_dir: str | Path) -> list[Path]:
    out = Path(out_dir)
    year = int(view["year"]["year"].iloc[0])
    dept, subs, flags, review = view["departments"], view["submissions"], view["flags"], view["review"]
    dept = dept.merge(_rollup(flags), on="department", how="left")
    for sev in SEVERITY_ORDER:
        dept[sev] = dept[sev].fillna(0).astype(int)
    dept = dept.merge(_provenance(subs), on="department", how="left")
    subs = subs.assign(kind=subs["kind"].map({k.value: v for k, v in TABLE_KIND_LABEL.items()}).fillna(subs["kind"]),
                       complete=subs["complete"].astype(bool))
    sheets = {
        "部门排名": dept[["rank", "department", "score", "grade", "execution_rate", "tables", "complete", "mean_table",
                      "output", "benefit", "satisfaction", "flags", *SEVERITY_ORDER, "previous", "change", "rule_set",
                      "inputs_hash"]].rename(
            columns={"rank": "名次", "department": "部门", "score": "总分", "grade": "等级",
                     "execution_rate": "预算执行率", "tables": "表数", "complete": "完整表数",
                     "mean_table": "各表平均分", "output": "产出得分(表均)", "benefit": "效益得分(表均)",
                     "satisfaction": "满意度得分(表均)", "flags": "疑点表数", "previous": "上年总分", "change": "变化",
                     "rule_set": "规则集", "inputs_hash": "输入摘要"}),
        # the rule set and the input digest belong to what a department submitted, not to each table: they are on
        # 部门排名 (33,000 tables × 2 cells fewer to write); 部门 + 表编号 + 版本 still name the stored table
        "各表得分": subs[["department", "title", "kind", "version", "total", "grade", "complete", "execution_rate",
                          "execution_score", "output_score", "benefit_score", "satisfaction_score", "claimed_total",
                          "flags", "table_id"]].rename(columns={
                              "department": "部门", "table_id": "表编号", "title": "表名称", "kind": "类型",
                              "version": "版本", "total": "总分", "grade": "等级", "complete": "完整",
                              "execution_rate": "预算执行率", "execution_score": "执行率得分", "output_score": "产出得分",
                              "benefit_score": "效益得分", "satisfaction_score": "满意度得分", "claimed_total": "自评总分",
                              "flags": "疑点", "rule_set": "规则集", "inputs_hash": "输入摘要"}),
        "等级分布": view["grades"].rename(columns={"tables": "表数", "departments": "部门数"}).rename_axis("等级").reset_index(),
        "疑点清单": flags.assign(order=flags["severity"].map({s: k for k, s in enumerate(SEVERITY_ORDER)})).sort_values(
            ["order", "department", "table_id", "flag"], kind="stable")[
            ["severity", "department", "title", "description", "flag", "table_id"]].rename(columns={
                "severity": "严重程度", "department": "部门", "table_id": "表编号", "title": "表名称", "flag": "疑点代码",
                "description": "说明"}),
    }
    if not review.empty:
        sheets["自评与复核"] = review.rename(columns={
            "submission_id": "提交编号", "department": "部门", "table_id": "表编号", "title": "表名称", "items": "复核指标数",
            "self_total": "自评总分", "review_total": "复核总分", "deviation": "偏差", "self_grade": "自评等级",
            "review_grade": "复核等级", "self_full": "自评满分率", "review_full": "复核满分率", "flag": "超出容差",
            "partial": "部分复核"})
    xlsx, html = out / f"绩效自评汇总-{year}.xlsx", out / f"绩效自评汇总-{year}.html"
    # the workbook and the dashboard are independent: with two cores, the workbook is written in a forked worker
    if (os.cpu_count() or 1) > 1 and "fork" in multiprocessing.get_all_start_methods() and len(subs) > 2000:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # 3.12+: fork with threads; the worker only writes
            with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as pool:
                job = pool.submit(_write_xlsx, sheets, xlsx, year)
                _write_html(view, dept, dashboard_charts(view), html)
                job.result()
    else:
        _write_xlsx(sheets, xlsx, year)
        _write_html(view, dept, dashboard_charts(view), html)
    return [xlsx, html]


def _provenance(subs: pd.DataFrame) -> pd.DataFrame:
    """Per department: the rule set and the input digest its tables were scored with — the value when they share
    it (the tables of a folder read by ``batch`` always do), else each value followed by the 表编号 it holds for."""
    by_dept: dict[str, tuple[dict[str, list[str]], dict[str, list[str]]]] = {}
    for dept, rule_set, digest, table in zip(*(subs[c].tolist() for c in ("department", "rule_set", "inputs_hash",
                                                                          "table_id"))):
        rules_of, digests_of = by_dept.setdefault(dept, ({}, {}))
        rules_of.setdefault(str(rule_set or ""), []).append(str(table))
        digests_of.setdefault(str(digest or ""), []).append(str(table))

    def cell(values: dict[str, list[str]]) -> str:
        if len(values) == 1:
            return next(iter(values))
        return "；".join(f"{v}（{'、'.join(tables)}）" for v, tables in sorted(values.items()))

    return pd.DataFrame([(d, cell(r), cell(h)) for d, (r, h) in by_dept.items()],
                        columns=["department", "rule_set", "inputs_hash"])


def _rollup(flags: pd.DataFrame) -> pd.DataFrame:
    """Per department: how many 疑点 of each severity its tables raise."""
    if flags.empty:
        return pd.DataFrame(columns=["department", *SEVERITY_ORDER])
    table = flags.groupby(["department", "severity"]).size().unstack(fill_value=0)
    return table.reindex(columns=list(SEVERITY_ORDER), fill_value=0).reset_index()


ROW_HEIGHT = 13.5  # points a line of 宋体 10 takes
MAX_WIDTH = 48  # a text column's width at most (units of a digit): longer texts wrap
PERCENT_COLUMNS = {"预算执行率", "自评满分率", "复核满分率", "得分率"}
INTEGER_COLUMNS = {"名次", "表数", "完整表数", "疑点表数", "部门数", "版本", "复核指标数", "提交编号", "错误", "警告", "提示"}


def write_workbook(sheets: dict[str, pd.DataFrame], when: "dt.datetime") -> bytes:
    """Data frames as a workbook a clerk can print, sort and filter: 宋体, borders, the header frozen and filtered,
    percentages and scores formatted, 是/否 for yes/no, A4 landscape fit to the page width with the header row
    repeated. Written with XlsxWriter, its rows whole (``xlsx_rows``: XlsxWriter's own cell XML without its ~4 µs
    of calls per cell — 各表得分 is 33,000 rows at 3,000 departments), and dated ``when``: the same data gives the
    same bytes."""
    import io

    from .xlsx_rows import Book

    buf = io.BytesIO()
    wb = Book(buf)
    wb.set_properties({"created": when, "author": "", "title": ""})
    base = {"font_name": "宋体", "font_size": 10, "border": 1, "valign": "vcenter"}
    fmt = {"text": wb.add_format({**base, "text_wrap": True}), "head": wb.add_format({
        **base, "bold": True, "bg_color": "#D9D9D9", "text_wrap": True, "align": "center"}),
        "pct": wb.add_format({**base, "num_format": "0.00%"}), "int": wb.add_format({**base, "num_format": "0"}),
        "num": wb.add_format({**base, "num_format": "0.00"}), "flag": wb.add_format({**base, "align": "center"})}
    for name, df in sheets.items():
        ws = wb.add_worksheet(name)
        cols = list(df.columns)
        kinds = []
        for c in cols:
            s = df[c]
            if c in PERCENT_COLUMNS:
                kinds.append("pct")
            elif s.dtype == bool or c in ("完整", "超出容差", "部分复核"):
                kinds.append("flag")
            elif c in INTEGER_COLUMNS:
                kinds.append("int")
            elif pd.api.types.is_numeric_dtype(s):
                kinds.append("num")
            else:
                kinds.append("text")
        ws.write_cells(0, cols, [fmt["head"]] * len(cols))
        values = []
        for c, kind in zip(cols, kinds):
            s = df[c]
            if kind == "flag":
                values.append([None if v is None or v != v else ("是" if v else "否") for v in s.tolist()])
            elif kind in ("pct", "int", "num"):
                values.append([None if v is None or v != v else (int(v) if kind == "int" else float(v))
                               for v in s.tolist()])
            else:
                values.append([None if v is None or v != v else str(v) for v in s.tolist()])
        lines = [1] * len(df)  # lines each row's longest wrapped text needs at its column's width
        for k, c in enumerate(cols):
            column = values[k]
            if kinds[k] != "text":
                ws.set_column(k, k, max(_display_width(str(c)) + 2, 10))
                continue
            width = min(max([_display_width(str(c))] + [_display_width(v) for v in column[:300] if v is not None]) + 2,
                        MAX_WIDTH)
            ws.set_column(k, k, width)
            # a 宋体 10 character is 0.95 of the two units counted (a unit is a digit of the default font)
            room, need = (width - 1) / 0.95, {}  # each distinct text measured once (a 疑点, a 表名称 repeat)
            for r, v in enumerate(column):
                if v is not None and len(v) * 2 > room:  # a character is at most two units wide
                    n = need.get(v)
                    if n is None:
                        n = need[v] = math.ceil(_display_width(v) / room)
                    if n > lines[r]:
                        lines[r] = n
        # explicit heights: a viewer that does not fit row heights on opening (LibreOffice here) printed the
        # second line of a long 疑点 over the next row
        formats = [fmt[k] for k in kinds]
        for r, (row, n) in enumerate(zip(zip(*values), lines), start=1):
            ws.write_cells(r, row, formats, ROW_HEIGHT * n if n > 1 else None)
        ws.freeze_panes(1, 1 if len(cols) > 1 else 0)
        ws.autofilter(0, 0, max(len(df), 1), len(cols) - 1)
        print_a4_landscape_xlsxwriter(ws, 0)
        ws.set_footer("&C第 &P 页，共 &N 页")
    wb.close()
    return buf.getvalue()


def _display_width(text: str) -> int:
    """Column width units a text takes: two for a Chinese (wide) character, one for a digit or a Latin letter — a
    16-digit 输入摘要 or a 表编号 is half as wide as 16 Chinese characters."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _write_xlsx(sheets: dict[str, pd.DataFrame], path: Path, year: int) -> Path:
    import datetime as dt

    return write_atomic(path, write_workbook(sheets, dt.datetime(year + 1, 1, 1)))


def _write_html(view: dict[str, pd.DataFrame], dept: pd.DataFrame, charts: dict[str, bytes], path: Path) -> Path:
    """The dashboard: cards, charts, the 疑点 by severity, a sortable and filterable department table, and a page
    per department (its tables, scores, flags, year on year), drawn in the browser from the page's own data."""
    import json

    from .fonts import web_font
    from .report import template_env

    year = int(view["year"]["year"].iloc[0])
    images = {k: "data:image/png;base64," + base64.b64encode(v).decode("ascii") for k, v in charts.items()}
    review = view["review"]
    subs, flags = view["submissions"], view["flags"]
    summary = None
    if not review.empty:
        summary = {"tables": len(review), "mean": round(float(review["deviation"].mean()), 2),
                   "self_full": round(float(review["self_full"].mean()) * 100, 1),
                   "review_full": round(float(review["review_full"].mean()) * 100, 1),
                   "grade_changes": int((review["self_grade"] != review["review_grade"]).sum()),
                   "flagged": int(review["flag"].sum())}
    num = lambda v, d=2: None if v is None or v != v else round(float(v), d)  # noqa: E731
    text = lambda v: None if v is None or v != v else str(v)  # noqa: E731  a missing grade is NaN after a merge
    flags_of: dict[int, list] = {}
    for sid, severity, description in zip(*(flags[c].tolist() for c in ("submission_id", "severity", "description"))):
        flags_of.setdefault(int(sid), []).append([severity, description])
    # plain lists column by column: iterating a frame's rows builds a pandas scalar for every cell
    kinds = {k.value: label for k, label in TABLE_KIND_LABEL.items()}
    tables_of: dict[str, list] = {}
    ordered = subs.sort_values(["department", "table_id"])
    for sid, department, title, kind, total, grade, rate, output, benefit, satisfaction, claimed in zip(*(
            ordered[c].tolist() for c in ("id", "department", "title", "kind", "total", "grade", "execution_rate",
                                          "output_score", "benefit_score", "satisfaction_score", "claimed_total"))):
        tables_of.setdefault(department, []).append(
            [text(title), text(kinds.get(kind, kind)), num(total), text(grade), num(rate, 4), num(output), num(benefit),
             num(satisfaction), num(claimed), flags_of.get(int(sid), [])])
    rows = [[int(rank), department, num(score), text(grade), num(rate, 4), int(tables), int(errors), int(warnings),
             int(hints), num(previous), num(change)]
            for rank, department, score, grade, rate, tables, errors, warnings, hints, previous, change in zip(*(
                dept[c].tolist() for c in ("rank", "department", "score", "grade", "execution_rate", "tables", "错误",
                                           "警告", "提示", "previous", "change")))]
    # the characters the page shows: its own text and every distinct text in its data (the data's JSON adds
    # only ASCII) — not a scan of the megabytes of data, character by character
    shown = {t for r in rows for t in r[1:4:2] if isinstance(t, str)}
    shown |= {t for ts in tables_of.values() for r in ts for t in (r[0], r[1], r[3]) if isinstance(t, str)}
    shown |= {t for f in flags_of.values() for pair in f for t in pair if isinstance(t, str)}
    # strict JSON (a NaN made the page's JSON.parse fail: no ranking table, no department pages)
    data = json.dumps({"departments": rows, "tables": tables_of, "previous": _plain_year(view)}, ensure_ascii=False,
                      separators=(",", ":"), allow_nan=False)
    data = data.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")  # inert inside <script>
    n_tables = len(subs)
    counts = flags.groupby("flag")["submission_id"].nunique().to_dict() if not flags.empty else {}
    flag_rows = [{"code": code, "name": FLAGS[code], "severity": FLAG_SEVERITY[code], "tables": counts.get(code, 0),
                  "share": counts.get(code, 0) / n_tables * 100 if n_tables else 0.0} for code in
                 sorted(FLAGS, key=lambda c: (SEVERITY_ORDER.index(FLAG_SEVERITY[c]), c))]
    template = template_env().get_template("bureau.html.j2")
    args = dict(year=year, previous=_plain_year(view), images=images, n_departments=len(dept),
                grades=view["grades"].reset_index().to_dict("records"), flag_rows=flag_rows,
                review=review.to_dict("records"), summary=summary, n_tables=n_tables,
                flagged_tables=int(flags["submission_id"].nunique()) if not flags.empty else 0,
                data=Markup(data))
    page = template.render(**{**args, "data": ""}, font="")
    font = web_font(page + "".join(sorted(shown)) + "".join(map(chr, range(32, 127))))  # embedded: no tofu
    return write_atomic(path, template.render(**args, font=font))


def _plain_year(view: dict[str, pd.DataFrame]) -> int | None:
    p = view["year"]["previous"].iloc[0]
    return None if p is None or p != p else int(p)
