"""Explanations: the trace of a scored row rendered as the sentence a clerk checks
("实际 4次 ÷ 目标 5次 × 分值 8.34 = 6.67"); only for rows that are shown or written."""
from __future__ import annotations

from typing import Any

from .errors import Code
from .model import Band
from .rules import RuleSet, fmt

__all__ = ["row_text", "actual_text", "method_label"]


def row_text(r: dict[str, Any], rules: RuleSet) -> str:
    status, reason = r["status"], r["reason"]
    if status == "na":
        return "不适用，不计分" + ("；其分值按适用指标折算" if rules.not_applicable == "rescale" else "")
    if status == "error":
        return {
            Code.UNREADABLE_TARGET.value: f"无法计分：{r['t_problem'] or '年度指标值无法识别'}",
            Code.MISSING_ACTUAL.value: "无法计分：缺少实际完成值（空白不按 0 分处理）",
            Code.UNREADABLE_ACTUAL.value: f"无法计分：{r['a_problem'] or '实际完成值与指标类型不符'}",
            Code.UNIT_MISMATCH.value: f"无法计分：实际完成值单位“{r['a_unit'] or ''}”与目标单位“{r['t_unit'] or ''}”不一致",
            Code.RATE_NEEDS_BASE.value: "无法计分：目标为人均/每单位指标，需提供计量基数（如界别数）才能与总数比较",
        }.get(reason, "无法计分")
    decimals = rules.rounding.decimals
    ctx = {
        "t": r["t_val"], "a": r["a_val"], "fraction": r["fraction"],
        "t_text": _value_text(r["t_val"], r) if r["t_val"] == r["t_val"] else (r["target_raw"] or "（空）"),
        "a_text": _value_text(r["a_val"], r) if r["method"] not in ("qualitative", "deadline") and r["a_val"] == r["a_val"]
        else actual_text(r),
        "w_text": fmt(r["weight"], decimals),
        "raw_text": f"{r['score']:.{decimals}f}", "tol_text": fmt(r["tol"]),
        "band": Band(r["band_used"]) if r.get("band_used") else None, "judged": bool(r["judged_used"]),
    }
    m = r["method"]
    if m == "missing-zero":
        text = "缺少实际完成值，按规则集设定计 0 分"
    elif m == "na-full":
        text = f"不适用，按规则集设定计满分 {ctx['w_text']}"
    elif m == "qualitative":
        text = rules.scoring.qualitative.explain(ctx)
    elif m == "deadline":
        text = rules.scoring.deadline.explain(ctx)
    elif m == "@custom":
        text = r["custom_method"].explain(ctx)
    else:
        text = (rules.scoring.band if m == "@band" else getattr(rules.scoring, m[1:])).explain(ctx)
    notes = []
    if r["over"]:
        notes.append(f"超额完成（≥{fmt(rules.over_achievement.threshold * 100)}%）扣 {fmt(rules.over_achievement.deduction)} 分")
    if r["cost_fill"]:
        notes.append("成本指标以全年执行数作为实际值")
    if r["as_fraction"]:
        notes.append("实际值按百分比读取")
    if r["negative"]:
        notes.append("实际值为负数，按 0 计")
    return text + ("（" + "；".join(notes) + "）" if notes else "")


def _value_text(value: float, r: dict[str, Any]) -> str:
    """A scored number in the target's own terms: 528.244101万, 5次, 3.64次/界别."""
    scale = r["t_scale"] or 1.0
    word = {1e4: "万", 1e8: "亿"}.get(scale, "")
    unit = r["t_unit"] or ""
    per = "/" + r["t_per"] if r.get("t_per") else ""
    text = f"{fmt(value / scale, 6)}{word}{unit}{per}"
    if r.get("rate_base_used") == r.get("rate_base_used") and r.get("rate_base_used") and value == r["a_val"]:
        text = f"{r['actual_raw']} ÷ 计量基数 {fmt(r['rate_base_used'])} = {value:.2f}{unit}{per}"
    return text


def actual_text(r: dict[str, Any]) -> str:
    if r["cost_fill"]:
        return f"{fmt(r['a_val'] / 1e4)}万元"
    raw = r["actual_raw"]
    if raw is None or raw == "":
        return "（空）"
    return str(raw)


def method_label(r: dict[str, Any]) -> str:
    spec = r.get("scoring") or {}
    if spec.get("method") == "step-deduction":
        return f"目标 {fmt(r['t_val'])}，每偏离 {fmt(spec['step'])} 扣 {fmt(spec['points'])} 分，扣完为止"
    if spec.get("method") == "value-bands":
        return "按实际值所在区间计分：" + "；".join(f"≤{fmt(b['max'])} 计 {fmt(b['points'])} 分" for b in spec["bands"])
    return str(spec.get("method", ""))
