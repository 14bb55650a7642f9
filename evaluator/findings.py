"""Findings of a scored department: per row (missing 偏差原因, claimed ≠ rule, target quality …) and per table
(weights, budget, caps, claimed totals), each located in the file that holds the offending cell."""
from __future__ import annotations

import heapq
from typing import Any, Callable, NamedTuple

import numpy as np
import pandas as pd

from .columns import NameCodes, num
from .errors import Code
from .explain import method_label, row_text
from .frame import Files
from .model import Band, BAND_LABEL, Finding, Location, Severity
from .rules import RuleSet, fmt

__all__ = ["row_findings", "table_column_findings", "finding_rows", "finding_row", "FindingRow", "ROW_COLUMNS",
           "TABLE_FINDING_COLUMNS"]

# the columns of a scored row that row_findings (with row_text and method_label) reads, and those table_column_findings
# and the table's group totals read: rows are built with these alone (a 200,000-row table as 57-column dicts was
# a second copy of the frame)
ROW_COLUMNS = ["table", "position", "row", "level1", "level2", "level3", "target_raw", "actual_raw", "deviation_note",
               "scoring", "judged_score", "claimed", "weight", "score", "status", "reason", "method", "custom_method",
               "fraction", "tol", "t_kind", "t_cmp", "t_val", "a_val", "t_unit", "a_unit", "t_problem", "a_problem",
               "t_scale", "t_per", "rate_base_used", "band_used", "judged_used", "judged_outside", "target_from_rule",
               "target_from_name", "word_for_number", "qual_assumed", "cost_fill", "as_fraction", "negative", "over"]


_TARGET_COLUMNS = {"年度指标值", "分值", "度量单位"}


def _finding(code: Code, sev: Severity, r: dict[str, Any], message: str, files: "Files", column: str | None = None
             ) -> Finding:
    """A finding on one indicator, located in the file that holds the offending cell."""
    # validated: pydantic-core checks these few typed fields faster than ``model_construct`` copies them in
    # Python (25,000 findings: 0.07 s against 0.12 s)
    return Finding(code=code.value, severity=sev, message=message, location=Location(**_where(r, files, column)))


class FindingRow(NamedTuple):
    """A finding as the store keeps it (``bureau.score_items``): a ``Finding``'s fields, its location as the dict
    ``location.model_dump(exclude_none=True)`` gives — a batch's 83,000 findings without two models each."""

    code: str
    severity: Severity
    message: str
    location: dict[str, Any]


def finding_row(code: Code, sev: Severity, r: dict[str, Any], message: str, files: "Files", column: str | None = None
                ) -> FindingRow:
    """``_finding`` as a ``FindingRow``."""
    return FindingRow(code.value, sev, message, {k: v for k, v in _where(r, files, column).items() if v is not None})


def _where(r: dict[str, Any], files: "Files", column: str | None) -> dict[str, Any]:
    """The location of a finding on an indicator: the file that holds the offending cell, the row's place."""
    row = r.get("row")
    return {"file": files.targets if column in _TARGET_COLUMNS else files.actuals, "table": r["table"],
            "row": int(row) if row == row and row else None, "item": int(r["position"]) + 1, "column": column,
            "indicator": r["level3"]}


def finding_rows(scored: pd.DataFrame, rules: RuleSet) -> np.ndarray:
    """The rows ``row_findings`` can give a finding for (a superset: it decides): only these need building as
    rows, and in a large clean table they are few. Each test mirrors one of its conditions — the shortfall and
    the claimed score as it tests them (a note left blank; a difference beyond the tolerance), so that a province
    whose units fill every 偏差原因 and 自评得分 builds no row for them."""
    def col(name: str) -> np.ndarray:
        return scored[name].to_numpy(dtype=bool)

    status = scored["status"]
    ok, error = (status == "ok").to_numpy(), (status == "error").to_numpy()
    score, weight = scored["score"].to_numpy(dtype=float), scored["weight"].to_numpy(dtype=float)
    claimed = scored["claimed"].to_numpy(dtype=float)  # (None → NaN: never beyond the tolerance)
    with np.errstate(invalid="ignore"):
        short = ok & (score < weight - 1e-9)
        mismatch = ok & (np.abs(claimed - score) > rules.claimed_tolerance + 1e-9)
    if short.any():  # (a shortfall is found only when its note is missing or blank)
        at = np.flatnonzero(short)
        notes = scored["deviation_note"].to_numpy(dtype=object)[at].tolist()
        short[at] = [not isinstance(v, str) or not v.strip() for v in notes]
    level2 = NameCodes(scored["level2"])
    cost, quantity = level2.contains_any(("成本",)), level2.contains_any(("数量",))
    kind, cmp_ = scored["t_kind"], scored["t_cmp"]
    quality = (cost & (kind.isin(["qualitative", "blank"]) | cmp_.isin(["ge", "gt"])).to_numpy()) \
        | (quantity & cmp_.isin(["le", "lt"]).to_numpy())
    return (error | col("target_from_rule") | col("target_from_name") | (kind == "blank").to_numpy()
            | (ok & (col("word_for_number") | col("qual_assumed") | col("cost_fill"))) | mismatch
            | col("judged_outside") | col("negative") | col("over") | short | quality)


def row_findings(rows: list[dict[str, Any]], rules: RuleSet, file: Files, notes: dict[str, str],
                 make: Callable[..., Any] = _finding) -> list[Any]:
    """The findings on the indicators ``rows``, each made by ``make`` (``_finding``: a ``Finding``; ``finding_row``:
    a ``FindingRow``), in the rows' order."""
    out: list[Any] = []
    tol = rules.claimed_tolerance
    for r in rows:
        st, reason = r["status"], r["reason"]
        if st == "error":
            msg = row_text(r, rules).removeprefix("无法计分：")
            column = "年度指标值" if reason == Code.UNREADABLE_TARGET.value else "实际完成值"
            action = {
                Code.MISSING_ACTUAL.value: "请填写实际完成值；确实不适用的填“无”",
                Code.UNREADABLE_TARGET.value: "请按“≥5次”“100%”“2023年底”等格式改写年度指标值",
                Code.UNREADABLE_ACTUAL.value: "请填写数值（可带单位）、完成日期或达成情况",
                Code.UNIT_MISMATCH.value: "请统一计量单位",
                Code.RATE_NEEDS_BASE.value: "请在实际完成值中按同样的“每…”口径填写，或提供计量基数（rate_base）",
            }.get(reason, "")
            out.append(make(Code(reason), Severity.ERROR, r, f"{msg}。{action}", file, column))
        if r["target_from_rule"]:
            out.append(make(Code.TARGET_FROM_RULE, Severity.INFO, r,
                                f"年度指标值是评分标准的文字，已按其规则计分（{method_label(r)}）", file, "年度指标值"))
        if r["target_from_name"]:
            out.append(make(Code.TARGET_FROM_NAME, Severity.INFO, r,
                                "年度指标值为空，已从指标名称中读取目标值；建议在年度指标值列中填写", file, "年度指标值"))
        if r["t_kind"] == "blank":
            out.append(make(Code.BLANK_TARGET, Severity.WARNING, r,
                                "年度指标值为空：按指标名称作为定性目标评判；建议补充可衡量的指标值", file, "年度指标值"))
        if st == "ok" and r["word_for_number"]:
            out.append(make(Code.WORD_ACTUAL, Severity.WARNING, r,
                                f"定量指标的实际完成值为文字“{r['actual_raw']}”，按定性档次计分；建议填写具体数值", file, "实际完成值"))
        elif st == "ok" and r["qual_assumed"]:
            out.append(make(Code.QUALITATIVE_ASSUMED, Severity.INFO, r,
                                f"实际完成值“{r['actual_raw']}”未表明档次，按“达成”计分；如需调整请填写评判档次或评判得分",
                                file, "实际完成值"))
        if st == "ok" and r["cost_fill"]:
            out.append(make(Code.COST_FROM_SPENT, Severity.INFO, r,
                                "成本指标未填实际值，已用本表全年执行数比较", file, "实际完成值"))
        if r["judged_outside"]:
            band = BAND_LABEL[Band(r["band_used"])]
            out.append(make(Code.JUDGED_OUT_OF_BAND, Severity.WARNING, r,
                                f"评判得分 {fmt(r['judged_score'])} 不在“{band}”档次的分值范围内，已按档次边界计 {fmt(r['score'])}",
                                file, "评判得分"))
        if r["negative"]:
            out.append(make(Code.NEGATIVE_ACTUAL, Severity.WARNING, r, "实际完成值为负数，按 0 计", file, "实际完成值"))
        if r["over"]:
            out.append(make(Code.OVER_ACHIEVEMENT, Severity.WARNING, r,
                                f"实际完成值达到目标的 {fmt(rules.over_achievement.threshold * 100)}% 以上，按规则扣分；"
                                "请说明指标值是否设定偏低", file, "实际完成值"))
        if st == "ok" and r["score"] < r["weight"] - 1e-9 and not (r["deviation_note"] or "").strip():
            out.append(make(Code.MISSING_DEVIATION_NOTE, Severity.WARNING, r,
                                f"得分 {fmt(r['score'])} 低于分值 {fmt(r['weight'])}，须填写偏差原因分析及改进措施", file,
                                "偏差原因分析及改进措施"))
        claimed = r["claimed"]
        if claimed is not None and not (isinstance(claimed, float) and np.isnan(claimed)) and st == "ok" \
                and abs(float(claimed) - r["score"]) > tol + 1e-9:
            out.append(make(Code.CLAIMED_SCORE_MISMATCH, Severity.WARNING, r,
                                f"自评得分 {fmt(float(claimed))} 与按规则计算的 {fmt(r['score'])} 不一致；"
                                f"{row_text(r, rules)}", file, "得分"))
        # target quality
        level2, cmp_ = r["level2"] or "", r["t_cmp"]
        if "成本" in level2 and (r["t_kind"] in ("qualitative", "blank") or cmp_ in ("ge", "gt")):
            out.append(make(Code.COST_WITHOUT_CEILING, Severity.WARNING, r,
                                "成本指标没有可比较的上限（应写成“≤X万元”）", file, "年度指标值"))
        if "数量" in level2 and cmp_ in ("le", "lt"):
            contradiction = _notes_contradiction(r, notes.get(r["table"], ""))
            if contradiction:
                out.append(make(Code.TARGET_CONTRADICTS_NOTES, Severity.WARNING, r,
                                    f"数量指标写作“{r['target_raw']}”（上限），而本表测算说明写“{contradiction}”（下限）；"
                                    "请核对指标性质", file, "年度指标值"))
            else:
                out.append(make(Code.QUANTITY_CEILING, Severity.INFO, r,
                                    f"数量指标写作“{r['target_raw']}”（上限），数量指标通常为“≥”；请核对", file, "年度指标值"))
    return out


def _notes_contradiction(r: dict[str, Any], notes: str) -> str | None:
    """Does the table's 测算说明 state a floor (不少于/不低于/≥ N) for an indicator whose target is a ceiling?"""
    import re

    if not notes:
        return None
    name = str(r["level3"])
    keys = {name, name[:2], name[-2:]} if len(name) >= 2 else {name}
    for key in sorted(keys, key=len, reverse=True):
        m = re.search(re.escape(key) + r"[^，。；,;]{0,6}?(不少于|不低于|至少|≥)\s*(\d+(?:\.\d+)?)\s*([\u4e00-\u9fff%]?)", notes)
        if m and abs(float(m.group(2)) - (r["t_val"] or 0)) < 1e-9:
            return m.group(0)
    return None


# what table_column_findings reads of each row
TABLE_FINDING_COLUMNS = ["table", "position", "row", "level1", "level3", "group", "weight_given", "status"]


def table_column_findings(table_id: str, t: pd.Series, columns: dict[str, list[Any]], rules: RuleSet, file: Files,
                          claimed_total: float | None, unknown: list[str] | None = None) -> list[Finding]:
    """The findings on a table as a whole (weights, groups, budget, caps, claimed total), from its rows given as
    columns (``TABLE_FINDING_COLUMNS``, missing values None): taken straight from the scored frame, without a row
    object per indicator. A table is a few dozen rows and most have no finding: plain lists, and each location
    made when a finding needs it (``batch`` checks 33,000 tables). ``unknown``: the distinct 一级指标 of the rows
    outside the weight groups, when the caller has them (from the names' codes: a table with a 一级指标 per row has
    180,000)."""
    out: list[Finding] = []
    status, weight_given, group = columns["status"], columns["weight_given"], columns["group"]
    given = [float(w) for w in weight_given if not _missing(w)]
    if given:
        for i, (w, st) in enumerate(zip(weight_given, status)):
            if _missing(w) and st != "na":
                r = {c: columns[c][i] for c in ("table", "position", "row", "level3")}
                out.append(_finding(Code.MISSING_WEIGHT, Severity.ERROR, r,
                                    "本表其他指标填写了分值，此指标分值为空，按 0 分计；请补填分值", file, "分值"))
        total_w = sum(given) + rules.weights.execution
        if abs(total_w - 100) > rules.weights.tolerance:
            out.append(Finding(code=Code.WEIGHTS_NOT_100, severity=Severity.ERROR, location=_table_at(file, table_id),
                               message=f"指标分值合计 {fmt(sum(given))} + 预算执行率 {fmt(rules.weights.execution)} = "
                                       f"{fmt(total_w)}，不等于 100；请核对分值"))
    else:
        if rules.not_applicable == "rescale":
            present = {g for g, st in zip(group, status) if st != "na"}
            absent = [g for g in rules.weights.groups if g.key not in present]
            if absent and present - {None}:
                names = "、".join(f"“{g.label}”（{fmt(g.weight)} 分）" for g in absent)
                out.append(Finding(code=Code.GROUP_RESCALED, severity=Severity.INFO, location=_table_at(file, table_id),
                                   message=f"本表没有适用的{names}类指标，其分值按比例分配给其他一级指标"))
        if unknown is None:
            unknown = {name for name, g in zip(columns["level1"], group) if _missing(g)}
        if unknown:
            out.append(Finding(code=Code.UNKNOWN_GROUP, severity=Severity.ERROR, location=_table_at(file, table_id),
                               message=f"一级指标{_quoted(unknown)}不在规则集 {rules.label} 的权重分组内，且表中没有分值，"
                                       "无法分配分值；请填写分值或选用相应规则集"))
    if num(t["rate"]) is None:
        out.append(Finding(code=Code.MISSING_BUDGET, severity=Severity.ERROR, location=_budget_at(file, table_id),
                           message="缺少全年预算数或全年执行数，预算执行率无法计分；请填写全年预算数和全年执行数（自评填报表的“预算执行”"
                                   "工作表、自评表的预算执行情况栏或实际完成值文件的 budget；自评表也可用 --budget/--spent 给出）"))
    elif rules.execution.reason_below and t["rate"] < rules.execution.reason_below:
        out.append(Finding(code=Code.LOW_EXECUTION, severity=Severity.WARNING, location=_budget_at(file, table_id),
                           message=f"预算执行率 {t['rate'] * 100:.2f}% 低于 {rules.execution.reason_below * 100:.0f}%，须说明原因"))
    if num(t["cap"]) is not None and t["raw_total"] > t["cap"]:
        out.append(Finding(code=Code.TOTAL_CAPPED, severity=Severity.INFO, location=_table_at(file, table_id),
                           message=f"预算执行率 {t['rate'] * 100:.2f}%，总分由 {fmt(t['raw_total'])} 封顶为 {fmt(t['cap'])}"))
    if claimed_total is not None and num(t["total"]) is not None and abs(claimed_total - t["total"]) > rules.claimed_tolerance:
        out.append(Finding(code=Code.CLAIMED_TOTAL_MISMATCH, severity=Severity.WARNING,
                           location=_budget_at(file, table_id, "自评得分"),
                           message=f"自评总分 {fmt(claimed_total)} 与按规则计算的 {fmt(t['total'])} 不一致"))
    return out


def _missing(value: Any) -> bool:
    """A missing value of a ``records_column`` list: None, or NaN in a column of numbers."""
    return value is None or value != value


def _table_at(file: Files, table_id: str) -> Location:
    """Where a finding on a table's targets as a whole points."""
    return Location(file=file.targets, table=table_id)


def _budget_at(file: Files, table_id: str, column: str = "budget") -> Location:
    """Where a finding on a table's budget (or its claimed total) points."""
    return Location(file=file.actuals, table=table_id, column=column)


def _quoted(names: set[str] | list[str], most: int = 5) -> str:
    """“a、b” — the first ``most`` names in sort order, then how many in all: a message stays one line however many
    rows there are (and a name per row is not sorted whole)."""
    shown = f"“{'、'.join(heapq.nsmallest(most, names))}”"
    return shown + (f"等 {len(names)} 个" if len(names) > most else "")
