"""A rule set as readable Chinese tables (`evaluator rules NAME`): what it scores and how, with its sources.

Compute, then structure, then render: ``describe_rules`` turns a validated ``RuleSet`` into titled tables of
plain strings; the CLI lays them out (rich), and any other face can do the same.
"""
from __future__ import annotations

from typing import Any

from .model import BAND_LABEL
from .rules import METHODS, RuleSet, fmt

__all__ = ["describe_rules"]

TAG = {"C": "已核对原文", "S": "二手或地方转述", "U": "通行做法，原文未核对（按可配置默认实现）"}
KIND = (("higher", "正向指标（≥、＞、未写符号）"), ("lower", "反向指标（≤、＜、成本、控制率等）"), ("equal", "等于（=）"),
        ("band", "区间（±）"), ("deadline", "时效（期限）"), ("qualitative", "定性"))
PARAMS = {  # method parameter → how a clerk says it
    "late_fraction": ("逾期得分比例", lambda v: f"{fmt(v * 100)}%"),
    "per_month": ("每逾期一月扣减比例", lambda v: f"{fmt(v * 100)}%"),
    "step": ("扣分步长", lambda v: fmt(v)), "points": ("每步扣分", lambda v: f"{fmt(v)} 分"),
    "basis": ("步长基准", lambda v: {"percent-of-target": "目标值的百分比", "absolute": "绝对值"}.get(v, v)),
    "count": ("不足一步", lambda v: {"ceil": "按一步计", "floor": "不计"}.get(v, v)),
    "unknown_phrase": ("无法识别的定性表述", lambda v: {"achieved": "按达成计", "error": "报错不计分"}.get(v, v)),
    "outer": ("区间外分档", lambda v: "；".join(f"{fmt(s['within'])} 倍容差内得 {fmt(s['fraction'] * 100)}%" for s in v)
              or "无"),
    "bands": ("分档", lambda v: "；".join(f"完成 {fmt(b['min_ratio'] * 100)}% 及以上得 {fmt(b['fraction'] * 100)}%"
                                       for b in v) if isinstance(v, list) else ""),
}


def _method_row(label: str, m: Any) -> list[str]:
    params = {k: v for k, v in m.model_dump(mode="json").items() if k != "method"}
    details = []
    if m.method == "qualitative":
        details.append("；".join(f"{BAND_LABEL[b]} {fmt(s.range[0])}–{fmt(s.range[1])}%（默认 {fmt(s.default)}%）"
                                for b, s in m.bands.items()))
        params.pop("bands", None)
    for key, value in params.items():
        name, show = PARAMS.get(key, (key, lambda v: str(v)))
        try:
            details.append(f"{name}：{show(value)}")
        except (TypeError, KeyError):
            details.append(f"{name}：{value}")
    return [label, METHODS[m.method].label, "；".join(d for d in details if d) or "—"]


def describe_rules(rs: RuleSet) -> list[tuple[str, list[str], list[list[str]]]]:
    """The rule set as (title, header, rows) tables, every word in Chinese."""
    tables: list[tuple[str, list[str], list[list[str]]]] = []
    tables.append(("规则集", ["项目", "内容"], [
        ["编号", rs.id], ["版本", rs.version], ["名称", rs.title],
        *([["说明", " ".join(rs.description.split())]] if rs.description else []),
        *([["继承", rs.extends]] if getattr(rs, "extends", None) else []),
    ]))
    tables.append(("依据", ["文件", "可靠程度", "说明"],
                   [[s.title + (f"（{s.url}）" if s.url else ""), TAG.get(s.tag, s.tag), s.note or ""] for s in rs.sources]))
    w = rs.weights
    rows = []
    for g in w.groups:
        match = "一级指标含“" + "”“".join(g.match_level1) + "”"
        if g.match_level2:
            match += "；二级指标含“" + "”“".join(g.match_level2) + "”的也归入此组"
        rows.append([g.label, fmt(g.weight), match])
    rows.append(["预算执行率", fmt(w.execution), "全年执行数 ÷ 全年预算数"])
    split = "一级指标分值平均分配到各三级指标" if w.split == "even" else "先平均分到二级指标，再平均分到三级指标"
    tables.append((f"权重（合计 {fmt(sum(g.weight for g in w.groups) + w.execution)} 分；目标表未写分值时{split}）",
                   ["一级指标", "分值", "归入规则"], rows))
    tables.append(("计分方法", ["指标类型", "方法", "参数"], [_method_row(label, getattr(rs.scoring, key)) for key, label in KIND]))
    ex, oa = rs.execution, rs.over_achievement
    other = [
        ["预算执行率得分", "执行率 × 分值（执行率最高按 " + fmt(ex.cap_rate * 100) + "% 计）" if ex.method == "proportional" else
         f"执行率 100% 得满分，每低 {fmt(ex.step)} 个百分点扣 {fmt(ex.points)} 分"],
        ["须说明原因", f"执行率低于 {fmt(ex.reason_below * 100)}% 时须填写原因" if ex.reason_below else "—"],
        *[["总分封顶", f"执行率低于 {fmt(c.below * 100)}% 时总分不超过 {fmt(c.cap)} 分"] for c in ex.total_caps],
        ["超额完成", f"达到指标值 {fmt(oa.threshold * 100)}% 及以上扣 {fmt(oa.deduction)} 分" if oa.enabled else "不加分，不扣分"],
        ["不适用指标", "不计入，其余指标分值按比例折算" if rs.not_applicable == "rescale" else "计满分"],
        ["缺少实际完成值", "报错，不计分（不按 0 分处理）" if rs.missing_actual == "error" else "计 0 分并提示"],
        ["成本指标未填实际值", "以全年执行数比较" if rs.cost_from_spent else "报错，不计分"],
        ["取整", f"保留 {rs.rounding.decimals} 位小数（" + {"half-up": "四舍五入", "half-even": "四舍六入五成双",
                                                        "floor": "向下取整", "ceil": "向上取整"}[rs.rounding.mode] + "）"],
    ]
    tables.append(("其他规则", ["项目", "规则"], other))
    grades = sorted(rs.grades, key=lambda g: -g.min)
    rows = []
    for k, g in enumerate(grades):
        upper = f"＜ {fmt(grades[k - 1].min)}" if k else "≤ 100"
        rows.append([g.grade, f"≥ {fmt(g.min)} 且 {upper}" if g.min > 0 else f"{upper}"])
    tables.append(("评价等级", ["等级", "总分"], rows))
    return tables
