"""The Evaluation of a department: frame → scores → totals → findings, assembled into the model the CLI and reports use."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import pandas as pd

from .columns import num, records
from .explain import actual_text, row_text
from .findings import row_findings, table_findings
from .frame import Files, indicator_frame
from .model import ActualSet, Evaluation, ExecutionScore, Finding, IndicatorScore, TableEvaluation, TargetSet
from .rules import RuleSet, fmt
from .score import score_frame
from .totals import table_totals, undetermined_reason

__all__ = ["evaluate", "evaluate_scored", "check_findings", "Scored"]


@dataclass(frozen=True)
class Scored:
    """The engine's frames of one evaluation (indicator frame, scored frame, table totals), kept so that a later
    step on the same inputs (``losses.point_losses``) does not build and score them a second time."""

    frame: pd.DataFrame
    scored: pd.DataFrame
    totals: pd.DataFrame


def evaluate(targets: TargetSet, actuals: ActualSet | None, rules: RuleSet, *, targets_file: str | None = None,
             actuals_file: str | None = None, inputs_hash: str | None = None) -> Evaluation:
    """Score a department: every table with indicators, totals, grades and all findings.

    ``targets_file`` / ``actuals_file`` only name the inputs in the findings' locations."""
    return evaluate_scored(targets, actuals, rules, targets_file=targets_file, actuals_file=actuals_file,
                           inputs_hash=inputs_hash)[0]


def evaluate_scored(targets: TargetSet, actuals: ActualSet | None, rules: RuleSet, *, targets_file: str | None = None,
                    actuals_file: str | None = None, inputs_hash: str | None = None) -> tuple[Evaluation, Scored]:
    """``evaluate``, with the frames it scored (for the losses of the same inputs)."""
    findings, tables, scored = _scored(targets, actuals, rules, Files(targets_file, actuals_file or targets_file))
    ev = Evaluation(unit_name=targets.unit_name, year=targets.year or None, rule_set=rules.id,
                    rule_version=rules.version, tables=[_table_evaluation(*x, rules) for x in tables],
                    findings=findings, inputs_hash=inputs_hash, example=bool(actuals and actuals.example),
                    unscored_tables=[t.title for t in targets.tables if not t.indicators])
    return ev, scored


def check_findings(targets: TargetSet, actuals: ActualSet | None, rules: RuleSet, *, targets_file: str | None = None,
                   actuals_file: str | None = None) -> list[Finding]:
    """The findings ``evaluate`` gives, without building the scored indicators and their 计算过程 (``check``)."""
    return _scored(targets, actuals, rules, Files(targets_file, actuals_file or targets_file))[0]


def _scored(targets: TargetSet, actuals: ActualSet | None, rules: RuleSet, file: Files
            ) -> tuple[list[Finding], list[tuple[Any, pd.Series, list[dict[str, Any]]]], Scored]:
    """Frame → scores → totals → findings: the findings, each scored table's (targets, totals, rows), the frames."""
    frame, findings = indicator_frame(targets, actuals, file)
    scored = score_frame(frame, rules)
    totals = table_totals(scored, rules) if len(scored) else pd.DataFrame()
    notes = {t.id: " ".join(filter(None, [c.summary or "" for c in t.cost_notes] + [c.basis or "" for c in t.cost_notes]
                                       + [c.detail or "" for c in t.cost_notes])) for t in targets.tables}
    rows = records(scored)
    findings += row_findings(rows, rules, file, notes)
    by_table: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_table[r["table"]].append(r)
    claimed_total = {t.table: t.claimed_total for t in (actuals.tables if actuals else [])}
    tables = []
    for table in targets.tables:
        if table.id not in by_table:
            continue
        t = totals.loc[table.id]
        trs = by_table[table.id]
        findings += table_findings(table.id, t, trs, rules, file, claimed_total.get(table.id))
        tables.append((table, t, trs))
    return findings, tables, Scored(frame, scored, totals)


def _table_evaluation(table, t: pd.Series, rows: list[dict[str, Any]], rules: RuleSet) -> TableEvaluation:
    decimals = rules.rounding.decimals
    indicators = [
        IndicatorScore(
            table=r["table"], position=int(r["position"]), level1=r["level1"], level2=r["level2"], level3=r["level3"],
            group=r["group"], target=r["target_raw"], actual=actual_text(r) if r["cost_fill"] else r["actual_raw"],
            weight=_round_weight(r["weight"], decimals), score=num(r["score"]), status=r["status"],
            method=_method_name(r, rules), rule=rules.label, explanation=row_text(r, rules),
            inputs={k: v for k, v in {"target": num(r["t_val"]), "actual": num(r["a_val"]), "unit": r["t_unit"],
                                      "direction": r["direction_used"], "band": r["band_used"]}.items()
                    if v is not None},
            deviation_note=r["deviation_note"], claimed_score=num(r["claimed"]),
        )
        for r in rows
    ]
    # rows of each weight group, then of each 一级指标 outside the groups (in order of appearance): one pass
    by_group: dict[str, list[dict[str, Any]]] = {}
    by_level1: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        if r["group"] is None:
            by_level1.setdefault(r["level1"], []).append(r)
        else:
            by_group.setdefault(r["group"], []).append(r)
    named = [(g.label, by_group[g.key]) for g in rules.weights.groups if g.key in by_group]
    groups: dict[str, dict[str, float | None]] = {}
    for label, members in [*named, *by_level1.items()]:
        groups[label] = {"weight": round(sum(r["weight"] for r in members), decimals),
                         "score": round(sum(r["score"] for r in members if r["status"] == "ok"), decimals)}
    rate = num(t["rate"])
    ex_score = num(t["execution_score"])
    budget, spent = num(t["budget"]), num(t["spent"])
    if rate is None:
        ex_text = "缺少全年预算数或全年执行数，预算执行率无法计分"
    elif rules.execution.method == "proportional":
        ex_text = (f"执行率 = 全年执行数 {fmt(spent)} ÷ 全年预算数 {fmt(budget)} = {rate * 100:.2f}%"
                   f"{'（按 100% 计）' if rate > rules.execution.cap_rate else ''}；"
                   f"得分 = {min(rate, rules.execution.cap_rate, 1) * 100:.2f}% × {fmt(rules.weights.execution)} = "
                   f"{ex_score:.{decimals}f}")
    else:
        ex_text = (f"执行率 {rate * 100:.2f}%，每低于 {fmt(rules.execution.step)}% 扣 {fmt(rules.execution.points)} 分："
                   f"{ex_score:.{decimals}f}")
    execution = ExecutionScore(budget=budget, spent=spent, rate=rate, weight=rules.weights.execution, score=ex_score,
                               explanation=ex_text)
    return TableEvaluation(table=table.id, title=table.title, kind=table.kind, indicators=indicators, groups=groups,
                           execution=execution, total=num(t["total"]), raw_total=num(t["raw_total"]),
                           cap=num(t["cap"]), grade=t["grade"] if isinstance(t["grade"], str) else None, complete=bool(t["complete"]),
                           undetermined=undetermined_reason(t, rules))


def _round_weight(w: float, decimals: int) -> float:
    """The weight as used: given weights keep their own decimals (a score is never shown above its weight)."""
    return float(round(w, 10))


def _method_name(r: dict[str, Any], rules: RuleSet) -> str | None:
    m = r["method"]
    if m is None:
        return None
    if m == "@custom":
        return r["custom_method"].name
    if m.startswith("@"):
        return (rules.scoring.band if m == "@band" else getattr(rules.scoring, m[1:])).name
    return m
