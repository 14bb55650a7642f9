"""The 自评 workflow in the store: units, tasks, filings, entries, uploads, state changes, versions, the audit trail.

A task (自评任务) covers units; each unit gets a filing that moves through the states below. What the clerk
types or uploads is kept as entries (the current value of each field) and entry changes (every old → new, for
ever); every upload, state change, submission, return and review is an event. Entries become an ``ActualSet``
through the same models and the same per-field rule (``workbook.entry_value``) as a filled workbook, and are
scored by the engine; nothing here scores or validates anything itself.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from sqlalchemy import func, insert, or_, select, update

from ..errors import EvaluatorError, InputFileError
from ..model import ActualSet, TargetSet
from ..schema import (
    assignments, entries, entry_changes, events, filing_versions, filings, samples, submissions, tasks, units, uploads, users,
)
from ..store import Store, now
from .permissions import Role, Unit, User, allowed

__all__ = ["STATES", "STATE_LABEL", "INDICATOR_FIELDS", "TABLE_FIELDS", "Forbidden", "NotFound", "Conflict",
           "import_units", "add_unit", "list_units", "unit", "create_task", "list_tasks", "task", "task_filings",
           "filings_for", "filing", "set_targets", "reuse_targets", "entry_values", "save_entries", "add_upload",
           "upload", "transition", "scored", "submit", "Scored", "history", "versions", "actual_set", "entries_from_actuals", "inputs_digest"]

STATES = ("not-started", "draft", "pending", "submitted", "returned", "reviewed")
STATE_LABEL = {"not-started": "未开始", "draft": "填报中", "pending": "待审核", "submitted": "已送审",
               "returned": "被退回", "reviewed": "已复核"}
EDITABLE = ("not-started", "draft", "returned")
# action → (states it may start from, the state it leads to, whether a comment is required)
TRANSITIONS = {
    "ready": (("draft", "returned"), "pending", False),
    "send-back": (("pending",), "draft", True),
    "submit": (("draft", "pending", "returned"), "submitted", False),
    "return": (("submitted", "reviewed"), "returned", True),
    "reviewed": (("submitted",), "reviewed", False),
}
ACTION_LABEL = {"issue": "发布任务", "targets": "导入目标表", "reuse": "沿用上年目标", "upload": "上传文件",
                "entries": "填报", "ready": "提交审核", "send-back": "退回填报人", "submit": "审核通过并送审",
                "return": "退回", "reviewed": "复核完成", "review": "录入复核得分", "assign": "分配复核人",
                "extend": "任务延期", "close": "任务关闭", "progress": "上报监控进度"}
INDICATOR_FIELDS = {"actual": "实际完成值", "deviation_note": "偏差原因分析及改进措施", "band": "定性评判档次",
                    "judged_score": "评判得分", "rate_base": "计量基数"}
TABLE_FIELDS = {"initial": "年初预算数", "budget": "全年预算数", "spent": "全年执行数", "achieved_goal": "实际完成情况",
                "problems": "存在的问题", "improvements": "改进措施"}
TYPED = ("band", "judged_score", "rate_base", "initial", "budget", "spent")  # checked by workbook.entry_value
TABLE_LEVEL = -1  # the position of a table-level field


class Forbidden(EvaluatorError):
    """The user may not do this (``allowed`` said no)."""


class NotFound(EvaluatorError):
    """No such thing — also the answer for things of another unit, so ids cannot be probed."""


class Conflict(EvaluatorError):
    """The action does not fit the filing's state (a submitted filing cannot be edited, …)."""


def _rows(conn, query) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in conn.execute(query)]


# --------------------------------------------------------------------------- units
def add_unit(store: Store, name: str, parent: str | None = None, code: str | None = None) -> int:
    """A unit (and its 主管部门, created when new); an existing unit gets the parent and code given."""
    name = (name or "").strip()
    if not name:
        raise EvaluatorError("单位名称不能为空")
    with store.writing() as conn:
        store.lock(conn)
        parent_id = None
        if parent and parent.strip() and parent.strip() != name:
            parent_id = _unit_id(conn, parent.strip()) or conn.execute(
                insert(units).values(name=parent.strip(), created_at=now()).returning(units.c.id)).scalar_one()
        uid = _unit_id(conn, name)
        if uid is None:
            return conn.execute(insert(units).values(name=name, code=code, parent_id=parent_id, created_at=now())
                                .returning(units.c.id)).scalar_one()
        values = {k: v for k, v in (("parent_id", parent_id), ("code", code)) if v is not None}
        if values:
            conn.execute(update(units).where(units.c.id == uid).values(**values))
        return uid


def _unit_id(conn, name: str) -> int | None:
    return conn.execute(select(units.c.id).where(units.c.name == name)).scalar()


UNIT_HEADERS = {"name": ("单位名称", "单位", "部门名称", "预算单位"), "parent": ("主管部门", "主管单位"),
                "code": ("单位编码", "单位代码", "编码")}


def import_units(store: Store, path: str | Path) -> dict[str, int]:
    """A CSV or Excel list of units (单位名称, 主管部门, optionally 单位编码) → the units table. Returns counts."""
    from ..errors import check_file_size

    from ..intake import table_rows  # CSV, .xlsx, .xls, .et: by content, as every input

    p = Path(path)
    check_file_size(p, "单位名单")
    rows = table_rows(p)
    head_at = next((k for k, row in enumerate(rows[:10])
                    if any(str(c).strip() in UNIT_HEADERS["name"] for c in row)), None)
    if head_at is None:
        raise InputFileError("找不到表头“单位名称”", where=f"{p} 前 10 行", hint="表头应含 单位名称、主管部门（可选 单位编码）")
    head = [str(c).strip() for c in rows[head_at]]
    col = {key: next((head.index(n) for n in names if n in head), None) for key, names in UNIT_HEADERS.items()}
    with store.engine.connect() as conn:
        before = {r[0] for r in conn.execute(select(units.c.name))}
    seen = 0
    for row in rows[head_at + 1:]:
        cell = lambda key: str(row[col[key]]).strip() if col[key] is not None and col[key] < len(row) else ""  # noqa
        if not cell("name"):
            continue
        add_unit(store, cell("name"), cell("parent") or None, cell("code") or None)
        seen += 1
    with store.engine.connect() as conn:
        after = {r[0] for r in conn.execute(select(units.c.name))}
    return {"rows": seen, "new": len(after - before)}


def list_units(store: Store) -> list[dict[str, Any]]:
    parent = units.alias("parent")
    with store.engine.connect() as conn:
        return _rows(conn, select(units.c.id, units.c.name, units.c.code, units.c.parent_id,
                                  parent.c.name.label("parent")).select_from(
            units.outerjoin(parent, parent.c.id == units.c.parent_id)).order_by(units.c.name))


def unit(store: Store, unit_id: int) -> Unit:
    with store.engine.connect() as conn:
        row = conn.execute(select(units).where(units.c.id == unit_id)).first()
    if row is None:
        raise NotFound("单位不存在")
    return Unit(id=row.id, name=row.name, parent_id=row.parent_id)


# --------------------------------------------------------------------------- tasks
def create_task(store: Store, user: User, year: int, title: str, rule_set: str, deadline: str | None,
                unit_ids: Iterable[int]) -> int:
    """The bureau issues a 自评任务: one filing per unit, each starting 未开始."""
    from ..rules import load_rules

    if not allowed(user, "issue"):
        raise Forbidden("只有财政局可以发布自评任务")
    if not 2000 <= int(year) <= 2100:
        raise EvaluatorError(f"年度 {year} 不在 2000–2100 之间")
    load_rules(rule_set)  # an unknown rule set fails here, with its own message
    unit_ids = sorted(set(unit_ids))
    if not unit_ids:
        raise EvaluatorError("请选择任务覆盖的单位")
    stamp = now()
    with store.writing() as conn:
        known = {r[0] for r in conn.execute(select(units.c.id).where(units.c.id.in_(unit_ids)))}
        if known != set(unit_ids):
            raise NotFound("有的单位不存在")
        tid = conn.execute(insert(tasks).values(year=int(year), title=title.strip() or f"{year} 年度绩效自评",
                                                rule_set=rule_set, deadline=deadline or None, state="open",
                                                created_by=user.id, created_at=stamp).returning(tasks.c.id)).scalar_one()
        for uid in unit_ids:
            fid = conn.execute(insert(filings).values(task_id=tid, unit_id=uid, state="not-started", version=0,
                                                      updated_at=stamp).returning(filings.c.id)).scalar_one()
            conn.execute(insert(events).values(filing_id=fid, user_id=user.id, at=stamp, action="issue",
                                               state_to="not-started"))
    return tid


def list_tasks(store: Store) -> list[dict[str, Any]]:
    with store.engine.connect() as conn:
        return _rows(conn, select(tasks).order_by(tasks.c.year.desc(), tasks.c.id.desc()))


def change_task(store: Store, user: User, task_id: int, action: str, deadline: str | None = None) -> None:
    """The bureau extends a task (a new deadline; a closed task opens again) or closes it (no more entries or
    submissions). Each of its filings records the change in its audit trail."""
    import datetime as dt

    if not allowed(user, "issue"):
        raise Forbidden("只有财政局可以管理自评任务")
    values: dict[str, Any]
    if action == "extend":
        try:
            day = dt.date.fromisoformat((deadline or "").strip())
        except ValueError:
            raise EvaluatorError(f"“{deadline or ''}”不是日期", hint="请按 2024-04-30 的格式填写新的截止日期") from None
        values = {"deadline": day.isoformat(), "state": "open"}
    elif action == "close":
        values = {"state": "closed"}
    else:
        raise NotFound("未知的操作")
    old = task(store, task_id)
    with store.writing() as conn:
        conn.execute(update(tasks).where(tasks.c.id == task_id).values(**values))
        detail = json.dumps({"deadline": [old["deadline"], values.get("deadline", old["deadline"])],
                             "state": [old["state"], values["state"]]}, ensure_ascii=False)
        for (fid,) in conn.execute(select(filings.c.id).where(filings.c.task_id == task_id)):
            _event(conn, fid, user, action, detail=detail)


def task(store: Store, task_id: int) -> dict[str, Any]:
    with store.engine.connect() as conn:
        row = conn.execute(select(tasks).where(tasks.c.id == task_id)).first()
    if row is None:
        raise NotFound("任务不存在")
    return dict(row._mapping)


def _filing_query():
    parent = units.alias("parent")
    return (select(filings.c.id, filings.c.task_id, filings.c.unit_id, filings.c.state, filings.c.version,
                   filings.c.updated_at, filings.c.targets.isnot(None).label("has_targets"),
                   units.c.name.label("unit"), units.c.parent_id, parent.c.name.label("supervisor"),
                   tasks.c.year, tasks.c.title.label("task"), tasks.c.deadline, tasks.c.rule_set)
            .select_from(filings.join(units, units.c.id == filings.c.unit_id)
                         .join(tasks, tasks.c.id == filings.c.task_id)
                         .outerjoin(parent, parent.c.id == units.c.parent_id)))


def task_filings(store: Store, task_id: int) -> list[dict[str, Any]]:
    with store.engine.connect() as conn:
        return _rows(conn, _filing_query().where(filings.c.task_id == task_id).order_by(units.c.name))


def filings_for(store: Store, user: User) -> list[dict[str, Any]]:
    """The filings a user may see: the query is scoped by role, and each row is asked ``allowed`` again."""
    q = _filing_query()
    if user.role in (Role.CLERK, Role.HEAD):
        q = q.where(filings.c.unit_id == user.unit_id)
    elif user.role == Role.SUPERVISOR:
        q = q.where(or_(units.c.id == user.unit_id, units.c.parent_id == user.unit_id))
    elif user.role != Role.BUREAU:
        return []
    with store.engine.connect() as conn:
        rows = _rows(conn, q.order_by(tasks.c.year.desc(), tasks.c.id.desc(), units.c.name))
    return [r for r in rows if allowed(user, "view", Unit(r["unit_id"], r["unit"], r["parent_id"]))]


def filing(store: Store, user: User, filing_id: int, action: str = "view") -> dict[str, Any]:
    """One filing with its task and unit, if ``user`` may do ``action`` to it. Another unit's filing is
    "not found", exactly like one that does not exist."""
    with store.engine.connect() as conn:
        row = conn.execute(_filing_query().add_columns(filings.c.targets, filings.c.targets_upload_id)
                           .where(filings.c.id == filing_id)).first()
    if row is None:
        raise NotFound("自评不存在")
    f = dict(row._mapping)
    u = Unit(f["unit_id"], f["unit"], f["parent_id"])
    if not allowed(user, "view", u):
        raise NotFound("自评不存在")
    if action != "view" and not allowed(user, action, u):
        raise Forbidden("没有权限进行此操作")
    f["unit_obj"] = u
    f["targets_set"] = TargetSet.model_validate_json(f["targets"]) if f["targets"] else None
    return f


# --------------------------------------------------------------------------- targets and entries
def _event(conn, filing_id: int, user: User | None, action: str, **values: Any) -> None:
    conn.execute(insert(events).values(filing_id=filing_id, user_id=user.id if user else None, at=now(),
                                       action=action, **values))


def _open_task(conn, filing_id: int) -> None:
    """A closed task takes no more entries, uploads or submissions until the bureau extends it."""
    if conn.execute(select(tasks.c.state).join(filings, filings.c.task_id == tasks.c.id)
                    .where(filings.c.id == filing_id)).scalar() == "closed":
        raise Conflict("自评任务已关闭，不能再修改或送审", hint="如需补报，请联系财政局延期")


def ensure_editable(store: Store, filing_id: int) -> None:
    """Refuse before an upload is read when the filing cannot take it (submitted, or its task closed)."""
    with store.engine.connect() as conn:
        state = conn.execute(select(filings.c.state).where(filings.c.id == filing_id)).scalar()
        _open_task(conn, filing_id)
    if state not in EDITABLE:
        raise Conflict(f"自评{STATE_LABEL.get(state, state)}，不能修改", hint="已送审的自评须先被退回才能修改")


def _editable(conn, store: Store, filing_id: int) -> str:
    """Lock the filing for this transaction and check it can still be changed; return its state."""
    store.lock(conn, filing_id)
    state = conn.execute(select(filings.c.state).where(filings.c.id == filing_id)).scalar()
    _open_task(conn, filing_id)
    if state not in EDITABLE:
        raise Conflict(f"自评{STATE_LABEL.get(state, state)}，不能修改", hint="已送审的自评须先被退回才能修改")
    return state


def set_targets(store: Store, user: User, filing_id: int, targets: TargetSet, upload_id: int | None,
                action: str = "targets", detail: str | None = None) -> None:
    """The filing's 目标表 from now on (earlier ones stay in the uploads and events)."""
    f = filing(store, user, filing_id, "edit")
    targets = targets.model_copy(update={"unit_name": f["unit"], "year": f["year"]})
    with store.writing() as conn:
        state = _editable(conn, store, filing_id)
        new_state = "draft" if state == "not-started" else state
        conn.execute(update(filings).where(filings.c.id == filing_id).values(
            targets=targets.model_dump_json(exclude_none=True), targets_upload_id=upload_id, state=new_state,
            updated_at=now()))
        _event(conn, filing_id, user, action, state_from=state, state_to=new_state, upload_id=upload_id,
               detail=detail)


def reuse_targets(store: Store, user: User, filing_id: int) -> int:
    """Take the unit's targets from its latest filing of an earlier year; returns that year."""
    f = filing(store, user, filing_id, "edit")
    with store.engine.connect() as conn:
        row = conn.execute(select(filings.c.targets, tasks.c.year).join(tasks, tasks.c.id == filings.c.task_id).where(
            filings.c.unit_id == f["unit_id"], tasks.c.year < f["year"], filings.c.targets.isnot(None))
            .order_by(tasks.c.year.desc(), filings.c.id.desc()).limit(1)).first()
    if row is None:
        raise NotFound("找不到本单位往年的目标表", hint="请上传本年度的绩效目标表")
    old = TargetSet.model_validate_json(row.targets)
    tables = [t.model_copy(update={"year": f["year"]}) for t in old.tables]
    set_targets(store, user, filing_id, old.model_copy(update={"tables": tables}), None, "reuse",
                detail=f"沿用 {row.year} 年度目标表")
    return row.year


def entry_values(store: Store, filing_id: int) -> dict[tuple[str, int, str], str]:
    with store.engine.connect() as conn:
        return {(r.table_id, r.position, r.field): r.value for r in conn.execute(
            select(entries.c.table_id, entries.c.position, entries.c.field, entries.c.value)
            .where(entries.c.filing_id == filing_id))}


def _check_field(targets: TargetSet, table_id: str, position: int, field: str) -> None:
    table = next((t for t in targets.tables if t.id == table_id and t.indicators), None)
    if table is None:
        raise NotFound(f"表“{table_id}”不在目标表中")
    if position == TABLE_LEVEL:
        if field not in TABLE_FIELDS and not field.startswith("source:"):
            raise NotFound(f"未知的栏目“{field}”")
    elif not (0 <= position < len(table.indicators)) or field not in INDICATOR_FIELDS:
        raise NotFound(f"表“{table_id}”没有第 {position + 1} 项指标的栏目“{field}”")


def save_entries(store: Store, user: User, filing_id: int, changes: list[tuple[str, int, str, str | None]],
                 source: str = "typed", upload_id: int | None = None) -> int:
    """Store what was typed (or read from an upload) exactly as given, every field changed recorded old → new.
    Returns how many fields changed. A value that is no valid number is kept too (nothing typed is lost);
    ``actual_set`` reports it on its field."""
    f = filing(store, user, filing_id, "edit")
    if f["targets_set"] is None:
        raise Conflict("请先导入目标表")
    for table_id, position, field, _ in changes:
        _check_field(f["targets_set"], table_id, position, field)
    stamp = now()
    changed = 0
    with store.writing() as conn:
        state = _editable(conn, store, filing_id)
        current = {(r.table_id, r.position, r.field): r for r in conn.execute(
            select(entries.c.id, entries.c.table_id, entries.c.position, entries.c.field, entries.c.value)
            .where(entries.c.filing_id == filing_id))}
        for table_id, position, field, value in changes:
            value = None if value is None or not str(value).strip() else str(value).strip()
            old = current.get((table_id, position, field))
            if (old.value if old else None) == value:
                continue
            changed += 1
            if old:
                conn.execute(update(entries).where(entries.c.id == old.id).values(value=value, updated_by=user.id,
                                                                                 updated_at=stamp))
            else:
                conn.execute(insert(entries).values(filing_id=filing_id, table_id=table_id, position=position,
                                                    field=field, value=value, updated_by=user.id, updated_at=stamp))
            conn.execute(insert(entry_changes).values(filing_id=filing_id, table_id=table_id, position=position,
                                                      field=field, old=old.value if old else None, new=value,
                                                      user_id=user.id, at=stamp, source=source, upload_id=upload_id))
        if changed:
            new_state = "draft" if state == "not-started" else state
            conn.execute(update(filings).where(filings.c.id == filing_id).values(state=new_state, updated_at=stamp))
    return changed


def actual_set(targets: TargetSet, values: dict[tuple[str, int, str], str]
               ) -> tuple[ActualSet, dict[tuple[str, int, str], str]]:
    """The entries as the engine's ``ActualSet`` (the model a data file or workbook becomes), and the problems of
    typed fields that are not what their column takes (by field, in Chinese; those fields count as empty)."""
    from ..model import Actual, BudgetExecution, BudgetLine, TableActuals
    from ..workbook import entry_value

    problems: dict[tuple[str, int, str], str] = {}

    def get(table: str, pos: int, field: str) -> Any:
        raw = values.get((table, pos, field))
        if field in TYPED or field.startswith("source:"):
            value, problem = entry_value(field.rsplit(":", 1)[-1] if field.startswith("source:") else field, raw)
            if problem:
                problems[(table, pos, field)] = problem
            return value
        return raw

    tables = []
    for t in targets.tables:
        if not t.indicators:
            continue
        acts = [Actual(indicator=i.level3, level2=i.level2, **{f: get(t.id, k, f) for f in INDICATOR_FIELDS})
                for k, i in enumerate(t.indicators)]
        by_source: dict[str, dict[str, Any]] = {}
        for (tid, pos, field), _ in values.items():
            if tid == t.id and pos == TABLE_LEVEL and field.startswith("source:"):
                _, name, key = field.split(":", 2)
                by_source.setdefault(name, {})[key] = get(tid, pos, field)
        line = {k: get(t.id, TABLE_LEVEL, k) for k in ("initial", "budget", "spent")}
        budget = None
        if any(v is not None for v in line.values()) or by_source:
            budget = BudgetExecution(**line, by_source={k: BudgetLine(**v) for k, v in by_source.items()})
        tables.append(TableActuals(table=t.id, budget=budget, indicators=acts,
                                   **{k: get(t.id, TABLE_LEVEL, k) for k in ("achieved_goal", "problems",
                                                                             "improvements")}))
    return ActualSet(unit_name=targets.unit_name, year=targets.year, tables=tables), problems


def _plain(x: Any) -> str | None:
    if x is None:
        return None
    if isinstance(x, float):
        return str(int(x)) if x.is_integer() else repr(x)
    return str(getattr(x, "value", x))


def entries_from_actuals(targets: TargetSet, aset: ActualSet) -> list[tuple[str, int, str, str | None]]:
    """An uploaded workbook's (or 自评表's) actuals as entry values, field by field, matched to the targets' rows."""
    out: list[tuple[str, int, str, str | None]] = []
    for ta in aset.tables:
        table = next((t for t in targets.tables if t.id == ta.table), None)
        if table is None:
            continue
        names = [(i.level3, i.level2) for i in table.indicators]
        for a in ta.indicators:
            matches = [k for k, (l3, l2) in enumerate(names) if l3 == a.indicator and (a.level2 in (None, l2))]
            if not matches:
                continue
            k = matches[0]
            names[k] = (None, None)  # a repeated name takes the next row
            out += [(ta.table, k, f, _plain(getattr(a, f))) for f in INDICATOR_FIELDS]
        b = ta.budget
        out += [(ta.table, TABLE_LEVEL, k, _plain(getattr(b, k) if b else None)) for k in ("initial", "budget", "spent")]
        for name, line in (b.by_source.items() if b else ()):
            out += [(ta.table, TABLE_LEVEL, f"source:{name}:{k}", _plain(getattr(line, k))) for k in
                    ("initial", "budget", "spent")]
        out += [(ta.table, TABLE_LEVEL, k, getattr(ta, k)) for k in ("achieved_goal", "problems", "improvements")]
    return out


def inputs_digest(targets: TargetSet, aset: ActualSet) -> str:
    """A short hash of what is scored (targets and entries), like ``batch``'s hash of the input files."""
    payload = targets.model_dump_json(exclude_none=True) + "\0" + aset.model_dump_json(exclude_none=True)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


# --------------------------------------------------------------------------- scoring and submitting (the engine)
@dataclass
class Scored:
    filing: dict[str, Any]
    targets: Any
    actuals: Any
    problems: dict[tuple[str, int, str], str]
    evaluation: Any
    rules: Any
    values: dict[tuple[str, int, str], str]


def scored(store: Store, user: User, filing_id: int, action: str = "view") -> Scored:
    """A filing with its entries turned into actuals and scored by the engine under the task's rule set."""
    from ..evaluation import evaluate
    from ..rules import load_rules

    f = filing(store, user, filing_id, action)
    rules = load_rules(f["rule_set"])
    values = entry_values(store, filing_id)
    if f["targets_set"] is None:
        return Scored(f, None, None, {}, None, rules, values)
    aset, problems = actual_set(f["targets_set"], values)
    ev = evaluate(f["targets_set"], aset, rules, inputs_hash=inputs_digest(f["targets_set"], aset))
    return Scored(f, f["targets_set"], aset, problems, ev, rules, values)


def submit(store: Store, user: User, filing_id: int) -> str:
    """送审: the head approves; the filing is scored, stored in the bureau's store (what ``compare`` and 复核 read,
    a new version there when anything changed) and locked as a new version of the filing."""
    from ..bureau import Loaded, score_items
    from ..frame import Files

    s = scored(store, user, filing_id, "submit")
    if s.targets is None:
        raise Conflict("还没有目标表，不能送审")
    if s.problems:
        raise Conflict(f"有 {len(s.problems)} 处填报内容有误，不能送审", hint="请先按“问题”列表逐项改正")
    targets = s.targets.model_copy(update={"unit_name": s.filing["unit"]})
    aset = s.actuals.model_copy(update={"unit_name": s.filing["unit"]})
    items, _ = score_items([Loaded(targets, aset, Files(None, None), inputs_digest(targets, aset),
                                   f"web:filing/{filing_id}")], s.rules)
    _, ids = store.record_ids(items)
    return transition(store, user, filing_id, "submit", submission_ids=ids,
                      snapshot=(targets.model_dump_json(exclude_none=True), aset.model_dump_json(exclude_none=True)))


# --------------------------------------------------------------------------- uploads
def add_upload(store: Store, user: User, filing_id: int, kind: str, filename: str, content: bytes, outcome: str,
               message: str | None) -> int:
    """Every upload is kept (its bytes too) whether it was read or refused."""
    with store.writing() as conn:
        uid = conn.execute(insert(uploads).values(
            filing_id=filing_id, user_id=user.id, kind=kind, filename=filename, size=len(content),
            sha256=hashlib.sha256(content).hexdigest(), content=content, outcome=outcome, message=message,
            created_at=now()).returning(uploads.c.id)).scalar_one()
        _event(conn, filing_id, user, "upload", upload_id=uid,
               detail=json.dumps({"kind": kind, "filename": filename, "outcome": outcome}, ensure_ascii=False))
    return uid


def uploads_of(store: Store, filing_id: int) -> list[dict[str, Any]]:
    """The filing's uploads, newest first, without their bytes (the caller has checked access)."""
    with store.engine.connect() as conn:
        return _rows(conn, select(uploads.c.id, uploads.c.kind, uploads.c.filename, uploads.c.size, uploads.c.outcome,
                                  uploads.c.message, uploads.c.created_at, users.c.username, users.c.name)
                     .outerjoin(users, users.c.id == uploads.c.user_id).where(uploads.c.filing_id == filing_id)
                     .order_by(uploads.c.id.desc()))


def upload(store: Store, user: User, filing_id: int, upload_id: int) -> dict[str, Any]:
    filing(store, user, filing_id)
    with store.engine.connect() as conn:
        row = conn.execute(select(uploads).where(uploads.c.id == upload_id, uploads.c.filing_id == filing_id)).first()
    if row is None:
        raise NotFound("文件不存在")
    return dict(row._mapping)


# --------------------------------------------------------------------------- state changes
def transition(store: Store, user: User, filing_id: int, action: str, comment: str | None = None,
               submission_ids: list[int] | None = None, snapshot: tuple[str, str] | None = None) -> str:
    """Move a filing along the workflow (ready, send-back, submit, return, reviewed); returns the new state.
    A submission stores a new version with what was submitted (``snapshot``: targets and actuals JSON)."""
    starts, to, needs_comment = TRANSITIONS[action]
    permission = "review" if action == "reviewed" else action
    filing(store, user, filing_id, permission)
    comment = (comment or "").strip() or None
    if needs_comment and not comment:
        raise EvaluatorError("请填写意见（退回原因）")
    stamp = now()
    with store.writing() as conn:
        store.lock(conn, filing_id)
        row = conn.execute(select(filings.c.state, filings.c.version).where(filings.c.id == filing_id)).first()
        if row.state not in starts:
            raise Conflict(f"自评{STATE_LABEL[row.state]}，不能{ACTION_LABEL[action]}")
        if action in ("ready", "submit"):
            _open_task(conn, filing_id)
        version = row.version
        if action == "submit":
            version += 1
            targets, actuals = snapshot
            conn.execute(insert(filing_versions).values(filing_id=filing_id, version=version, targets=targets,
                                                        actuals=actuals, submission_ids=json.dumps(submission_ids),
                                                        submitted_by=user.id, submitted_at=stamp))
        conn.execute(update(filings).where(filings.c.id == filing_id).values(state=to, version=version,
                                                                             updated_at=stamp))
        _event(conn, filing_id, user, action, state_from=row.state, state_to=to, version=version, comment=comment)
    return to


def record_event(store: Store, user: User, filing_id: int, action: str, detail: dict[str, Any] | None = None,
                 comment: str | None = None) -> None:
    with store.writing() as conn:
        _event(conn, filing_id, user, action, comment=comment,
               detail=json.dumps(detail, ensure_ascii=False) if detail else None)


# --------------------------------------------------------------------------- the audit trail
def history(store: Store, filing_id: int, table_id: str | None = None, position: int | None = None
            ) -> list[dict[str, Any]]:
    """Every event and entry change of a filing, oldest first, with who did it; for one indicator its changes and
    the filing's 退回 (with their comments), which are what the clerk corrects it against."""
    ch = select(entry_changes, users.c.username, users.c.name.label("user_name")).outerjoin(
        users, users.c.id == entry_changes.c.user_id).where(entry_changes.c.filing_id == filing_id)
    if table_id is not None:
        ch = ch.where(entry_changes.c.table_id == table_id)
    if position is not None:
        ch = ch.where(entry_changes.c.position == position)
    with store.engine.connect() as conn:
        changes = [{**r, "kind": "change"} for r in _rows(conn, ch.order_by(entry_changes.c.id))]
        ev = select(events, users.c.username, users.c.name.label("user_name")).outerjoin(
            users, users.c.id == events.c.user_id).where(events.c.filing_id == filing_id)
        if table_id is not None:
            ev = ev.where(events.c.action.in_(("return", "send-back")))
        evs = [{**r, "kind": "event"} for r in _rows(conn, ev.order_by(events.c.id))]
    return sorted(changes + evs, key=lambda r: (r["at"], r["kind"] == "change", r["id"]))


def last_comments(store: Store, filing_ids: list[int], actions: tuple[str, ...]) -> dict[int, str]:
    """The latest comment of one of these actions (退回 …) on each filing."""
    out: dict[int, str] = {}
    with store.engine.connect() as conn:
        for k in range(0, len(filing_ids), 900):
            for r in conn.execute(select(events.c.filing_id, events.c.comment).where(
                    events.c.filing_id.in_(filing_ids[k:k + 900]), events.c.action.in_(actions)).order_by(events.c.id)):
                out[r.filing_id] = r.comment
    return out


def versions(store: Store, filing_id: int) -> list[dict[str, Any]]:
    with store.engine.connect() as conn:
        return _rows(conn, select(filing_versions.c.id, filing_versions.c.version, filing_versions.c.submission_ids,
                                  filing_versions.c.submitted_at, users.c.username).outerjoin(
            users, users.c.id == filing_versions.c.submitted_by).where(filing_versions.c.filing_id == filing_id)
            .order_by(filing_versions.c.version))


def latest_version(store: Store, filing_id: int) -> tuple[int, TargetSet, ActualSet] | None:
    """What a filing last submitted (version, targets, actuals), or None before its first 送审."""
    with store.engine.connect() as conn:
        row = conn.execute(select(filing_versions.c.version, filing_versions.c.targets, filing_versions.c.actuals)
                           .where(filing_versions.c.filing_id == filing_id)
                           .order_by(filing_versions.c.version.desc()).limit(1)).first()
    if row is None:
        return None
    return row.version, TargetSet.model_validate_json(row.targets), ActualSet.model_validate_json(row.actuals)


def submitted_ids(store: Store, filing_id: int) -> list[int]:
    """The bureau store's submission ids (one per table) of the filing's latest submitted version."""
    with store.engine.connect() as conn:
        row = conn.execute(select(filing_versions.c.submission_ids).where(filing_versions.c.filing_id == filing_id)
                           .order_by(filing_versions.c.version.desc()).limit(1)).first()
    return json.loads(row[0]) if row and row[0] else []


def filing_of_submission(store: Store, submission_id: int) -> int | None:
    """The filing whose latest version holds a bureau submission id (a 复核 sample links back to its unit)."""
    with store.engine.connect() as conn:
        rows = conn.execute(select(filing_versions.c.filing_id, filing_versions.c.submission_ids)
                            .order_by(filing_versions.c.version)).all()
    found = None
    for fid, ids in rows:
        if ids and submission_id in json.loads(ids):
            found = fid
    return found


def sample_rows(store: Store, name: str = "default") -> list[dict[str, Any]]:
    with store.engine.connect() as conn:
        return _rows(conn, select(samples.c.submission_id, submissions.c.department, submissions.c.table_id,
                                  submissions.c.title, submissions.c.total, submissions.c.grade)
                     .join(submissions, submissions.c.id == samples.c.submission_id)
                     .where(samples.c.sample == name).order_by(submissions.c.department, submissions.c.table_id))


def sample_info(store: Store, name: str = "default") -> dict[str, Any] | None:
    """How the sample was drawn: share, seed, stratified, when, how many tables."""
    with store.engine.connect() as conn:
        row = conn.execute(select(samples.c.share, samples.c.seed, samples.c.stratified, samples.c.created_at)
                           .where(samples.c.sample == name).limit(1)).first()
        n = conn.execute(select(func.count()).select_from(samples).where(samples.c.sample == name)).scalar()
    return {**dict(row._mapping), "tables": n} if row else None


def audit_rows(store: Store, filing_ids: list[int] | None = None) -> list[dict[str, Any]]:
    """The whole audit trail (or that of some filings) as flat rows, for export."""
    out = []
    with store.engine.connect() as conn:
        names = {r.id: r for r in conn.execute(select(filings.c.id, units.c.name, tasks.c.year).join(
            units, units.c.id == filings.c.unit_id).join(tasks, tasks.c.id == filings.c.task_id))}
    for fid in (filing_ids if filing_ids is not None else sorted(names)):
        for r in history(store, fid):
            out.append({"filing_id": fid, "unit": names[fid].name, "year": names[fid].year, **{
                k: r.get(k) for k in ("at", "kind", "username", "action", "state_from", "state_to", "version",
                                      "comment", "table_id", "position", "field", "old", "new", "source",
                                      "upload_id", "detail")}})
    return out



# --------------------------------------------------------------------------- 复核 assignments
def bureau_users(store: Store) -> list[dict[str, Any]]:
    with store.engine.connect() as conn:
        return _rows(conn, select(users.c.id, users.c.username, users.c.name).where(
            users.c.role == Role.BUREAU.value, users.c.active == 1).order_by(users.c.username))


def assign(store: Store, user: User, filing_id: int, reviewer_id: int) -> None:
    """Give a sampled filing to a reviewer (a 财政局 account); every assignment is kept."""
    if not allowed(user, "sample"):
        raise Forbidden("只有财政局可以分配复核人")
    filing(store, user, filing_id, "review")
    if reviewer_id not in {u["id"] for u in bureau_users(store)}:
        raise NotFound("复核人应为财政局的账号")
    with store.writing() as conn:
        conn.execute(insert(assignments).values(filing_id=filing_id, reviewer_id=reviewer_id, assigned_by=user.id,
                                                at=now()))
        _event(conn, filing_id, user, "assign", detail=json.dumps({"reviewer_id": reviewer_id}))


def assignments_of(store: Store, filing_ids: list[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    if not filing_ids:
        return out
    with store.engine.connect() as conn:
        for r in conn.execute(select(assignments.c.filing_id, users.c.username).join(
                users, users.c.id == assignments.c.reviewer_id).where(assignments.c.filing_id.in_(filing_ids))
                .order_by(assignments.c.id)):
            if r.username not in out.setdefault(r.filing_id, []):
                out[r.filing_id].append(r.username)
    return out
