"""A realistic synthetic province for demos, tests and benchmarks: ``evaluator synth``.

Each department gets a 部门整体 table and project tables whose indicators use the 指标值 formats seen in real
tables, year-end actuals with realistic shortfalls, some units that inflate their self-evaluation (full claimed
scores, 达成 with no description, little money spent), some rows that are broken, and a few files that cannot be
read at all. The same seed gives the same province.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .output import write_atomic

__all__ = ["synth_province"]

DEPARTMENT_KINDS = [
    ("教育局", ["学生资助", "校舍维修", "教师培训", "营养改善计划", "课后服务"]),
    ("卫生健康局", ["基本公共卫生服务", "家庭医生签约", "疫苗接种", "健康教育", "妇幼保健"]),
    ("水利局", ["水旱灾害防御", "农村饮水安全", "河道整治", "灌区节水改造", "水土保持"]),
    ("农业农村局", ["高标准农田建设", "耕地地力保护", "农技推广", "动物防疫", "农村人居环境整治"]),
    ("民政局", ["城乡低保", "特困人员供养", "养老服务", "残疾人两项补贴", "社区治理"]),
    ("文化旅游局", ["公共文化服务", "文物保护", "全民健身", "图书馆运行", "非遗保护"]),
    ("住房城乡建设局", ["老旧小区改造", "城市道路维护", "燃气安全", "园林绿化", "保障性住房"]),
    ("人力资源社会保障局", ["就业补助", "职业技能培训", "创业担保贷款贴息", "劳动保障监察", "人才引进"]),
    ("生态环境局", ["大气污染防治", "水污染防治", "环境监测", "固废处置", "生态保护修复"]),
    ("街道办事处", ["社区服务", "网格化管理", "环境卫生", "综治维稳", "便民服务"]),
    ("政协", ["业务性专项经费", "委员界别活动", "提案办理", "专题调研", "文史编辑"]),
]
PLACES = ["东城", "西城", "南湖", "北山", "清河", "石峰", "荷塘", "芦淞", "天元", "渌口", "攸县", "茶陵", "炎陵", "醴陵"]

# (一级, 二级, name, target pattern, kind, base)
INDICATORS = [
    ("产出指标", "数量指标", "{p}覆盖人数", "≥{v}人", "count", 2000),
    ("产出指标", "数量指标", "{p}服务人次", "≧{v}人次", "count", 800),
    ("产出指标", "数量指标", "开展{p}活动", "{v}次", "count", 12),
    ("产出指标", "数量指标", "完成{p}项目", "≥{v}个", "count", 5),
    ("产出指标", "数量指标", "{p}培训", "不少于{v}场", "count", 6),
    ("产出指标", "质量指标", "{p}验收合格率", "≥{v}%", "pct", 95),
    ("产出指标", "质量指标", "{p}达标率", "═100%", "pct", 100),
    ("产出指标", "质量指标", "{p}质量", "合格", "qual", None),
    ("产出指标", "时效指标", "{p}完成时限", "{y}年底", "deadline", None),
    ("产出指标", "时效指标", "资金拨付及时率", "100%", "pct", 100),
    ("产出指标", "成本指标", "{p}成本控制", "≤{v}万元", "cost", 120),
    ("产出指标", "成本指标", "{p}预算控制数", "{v}万", "cost", 80),
    ("效益指标", "经济效益指标", "带动{p}相关投入", "有所提升", "qual", None),
    ("效益指标", "社会效益指标", "{p}政策知晓率", "≥{v}%", "pct", 90),
    ("效益指标", "社会效益指标", "群众获得感", "持续促进", "qual", None),
    ("效益指标", "生态效益指标", "对生态环境的影响", "良好", "qual", None),
    ("效益指标", "可持续影响指标", "{p}长效机制", "逐步健全", "qual", None),
    ("效益指标", "社会效益指标", "投诉率", "≤{v}%", "lowpct", 2),
    ("满意度指标", "服务对象满意度指标", "服务对象满意度", "≥{v}%", "pct", 90),
    ("满意度指标", "服务对象满意度指标", "{p}对象满意度", "≥{v}%", "pct", 95),
]
SHORT_REASONS = ["受项目进度影响，部分任务顺延至下一年度；将加强进度调度。", "实际需求低于预期，下年度将据实调整指标值。",
                 "资金下达较晚，影响实施进度；将提前做好项目储备。", "部分对象条件变化，按规定据实调整。"]
DESCRIBED = ["完成年度任务，相关工作机制已建立并运行", "服务对象反映良好，达到预期效果", "形成工作报告3篇，措施得到落实"]
STOCK = ["达成", "达成预期指标", "有效", "良好", "持续促进"]


def _fmt(v: float) -> str:
    return f"{v:g}"


def synth_province(out: str | Path, departments: int = 50, seed: int = 1, year: int = 2023, tables: int = 11,
                   indicators: int = 20, years: int = 1) -> dict[str, int]:
    """Write ``departments`` department folders (targets.json + actuals.json per year) under ``out``."""
    rng = np.random.default_rng(seed)
    root = Path(out)
    counts = {"departments": 0, "tables": 0, "indicators": 0, "broken_files": 0}
    used: set[str] = set()
    for d in range(departments):
        kind, projects = DEPARTMENT_KINDS[d % len(DEPARTMENT_KINDS)]
        place = PLACES[int(rng.integers(len(PLACES)))]
        unit = f"{place}区{kind}" if kind != "街道办事处" else f"{place}街道办事处"
        code = f"D{d + 1:04d}"
        if unit in used:
            unit = f"{unit}（{code}）"
        used.add(unit)
        # a department's character: how well it delivers, and whether it inflates its self-evaluation
        inflates = rng.random() < 0.12
        low_spender = rng.random() < 0.12
        skill = float(rng.beta(2.5, 1.5))  # 0–1: share of targets met and how close the misses come
        # over several years, some units copy last year's targets, and some of those set them too low and beat them
        # by far every year; drawn from a stream of their own, so the main stream (and a one-year province) is as before
        habit = _Habit(np.random.default_rng([seed, d, 7]), years)
        for k in range(years):
            y = year - (years - 1 - k)
            folder = root / f"{code}-{unit}" / str(y)
            targets, actuals = _department(rng, unit, code, y, projects, tables, indicators, inflates, low_spender, skill,
                                           habit)
            folder.mkdir(parents=True, exist_ok=True)
            write_atomic(folder / "targets.json", json.dumps(targets, ensure_ascii=False, indent=1))
            text = json.dumps(actuals, ensure_ascii=False, indent=1)
            if rng.random() < 0.005:  # now and then a file that cannot be read at all
                text = text[: len(text) // 3]
                counts["broken_files"] += 1
            write_atomic(folder / "actuals.json", text)
            counts["tables"] += len(targets["tables"])
            counts["indicators"] += sum(len(t["indicators"]) for t in targets["tables"])
        counts["departments"] += 1
    return counts


class _Habit:
    """How a unit sets its targets over the years: fresh each year, copied from the first year, or copied and set
    too low (its counts then come in 30–60% above target every year)."""

    def __init__(self, rng, years: int):
        self.rng = rng
        self.copies = years > 1 and rng.random() < 0.35
        self.too_low = self.copies and rng.random() < 0.5
        self.picks: dict[int, list[int]] = {}
        self.values: dict[tuple[int, int], float | None] = {}

    def picks_for(self, k: int, picks: list[int]) -> list[int]:
        return self.picks.setdefault(k, picks) if self.copies else picks

    def value_for(self, k: int, i: int, v: float | None) -> float | None:
        return self.values.setdefault((k, i), v) if self.copies else v

    def actual_for(self, a: dict, kind: str, v: float | None) -> dict:
        if not (self.too_low and kind == "count" and v):
            return a
        return {"indicator": a["indicator"], "actual": f"{v * float(self.rng.uniform(1.3, 1.6)):.0f}"}


def _department(rng, unit, code, year, projects, n_tables, n_ind, inflates, low_spender, skill, habit=None):
    habit = habit or _Habit(np.random.default_rng(0), 1)
    t_tables, a_tables = [], []
    for k in range(n_tables):
        project = projects[k % len(projects)] + ("" if k < len(projects) else f"（{k // len(projects) + 1}期）")
        is_dept = k == 0
        amount = round(float(rng.uniform(20, 800)), 2) if not is_dept else round(float(rng.uniform(500, 5000)), 2)
        table_id = f"{code}-{year}-{k + 1:02d}"
        title = f"{year}年部门整体支出绩效目标表" if is_dept else f"{year}年{project}项目支出绩效目标表"
        picks = habit.picks_for(k, sorted(rng.choice(len(INDICATORS), size=min(n_ind, len(INDICATORS)), replace=False)))
        with_weights = rng.random() < 0.5
        inds, acts = [], []
        weights = _weights([INDICATORS[i][0] for i in picks]) if with_weights else [None] * len(picks)
        for i, w in zip(picks, weights):
            l1, l2, name, pattern, kind, base = INDICATORS[i]
            v = habit.value_for(k, i, None if base is None else (
                base if kind in ("pct", "lowpct") else round(base * float(rng.uniform(0.5, 2)), 0 if kind == "count" else 1)))
            target = pattern.format(v=_fmt(v) if v is not None else "", y=year)
            level3 = name.format(p=project)
            inds.append({"level1": l1, "level2": l2, "level3": level3, "target": target,
                         **({"weight": w} if w is not None else {})})
            acts.append(habit.actual_for(_actual(rng, level3, kind, v, target, year, inflates, w, skill), kind, v))
        spent_ratio = float(rng.uniform(0.55, 0.85)) if low_spender else float(np.clip(rng.normal(0.97, 0.03), 0.8, 1.0))
        budget = round(amount * float(rng.uniform(0.95, 1.1)), 2)
        t_tables.append({"id": table_id, "kind": "部门整体" if is_dept else "项目", "title": title, "unit_name": unit,
                         "year": year, "amount": amount, "indicators": inds})
        a_tables.append({"table": table_id, "budget": {"initial": amount, "budget": budget,
                                                         "spent": round(budget * spent_ratio, 2)},
                         **({"claimed_total": 100.0} if inflates and rng.random() < 0.5 else {}),
                         "indicators": acts})
    targets = {"unit_name": unit, "year": year, "source": "evaluator synth（合成数据）", "tables": t_tables}
    actuals = {"unit_name": unit, "year": year, "example": True, "note": "合成数据", "tables": a_tables}
    return targets, actuals


def _weights(level1s: list[str]) -> list[float]:
    """分值 that add up to 90: each 一级指标's standard weight split over its indicators (to one decimal)."""
    total = {"产出指标": 50, "效益指标": 30, "满意度指标": 10}
    out = []
    for l1 in level1s:
        n = level1s.count(l1)
        out.append(round(total[l1] / n, 1))
    diff = round(90 - sum(out), 1)
    out[-1] = round(out[-1] + diff, 1)
    return out


def _actual(rng, level3, kind, v, target, year, inflates, weight, skill):
    r = rng.random()
    a: dict = {"indicator": level3}
    short = False
    if r < 0.003:
        return a  # missing
    if r < 0.006:
        a["actual"] = "见附件"  # unreadable
        return a
    if kind in ("count", "pct", "cost"):
        miss = rng.random() < 0.8 - 0.7 * skill
        ratio = 1.0 if not miss else float(rng.uniform(0.15 + 0.6 * skill, 0.97))
        if kind == "cost":
            ratio = 1 / ratio if rng.random() < 0.2 else float(rng.uniform(0.85, 1.0))
        if rng.random() < 0.05:
            ratio = float(rng.uniform(1.3, 1.8))  # over-achievement: target set too low
        value = v * ratio if kind != "pct" else min(100.0, v * ratio)
        short = (value < v - 1e-9) if kind != "cost" else (value > v + 1e-9)
        unit = {"count": "", "pct": "%", "cost": "万元"}[kind]
        places = 0 if kind == "count" else (1 if kind == "pct" else 2)
        a["actual"] = f"{value:.{places}f}{unit}"
    elif kind == "lowpct":
        value = float(rng.uniform(0, v * 1.5))
        short = value > v
        a["actual"] = f"{value:.1f}%"
    elif kind == "deadline":
        late = rng.random() < 0.08
        a["actual"] = f"{year + 1}年2月" if late else f"{year}年{int(rng.integers(9, 13))}月"
        short = late
    else:  # qualitative
        q = rng.random()
        if q < 0.25 * (1 - skill) and not inflates:
            a["actual"] = "部分达成" if rng.random() < 0.8 else "未达成"
            short = True
        elif q < 0.3 or inflates:
            a["actual"] = STOCK[int(rng.integers(len(STOCK)))]
        else:
            a["actual"] = DESCRIBED[int(rng.integers(len(DESCRIBED)))]
    if short and not inflates and rng.random() < 0.9:
        a["deviation_note"] = SHORT_REASONS[int(rng.integers(len(SHORT_REASONS)))]
    if weight is not None and (inflates or rng.random() < 0.1):
        a["claimed_score"] = weight  # the unit claims full marks
    return a
