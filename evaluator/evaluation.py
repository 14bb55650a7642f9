"""The Evaluation of a department: frame → scores → totals → findings, assembled into the model the CLI and reports use."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from itertools import repeat
from typing import Any, Iterator

import numpy as np
import pandas as pd

from .columns import NameCodes, num, records, records_column
from .explain import actual_text, each_distinct, frame_texts
from .findings import ROW_COLUMNS, TABLE_FINDING_COLUMNS, finding_rows, row_findings, table_column_findings
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
    full: dict[str, list[tuple[dict[str, Any], str]]] = defaultdict(list)
    if indicators:
        for r, text in zip(records(scored.scored), frame_texts(scored.scored, rules)):
            full[r["table"]].append((r, text))
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
            ) -> tuple[list[Finding], list[tuple[Any, pd.Series, dict[str, dict[str, float]]]], Scored]:
    """Frame → scores → totals → findings: the findings, each scored table's (targets, totals, groups), the frames.

    Rows are built as dicts with all that ``row_findings`` reads only where it can find something
    (``finding_rows``); the table checks and the groups read columns. ``rows=False`` (``check``): no groups
    (the tables' list is empty)."""
    frame, findings = built if built is not None else indicator_frame(targets, actuals, file)
    findings = list(findings)
    # the 一级指标 factorised once, for the weight groups by name, the tables' groups and their unknown names
    level1 = NameCodes(frame["level1"]) if len(frame) else None
    scored = score_frame(frame, rules, level1)
    totals = table_totals(scored, rules) if len(scored) else pd.DataFrame()
    notes = {t.id: " ".join(filter(None, [c.summary or "" for c in t.cost_notes] + [c.basis or "" for c in t.cost_notes]
                                       + [c.detail or "" for c in t.cost_notes])) for t in targets.tables}
    if len(scored):
        findings += row_findings(records(scored, ROW_COLUMNS, finding_rows(scored, rules)), rules, file, notes)
    sums = _GroupSums(scored, rules, level1) if rows and len(scored) else None
    positions = scored.groupby("table", sort=False).indices if len(scored) else {}
    # (not the 一级指标: the table checks are given the unknown ones, from their codes)
    columns = {c: records_column(scored, c) for c in TABLE_FINDING_COLUMNS if c != "level1"} if len(scored) else {}
    ungrouped = scored["group"].isna().to_numpy() if len(scored) else None
    claimed_total = {t.table: t.claimed_total for t in (actuals.tables if actuals else [])}
    tables = []
    for table in targets.tables:
        if table.id not in positions:
            continue
        t = totals.loc[table.id]
        at = positions[table.id]
        part = columns if len(at) == len(scored) else {c: [v[i] for i in at.tolist()] for c, v in columns.items()}
        findings += table_column_findings(table.id, t, part, rules, file, claimed_total.get(table.id),
                                          _outside_names(level1, at[ungrouped[at]]))
        if sums is not None:
            tables.append((table, t, sums.groups(at)))
    return findings, tables, Scored(frame, scored, totals)


def _outside_names(level1: NameCodes, rows: np.ndarray) -> list[str]:
    """The distinct 一级指标 of ``rows`` (a table's rows outside the weight groups), in order of appearance, a
    missing one as None: from the names' codes, no name hashed again (a table with a 一级指标 per row has 180,000)."""
    if not len(rows):
        return []
    codes, values = level1.found
    found = pd.unique(codes[rows])
    missing = found < 0  # (code -1: a missing name)
    names = values[np.where(missing, 0, found)].tolist() if len(values) else [None] * len(found)
    for i in np.flatnonzero(missing).tolist():
        names[i] = None
    return names


def indicator_dicts(scored: pd.DataFrame, rules: RuleSet, chunk: int = 10_000, block: int = 50_000
                    ) -> Iterator[list[dict[str, Any]]]:
    """The ``indicators`` of the ``--json`` object straight from the scored frame, ``chunk`` rows at a time, in
    the frame's order (the targets' order, as the tables' ``IndicatorScore`` lists give them): the same values
    as ``_table_evaluation`` puts in its models, column by column (the 计算过程 by ``explain.frame_texts``), without
    a model or a call per row. Columns are made ``block`` rows at a time: few values to render again from one
    block to the next, and memory bounded (a 200,000-row table as one block: +60 MB, 10 % less CPU)."""
    from .output import INDICATOR_KEYS

    for start in range(0, len(scored), block):
        part = scored.iloc[start:start + block]
        rows = np.arange(len(part))
        actual = records_column(part, "actual_raw")
        for i in np.flatnonzero(part["cost_fill"].to_numpy(dtype=bool)).tolist():  # (cost rows read the spending)
            actual[i] = actual_text({"cost_fill": True, "a_val": float(part["a_val"].iat[i])})
        weight = records_column(part, "weight")
        weights = each_distinct(rows, [part["weight"].to_numpy(dtype=float)],
                                lambda i: _round_weight(weight[i], rules.rounding.decimals)).tolist()
        method, custom = records_column(part, "method"), records_column(part, "custom_method")
        methods = each_distinct(rows, [np.asarray(method, dtype=object)],
                                lambda i: _method_name({"method": method[i], "custom_method": custom[i]}, rules)).tolist()
        for i in np.flatnonzero(np.asarray(method, dtype=object) == "@custom").tolist():  # (each its own method)
            methods[i] = _method_name({"method": method[i], "custom_method": custom[i]}, rules)
        columns = [records_column(part, "table"), records_column(part, "level1"), records_column(part, "level2"),
                   records_column(part, "level3"), records_column(part, "target_raw"), actual, weights,
                   _floats(part["score"]), records_column(part, "status"), None, methods, frame_texts(part, rules),
                   _floats(part["claimed"]), records_column(part, "deviation_note")]
        for at in range(0, len(part), chunk):
            yield [dict(zip(INDICATOR_KEYS, values))
                   for values in zip(*(repeat(rules.label) if c is None else c[at:at + chunk] for c in columns))]


def _floats(column: pd.Series) -> list[float | None]:
    """A float column as ``num`` gives each value: floats, NaN as None."""
    values = column.to_numpy(dtype=float)
    out = values.tolist()
    for i in np.flatnonzero(np.isnan(values)).tolist():
        out[i] = None
    return out


def _table_evaluation(table, t: pd.Series, groups: dict[str, dict[str, float]], full: list[tuple[dict[str, Any], str]],
                      rules: RuleSet) -> TableEvaluation:
    """A table's evaluation: its groups (``_GroupSums``) and execution score, an ``IndicatorScore`` for each
    of ``full`` (rows of all columns with their 计算过程; none when the indicators are written from the frame)."""
    decimals = rules.rounding.decimals
    indicators = [
        IndicatorScore(
            table=r["table"], position=int(r["position"]), level1=r["level1"], level2=r["level2"], level3=r["level3"],
            group=r["group"], target=r["target_raw"], actual=actual_text(r) if r["cost_fill"] else r["actual_raw"],
            weight=_round_weight(r["weight"], decimals), score=num(r["score"]), status=r["status"],
            method=_method_name(r, rules), rule=rules.label, explanation=text,
            inputs={k: v for k, v in {"target": num(r["t_val"]), "actual": num(r["a_val"]), "unit": r["t_unit"],
                                      "direction": r["direction_used"], "band": r["band_used"]}.items()
                    if v is not None},
            deviation_note=r["deviation_note"], claimed_score=num(r["claimed"]),
        )
        for r, text in full
    ]
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
    plain = set(map(type, groups)) <= {str}  # (else validated as any model: a label that is not a text is refused)
    te = TableEvaluation(table=table.id, title=table.title, kind=table.kind, indicators=indicators,
                         groups={} if plain else groups,
                         execution=execution, total=num(t["total"]), raw_total=num(t["raw_total"]),
                         cap=num(t["cap"]), grade=t["grade"] if isinstance(t["grade"], str) else None, complete=bool(t["complete"]),
                         undetermined=undetermined_reason(t, rules))
    # the groups are put in unvalidated (model_copy's update): ``_GroupSums`` makes them, a text label and two
    # rounded floats each, and a table with a 一级指标 per row has 200,000 — validating them again cost 0.12 s
    return te.model_copy(update={"groups": groups}) if plain else te


class _GroupSums:
    """Each table's weight and score per weight group, then per 一级指标 outside the groups (in order of
    appearance), from the scored frame's columns: the rows sorted by group (stably), each group's values summed
    by Python's ``sum`` in row order — the same floats as a sum over its rows, on any Python (a row that is not
    scored adds 0.0 to the score, which changes no sum) — without a row object, for 10 groups or 200,000."""

    def __init__(self, scored: pd.DataFrame, rules: RuleSet, level1: NameCodes | None = None):
        """``level1``: the scored frame's 一级指标 already factorised (``score_frame`` took them), else here."""
        self.rules = rules
        named = {g.key: i for i, g in enumerate(rules.weights.groups)}
        group = scored["group"].astype("category")  # (the scored frame's groups are a categorical already)
        # each row's weight group as its place in the rule set's list, -1 outside the groups, -2 for a group
        # the rule set does not name
        lookup = np.array([named.get(c, -2) for c in group.cat.categories] + [-1], dtype=np.int64)
        self.named = lookup[group.cat.codes.to_numpy()]
        if level1 is not None:  # (code -1, a missing 一级指标, is the last name: None, as ``records`` gives it)
            codes, values = level1.found
            self.level1 = np.where(codes < 0, len(values), codes)
            self.names = np.append(values, None)
        else:
            self.level1, names = pd.factorize(scored["level1"], use_na_sentinel=False)  # (a missing one too)
            self.names = np.asarray(names, dtype=object)
            self.names[pd.isna(self.names)] = None  # (a missing 一级指标 is named None, as ``records`` gives it)
        self.weight = scored["weight"].to_numpy(dtype=float)
        ok = (scored["status"] == "ok").to_numpy()
        self.score = np.where(ok, scored["score"].to_numpy(dtype=float), 0.0)

    def groups(self, at: np.ndarray) -> dict[str, dict[str, float]]:
        """The groups of the table whose rows are ``at`` (in order)."""
        named = self.rules.weights.groups
        key = self.named[at]
        outside = key == -1  # then by 一级指标, numbered in order of appearance
        key[outside] = len(named) + pd.factorize(self.level1[at[outside]])[0]
        order = np.argsort(key, kind="stable")
        order = order[key[order] >= 0]  # (a group the rule set does not name has no total)
        key, rows = key[order], at[order]
        starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if len(key) else np.zeros(0, dtype=np.int64)
        ends = np.r_[starts[1:], len(key)]
        labels = self.names[self.level1[rows[starts]]]
        inside = np.flatnonzero(key[starts] < len(named))
        labels[inside] = [named[k].label for k in key[starts[inside]].tolist()]
        labels = labels.tolist()
        weight = _sums(self.weight[rows], starts, ends)
        score = _sums(self.score[rows], starts, ends)
        return dict(zip(labels, _pairs(weight, score, self.rules.rounding.decimals)))


def _sums(values: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Python's ``sum`` of each ``values[a:b]`` for runs that cover ``values`` in order (``starts[0] == 0``, each
    run ending where the next starts: the groups of ``_GroupSums``), the same floats on any Python: a run of one or
    two values summed column-wise as ``sum`` adds them (``0 + a``, then ``+ b``; −0.0 alone sums to 0.0 — Python
    3.12's compensated ``sum`` gives the same for two), longer runs by ``sum`` itself. A table with a 一级指标 per
    row has 200,000 groups of one."""
    size = ends - starts
    out = 0.0 + values[starts]  # (0 + a: −0.0 becomes 0.0, as in sum)
    two = np.flatnonzero(size > 1)
    with np.errstate(invalid="ignore", over="ignore"):  # (inf − inf is NaN, as in sum, without a warning)
        out[two] += values[starts[two] + 1]
    long = size > 2
    if long.any():  # (as Python floats: only the values of the longer runs, not 180,000 runs of one)
        listed = (values if long.all() else values[np.repeat(long, size)]).tolist()
        bounds = np.concatenate(([0], np.cumsum(size[long]))).tolist()
        for j, k in enumerate(np.flatnonzero(long).tolist()):
            out[k] = sum(listed[bounds[j]:bounds[j + 1]])
    return out


def _pairs(weight: np.ndarray, score: np.ndarray, decimals: int) -> list[dict[str, float]]:
    """Each group's ``{"weight": round(w, decimals), "score": round(s, decimals)}`` — Python's correctly rounded
    ``round``, which numpy's does not reproduce — rounded once per distinct sum and made once per distinct pair
    (told apart by their bits: −0.0 is not 0.0), the dict shared by the groups that have that pair: they are
    only read (a table with a 一级指标 per row has 180,000 groups, nearly all 0 of 0)."""
    w_codes, w_values = pd.factorize(weight.view(np.int64))
    s_codes, s_values = pd.factorize(score.view(np.int64))
    n = max(len(s_values), 1)
    codes, pairs = pd.factorize(w_codes.astype(np.int64) * n + s_codes)
    w_rounded = [round(x, decimals) for x in w_values.view(np.float64).tolist()]
    s_rounded = [round(x, decimals) for x in s_values.view(np.float64).tolist()]
    shared = np.empty(len(pairs), dtype=object)
    shared[:] = [{"weight": w_rounded[p // n], "score": s_rounded[p % n]} for p in pairs.tolist()]
    return shared[codes].tolist()


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
