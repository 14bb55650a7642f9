"""One context function per page: a plain, JSON-ready dict built from the engine and the store.

The HTML route renders it with its template; the ``/api/`` route returns it as it is. No query or score is
computed in a template, none computed twice. Every function asks ``allowed`` (through ``workflow.filing`` or
directly) before it reads anything.
"""
from __future__ import annotations

import math
import threading
from typing import Any

from ..model import BAND_LABEL, TABLE_KIND_LABEL, Evaluation, Severity
from ..store import Store
from . import workflow as wf
from .workflow import Scored, scored
from .permissions import ACTIONS, ROLE_LABEL, Role, User, allowed

SEVERITY_LABEL = {Severity.ERROR.value: "错误", Severity.WARNING.value: "警告", Severity.INFO.value: "提示"}


def clean(x: Any) -> Any:
    """JSON-ready: NaN and infinities become None, numpy scalars plain numbers, tuples lists."""
    if isinstance(x, dict):
        return {str(k): clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [clean(v) for v in x]
    if hasattr(x, "item") and not isinstance(x, (str, bytes)):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def user_info(user: User) -> dict[str, Any]:
    return {"id": user.id, "username": user.username, "name": user.name, "role": user.role.value,
            "role_label": ROLE_LABEL[user.role], "unit_id": user.unit_id,
            "can": {a: allowed(user, a) for a in ("issue", "compare", "sample", "audit", "manage")}}


# --------------------------------------------------------------------------- scoring a filing (the engine)
def filing_actions(user: User, f: dict[str, Any]) -> dict[str, bool]:
    """What this user can do to this filing now: allowed, and the state fits."""
    u, state = f["unit_obj"], f["state"]
    has = f["targets_set"] is not None
    return {
        "edit": allowed(user, "edit", u) and state in wf.EDITABLE,
        "enter": allowed(user, "edit", u) and state in wf.EDITABLE and has,
        "ready": allowed(user, "ready", u) and state in wf.TRANSITIONS["ready"][0] and has,
        "submit": allowed(user, "submit", u) and state in wf.TRANSITIONS["submit"][0] and has,
        "send_back": allowed(user, "send-back", u) and state in wf.TRANSITIONS["send-back"][0],
        "return": allowed(user, "return", u) and state in wf.TRANSITIONS["return"][0],
        "review": allowed(user, "review", u) and state in ("submitted", "reviewed"),
        "reviewed": allowed(user, "review", u) and state in wf.TRANSITIONS["reviewed"][0],
        "documents": allowed(user, "view", u) and has,
    }


def filing_head(f: dict[str, Any]) -> dict[str, Any]:
    """What every page of a filing shows at its top (unit, task, state, version …), for the page modules."""
    return {k: f[k] for k in ("id", "task_id", "unit_id", "unit", "supervisor", "year", "task", "deadline",
                              "rule_set", "state", "version", "updated_at")} | {
        "state_label": wf.STATE_LABEL[f["state"]], "has_targets": f["targets_set"] is not None}


def _table_summary(ev: Evaluation | None) -> list[dict[str, Any]]:
    if ev is None:
        return []
    return [{"table": t.table, "title": t.title, "kind": TABLE_KIND_LABEL[t.kind], "indicators": len(t.indicators),
             "total": t.total, "raw_total": t.raw_total, "grade": t.grade, "complete": t.complete,
             "execution": t.execution.explanation} for t in ev.tables]


def _findings(ev: Evaluation | None) -> list[dict[str, Any]]:
    if ev is None:
        return []
    return [{"code": f.code, "severity": f.severity.value, "severity_label": SEVERITY_LABEL[f.severity.value],
             "where": f.location.describe(), "table": f.location.table, "message": f.message} for f in
            sorted(ev.findings, key=lambda f: list(Severity).index(f.severity))]


def _problem_list(s: Scored) -> list[dict[str, Any]]:
    out = []
    titles = {t.id: t for t in (s.targets.tables if s.targets else [])}
    for (table, pos, field), message in sorted(s.problems.items()):
        t = titles.get(table)
        what = (wf.TABLE_FIELDS.get(field) or field.split(":")[-1]) if pos == wf.TABLE_LEVEL else \
            f"第 {pos + 1} 项“{t.indicators[pos].level3}” {wf.INDICATOR_FIELDS[field]}"
        out.append({"table": table, "position": pos, "field": field, "where": f"{t.title if t else table}：{what}",
                    "message": message})
    return out


# --------------------------------------------------------------------------- pages
def home(store: Store, user: User) -> dict[str, Any]:
    """My tasks: for a unit's clerk and head each filing with its deadline, state and what is left to do on it; for
    the bureau the tasks with their counts and the units that need attention; for a 主管部门 its units."""
    rows = wf.filings_for(store, user)
    own_unit = user.role in (Role.CLERK, Role.HEAD)
    for r in rows:
        r["state_label"] = wf.STATE_LABEL[r["state"]]
        r["deadline_info"] = _deadline(r["deadline"])
        if own_unit:  # a unit has a few filings: each is scored to say what is left on it
            s = scored(store, user, r["id"])
            returns = _returns(store, r["id"]) if r["state"] == "returned" else []
            r["progress"] = _progress(s)
            r["left"] = _left(user, r["state"], bool(r["has_targets"]), r["progress"],
                              returns[-1]["comment"] if returns else None)
            r["tables"] = _table_summary(s.evaluation)
    ctx: dict[str, Any] = {"user": user_info(user), "filings": rows, "state_labels": wf.STATE_LABEL}
    if allowed(user, "issue"):
        ctx["tasks"] = [{**t, "counts": _counts(wf.task_filings(store, t["id"])),
                         "deadline_info": _deadline(t["deadline"])} for t in wf.list_tasks(store)]
        attention = [r for r in rows if r["state"] == "returned" or (r["state"] in wf.EDITABLE + ("pending",) and
                                                                     (r["deadline_info"] or {}).get("kind") == "late")]
        ctx["attention"] = attention[:50]
    return clean(ctx)


def _counts(rows: list[dict[str, Any]]) -> dict[str, int]:
    out = {s: 0 for s in wf.STATES}
    for r in rows:
        out[r["state"]] += 1
    return out


def tasks(store: Store, user: User) -> dict[str, Any]:
    from ..rules import list_rule_sets

    if not allowed(user, "issue"):
        raise wf.Forbidden("只有财政局可以管理自评任务")
    units = wf.list_units(store)
    parents = {u["parent_id"] for u in units if u["parent_id"]}
    return clean({"user": user_info(user),
                  "tasks": [{**t, "counts": _counts(wf.task_filings(store, t["id"])),
                             "deadline_info": _deadline(t["deadline"])} for t in wf.list_tasks(store)],
                  "units": [u for u in units if u["id"] not in parents or u["parent_id"]],
                  "supervisors": sorted({u["parent"] for u in units if u["parent"]}),
                  "rule_sets": [{"id": r.id, "title": r.title, "version": r.version} for r in list_rule_sets()]})


TASK_VIEWS = {"all": "全部", "not-started": "未开始", "late": "已逾期", "returned": "被退回", "pending": "待审核",
              "submitted": "已送审", "reviewed": "已复核"}


def task(store: Store, user: User, task_id: int, show: str = "all", supervisor: str | None = None) -> dict[str, Any]:
    """One task: its units' progress, with the units that have not started, are late or were returned picked out,
    and what the bureau can do (extend, close)."""
    if not allowed(user, "issue"):
        raise wf.NotFound("任务不存在")
    t = wf.task(store, task_id)
    rows = wf.task_filings(store, task_id)
    info = _deadline(t["deadline"])
    late = bool(info and info["days"] is not None and info["days"] < 0)
    last_return = wf.last_comments(store, [r["id"] for r in rows], ("return", "send-back"))
    for r in rows:
        r["state_label"] = wf.STATE_LABEL[r["state"]]
        r["late"] = late and r["state"] in wf.EDITABLE + ("pending",)
        r["comment"] = last_return.get(r["id"]) if r["state"] == "returned" else None
    counts = _counts(rows)
    tally = {"all": len(rows), "late": sum(r["late"] for r in rows), **counts}
    show = show if show in TASK_VIEWS else "all"
    shown = [r for r in rows if (show == "all" or (r["late"] if show == "late" else r["state"] == show))
             and (not supervisor or r["supervisor"] == supervisor)]
    return clean({"user": user_info(user), "task": {**t, "deadline_info": info}, "filings": shown, "counts": counts,
                  "tally": tally, "views": TASK_VIEWS, "show": show, "supervisor": supervisor,
                  "supervisors": sorted({r["supervisor"] for r in rows if r["supervisor"]}),
                  "state_labels": wf.STATE_LABEL})


def _returns(store: Store, filing_id: int) -> list[dict[str, Any]]:
    return [{"at": e["at"], "by": e["user_name"] or e["username"], "comment": e["comment"], "action_code": e["action"],
             "action": wf.ACTION_LABEL.get(e["action"], e["action"])}
            for e in wf.history(store, filing_id) if e["kind"] == "event" and e["action"] in ("return", "send-back")]


def _links(s: Scored) -> list[dict[str, Any]]:
    """Every problem and finding of a filing with the cell it belongs to (table, position, field), worst first,
    so the page can link each one to its field on the entry sheet."""
    if s.evaluation is None:
        return []
    tables = {t.id: t for t in s.targets.tables}
    out = []
    for p in _problem_list(s):
        out.append({**p, "severity": "error", "severity_label": "错误", "code": "field"})
    for f in s.evaluation.findings:
        t = tables.get(f.location.table or "")
        pos = f.location.item - 1 if f.location.item else None
        if pos is None and t is not None and f.location.indicator:
            pos = next((k for k, i in enumerate(t.indicators) if i.level3 == f.location.indicator), None)
        field = COLUMN_FIELD.get(f.location.column or "") or ("actual" if pos is not None else None)
        if f.code == "missing-budget":  # the table's budget figures, on the entry sheet below the indicators
            pos, field = wf.TABLE_LEVEL, "budget"
        where = (t.title if t else "") + (f"：第 {pos + 1} 项“{t.indicators[pos].level3}”"
                                          if t is not None and pos is not None and 0 <= pos < len(t.indicators) else
                                          "：预算执行情况" if pos == wf.TABLE_LEVEL else "")
        out.append({"table": f.location.table, "position": pos, "field": field, "where": where or f.location.describe(),
                    "message": f.message, "severity": f.severity.value, "code": f.code,
                    "severity_label": SEVERITY_LABEL[f.severity.value]})
    order = {"error": 0, "warning": 1, "info": 2}
    return sorted(out, key=lambda x: (order[x["severity"]], x["code"] != "field"))


def _progress(s: Scored) -> dict[str, int]:
    """How far the filling is: indicators, still empty, wrong fields or values, warnings."""
    if s.evaluation is None:
        return {"indicators": 0, "todo": 0, "budget_todo": 0, "errors": 0, "warnings": 0}
    fnd = s.evaluation.findings
    return {"indicators": sum(len(t.indicators) for t in s.evaluation.tables),
            "todo": sum(1 for f in fnd if f.code == "missing-actual"),
            "budget_todo": sum(1 for f in fnd if f.code == "missing-budget"),
            "errors": len(s.problems) + sum(1 for f in fnd if f.severity == Severity.ERROR and f.code not in TO_FILL),
            "warnings": sum(1 for f in fnd if f.severity == Severity.WARNING)}


TO_FILL = ("missing-actual", "missing-budget")  # not wrong, only not filled yet


def _deadline(deadline: str | None) -> dict[str, Any] | None:
    """The deadline with the days left (negative: late), by the server's date."""
    import datetime as dt

    if not deadline:
        return None
    try:
        days = (dt.date.fromisoformat(deadline[:10]) - dt.date.today()).days
    except ValueError:
        return {"date": deadline, "days": None, "text": "", "kind": ""}
    text = "今天截止" if days == 0 else f"还剩 {days} 天" if days > 0 else f"已逾期 {-days} 天"
    return {"date": deadline, "days": days, "text": text, "kind": "late" if days < 0 else "soon" if days <= 7 else ""}


def _left(user: User, state: str, has_targets: bool, progress: dict[str, int] | None, returned: str | None
          ) -> list[str]:
    """What is left to do on a filing, in the words of the person who has to do it."""
    clerk, head = user.role == Role.CLERK, user.role == Role.HEAD
    if state == "not-started" or not has_targets:
        return ["导入本单位的绩效目标表（Word、Excel 或沿用上年）"] if clerk else ["等待填报人导入绩效目标表"]
    out = []
    if state == "returned" and returned:
        out.append(f"按退回意见修改：{returned}")
    if state in wf.EDITABLE and progress:
        if progress["todo"]:
            out.append(f"还有 {progress['todo']} 项实际完成值未填")
        if progress.get("budget_todo"):
            out.append(f"{progress['budget_todo']} 张表未填全年预算数、全年执行数")
        if progress["errors"]:
            out.append(f"{progress['errors']} 处填写有误，须改正")
        if progress["warnings"]:
            out.append(f"{progress['warnings']} 条提醒（如未得满分须写偏差原因）")
        if not progress["todo"] and not progress["errors"] and not progress.get("budget_todo"):
            out.append("已填完：提交单位负责人审核" if clerk else "已填完：审核后送审" if head else "已填完，待送审")
    elif state == "pending":
        out.append("请审核并送审，或退回填报人修改" if head else "等待单位负责人审核送审")
    elif state == "submitted":
        out.append("已送审，等待财政局复核")
    elif state == "reviewed":
        out.append("已复核，无需操作")
    return out


def _steps(f: dict[str, Any], progress: dict[str, int]) -> list[dict[str, Any]]:
    state, has = f["state"], f["targets_set"] is not None if "targets_set" in f else f["has_targets"]
    filled = has and not progress["todo"] and not progress["errors"] and not progress.get("budget_todo")
    later = state in ("pending", "submitted", "reviewed")
    steps = [("导入目标表", "上传 Word/Excel 目标表", has),
             ("填报", "实际完成值、偏差原因、预算执行", filled or later),
             ("检查并提交", "查看问题与自评表，提交负责人", later),
             ("负责人送审", "单位负责人审核后送财政局", state in ("submitted", "reviewed"))]
    out, now_set = [], False
    for k, (name, what, done) in enumerate(steps, start=1):
        now = not done and not now_set
        now_set = now_set or now
        out.append({"n": k, "name": name, "what": what, "done": bool(done), "now": now})
    return out


def filing(store: Store, user: User, filing_id: int) -> dict[str, Any]:
    """The overview of one unit's 自评: state, steps, tables and totals, problems, what can be done, versions,
    returns."""
    s = scored(store, user, filing_id)
    f = s.filing
    returns = _returns(store, filing_id)
    progress = _progress(s)
    last = returns[-1]["comment"] if returns else None
    return clean({"user": user_info(user), "filing": filing_head(f), "actions": filing_actions(user, f),
                  "tables": _table_summary(s.evaluation), "findings": _findings(s.evaluation),
                  "problems": _problem_list(s), "versions": wf.versions(store, filing_id), "returns": returns,
                  "example": bool(s.evaluation and s.evaluation.example), "progress": progress,
                  "deadline": _deadline(f["deadline"]), "steps": _steps(f, progress),
                  "left": _left(user, f["state"], f["targets_set"] is not None, progress, last),
                  "uploads": wf.uploads_of(store, filing_id)})


def check(store: Store, user: User, filing_id: int) -> dict[str, Any]:
    """送审前检查: every problem linked to its cell, the 自评表 as it will print (the documents' own context), the
    documents to download, and what may be done next (提交审核, 送审)."""
    from ..report import KINDS, build_context, document_names

    s = scored(store, user, filing_id)
    if s.targets is None:
        raise wf.Conflict("请先导入目标表")
    names = document_names(s.evaluation, s.targets)
    by_id = {t.id: t for t in s.targets.tables}
    previews = []
    for te in s.evaluation.tables:
        ctx = build_context(s.evaluation, te, by_id[te.table], s.actuals, s.rules)
        previews.append({"table": te.table, "title": te.title, "form_title": ctx["form_title"],
                         "form_year": ctx["form_year"], "unit_name": ctx["unit_name"], "indicators": ctx["indicators"],
                         "budget_rows": ctx["budget_rows"][:1], "groups": ctx["groups"],
                         "total_text": ctx["total_text"], "grade_text": ctx["grade_text"],
                         "documents": [{"kind": kind, "ext": ext, "name": f"{names[te.table]}{suffix}",
                                        "label": suffix.rsplit(".", 1)[0] + "（" + ext.upper() + "）"}
                                       for kind, ext, suffix in KINDS if (kind, ext) in
                                       (("table", "xlsx"), ("table", "docx"), ("report", "pdf"), ("report", "docx"))]})
    progress = _progress(s)
    returns = _returns(store, filing_id)
    return clean({"user": user_info(user), "filing": filing_head(s.filing), "actions": filing_actions(user, s.filing),
                  "tables": _table_summary(s.evaluation), "links": _links(s), "progress": progress,
                  "previews": previews, "returns": returns, "blocked": len(s.problems),
                  "left": _left(user, s.filing["state"], True, progress, returns[-1]["comment"] if returns else None),
                  "example": bool(s.evaluation.example)})


COLUMN_FIELD = {label: field for field, label in wf.INDICATOR_FIELDS.items()}  # a finding's column → its field


def _unit_of(ind) -> str | None:
    """The unit shown beside the field: the 度量单位 column, else the one in the 年度指标值 ("≥5次" → 次)."""
    if ind.unit:
        return ind.unit
    from ..parse import parse_value

    return parse_value(ind.target).unit if ind.target else None


def _row_messages(findings, problems: dict[str, str], entered: dict[str, Any]) -> tuple[dict, list]:
    """One row's messages by field (typed-field problems and the engine's findings that name a column) and the
    row's other findings. An actual never typed is "to fill", not an error: the field shows it calmly."""
    by_field: dict[str, list[dict[str, str]]] = {f: [{"severity": "error", "code": "field", "message": m}]
                                                 for f, m in problems.items()}
    notes = []
    for x in findings:
        field = COLUMN_FIELD.get(x.location.column or "")
        item = {"severity": x.severity.value, "code": x.code, "message": x.message}
        if x.code == "missing-actual":
            field, item["severity"] = "actual", ("error" if "actual" in entered else "todo")
            item["message"] = "未填写（空白不按 0 分计）" if "actual" in entered else "待填写"
        if field:
            by_field.setdefault(field, []).append(item)
        else:
            notes.append(item)
    return by_field, notes


def scored_with_targets(store: Store, user: User, filing_id: int) -> Scored:
    """The filing scored (``workflow.scored``); one without targets yet cannot be shown."""
    s = scored(store, user, filing_id)
    if s.targets is None:
        raise wf.Conflict("请先导入目标表")
    return s


def filing_table(s: Scored, table_id: str | None):
    """The table ``table_id`` of a scored filing (its first table with indicators when None)."""
    tables = [t for t in s.targets.tables if t.indicators]
    if not tables:
        raise wf.NotFound("目标表中没有列出指标的表：请先导入含指标的目标表")
    t = next((x for x in tables if x.id == table_id), None) if table_id else tables[0]
    if t is None:
        raise wf.NotFound(f"表“{table_id}”不在目标表中")
    return t


def entry(store: Store, user: User, filing_id: int, table_id: str | None = None) -> dict[str, Any]:
    """One table laid out like the 自评表: targets read-only, the fields to fill with what was typed, each row's
    score and calculation, the messages of each field, the budget lines and the totals."""
    from ..report import _spans
    from ..workbook import _is_qualitative

    s = scored_with_targets(store, user, filing_id)
    t = filing_table(s, table_id)
    tables = [x for x in s.targets.tables if x.indicators]  # (the tabs: every table with indicators)
    te = next(x for x in s.evaluation.tables if x.table == t.id)
    mine = [x for x in s.evaluation.findings if x.location.table == t.id]
    spans1 = _spans([(i.level1,) for i in t.indicators])
    spans2 = _spans([(i.level1, i.level2) for i in t.indicators])
    rows = []
    for k, (ind, sc) in enumerate(zip(t.indicators, te.indicators)):
        qualitative_target = _is_qualitative(ind.target)  # the fill-in workbook's rule for its 档次 column
        entered = {f: s.values[(t.id, k, f)] for f in wf.INDICATOR_FIELDS if (t.id, k, f) in s.values}
        own = [x for x in mine if x.location.item == k + 1 or (x.location.item is None and
                                                                x.location.indicator == ind.level3)]
        messages, notes = _row_messages(own, {f: s.problems[(t.id, k, f)] for f in wf.INDICATOR_FIELDS
                                              if (t.id, k, f) in s.problems}, entered)
        rows.append({
            "position": k, "level1": ind.level1, "level2": ind.level2, "level3": ind.level3, "target": ind.target,
            "span1": spans1[k], "span2": spans2[k], "unit": _unit_of(ind), "weight": sc.weight, "score": sc.score,
            "status": sc.status, "explanation": sc.explanation,
            "qualitative": qualitative_target or sc.method == "qualitative", "qualitative_target": qualitative_target,
            "needs_base": "rate_base" in entered or any(x.code == "rate-needs-base" for x in own),
            "entered": {f: entered.get(f) for f in wf.INDICATOR_FIELDS},
            "messages": messages, "notes": notes,
            "problems": {f: s.problems[(t.id, k, f)] for f in wf.INDICATOR_FIELDS if (t.id, k, f) in s.problems},
            "findings": [{"severity": x.severity.value, "message": x.message} for x in own],
        })
    labels = {g.key: g.label for g in s.rules.weights.groups}  # the groups te.groups is keyed by, as the engine names them
    open_groups = sorted({labels.get(sc.group, ind.level1) if sc.group else ind.level1
                          for ind, sc in zip(t.indicators, te.indicators) if sc.status not in ("ok", "na")})
    level = wf.TABLE_LEVEL
    totals = {te_.table: {"total": te_.total, "complete": te_.complete, "grade": te_.grade}
              for te_ in s.evaluation.tables}
    todo = sum(1 for r in rows for m in r["messages"].get("actual", []) if m["code"] == "missing-actual")
    wrong = sum(1 for r in rows for ms in r["messages"].values() for m in ms if m["severity"] == "error")
    return clean({
        "user": user_info(user), "filing": filing_head(s.filing), "actions": filing_actions(user, s.filing),
        "tables": [{"id": x.id, "title": x.title, **totals.get(x.id, {})} for x in tables],
        "table": {"id": t.id, "title": t.title, "kind": TABLE_KIND_LABEL[t.kind], "total": te.total,
                  "grade": te.grade, "complete": te.complete, "groups": te.groups, "open_groups": open_groups,
                  "execution": te.execution.explanation, "execution_score": te.execution.score,
                  "execution_weight": te.execution.weight, "execution_rate": te.execution.rate,
                  "indicators": len(rows), "todo": todo, "wrong": wrong,
                  "findings": [{"severity": x.severity.value, "severity_label": SEVERITY_LABEL[x.severity.value],
                                "message": x.message} for x in mine if x.location.item is None
                               and x.location.indicator is None]},
        "rows": rows, "fields": wf.INDICATOR_FIELDS, "table_fields": wf.TABLE_FIELDS,
        "table_values": {f: s.values.get((t.id, level, f)) for f in wf.TABLE_FIELDS},
        "table_problems": {f: s.problems[(t.id, level, f)] for f in wf.TABLE_FIELDS if (t.id, level, f) in s.problems},
        "bands": {b.value: label for b, label in BAND_LABEL.items()},
    })


def scores(store: Store, user: User, filing_id: int) -> dict[str, Any]:
    """The engine's full result (the ``score --json`` shape) with the field problems."""
    from ..output import evaluation_json

    s = scored(store, user, filing_id)
    return clean({"user": user_info(user), "filing": filing_head(s.filing), "actions": filing_actions(user, s.filing),
                  "evaluation": evaluation_json(s.evaluation) if s.evaluation else None,
                  "findings": _findings(s.evaluation), "problems": _problem_list(s)})


def history(store: Store, user: User, filing_id: int, table_id: str | None = None,
            position: int | None = None) -> dict[str, Any]:
    f = wf.filing(store, user, filing_id)
    names = {}
    if f["targets_set"]:
        names = {(t.id, k): i.level3 for t in f["targets_set"].tables for k, i in enumerate(t.indicators)}
    rows = []
    for r in wf.history(store, filing_id, table_id, position):
        if r["kind"] == "change":
            what = wf.INDICATOR_FIELDS.get(r["field"]) or wf.TABLE_FIELDS.get(r["field"]) or r["field"]
            where = names.get((r["table_id"], r["position"]), "") if r["position"] != wf.TABLE_LEVEL else "本表"
            rows.append({"at": r["at"], "who": r["user_name"] or r["username"], "kind": "change",
                         "what": f"{where} {what}".strip(), "table_id": r["table_id"], "position": r["position"],
                         "field": r["field"], "old": r["old"], "new": r["new"],
                         "source": "录入" if r["source"] == "typed" else f"上传文件 #{r['upload_id']}",
                         "upload_id": None if r["source"] == "typed" else r["upload_id"]})
        else:
            rows.append({"at": r["at"], "who": r["user_name"] or r["username"], "kind": "event",
                         "what": wf.ACTION_LABEL.get(r["action"], r["action"]), "action": r["action"],
                         "state_from": wf.STATE_LABEL.get(r["state_from"] or "", None),
                         "state_to": wf.STATE_LABEL.get(r["state_to"] or "", None), "version": r["version"],
                         "comment": r["comment"], "upload_id": r["upload_id"], "detail": r["detail"]})
    return clean({"user": user_info(user), "filing": filing_head(f), "actions": filing_actions(user, f), "rows": rows,
                  "table_id": table_id,
                  "position": position, "indicator": names.get((table_id, position)) if table_id else None})


_VIEWS: dict[tuple, dict] = {}  # (store, year) → the latest comparison: state key, view, page context, charts

SORTS = {"rank": "名次", "department": "单位", "score": "总分", "execution_rate": "预算执行率", "flags": "疑点表数",
         "change": "同比变化", "output": "产出", "benefit": "效益", "satisfaction": "满意度"}
PAGE_SIZE = 50
RATE_BANDS = ((0.0, 0.6, "60% 以下"), (0.6, 0.8, "60%–80%"), (0.8, 0.9, "80%–90%"), (0.9, 1.0, "90%–100%"),
              (1.0, float("inf"), "100% 及以上"))


def compare(store: Store, user: User, year: int | None = None, sort: str = "rank", order: str = "asc",
            supervisor: str | None = None, grade: str | None = None, flag: str | None = None, q: str | None = None,
            page: int = 1, per: int = PAGE_SIZE) -> dict[str, Any]:
    """Today's bureau comparison (``bureau.build_view``) over everything in the store, computed once per state of
    the store (a new submission or 复核 score makes the next view recompute it); the ranking sorted, filtered (主管部门,
    grade, 疑点, name) and cut into pages here, so a page stays small for thousands of units."""
    view = _cached_view(store, user, year)
    rows = view["departments"]
    if supervisor:
        rows = [d for d in rows if (d["supervisor"] or "（未归属）") == supervisor]
    if grade:
        rows = [d for d in rows if (d["grade"] or "无法确定") == grade]
    if flag:
        rows = [d for d in rows if flag in d["flag_codes"]]
    if q and q.strip():
        rows = [d for d in rows if q.strip() in d["department"]]
    sort = sort if sort in SORTS else "rank"
    reverse = order == "desc"
    missing = [d for d in rows if d.get(sort) is None]
    rows = sorted((d for d in rows if d.get(sort) is not None), key=lambda d: (d[sort], d["rank"]),
                  reverse=reverse) + missing
    per = max(1, min(int(per or PAGE_SIZE), 5000))
    pages_n = max(1, math.ceil(len(rows) / per))
    page = max(1, min(int(page or 1), pages_n))
    return {"user": user_info(user), **{k: v for k, v in view.items() if k not in ("departments", "all_flags")},
            "departments": rows[(page - 1) * per: page * per], "matched": len(rows),
            "query": {"sort": sort, "order": "desc" if reverse else "asc", "supervisor": supervisor or "",
                      "grade": grade or "", "flag": flag or "", "q": q or "", "page": page, "pages": pages_n,
                      "per": per},
            "sorts": SORTS}


def _latest(store: Store, user: User, year: int | None) -> dict[str, Any]:
    """The comparison for the store as it is now: one ``bureau.build_view`` per state of the store, shared by the
    page's context and its charts (each derived from it on first use)."""
    from ..bureau import build_view

    if not allowed(user, "compare"):
        raise wf.Forbidden("只有财政局可以查看各单位对比")
    key, state = (store.url, year), store.state_key()
    cached = _VIEWS.get(key)
    if cached is None or cached["state"] != state:
        if len(_VIEWS) > 16:
            _VIEWS.clear()
        cached = _VIEWS[key] = {"state": state, "view": build_view(store, year, groups=True)}
    return cached


def _cached_view(store: Store, user: User, year: int | None) -> dict[str, Any]:
    cached = _latest(store, user, year)
    if "context" not in cached:
        cached["context"] = _compare_view(store, cached["view"])
    return cached["context"]


def _compare_view(store: Store, view: dict[str, Any]) -> dict[str, Any]:
    from ..bureau import FLAG_SEVERITY, FLAGS, SEVERITY_ORDER
    from ..rules import load_rules

    review = view["review"]
    summary = None
    if not review.empty:
        summary = {"tables": len(review), "mean": float(review["deviation"].mean()),
                   "grade_changes": int((review["self_grade"] != review["review_grade"]).sum()),
                   "flagged": int(review["flag"].sum()), "partial": int(review["partial"].sum())}
    supervisors = {u["name"]: u["parent"] for u in wf.list_units(store)}
    subs, flags, dept = view["submissions"], view["flags"], view["departments"]
    codes = flags.groupby("department")["flag"].apply(lambda s: sorted(set(s))).to_dict() if not flags.empty else {}
    departments = []
    for d in dept.to_dict("records"):
        d["supervisor"] = supervisors.get(d["department"])
        d["flag_codes"] = codes.get(d["department"], [])
        departments.append(d)
    # each table's 一级指标 score rate from its own rows (Σ得分 ÷ Σ分值 of the group), not a standard weight; the
    # sums are stored with each submission (tablestats.group_sums), not re-read from its 656,000 rows
    per = view["group_sums"]
    per = (per["score"] / per["weight"].where(per["weight"] > 0)).dropna()
    rates = []
    for g in load_rules().weights.groups:
        col = per.xs(g.key, level="group_key") if g.key in per.index.get_level_values("group_key") else per.iloc[0:0]
        rates.append({"key": g.key, "label": g.label, "weight": g.weight, "mean": float(col.mean()) if len(col) else None,
                      "low": int((col < 0.8).sum()), "tables": int(len(col))})
    bands = []
    for low, high, label in RATE_BANDS:
        part = subs[(subs["execution_rate"] >= low) & (subs["execution_rate"] < high)]
        ratio = part["indicator_score"] / part["indicator_weight"].replace(0, float("nan"))
        bands.append({"label": label, "tables": int(len(part)), "mean_total": float(part["total"].mean())
                      if part["total"].notna().any() else None, "mean_ratio": float(ratio.mean()) if ratio.notna().any()
                      else None, "above": int(((ratio - part["execution_rate"]) > 0.05).sum())})
    none = subs[subs["execution_rate"].isna()]
    if len(none):
        bands.append({"label": "无预算执行数据", "tables": int(len(none)), "mean_total": float(none["total"].mean())
                      if none["total"].notna().any() else None, "mean_ratio": None, "above": 0})
    counts = flags.groupby("flag").size().to_dict() if not flags.empty else {}
    flag_rows = [{"code": c, "name": FLAGS[c], "severity": FLAG_SEVERITY[c], "tables": int(counts.get(c, 0))}
                 for c in sorted(FLAGS, key=lambda c: (SEVERITY_ORDER.index(FLAG_SEVERITY[c]), c))]
    order = {sev: k for k, sev in enumerate(SEVERITY_ORDER)}
    listed = flags.assign(rank=flags["severity"].map(order)).sort_values(["rank", "department", "title"]) \
        if not flags.empty else flags
    grades = view["grades"].reset_index().rename(columns={"index": "grade"}).to_dict("records")
    most = max([g["tables"] for g in grades] + [1])
    return clean({"year": int(view["year"]["year"].iloc[0]), "years": store.years(),
                  "previous_year": view["year"]["previous"].iloc[0],
                  "departments": departments, "total_departments": len(departments),
                  "supervisors": sorted({d["supervisor"] or "（未归属）" for d in departments}),
                  "grades": [{**g, "share": g["tables"] / most} for g in grades],
                  "flags": listed[["submission_id", "department", "table_id", "title", "flag", "description",
                                   "severity"]].head(500).to_dict("records") if not flags.empty else [],
                  "all_flags": listed[["submission_id", "department", "title", "flag", "description", "severity"]]
                  .to_dict("records") if not flags.empty else [],
                  "flag_total": len(flags), "flag_names": FLAGS, "flag_rows": flag_rows,
                  "rates": rates, "execution_bands": bands,
                  "review": review.to_dict("records") if not review.empty else [], "review_summary": summary,
                  "tables": len(subs)})


_DRAWING = threading.Lock()  # matplotlib's fonts and state are global: one drawing at a time per process


def compare_chart(store: Store, user: User, year: int | None, name: str) -> bytes:
    """One chart of the comparison (the bureau dashboard's own: ``bureau._charts``), drawn once per store state."""
    from ..bureau import dashboard_charts

    cached = _latest(store, user, year)
    with _DRAWING:
        if "charts" not in cached:
            cached["charts"] = dashboard_charts(cached["view"])
    if name not in cached["charts"]:
        raise wf.NotFound("没有这张图")
    return cached["charts"][name]


def unit_page(store: Store, user: User, name: str, year: int | None = None) -> dict[str, Any]:
    """One unit as the bureau sees it: its place in the ranking, each table's totals, indicators and 疑点 (each
    linked to the indicators it is about), the 复核 scores so far, and last year beside this year."""
    from ..bureau import FLAG_SEVERITY

    view = _cached_view(store, user, year)  # the comparison: ranking, flags
    dept = next((d for d in view["departments"] if d["department"] == name), None)
    if dept is None:
        raise wf.NotFound(f"{view['year']} 年度没有单位“{name}”的送审结果")
    order = {"department": 0, "special-fund": 1, "project": 2}  # 部门整体 first, as the unit's forms come
    subs = sorted((x for x in store.current(view["year"]) if x["department"] == name),
                  key=lambda x: (order.get(x["kind"], 3), x["id"]))
    ids = [x["id"] for x in subs]
    inds = store.indicators_of(ids)
    reviews = {(r["submission_id"], r["position"]): r for r in store.reviews_of(ids)}
    flags = [dict(f) for f in view["all_flags"] if f["department"] == name]
    previous = {}
    if view["previous_year"]:
        previous = {x["table_id"]: x for x in store.current(int(view["previous_year"])) if x["department"] == name}
    tables = []
    for sub in subs:
        rows = []
        for r in (x for x in inds if x["submission_id"] == sub["id"]):
            marks = []
            short = r["status"] == "ok" and r["weight"] and r["score"] is not None and r["score"] < r["weight"] - 1e-9
            if short and not (r["deviation_note"] or "").strip():
                marks.append(("missing-deviation-note", "未得满分，缺偏差原因"))
            if r["claimed"] is not None and r["score"] is not None and r["claimed"] > r["score"] + 1e-9:
                marks.append(("claimed-score-mismatch", f"申报 {fmt_score(r['claimed'])} 高于规则得分"))
            if r["status"] == "error":
                marks.append(("error", "无法计分"))
            rev = reviews.get((sub["id"], r["position"]))
            rows.append({**{k: r[k] for k in ("position", "level1", "level2", "level3", "target", "actual", "weight",
                                              "score", "claimed", "status", "explanation", "deviation_note")},
                         "marks": [{"code": c, "text": t} for c, t in marks],
                         "review": rev["score"] if rev else None, "review_note": rev["note"] if rev else None})
        mine = [f for f in flags if f["submission_id"] == sub["id"]]
        for f in mine:
            f["indicators"] = [r["position"] for r in rows if any(m["code"] == f["flag"] for m in r["marks"])]
        last = previous.get(sub["table_id"])
        tables.append({**{k: sub[k] for k in ("id", "table_id", "title", "kind", "total", "grade", "execution_rate",
                                               "execution_score", "claimed_total", "output_score", "benefit_score",
                                               "satisfaction_score", "version", "source")},
                       "rows": rows, "flags": mine, "previous_total": last["total"] if last else None,
                       "change": sub["total"] - last["total"] if last and last["total"] is not None
                       and sub["total"] is not None else None,
                       "filing_id": wf.filing_of_submission(store, sub["id"])})
    return clean({"user": user_info(user), "year": view["year"], "previous_year": view["previous_year"],
                  "department": dept, "tables": tables, "flags": sorted(flags, key=lambda f: (
                      ("错误", "警告", "提示").index(FLAG_SEVERITY.get(f["flag"], "提示")), f["title"])),
                  "total_departments": view["total_departments"]})


def fmt_score(x: float | None) -> str:
    return "" if x is None else f"{x:.2f}"


DEVIATION_BANDS = ((-math.inf, -0.005, "复核高于自评"), (-0.005, 0.005, "一致"), (0.005, 3, "高出 0–3 分"),
                   (3, 5, "高出 3–5 分"), (5, 10, "高出 5–10 分"), (10, math.inf, "高出 10 分以上"))


def review(store: Store, user: User, sample: str = "default") -> dict[str, Any]:
    """The 复核 desk: the sample drawn (with how it was drawn), each sampled table with its unit's filing, reviewers
    and progress, and the deviation analytics of what has been reviewed (the comparison's own 复核 view)."""
    if not allowed(user, "sample"):
        raise wf.Forbidden("只有财政局可以复核")
    rows = wf.sample_rows(store, sample)
    fids = {r["submission_id"]: wf.filing_of_submission(store, r["submission_id"]) for r in rows}
    assigned = wf.assignments_of(store, [f for f in fids.values() if f])
    reviewed = {}
    for r in store.reviews_of(list(fids)):
        reviewed[r["submission_id"]] = reviewed.get(r["submission_id"], 0) + 1
    for r in rows:
        r["filing_id"] = fids[r["submission_id"]]
        r["reviewers"] = assigned.get(r["filing_id"], [])
        r["reviewed"] = r["submission_id"] in reviewed
        r["reviewed_rows"] = reviewed.get(r["submission_id"], 0)
    ctx: dict[str, Any] = {"user": user_info(user), "sample": rows, "reviewers": wf.bureau_users(store),
                           "years": store.years(), "drawn": wf.sample_info(store, sample), "deviation": None}
    if store.years():
        view = _cached_view(store, user, None)
        records = sorted(view["review"], key=lambda r: -abs(r["deviation"] or 0))
        bands = [{"label": label, "tables": sum(1 for r in records if r["deviation"] is not None and
                                                low <= r["deviation"] < high)} for low, high, label in DEVIATION_BANDS]
        most = max([b["tables"] for b in bands] + [1])
        ctx["deviation"] = {"summary": view["review_summary"], "records": records, "year": view["year"],
                            "bands": [{**b, "share": b["tables"] / most} for b in bands],
                            "filings": {r["submission_id"]: fids.get(r["submission_id"]) for r in records}}
    return clean(ctx)


def filing_review(store: Store, user: User, filing_id: int) -> dict[str, Any]:
    """One submitted filing for 复核: each indicator's claimed (申报) score, the rule's score and calculation, the
    偏差原因, and the 复核得分 / 复核意见 entered so far, with each table's 自评 and 复核 totals and their deviation."""
    f = wf.filing(store, user, filing_id, "review")
    ids = wf.submitted_ids(store, filing_id)
    subs = {s["id"]: s for s in store.submissions_by_id(ids)}
    inds = store.indicators_of(ids)
    latest = {(r["submission_id"], r["position"]): r for r in store.reviews_of(ids)}
    deviation = {}
    if ids and allowed(user, "compare"):
        deviation = {r["submission_id"]: r for r in _cached_view(store, user, f["year"])["review"]}
    tables = []
    for sid in ids:
        sub = subs.get(sid)
        rows = []
        for r in (x for x in inds if x["submission_id"] == sid):
            rev = latest.get((sid, r["position"])) or {}
            claimed = r["claimed"] if r["claimed"] is not None else r["score"]
            rows.append({**r, "claimed_or_score": claimed, "review": rev.get("score"), "review_note": rev.get("note"),
                         "reviewer": rev.get("reviewer"),
                         "difference": claimed - rev["score"] if rev.get("score") is not None and claimed is not None
                         else None})
        tables.append({"submission_id": sid, "title": sub["title"] if sub else "", "total": sub["total"] if sub else None,
                       "claimed_total": sub["claimed_total"] if sub else None, "rows": rows,
                       "grade": sub["grade"] if sub else None, "deviation": deviation.get(sid)})
    returns = _returns(store, filing_id)
    return clean({"user": user_info(user), "filing": filing_head(f), "actions": filing_actions(user, f),
                  "tables": tables, "reviewers": wf.assignments_of(store, [filing_id]).get(filing_id, []),
                  "returns": returns})


def export(store: Store, user: User) -> dict[str, Any]:
    """The bureau's downloads: the comparison workbook of each year, and per task every unit's submitted documents."""
    if not allowed(user, "compare"):
        raise wf.Forbidden("只有财政局可以导出")
    tasks = []
    for t in wf.list_tasks(store):
        rows = wf.task_filings(store, t["id"])
        tasks.append({**t, "units": len(rows), "submitted": sum(1 for r in rows if r["version"])})
    return clean({"user": user_info(user), "years": store.years(), "tasks": tasks})


def task_documents(store: Store, user: User, task_id: int, formats: list[str]) -> list[tuple[str, bytes]]:
    """Every unit's documents as last submitted under a task (the version the bureau received), as
    (path in the zip, bytes): one folder per unit. The engine scores each submitted version again (same inputs,
    same rule set → the same scores) and ``report.render_documents`` writes them."""
    from ..evaluation import evaluate
    from ..output import safe_name
    from ..report import render_documents
    from ..rules import load_rules

    if not allowed(user, "compare"):
        raise wf.Forbidden("只有财政局可以导出")
    t = wf.task(store, task_id)
    rules = load_rules(t["rule_set"])
    out = []
    for r in wf.task_filings(store, task_id):
        got = wf.latest_version(store, r["id"])
        if got is None:
            continue
        version, targets, actuals = got
        ev = evaluate(targets, actuals, rules, inputs_hash=wf.inputs_digest(targets, actuals))
        folder = safe_name(f"{r['unit']}（第{version}版）")
        out += [(f"{folder}/{name}", data) for name, data in
                render_documents(targets, actuals, ev, rules, formats).items()]
    return out


def users_page(store: Store, user: User) -> dict[str, Any]:
    from .auth import list_users

    if not allowed(user, "manage"):
        raise wf.Forbidden("只有管理员可以管理账号")
    return clean({"user": user_info(user), "users": list_users(store), "units": wf.list_units(store),
                  "roles": {r.value: ROLE_LABEL[r] for r in Role}, "actions": ACTIONS})
