"""What-if: today's entries with a few values changed, rescored by the engine, side by side with today's scores.

Nothing here scores anything: the changed entries go through ``evaluate`` like any others, so a what-if follows
exactly the rule set the real evaluation follows. The saved entries are never touched — every change is made on
a copy (``aligned_actuals``), which is also what ``losses`` uses to check "what would have given full marks".
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable

from pydantic import BaseModel, ConfigDict

from .columns import records
from .errors import EvaluatorError
from .model import Actual, ActualSet, Band, BudgetExecution, Evaluation, Severity, TableActuals, TargetSet
from .parse import parse_value
from .rules import RuleSet, fmt

__all__ = ["Change", "aligned_actuals", "apply_changes", "parse_settings", "run_whatif", "WhatIf", "whatif_context",
           "BUDGET_KEYS"]

# names that change a table's budget execution rather than an indicator (checked after exact indicator names)
BUDGET_KEYS = {"执行率": "rate", "预算执行率": "rate", "执行数": "spent", "全年执行数": "spent",
               "预算数": "budget", "全年预算数": "budget"}
_JUDGED = re.compile(r"^(?P<actual>.*?)[（(]\s*(?:评判得分)?\s*(?P<score>\d+(?:\.\d+)?)\s*分\s*[)）]$")


@dataclass(frozen=True)
class Change:
    """One change to the entries: an indicator's 实际完成值 (and 评判得分), or a table's budget figures (万元)."""

    table: str
    position: int | None = None  # None: a change to the table's budget execution
    actual: str | None = None
    judged_score: float | None = None
    spent: float | None = None
    budget: float | None = None
    label: str = ""  # what the user asked for, as shown back


# --------------------------------------------------------------------------- a copy of the entries
def aligned_actuals(targets: TargetSet, actuals: ActualSet | None, frame: "Any" = None) -> ActualSet:
    """The entries as the engine matched them: one ``Actual`` per target indicator, in the targets' order (an
    indicator without an entry gets an empty one, which scores as the missing entry does).

    Built from ``indicator_frame`` — the engine's own matching of entries to targets — so a change can be made by
    (table, position) and scores exactly as the original entries do. Entries that matched no indicator are left
    out (they are findings of the real evaluation, never scored)."""
    from .frame import indicator_frame

    if frame is None:  # (the caller may have built it already: ``indicator_frame(targets, actuals)[0]``)
        frame, _ = indicator_frame(targets, actuals)
    originals = {t.table: t for t in (actuals.tables if actuals else [])}
    tables: list[TableActuals] = []
    for table in targets.tables:
        if not table.indicators:
            if table.id in originals:
                tables.append(originals[table.id])
            continue
        rows = frame[frame["table"] == table.id]
        entries = [_entry(r) for r in records(rows, _ENTRY_COLUMNS)]
        base = originals.get(table.id)
        tables.append(base.model_copy(update={"indicators": entries}) if base else
                      TableActuals(table=table.id, indicators=entries))
    if actuals is None:
        return ActualSet(unit_name=targets.unit_name, year=targets.year, tables=tables)
    return actuals.model_copy(update={"tables": tables})


_ENTRY_COLUMNS = ["level2", "level3", "actual_raw", "deviation_note", "band", "judged_score", "claimed",
                  "actual_rate_base"]


def _entry(r: dict[str, Any]) -> Actual:
    def value(key: str) -> Any:
        v = r[key]
        return None if v is None or (isinstance(v, float) and v != v) else v

    return Actual.model_construct(
        indicator=r["level3"], level2=r["level2"], id=None, actual=value("actual_raw"),
        deviation_note=value("deviation_note"), band=Band(r["band"]) if value("band") else None,
        judged_score=value("judged_score"), claimed_score=value("claimed"), rate_base=value("actual_rate_base"))


def apply_changes(targets: TargetSet, actuals: ActualSet | None, changes: Iterable[Change], *,
                  aligned: bool = False) -> ActualSet:
    """A copy of the aligned entries with ``changes`` made; ``actuals`` itself is left as it is (``aligned``: it
    already is an ``aligned_actuals`` copy)."""
    aligned = actuals if aligned and actuals is not None else aligned_actuals(targets, actuals)
    edits: dict[tuple[str, int], Change] = {}
    budgets: dict[str, list[Change]] = {}
    for c in changes:
        if c.position is None:
            budgets.setdefault(c.table, []).append(c)
        else:
            edits[(c.table, c.position)] = c
    known = {t.table for t in aligned.tables}
    tables = list(aligned.tables) + [TableActuals(table=t) for t in budgets if t not in known]
    out = []
    for ta in tables:
        entries = list(ta.indicators)
        for pos, entry in enumerate(entries):
            c = edits.get((ta.table, pos))
            if c is not None:  # a new value replaces the judgement made on the old one
                entries[pos] = entry.model_copy(update={"actual": c.actual, "judged_score": c.judged_score,
                                                        "band": None})
        ta = ta.model_copy(update={"indicators": entries})
        for c in budgets.get(ta.table, []):
            b = ta.budget or BudgetExecution()
            update = {k: v for k, v in (("spent", c.spent), ("budget", c.budget)) if v is not None}
            ta = ta.model_copy(update={"budget": b.model_copy(update=update)})
        out.append(ta)
    return aligned.model_copy(update={"tables": out})


# --------------------------------------------------------------------------- "政协常委会=5次" → changes
def _candidates(targets: TargetSet, table: str | None) -> list[tuple[str, int, str, str]]:
    return [(t.id, pos, i.level2, i.level3) for t in targets.tables if table in (None, t.id)
            for pos, i in enumerate(t.indicators)]


def _describe(c: tuple[str, int, str, str]) -> str:
    return f"{c[0]} / {c[3]}"


def resolve_name(targets: TargetSet, name: str, table: str | None = None) -> list[tuple[str, int, str, str]] | str:
    """The indicators a ``--set`` name means: an exact 三级指标 name (or 表编号/三级指标, 表编号/二级/三级), else the
    budget keywords (returned as the string key), else an unambiguous part of one name. Raises with the candidates
    when the name is unknown or ambiguous."""
    name = name.strip()
    pool = _candidates(targets, table)
    exact = [c for c in pool if name in (c[3], f"{c[0]}/{c[3]}", f"{c[0]}/{c[2]}/{c[3]}", f"{c[2]}/{c[3]}")]
    if len(exact) == 1:
        return exact
    if len(exact) > 1:
        raise EvaluatorError(f"“{name}”对应多项指标：{'；'.join(map(_describe, exact))}", where="--set",
                             hint="请用 --table 表编号 限定表，或写成“表编号/三级指标=值”")
    if name in BUDGET_KEYS:
        return BUDGET_KEYS[name]
    part = [c for c in pool if name and name in c[3]]
    names = {(c[0], c[3]) for c in part}
    if len(names) == 1:
        return part
    if len(part) > 1:
        raise EvaluatorError(f"“{name}”可能指多项指标：{'；'.join(map(_describe, part[:12]))}"
                             + ("……" if len(part) > 12 else ""), where="--set",
                             hint="请写出完整的三级指标名称，或用 --table 表编号 限定表")
    import difflib

    close = difflib.get_close_matches(name, [c[3] for c in pool], n=5, cutoff=0.4)
    known = "、".join(close) if close else "、".join(dict.fromkeys(c[3] for c in pool[:8]))
    raise EvaluatorError(f"找不到指标“{name}”", where="--set",
                         hint=f"{'相近的指标' if close else '指标有'}：{known}；预算执行情况可用 执行率、全年执行数、全年预算数")


def parse_settings(targets: TargetSet, actuals: ActualSet | None, settings: list[str], table: str | None = None
                   ) -> list[Change]:
    """``["政协常委会=5次", "执行率=95%"]`` → changes. Values are entered as a clerk would type the 实际完成值;
    a 定性 judgement may carry its points: ``为“一极三区”建设贡献政协力量=部分达成（6分）``."""
    if table is not None and table not in {t.id for t in targets.tables}:
        raise EvaluatorError(f"目标表中没有表“{table}”", where="--table",
                             hint=f"表编号有：{'、'.join(t.id for t in targets.tables if t.indicators)}")
    budgets = {t.table: t.budget for t in (actuals.tables if actuals else [])}
    out: list[Change] = []
    for text in settings:
        name, sep, value = text.replace("＝", "=").partition("=")
        if not sep or not name.strip() or not value.strip():
            raise EvaluatorError(f"无法理解“{text}”", where="--set", hint="请写成“三级指标=实际完成值”，例如 --set \"政协常委会=5次\"")
        value = value.strip()
        found = resolve_name(targets, name, table)
        if isinstance(found, str):
            out += _budget_changes(targets, budgets, found, value, table, text)
            continue
        m = _JUDGED.match(value)
        actual, judged = (m.group("actual").strip(), float(m.group("score"))) if m else (value, None)
        out += [Change(table=c[0], position=c[1], actual=actual, judged_score=judged, label=text) for c in found]
    return out


def _budget_changes(targets: TargetSet, budgets: dict[str, BudgetExecution | None], key: str, value: str,
                    table: str | None, text: str) -> list[Change]:
    p = parse_value(value)
    if p.value is None or p.value < 0:
        raise EvaluatorError(f"“{value}”不是有效的数值", where=f"--set {text}",
                             hint="执行率写成“95%”，执行数和预算数写成万元数，例如“530”或“530万元”")
    tables = [t.id for t in targets.tables if t.indicators and table in (None, t.id)]
    out = []
    for tid in tables:
        b = budgets.get(tid)
        if key == "rate":
            rate = p.value / 100 if p.unit == "%" or p.value > 1.5 else p.value
            if not b or not b.budget:
                raise EvaluatorError(f"表“{tid}”没有全年预算数，无法按执行率推算执行数", where=f"--set {text}",
                                     hint="请改用“全年执行数=…”和“全年预算数=…”")
            out.append(Change(table=tid, spent=round(b.budget * rate, 6), label=text))
        else:
            amount = p.value / 1e4 if p.scale == 1e4 or p.unit == "元" else p.value  # 万元
            out.append(Change(table=tid, **{key: round(amount, 6)}, label=text))
    return out


# --------------------------------------------------------------------------- rescoring, side by side
class _Plain(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WhatIfRow(_Plain):
    table: str
    position: int
    level3: str
    target: str
    weight: float | None
    actual_before: str | None
    actual_after: str | None
    score_before: float | None
    score_after: float | None
    status_after: str
    explanation_after: str


class WhatIfTable(_Plain):
    table: str
    title: str
    total_before: float | None
    total_after: float | None
    grade_before: str | None
    grade_after: str | None
    execution_before: float | None
    execution_after: float | None
    rate_before: float | None
    rate_after: float | None
    execution_explanation_after: str
    rows: list[WhatIfRow]


class WhatIf(_Plain):
    """Today's scores and the changed ones: plain data for the CLI, the web panel and JSON."""

    unit_name: str
    year: int | None
    rule: str
    settings: list[str]
    tables: list[WhatIfTable]
    problems: list[str]  # findings the changed values raise (an unreadable value, a missing 偏差原因 …)


def run_whatif(targets: TargetSet, actuals: ActualSet | None, rules: RuleSet, changes: list[Change],
               before: Evaluation | None = None) -> WhatIf:
    """Score today's entries and the changed copy with the same engine and rule set."""
    from .evaluation import evaluate

    before = before or evaluate(targets, actuals, rules)
    after = evaluate(targets, apply_changes(targets, actuals, changes), rules)
    touched = {(c.table, c.position) for c in changes if c.position is not None}
    budget_tables = {c.table for c in changes if c.position is None}
    tables = []
    after_by = {t.table: t for t in after.tables}
    for tb in before.tables:
        ta = after_by.get(tb.table)
        if ta is None:
            continue
        rows = [WhatIfRow(table=tb.table, position=b.position, level3=b.level3, target=b.target, weight=a.weight,
                          actual_before=b.actual, actual_after=a.actual, score_before=b.score, score_after=a.score,
                          status_after=a.status, explanation_after=a.explanation)
                for b, a in zip(tb.indicators, ta.indicators) if (tb.table, b.position) in touched]
        if not rows and tb.table not in budget_tables:
            continue
        tables.append(WhatIfTable(table=tb.table, title=tb.title, total_before=tb.total, total_after=ta.total,
                                  grade_before=tb.grade, grade_after=ta.grade, execution_before=tb.execution.score,
                                  execution_after=ta.execution.score, rate_before=tb.execution.rate,
                                  rate_after=ta.execution.rate,
                                  execution_explanation_after=ta.execution.explanation, rows=rows))
    problems = [f"{f.location.model_copy(update={'file': None}).describe()}：{f.message}" for f in after.findings
                if f.severity != Severity.INFO and (f.location.table, _position(f)) in touched]
    return WhatIf(unit_name=before.unit_name, year=before.year, rule=rules.label,
                  settings=list(dict.fromkeys(c.label for c in changes)), tables=tables, problems=problems)


def _position(f) -> int | None:
    return f.location.item - 1 if f.location.item is not None else None


def whatif_context(result: WhatIf, decimals: int = 2) -> dict[str, Any]:
    """The what-if as already formatted rows (a page or the CLI renders it as it is)."""
    def score(x: float | None) -> str:
        return "—" if x is None else f"{x:.{decimals}f}"

    def delta(a: float | None, b: float | None) -> str:
        if a is None or b is None:
            return ""
        d = round(b - a, decimals)
        return "0" if abs(d) < 10 ** -decimals / 2 else f"{d:+.{decimals}f}"

    tables = []
    for t in result.tables:
        rows = [{"level3": r.level3, "target": r.target, "before": r.actual_before or "（空）",
                 "after": r.actual_after or "（空）", "weight": fmt(r.weight), "score_before": score(r.score_before),
                 "score_after": score(r.score_after) if r.status_after == "ok" else
                 {"na": "不适用", "error": "无法计分"}[r.status_after],
                 "delta": delta(r.score_before, r.score_after), "explanation": r.explanation_after} for r in t.rows]
        tables.append({
            "table": t.table, "title": t.title, "rows": rows,
            "execution": {"before": score(t.execution_before), "after": score(t.execution_after),
                          "rate_before": "" if t.rate_before is None else f"{t.rate_before * 100:.2f}%",
                          "rate_after": "" if t.rate_after is None else f"{t.rate_after * 100:.2f}%",
                          "delta": delta(t.execution_before, t.execution_after),
                          "explanation": t.execution_explanation_after, "changed": t.rate_before != t.rate_after},
            "total_before": score(t.total_before), "total_after": score(t.total_after),
            "total_delta": delta(t.total_before, t.total_after),
            "grade_before": t.grade_before or "无法确定", "grade_after": t.grade_after or "无法确定",
        })
    return {"unit_name": result.unit_name, "year": result.year, "rule": result.rule, "settings": result.settings,
            "tables": tables, "problems": result.problems}
