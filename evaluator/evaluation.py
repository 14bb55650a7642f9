"""The Evaluation of a department: frame → scores → totals → findings, assembled into the model the CLI and reports use."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np
import pandas as pd

from .columns import num, records, records_column
from .explain import actual_text, row_text
from .findings import (ROW_COLUMNS, TABLE_COLUMNS, TABLE_FINDING_COLUMNS, finding_rows, row_findings,
                       table_column_findings)
from .frame import Files, indicator_frame
from .model import ActualSet, Evaluation, ExecutionScore, Finding, IndicatorScore, TableEvaluation, TargetSet
from .rules import RuleSet, fmt
from .score import score_frame
from .totals import table_totals, undetermined_reason

__all__ = ["evaluate", "evaluate_scored", "check_findings", "indicator_dicts", "Scored"]


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
                    actuals_file: str | None = None, inputs_hash: str | None = None, indicators: bool = True,
                    built: "tuple[pd.DataFrame, list[Finding]] | None" = None) -> tuple[Evaluation, Scored]:
    """``evaluate``, with the frames it scored (for the losses of the same inputs).

    ``indicators=False``: the tables carry no ``IndicatorScore`` models (``indicator_dicts`` writes them from the
    scored frame: ``score --json`` of a large table). ``built``: the indicator frame and its findings, when the
    reader gave them as columns (``intake.read_flat_frame``) instead of models."""
    findings, tables, scored = _scored(targets, actuals, rules, Files(targets_file, actuals_file or targets_file), built)
    full: dict[str, list[dict[str, Any]]] = defaultdict(list)
    if indicators:
        for r in records(scored.scored):
            full[r["table"]].append(r)
    ev = Evaluation(unit_name=targets.unit_name, year=targets.year or None, rule_set=rules.id,
                    rule_version=rules.version, tables=[_table_evaluation(*x, full.get(x[0].id, []), rules) for x in tables],
                    findings=findings, inputs_hash=inputs_hash, example=bool(actuals and actuals.example),
                    unscored_tables=[t.title for t in targets.tables if not t.indicators and t.id not in scored.totals.index])
    return ev, scored


def check_findings(targets: TargetSet, actuals: ActualSet | None, rules: RuleSet, *, targets_file: str | None = None,
                   actuals_file: str | None = None, built: "tuple[pd.DataFrame, list[Finding]] | None" = None
                   ) -> list[Finding]:
    """The findings ``evaluate`` gives, without building the scored indicators and their 计算过程 (``check``)."""
    return _scored(targets, actuals, rules, Files(targets_file, actuals_file or targets_file), built, rows=False)[0]


def _scored(targets: TargetSet, actuals: ActualSet | None, rules: RuleSet, file: Files,
            built: "tuple[pd.DataFrame, list[Finding]] | None" = None, rows: bool = True
            ) -> tuple[list[Finding], list[tuple[Any, pd.Series, dict[str, list[Any]]]], Scored]:
    """Frame → scores → totals → findings: the findings, each scored table's (targets, totals, columns), the frames.

    Rows are built as dicts only with the columns ``row_findings`` reads and only where it can find something
    (``finding_rows``); the table checks and the groups read each table's columns (``TABLE_COLUMNS``, lists), not a
    row object per indicator. ``rows=False`` (``check``): the tables' list is empty."""
    frame, findings = built if built is not None else indicator_frame(targets, actuals, file)
    findings = list(findings)
    scored = score_frame(frame, rules)
    totals = table_totals(scored, rules) if len(scored) else pd.DataFrame()
    notes = {t.id: " ".join(filter(None, [c.summary or "" for c in t.cost_notes] + [c.basis or "" for c in t.cost_notes]
                                       + [c.detail or "" for c in t.cost_notes])) for t in targets.tables}
    if len(scored):
        findings += row_findings(records(scored, ROW_COLUMNS, finding_rows(scored)), rules, file, notes)
    positions = scored.groupby("table", sort=False).indices if len(scored) else {}
    columns = {c: records_column(scored, c) for c in (TABLE_COLUMNS if rows else TABLE_FINDING_COLUMNS)} \
        if len(scored) else {}
    claimed_total = {t.table: t.claimed_total for t in (actuals.tables if actuals else [])}
    tables = []
    for table in targets.tables:
        if table.id not in positions:
            continue
        t = totals.loc[table.id]
        at = positions[table.id]
        part = columns if len(at) == len(scored) else {c: [v[i] for i in at.tolist()] for c, v in columns.items()}
        findings += table_column_findings(table.id, t, part, rules, file, claimed_total.get(table.id))
        if rows:
            tables.append((table, t, part))
    return findings, tables, Scored(frame, scored, totals)


# what the 计算过程, the shown actual and the method name of a scored row read
EXPLAIN_COLUMNS = ["status", "reason", "t_problem", "a_problem", "a_unit", "t_unit", "t_val", "a_val", "fraction",
                   "target_raw", "actual_raw", "method", "custom_method", "weight", "score", "tol", "band_used",
                   "judged_used", "over", "cost_fill", "as_fraction", "negative", "t_scale", "t_per", "rate_base_used"]


def indicator_dicts(scored: pd.DataFrame, rules: RuleSet, chunk: int = 10_000) -> Iterator[list[dict[str, Any]]]:
    """The ``indicators`` of the ``--json`` object straight from the scored frame, ``chunk`` rows at a time, in
    the frame's order (the targets' order, as the tables' ``IndicatorScore`` lists give them): the same values
    as ``_table_evaluation`` puts in its models, without a model per row."""
    from .output import INDICATOR_KEYS

    label, decimals = rules.label, rules.rounding.decimals
    texts: dict[tuple, str] = {}  # 计算过程 by the values it reads: rows that repeat them share one
    methods: dict[Any, str | None] = {}
    weights: dict[float, float] = {}
    for start in range(0, len(scored), chunk):
        part = scored.iloc[start:start + chunk]
        rows = records(part, EXPLAIN_COLUMNS)
        tables, level1, level2, level3, notes = (
            records_column(part, c) for c in ("table", "level1", "level2", "level3", "deviation_note"))
        scores, claimed = _floats(part["score"]), _floats(part["claimed"])
        out = []
        for r, tb, l1, l2, l3, note, score, c in zip(rows, tables, level1, level2, level3, notes, scores, claimed):
            key = tuple(r.values())
            text = texts.get(key)
            if text is None:
                text = texts[key] = row_text(r, rules)
            m = r["custom_method"] if r["method"] == "@custom" else r["method"]
            method = methods[m] if m in methods else methods.setdefault(m, _method_name(r, rules))
            w = r["weight"]
            weight = weights[w] if w in weights else weights.setdefault(w, _round_weight(w, decimals))
            out.append(dict(zip(INDICATOR_KEYS, (tb, l1, l2, l3, r["target_raw"], actual_text(r) if r["cost_fill"]
                                                 else r["actual_raw"], weight, score, r["status"], label, method, text, c,
                                                 note))))
        if len(texts) > chunk:  # distinct values on every row (measured amounts): keep the memory bounded
            texts.clear()
        yield out


def _floats(column: pd.Series) -> list[float | None]:
    """A float column as ``num`` gives each value: floats, NaN as None."""
    values = column.to_numpy(dtype=float)
    out = values.tolist()
    for i in np.flatnonzero(np.isnan(values)).tolist():
        out[i] = None
    return out


def _table_evaluation(table, t: pd.Series, rows: dict[str, list[Any]], full: list[dict[str, Any]],
                      rules: RuleSet) -> TableEvaluation:
    """A table's evaluation: its groups and execution score from its columns ``rows`` (``TABLE_COLUMNS``), an
    ``IndicatorScore`` for each of ``full`` (all columns; none when the indicators are written from the frame)."""
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
        for r in full
    ]
    # (weight, score, status) of each weight group, then of each 一级指标 outside the groups (in order of
    # appearance): one pass over the table's columns
    by_group: dict[str, list[tuple]] = {}
    by_level1: dict[str, list[tuple]] = {}
    for level1, group, weight, score, status in zip(*(rows[c] for c in ("level1", "group", "weight", "score", "status"))):
        (by_level1.setdefault(level1, []) if group is None else by_group.setdefault(group, [])).append(
            (weight, score, status))
    named = [(g.label, by_group[g.key]) for g in rules.weights.groups if g.key in by_group]
    groups: dict[str, dict[str, float | None]] = {}
    for label, members in [*named, *by_level1.items()]:
        groups[label] = {"weight": round(sum(w for w, _, _ in members), decimals),
                         "score": round(sum(x for _, x, st in members if st == "ok"), decimals)}
    del by_group, by_level1, named  # (a 一级指标 per row: 200,000 lists, not kept while the model copies the groups)
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
