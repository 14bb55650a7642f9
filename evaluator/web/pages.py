"""One context function per page: a plain, JSON-ready dict built from the engine and the store.

The HTML route renders it with its template; the ``/api/`` route returns it as it is. No query or score is
computed in a template, none computed twice. Every function asks ``allowed`` (through ``workflow.filing`` or
directly) before it reads anything.
"""
from __future__ import annotations

import math
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
    rows = wf.filings_for(store, user)
    for r in rows:
        r["state_label"] = wf.STATE_LABEL[r["state"]]
    ctx: dict[str, Any] = {"user": user_info(user), "filings": rows}
    if allowed(user, "issue"):
        ctx["tasks"] = [{**t, "counts": _counts(wf.task_filings(store, t["id"]))} for t in wf.list_tasks(store)]
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
    return clean({"user": user_info(user),
                  "tasks": [{**t, "counts": _counts(wf.task_filings(store, t["id"]))} for t in wf.list_tasks(store)],
                  "units": wf.list_units(store),
                  "rule_sets": [{"id": r.id, "title": r.title, "version": r.version} for r in list_rule_sets()]})


def task(store: Store, user: User, task_id: int) -> dict[str, Any]:
    if not allowed(user, "issue"):
        raise wf.NotFound("任务不存在")
    t = wf.task(store, task_id)
    rows = wf.task_filings(store, task_id)
    from ..store import now

    today = now()[:10]
    for r in rows:
        r["state_label"] = wf.STATE_LABEL[r["state"]]
        r["late"] = bool(t["deadline"] and today > t["deadline"] and r["state"] in wf.EDITABLE + ("pending",))
    return clean({"user": user_info(user), "task": t, "filings": rows, "counts": _counts(rows),
                  "state_labels": wf.STATE_LABEL})


def filing(store: Store, user: User, filing_id: int) -> dict[str, Any]:
    """The overview of one unit's 自评: state, tables and totals, problems, what can be done, versions, returns."""
    s = scored(store, user, filing_id)
    f = s.filing
    returns = [{"at": e["at"], "by": e["user_name"] or e["username"], "comment": e["comment"],
                "action": wf.ACTION_LABEL.get(e["action"], e["action"])}
               for e in wf.history(store, filing_id) if e["kind"] == "event" and e["action"] in ("return", "send-back")]
    return clean({"user": user_info(user), "filing": filing_head(f), "actions": filing_actions(user, f),
                  "tables": _table_summary(s.evaluation), "findings": _findings(s.evaluation),
                  "problems": _problem_list(s), "versions": wf.versions(store, filing_id), "returns": returns,
                  "example": bool(s.evaluation and s.evaluation.example)})


def entry(store: Store, user: User, filing_id: int, table_id: str | None = None) -> dict[str, Any]:
    """One table laid out like the 自评表: targets read-only, the fields to fill with what was typed, each row's
    score and calculation, the field problems, the budget lines and the totals."""
    s = scored(store, user, filing_id)
    if s.targets is None:
        raise wf.Conflict("请先导入目标表")
    tables = [t for t in s.targets.tables if t.indicators]
    t = next((x for x in tables if x.id == table_id), None) if table_id else tables[0]
    if t is None:
        raise wf.NotFound(f"表“{table_id}”不在目标表中")
    te = next(x for x in s.evaluation.tables if x.table == t.id)
    rows = []
    for k, (ind, sc) in enumerate(zip(t.indicators, te.indicators)):
        rows.append({
            "position": k, "level1": ind.level1, "level2": ind.level2, "level3": ind.level3, "target": ind.target,
            "unit": ind.unit, "weight": sc.weight, "score": sc.score, "status": sc.status,
            "explanation": sc.explanation, "qualitative": sc.method == "qualitative",
            "entered": {f: s.values.get((t.id, k, f)) for f in wf.INDICATOR_FIELDS},
            "problems": {f: s.problems[(t.id, k, f)] for f in wf.INDICATOR_FIELDS if (t.id, k, f) in s.problems},
            "findings": [{"severity": x.severity.value, "message": x.message} for x in s.evaluation.findings
                         if x.location.table == t.id and (x.location.item == k + 1 or x.location.indicator == ind.level3)],
        })
    level = wf.TABLE_LEVEL
    return clean({
        "user": user_info(user), "filing": filing_head(s.filing), "actions": filing_actions(user, s.filing),
        "tables": [{"id": x.id, "title": x.title} for x in tables],
        "table": {"id": t.id, "title": t.title, "kind": TABLE_KIND_LABEL[t.kind], "total": te.total,
                  "grade": te.grade, "complete": te.complete, "groups": te.groups,
                  "execution": te.execution.explanation, "execution_score": te.execution.score},
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
                         "source": "录入" if r["source"] == "typed" else f"上传文件 #{r['upload_id']}"})
        else:
            rows.append({"at": r["at"], "who": r["user_name"] or r["username"], "kind": "event",
                         "what": wf.ACTION_LABEL.get(r["action"], r["action"]), "action": r["action"],
                         "state_from": wf.STATE_LABEL.get(r["state_from"] or "", None),
                         "state_to": wf.STATE_LABEL.get(r["state_to"] or "", None), "version": r["version"],
                         "comment": r["comment"], "upload_id": r["upload_id"], "detail": r["detail"]})
    return clean({"user": user_info(user), "filing": filing_head(f), "actions": filing_actions(user, f), "rows": rows,
                  "table_id": table_id,
                  "position": position, "indicator": names.get((table_id, position)) if table_id else None})


_VIEWS: dict[tuple, dict[str, Any]] = {}  # (store, year) → (state key, context): the latest comparison only


def compare(store: Store, user: User, year: int | None = None) -> dict[str, Any]:
    """Today's bureau comparison (``bureau.build_view``) over everything in the store, computed once per state of
    the store (a new submission or 复核 score makes the next view recompute it)."""
    if not allowed(user, "compare"):
        raise wf.Forbidden("只有财政局可以查看各单位对比")
    key, state = (store.url, year), store.state_key()
    cached = _VIEWS.get(key)
    if cached is None or cached[0] != state:
        cached = _VIEWS[key] = (state, _compare_view(store, year))
    return {"user": user_info(user), **cached[1]}


def _compare_view(store: Store, year: int | None) -> dict[str, Any]:
    from ..bureau import FLAGS, build_view

    view = build_view(store, year)
    review = view["review"]
    summary = None
    if not review.empty:
        summary = {"tables": len(review), "mean": float(review["deviation"].mean()),
                   "grade_changes": int((review["self_grade"] != review["review_grade"]).sum()),
                   "flagged": int(review["flag"].sum()), "partial": int(review["partial"].sum())}
    return clean({"year": int(view["year"]["year"].iloc[0]), "years": store.years(),
                  "departments": view["departments"].to_dict("records"),
                  "grades": view["grades"].reset_index().rename(columns={"index": "grade"}).to_dict("records"),
                  "flags": view["flags"][["submission_id", "department", "table_id", "title", "flag", "description"]]
                  .head(500).to_dict("records"), "flag_total": len(view["flags"]), "flag_names": FLAGS,
                  "review": review.to_dict("records") if not review.empty else [], "review_summary": summary,
                  "tables": len(view["submissions"])})


def review(store: Store, user: User, sample: str = "default") -> dict[str, Any]:
    """The 复核 desk: the sample drawn, each sampled table with its unit's filing and reviewers."""
    if not allowed(user, "sample"):
        raise wf.Forbidden("只有财政局可以复核")
    rows = wf.sample_rows(store, sample)
    fids = {r["submission_id"]: wf.filing_of_submission(store, r["submission_id"]) for r in rows}
    assigned = wf.assignments_of(store, [f for f in fids.values() if f])
    reviewed = {r["submission_id"] for r in store.reviews_of(list(fids))}
    for r in rows:
        r["filing_id"] = fids[r["submission_id"]]
        r["reviewers"] = assigned.get(r["filing_id"], [])
        r["reviewed"] = r["submission_id"] in reviewed
    return clean({"user": user_info(user), "sample": rows, "reviewers": wf.bureau_users(store),
                  "years": store.years()})


def filing_review(store: Store, user: User, filing_id: int) -> dict[str, Any]:
    """One submitted filing for 复核: each indicator's claimed (申报) score, the rule's score and calculation, the
    偏差原因, and the 复核得分 / 复核意见 entered so far."""
    f = wf.filing(store, user, filing_id, "review")
    ids = wf.submitted_ids(store, filing_id)
    subs = {s["id"]: s for s in store.submissions_by_id(ids)}
    inds = store.indicators_of(ids)
    latest = {(r["submission_id"], r["position"]): r for r in store.reviews_of(ids)}
    tables = []
    for sid in ids:
        sub = subs.get(sid)
        rows = [{**r, "claimed_or_score": r["claimed"] if r["claimed"] is not None else r["score"],
                 "review": (latest.get((sid, r["position"])) or {}).get("score"),
                 "review_note": (latest.get((sid, r["position"])) or {}).get("note")}
                for r in inds if r["submission_id"] == sid]
        tables.append({"submission_id": sid, "title": sub["title"] if sub else "", "total": sub["total"] if sub else None,
                       "claimed_total": sub["claimed_total"] if sub else None, "rows": rows})
    return clean({"user": user_info(user), "filing": filing_head(f), "actions": filing_actions(user, f),
                  "tables": tables, "reviewers": wf.assignments_of(store, [filing_id]).get(filing_id, [])})


def users_page(store: Store, user: User) -> dict[str, Any]:
    from .auth import list_users

    if not allowed(user, "manage"):
        raise wf.Forbidden("只有管理员可以管理账号")
    return clean({"user": user_info(user), "users": list_users(store), "units": wf.list_units(store),
                  "roles": {r.value: ROLE_LABEL[r] for r in Role}, "actions": ACTIONS})
