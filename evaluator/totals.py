"""Table totals: per table the indicator sum, execution rate and score, cap, total and grade — vectorised over tables."""
from __future__ import annotations

import numpy as np
import pandas as pd

from .columns import factorize_runs, floats, objects
from .rules import RuleSet

__all__ = ["table_totals", "undetermined_reason"]


def table_totals(scored: pd.DataFrame, rules: RuleSet) -> pd.DataFrame:
    """Per table: indicator sum, execution rate and score, cap, total and grade — vectorised over tables."""
    codes, names = _table_codes(scored["table"])
    n_tables = len(names)
    score = scored["score"].to_numpy(dtype=float)
    status = scored["status"]
    applicable = (status != "na").to_numpy()
    given = floats(scored["weight_given"]) if "weight_given" in scored else np.full(len(scored), np.nan)
    gives = (np.bincount(codes, weights=~np.isnan(given), minlength=n_tables) > 0)[codes]  # the table gives 分值
    t = pd.DataFrame({
        "indicator_score": np.bincount(codes, weights=np.nan_to_num(score), minlength=n_tables),
        "weight": np.bincount(codes, weights=scored["weight"].to_numpy(dtype=float), minlength=n_tables),
        "errors": np.bincount(codes, weights=(status == "error").to_numpy(), minlength=n_tables).astype(np.int64),
        # 分值 left blank in a table that gives them (counted as 0): the weights are incomplete
        "weights_missing": np.bincount(codes, weights=gives & np.isnan(given) & applicable, minlength=n_tables
                                       ).astype(np.int64),
        "budget": _first_number(scored["budget"], codes, n_tables),
        "spent": _first_number(scored["spent"], codes, n_tables),
    }, index=pd.Index(names, name="table"))
    budget, spent = t["budget"].to_numpy(), t["spent"].to_numpy()
    ex = rules.execution
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        rate = np.where(budget > 0, spent / np.where(budget > 0, budget, 1), np.where(budget == 0, 1.0, np.nan))
    rate_c = np.minimum(rate, ex.cap_rate)
    w = rules.weights.execution
    if ex.method == "proportional":
        ex_score = np.minimum(rate_c, 1.0) * w
    else:
        steps = np.ceil(np.clip(1 - rate_c, 0, None) * 100 / ex.step - 1e-9)
        ex_score = np.clip(w - steps * ex.points, 0, w)
    ex_score = rules.rounding.apply(ex_score)
    t["rate"] = rate
    t["execution_score"] = ex_score
    raw_total = rules.rounding.apply(t["indicator_score"].to_numpy(dtype=float) + np.nan_to_num(ex_score))
    cap = np.full(len(t), np.nan)
    for c in sorted(ex.total_caps, key=lambda c: -c.below):
        cap = np.where(rate < c.below - 1e-12, c.cap, cap)
    total = np.where(~np.isnan(cap), np.minimum(raw_total, cap), raw_total)
    # a total is a grade only over the whole 100 points: weights that do not add up (574 分) are no total
    weights_total = t["weight"].to_numpy(dtype=float) + w
    weights_ok = (np.abs(weights_total - 100) <= rules.weights.tolerance + 1e-6) & (t["weights_missing"].to_numpy() == 0)
    t["weights_total"] = weights_total
    t["weights_ok"] = weights_ok
    complete = (t["errors"].to_numpy() == 0) & ~np.isnan(ex_score) & weights_ok
    t["raw_total"] = raw_total
    t["cap"] = cap
    t["total"] = np.where(complete, total, np.nan)
    t["complete"] = complete
    tot = t["total"].to_numpy(dtype=float)
    t["grade"] = np.select([tot >= g.min - 1e-9 for g in rules.grades], [g.grade for g in rules.grades],
                           default=rules.grades[-1].grade).astype(object)
    t["grade"] = t["grade"].where(~np.isnan(tot), None)
    return t


def _table_codes(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Codes and ids of the tables, in order of first appearance."""
    if not isinstance(column.dtype, pd.CategoricalDtype):
        return factorize_runs(objects(column), keep_missing=True)
    codes = column.cat.codes.to_numpy()
    names = column.cat.categories.to_numpy(dtype=object)
    if len(codes) and codes[0] == 0:  # as score_frame returns it: every id used, numbered in order of appearance
        seen = np.maximum.accumulate(codes)
        if seen[-1] == len(names) - 1 and (codes[1:] <= seen[:-1] + 1).all():
            return codes, names
    first = np.full(len(names), len(codes))
    np.minimum.at(first, codes, np.arange(len(codes)))
    present = np.flatnonzero(first < len(codes))  # (a filtered frame keeps ids it no longer has)
    present = present[np.argsort(first[present], kind="stable")]
    remap = np.full(len(names), -1)
    remap[present] = np.arange(len(present))
    return remap[codes], names[present]


def _first_number(column: pd.Series, codes: np.ndarray, n: int) -> np.ndarray:
    """Each group's first number in ``column`` (NaN when it has none)."""
    values = floats(column)
    # the usual case: the value is on every row of its table, so each group's first row has it
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]]) if len(codes) else codes
    if len(starts) == n and (codes[starts] == np.arange(n)).all() and not np.isnan(values[starts]).any():
        return values[starts]
    rows = np.flatnonzero(~np.isnan(values))
    first = np.full(n, len(values))
    np.minimum.at(first, codes[rows], rows)
    return np.append(values, np.nan)[first]  # a group without a number points past the end: NaN


def undetermined_reason(t: pd.Series | dict, rules: RuleSet) -> str | None:
    """Why a table's total is no grade (无法确定), in Chinese; None when it is one. ``t`` is a ``table_totals`` row."""
    from .rules import fmt

    if t["complete"]:
        return None
    why = []
    if t["errors"]:
        why.append(f"{int(t['errors'])} 项指标无法计分")
    if t["execution_score"] != t["execution_score"]:  # NaN
        why.append("缺少全年预算数或全年执行数")
    if t["weights_missing"]:
        why.append(f"{int(t['weights_missing'])} 项指标未填分值")
    if abs(t["weights_total"] - 100) > rules.weights.tolerance + 1e-6:
        why.append(f"分值合计 {fmt(t['weights_total'])}（含预算执行率 {fmt(rules.weights.execution)}），不等于 100")
    return "；".join(why) or None
