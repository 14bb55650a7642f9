"""目标审核: a 绩效目标表 checked when it is filed, the way a finance bureau reviews targets.

Each check is data in ``rules/checks/target-review.yaml`` (word lists, thresholds, sources), validated when loaded;
each problem is a finding with its indicator, a message and a suggestion. What the engine already knows about a
target — how it parses, its direction, its weight group, the target-quality findings of ``evaluate`` — is taken
from the engine (``score_frame`` on the targets alone), never re-derived. Last year's actuals are scored against
this year's targets by the same engine: a target last year's result already meets in full is not ambitious.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .checks import CheckRules, Section, load_check_rules
from .columns import records
from .errors import InputFileError, check_file_size
from .model import Actual, ActualSet, Finding, Location, Severity, TableActuals, TargetSet, TargetTable
from .rules import RuleSet, fmt

__all__ = ["TargetReviewRules", "ReviewFinding", "load_review_rules", "review_targets", "review_context",
           "PreviousYear", "previous_from_actuals", "previous_from_store", "previous_from_file", "load_any_targets",
           "REVIEW_CODES"]

REVIEW_CODES = {
    "missing-category": "缺少一级指标", "missing-subcategory": "缺少二级指标", "no-quantitative": "没有定量指标",
    "empty-target": "指标值为空", "not-applicable-target": "指标值为“无”", "vague-target": "定性目标表述模糊",
    "cost-above-budget": "成本指标高于预算", "cost-budget-mismatch": "成本指标与预算不一致",
    "notes-budget-mismatch": "测算说明合计与预算不一致", "goal-indicator-mismatch": "年度目标与指标不一致",
    "rate-above-100": "比率超过 100%", "ge-on-capped-rate": "对上限 100% 的比率用“≥”",
    "timeliness-as-rate": "时效指标写成百分比", "standard-without-operator": "补助标准未写指标性质",
    "not-ambitious": "目标不高于上年实际", "group-weight-mismatch": "一级指标分值与规则不符",
}
# target-quality findings of the scoring engine that belong to a review of targets
ENGINE_CODES = ("unreadable-target", "target-contradicts-notes", "quantity-ceiling", "cost-without-ceiling",
                "duplicate-indicator", "weights-not-100", "missing-weight", "unknown-group", "target-from-name",
                "target-from-rule")


# --------------------------------------------------------------------------- the rules, as data
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


_Check = Section


class Level1Rule(_Strict):
    key: str
    label: str
    match: tuple[str, ...] = Field(min_length=1)
    match_level2: tuple[str, ...] = ()


class Level2Rule(_Strict):
    group: str
    label: str
    match: tuple[str, ...] = Field(min_length=1)


class Categories(_Check):
    skip_when_level1: tuple[str, ...] = ()
    level1: tuple[Level1Rule, ...]
    level2: tuple[Level2Rule, ...] = ()
    quantitative: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _groups_known(self) -> "Categories":
        keys = {g.key for g in self.level1}
        unknown = sorted({r.group for r in self.level2} - keys)
        if unknown:
            raise ValueError(f"二级指标规则引用了未定义的一级指标分组：{'、'.join(unknown)}")
        return self


class Example(_Strict):
    match: tuple[str, ...] = Field(min_length=1)
    example: str


class Vague(_Check):
    words: tuple[str, ...] = Field(min_length=1)
    examples: tuple[Example, ...] = ()
    default_example: str


class Empty(_Check):
    not_applicable_severity: Severity = Severity.INFO


class Cost(_Check):
    match_level2: tuple[str, ...] = Field(min_length=1)
    budget_names: tuple[str, ...] = ()
    tolerance: float = Field(0.005, ge=0)


class Goal(_Check):
    completion_names: tuple[str, ...] = Field(min_length=1)


class Operators(_Check):
    rate_unit: str = "%"
    rate_names: tuple[str, ...] = Field(min_length=1)
    timeliness_level2: tuple[str, ...] = Field(min_length=1)
    standard_names: tuple[str, ...] = Field(min_length=1)


class Ambition(_Check):
    min_increase: float = Field(0.0, ge=0, le=1)


class WeightCheck(_Check):
    tolerance: float = Field(0.01, ge=0)


class TargetReviewRules(CheckRules):
    """The 目标审核 rule set (rules/checks/target-review.yaml)."""

    SECTIONS: ClassVar[tuple[str, ...]] = ("categories", "vague", "empty", "cost", "goal", "operators", "ambition",
                                           "weights")
    categories: Categories
    vague: Vague
    empty: Empty
    cost: Cost
    goal: Goal
    operators: Operators
    ambition: Ambition
    weights: WeightCheck


def load_review_rules(ref: str | Path | None = None) -> TargetReviewRules:
    return load_check_rules(TargetReviewRules, "target-review", ref)


# --------------------------------------------------------------------------- findings
class ReviewFinding(BaseModel):
    """One 目标审核 finding: where, what, and what to write instead."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    code: str
    severity: Severity
    location: Location
    message: str
    suggestion: str | None = None
    source: str | None = None  # the rule's source (title)


class PreviousYear(BaseModel):
    """Last year's actuals: table key (the id without its year) → 三级指标 → the actual as entered."""

    model_config = ConfigDict(extra="forbid")
    year: int | None = None
    tables: dict[str, dict[str, str]] = Field(default_factory=dict)
    where: str | None = None

    def for_table(self, table: TargetTable) -> dict[str, str]:
        """Last year's entries of ``table``: the table with the same key, else the one sharing most indicator
        names (at least half of this table's) — ids change when a form is imported again."""
        key = table_key(table.id)
        if key in self.tables:
            return self.tables[key]
        names = {i.level3 for i in table.indicators}
        best = max(self.tables.values(), key=lambda t: len(names & set(t)), default={})
        return best if names and len(names & set(best)) * 2 >= len(names) else {}


def table_key(table_id: str, title: str | None = None) -> str:
    """A table's identity across years: its id (or title) with the year taken out (dept-2023 → dept)."""
    return re.sub(r"(19|20)\d{2}", "", table_id or title or "").strip("-_ ")


def previous_from_actuals(actuals: ActualSet, where: str | None = None) -> PreviousYear:
    return PreviousYear(year=actuals.year, where=where, tables={
        table_key(t.table): {a.indicator: a.actual for a in t.indicators if a.actual} for t in actuals.tables})


def previous_from_file(path: str | Path, targets: TargetSet) -> PreviousYear:
    """Last year's actuals from any input ``intake`` reads: an actuals data file (YAML/JSON), or last year's filled
    自评表 (Word/Excel/CSV: its own targets and actuals); a 目标表 without actuals gets a message."""
    from .intake import DATA, read_actuals, read_targets, sniff

    p = Path(path)
    check_file_size(p)
    if sniff(p) in DATA:
        return previous_from_actuals(read_actuals(p, targets), where=str(p))
    _, actuals, _ = read_targets(p)
    if actuals is None:
        raise InputFileError("这份上年文件中没有实际完成值（是绩效目标表，不是已填好的自评表）", where=str(p),
                             hint="--previous 请给出上年已填好的自评表（Word/Excel/CSV）或上年的实际完成值数据文件")
    return previous_from_actuals(actuals, where=str(p))


def previous_from_store(store: Any, unit_name: str, year: int) -> PreviousYear | None:
    """The unit's stored actuals of ``year`` (the latest version of each table), or None when there are none."""
    subs = [s for s in store.current(year) if s["department"] == unit_name]
    if not subs:
        return None
    keys = {s["id"]: table_key(s["table_id"]) for s in subs}
    tables: dict[str, dict[str, str]] = {key: {} for key in keys.values()}
    for r in store.indicators_of(list(keys), ("submission_id", "level3", "actual")):
        if r["actual"]:
            tables[keys[r["submission_id"]]][r["level3"]] = r["actual"]
    return PreviousYear(year=year, where=store.shown_url, tables=tables)


# --------------------------------------------------------------------------- reading any targets input
def load_any_targets(path: str | Path) -> tuple[TargetSet, list[Finding]]:
    """Targets from any input ``intake`` reads: a data file (YAML/JSON), a Word/Excel/CSV form (.docx/.doc/.wps/
    .xlsx/.xls/.et) or a flat 自评表 — its type decided by its content."""
    from .intake import read_targets

    targets, _, findings = read_targets(Path(path))
    return targets, list(findings)


# --------------------------------------------------------------------------- the checks
def review_targets(targets: TargetSet, rules: RuleSet, review: TargetReviewRules | None = None, *,
                   previous: PreviousYear | None = None, file: str | None = None) -> list[ReviewFinding]:
    """Every 目标审核 finding for a 绩效目标表, in table and indicator order."""
    from .evaluation import evaluate
    from .frame import indicator_frame
    from .score import score_frame

    review = review or load_review_rules()
    if previous is not None and previous.year and targets.year and previous.year >= targets.year:
        raise InputFileError(f"上年实际完成值的年度 {previous.year} 不早于目标表的年度 {targets.year}", where=previous.where,
                             hint="请提供上一年度的实际完成值文件")
    frame, _ = indicator_frame(targets, None)
    scored = records(score_frame(frame, rules)) if len(frame) else []
    rows: dict[str, list[dict[str, Any]]] = {}
    for r in scored:
        rows.setdefault(str(r["table"]), []).append(r)
    out: list[ReviewFinding] = []
    ev = evaluate(targets, None, rules, targets_file=file)
    engine = [f for f in ev.findings if f.code in ENGINE_CODES]
    groups = {t.table: t.groups for t in ev.tables}
    ambitious = _ambition(targets, rules, review, previous, file) if previous and review.ambition.enabled else {}
    for table in targets.tables:
        if not table.indicators:
            continue
        trs = rows.get(table.id, [])
        found: list[ReviewFinding] = []
        if review.categories.enabled:
            found += _categories(table, trs, review, file)
        for r in trs:
            found += _indicator(table, r, review, file)
        if review.cost.enabled:
            found += _notes_budget(table, review, file)
        if review.goal.enabled:
            found += _goal(table, trs, review, file)
        if review.weights.enabled:
            found += _group_weights(table, trs, groups.get(table.id, {}), rules, review, file)
        found += ambitious.get(table.id, [])
        found += [_from_engine(f) for f in engine if f.location.table == table.id]
        out += sorted(found, key=lambda f: (f.location.item or 0, list(Severity).index(f.severity)))
    return out


def _loc(table: TargetTable, r: dict[str, Any] | None, file: str | None, column: str | None = "年度指标值") -> Location:
    if r is None:
        return Location(file=file, table=table.id)
    row = r.get("row")
    return Location(file=file, table=table.id, item=int(r["position"]) + 1, row=int(row) if row == row and row else None,
                    column=column, indicator=r["level3"])


def _finding(code: str, severity: Severity, location: Location, message: str, suggestion: str | None,
             review: TargetReviewRules, section: str) -> ReviewFinding:
    source = review.sources[getattr(review, section).source]
    return ReviewFinding(code=code, severity=severity, location=location, message=message, suggestion=suggestion,
                         source=f"[{source.tag}] {source.title}")


def _from_engine(f: Finding) -> ReviewFinding:
    return ReviewFinding(code=f.code, severity=f.severity, location=f.location, message=f.message,
                         source="评分引擎的目标表检查（与 evaluator check 相同）")


def _has(text: str | None, words: tuple[str, ...]) -> bool:
    return isinstance(text, str) and any(w in text for w in words)


def _present(x: Any) -> bool:
    """A label from the scored frame that is there (missing labels come back as None or NaN)."""
    return isinstance(x, str) and x != ""


def _example(review: TargetReviewRules, level2: str, level3: str = "") -> str:
    """A quantified example for the 二级指标 (or, failing that, the indicator's name)."""
    for text in (level2, level3):
        for e in review.vague.examples:
            if _has(text, e.match):
                return e.example
    return review.vague.default_example


def _numeric(r: dict[str, Any]) -> bool:
    return r["t_kind"] in ("number", "rate") and r["t_val"] == r["t_val"]


def _categories(table: TargetTable, rows: list[dict[str, Any]], review: TargetReviewRules, file: str | None
                ) -> list[ReviewFinding]:
    c = review.categories
    if any(_has(r["level1"], c.skip_when_level1) for r in rows):
        return []
    out = []
    members: dict[str, list[dict[str, Any]]] = {}
    for g in c.level1:
        members[g.key] = [r for r in rows if _has(r["level1"], g.match) or _has(r["level2"], g.match_level2)]
        if not members[g.key]:
            out.append(_finding("missing-category", Severity.WARNING, _loc(table, None, file),
                                f"缺少“{g.label}”：绩效目标表应包括产出、效益和满意度指标",
                                f"增加“{g.label}”，如“{_example(review, g.label)}”", review, "categories"))
    for s in c.level2:
        if members.get(s.group) and not any(_has(r["level2"], s.match) for r in members[s.group]):
            parent = next(g.label for g in c.level1 if g.key == s.group)
            out.append(_finding("missing-subcategory", Severity.WARNING, _loc(table, None, file),
                                f"“{parent}”下缺少“{s.label}”",
                                f"增加“{s.label}”，如“{_example(review, s.label)}”", review, "categories"))
    buckets: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        if _has(r["level2"], c.quantitative) and r["t_kind"] not in ("na",):
            buckets.setdefault(r["level2"], []).append(r)
    for level2, rs in buckets.items():
        if not any(_numeric(r) for r in rs):
            out.append(_finding("no-quantitative", Severity.WARNING, _loc(table, rs[0], file),
                                f"“{level2}”下没有定量指标：指标应尽量细化、量化",
                                f"至少设置一项定量指标，如“{_example(review, level2, rs[0]['level3'])}”", review,
                                "categories"))
    return out


def _indicator(table: TargetTable, r: dict[str, Any], review: TargetReviewRules, file: str | None
               ) -> list[ReviewFinding]:
    out = []
    loc = _loc(table, r, file)
    level2, level3, raw = r["level2"] or "", r["level3"] or "", r["target_raw"] or ""
    kind = r["t_kind"]
    if review.empty.enabled and kind == "blank" and not r["target_from_name"]:
        out.append(_finding("empty-target", Severity.ERROR, loc, "指标值为空：年底无法据此评价",
                            f"填写可衡量的指标值，如“{_example(review, level2, level3)}”", review, "empty"))
    if review.empty.enabled and kind == "na":
        out.append(_finding("not-applicable-target", review.empty.not_applicable_severity, loc,
                            f"指标值为“{raw}”：此指标本年度不适用，评分时不计入",
                            "删除此指标，或改为本年度适用、可衡量的指标", review, "empty"))
    if review.vague.enabled and kind == "qualitative" and _has(raw, review.vague.words):
        out.append(_finding("vague-target", Severity.WARNING, loc,
                            f"指标值“{raw}”是模糊的定性表述，年底难以判断是否完成",
                            f"改为量化目标，如“{_example(review, level2, level3)}”；确实无法量化的，写明分级分档的评判标准",
                            review, "vague"))
    if review.cost.enabled and _has(level2, review.cost.match_level2) and _numeric(r):
        out += _cost(table, r, review, loc)
    if review.operators.enabled and _numeric(r):
        out += _operators(r, review, loc)
    return out


def _wan(r: dict[str, Any]) -> float | None:
    """A cost target in 万元: 528.244101万 / 31.5万元 / 315000元; a bare number is taken in the table's 万元."""
    unit = r["t_unit"] if _present(r["t_unit"]) else None
    scale, value = r["t_scale"] or 1.0, float(r["t_val"])
    if _present(r["t_per"]):
        return None  # a unit cost (元/人) is not the budget
    if unit in (None, "元") and (scale == 1e4 or unit == "元"):
        return value / 1e4
    if unit is None:
        return value
    return None


def _budget(table: TargetTable) -> float | None:
    return table.budget.total if table.budget else table.amount


def _cost(table: TargetTable, r: dict[str, Any], review: TargetReviewRules, loc: Location) -> list[ReviewFinding]:
    wan, budget = _wan(r), _budget(table)
    if wan is None or budget is None:
        return []
    tol = review.cost.tolerance
    if wan > budget + tol:
        return [_finding("cost-above-budget", Severity.ERROR, loc,
                         f"成本指标 {fmt(wan, 6)} 万元高于本表资金总额 {fmt(budget, 6)} 万元",
                         f"成本上限不应超过预算，请核对（如“≤{fmt(budget, 6)}万元”）", review, "cost")]
    if _has(r["level3"], review.cost.budget_names) and abs(wan - budget) > tol:
        return [_finding("cost-budget-mismatch", Severity.WARNING, loc,
                         f"“{r['level3']}”按预算控制，指标值 {fmt(wan, 6)} 万元与本表资金总额 {fmt(budget, 6)} 万元不一致",
                         f"改为“≤{fmt(budget, 6)}万元”，或说明差额的原因", review, "cost")]
    return []


def _notes_budget(table: TargetTable, review: TargetReviewRules, file: str | None) -> list[ReviewFinding]:
    amounts = [c.amount for c in table.cost_notes if c.amount is not None]
    budget = _budget(table)
    if not amounts or budget is None or abs(sum(amounts) - budget) <= review.cost.tolerance:
        return []
    return [_finding("notes-budget-mismatch", Severity.WARNING,
                     Location(file=file, table=table.id, column="支出明细及测算说明"),
                     f"支出明细及测算说明的金额合计 {fmt(sum(amounts), 6)} 万元与本表资金 {fmt(budget, 6)} 万元不一致",
                     "核对测算说明各项金额与项目资金", review, "cost")]


_GOAL_SHARE = re.compile(r"完成[^，。；,;：:\d]{0,16}?(\d+(?:\.\d+)?)\s*[%％]")


def _goal(table: TargetTable, rows: list[dict[str, Any]], review: TargetReviewRules, file: str | None
          ) -> list[ReviewFinding]:
    text = table.annual_goal or ""
    out = []
    for m in _GOAL_SHARE.finditer(text):
        share = float(m.group(1))
        if share >= 100:
            continue
        for r in rows:
            if _has(r["level3"], review.goal.completion_names) and _numeric(r) and r["t_unit"] == "%" \
                    and r["t_val"] >= 100 and r["t_cmp"] in ("ge", "gt", "eq", None):
                out.append(_finding("goal-indicator-mismatch", Severity.WARNING, _loc(table, r, file),
                                    f"年度目标写“{m.group(0)}”，而“{r['level3']}”的指标值为“{r['target_raw']}”：两者不一致",
                                    f"按年度目标改为“≥{fmt(share)}%”，或修改年度目标的表述", review, "goal"))
    return out


def _operators(r: dict[str, Any], review: TargetReviewRules, loc: Location) -> list[ReviewFinding]:
    o = review.operators
    level2, level3, raw = r["level2"] or "", r["level3"] or "", r["target_raw"] or ""
    value, cmp_ = float(r["t_val"]), r["t_cmp"] if _present(r["t_cmp"]) else None
    is_rate = r["t_unit"] == o.rate_unit and not _present(r["t_per"])
    rate_name = _has(level3, o.rate_names) or _has(level2, o.rate_names)
    if is_rate and rate_name and (value > 100 or (value >= 100 and cmp_ == "gt")):
        return [_finding("rate-above-100", Severity.ERROR, loc, f"“{level3}”是比率，指标值“{raw}”超过 100%，无法实现",
                         "比率指标值不超过 100%，如“=100%”或“≥95%”", review, "operators")]
    if is_rate and value >= 100 and cmp_ in ("ge", None) and _has(level2, o.timeliness_level2):
        return [_finding("timeliness-as-rate", Severity.WARNING, loc,
                         f"时效指标写成“{raw}”：看不出完成时限，“≥100%”也无法超过",
                         f"写明完成时限，如“{_year(r)}12月底前”，或写成“=100%”", review, "operators")]
    if is_rate and rate_name and value >= 100 and cmp_ == "ge":
        return [_finding("ge-on-capped-rate", Severity.WARNING, loc,
                         f"“{level3}”最高为 100%，“{raw}”中的“≥”没有意义",
                         "写成“=100%”；若 100% 难以保证，按可达水平写“≥95%”等", review, "operators")]
    if _has(level3, o.standard_names) and cmp_ is None:
        return [_finding("standard-without-operator", Severity.WARNING, loc,
                         f"“{level3}”的指标值“{raw}”没有写指标性质："
                         + ("在成本指标下将按上限（≤）计分，" if r["direction_used"] == "lower" else "")
                         + "而补助标准通常应按标准足额发放",
                         f"写明指标性质，如“={raw}”（按标准发放）或“≤{raw}”（不超过标准）", review, "operators")]
    return []


def _year(r: dict[str, Any]) -> str:
    year = r.get("year")
    return f"{int(year)}年" if isinstance(year, (int, float)) and year == year and year > 0 else ""


def _group_weights(table: TargetTable, rows: list[dict[str, Any]], groups: dict[str, dict[str, float | None]],
                   rules: RuleSet, review: TargetReviewRules, file: str | None) -> list[ReviewFinding]:
    if not any(r["weight_given"] == r["weight_given"] and r["weight_given"] is not None for r in rows):
        return []  # weights come from the rule set: nothing the unit wrote to check
    out = []
    for g in rules.weights.groups:
        if g.label in groups and abs((groups[g.label]["weight"] or 0) - g.weight) > review.weights.tolerance:
            out.append(_finding("group-weight-mismatch", Severity.WARNING, _loc(table, None, file),
                                f"“{g.label}”的三级指标分值合计 {fmt(groups[g.label]['weight'])}，规则集 {rules.label} "
                                f"规定为 {fmt(g.weight)}",
                                f"调整“{g.label}”下各三级指标的分值，使合计为 {fmt(g.weight)}，或选用相应的规则集",
                                review, "weights"))
    return out


def _ambition(targets: TargetSet, rules: RuleSet, review: TargetReviewRules, previous: PreviousYear,
              file: str | None) -> dict[str, list[ReviewFinding]]:
    """Last year's actuals scored against this year's targets by the engine: full marks already → not ambitious."""
    from .frame import indicator_frame
    from .score import score_frame

    tables = []
    for t in targets.tables:
        last = previous.for_table(t)
        entries = [Actual(indicator=i.level3, level2=i.level2, actual=last[i.level3])
                   for i in t.indicators if i.level3 in last]
        if entries:
            tables.append(TableActuals(table=t.id, indicators=entries))
    if not tables:
        return {}
    frame, _ = indicator_frame(targets, ActualSet(unit_name=targets.unit_name, year=targets.year, tables=tables))
    scored = score_frame(frame, rules)
    out: dict[str, list[ReviewFinding]] = {}
    by_id = {t.id: t for t in targets.tables}
    year = f"{previous.year} 年" if previous.year else "上年"
    for r in records(scored):
        method = r["method"] or ""
        if r["status"] != "ok" or not method.startswith("@") or method == "@custom" or not _numeric(r) \
                or r["a_val"] != r["a_val"]:
            continue
        if _has(r["level2"], review.cost.match_level2) or (r["t_unit"] == "%" and float(r["t_val"]) >= 100):
            continue  # a budget ceiling, or a rate already at its maximum, cannot be set more ambitiously
        t, a = float(r["t_val"]), float(r["a_val"])
        lower = r["direction_used"] == "lower"
        margin = review.ambition.min_increase * abs(a)
        if (not lower and t <= a + margin) or (lower and t >= a - margin):
            table = by_id[str(r["table"])]
            same = abs(t - a) <= 1e-9 * max(1.0, abs(a))
            word = "等于" if same else ("高于" if lower else "低于")
            out.setdefault(table.id, []).append(_finding(
                "not-ambitious", Severity.INFO if same else Severity.WARNING, _loc(table, r, file),
                f"指标值“{r['target_raw']}”{word}{year}实际完成值“{r['actual_raw']}”："
                + ("与上年持平，请确认是否已无提升空间" if same else "目标偏低，缺乏挑战性"),
                f"参考{year}实际（{r['actual_raw']}）和行业标准，设定{'更低' if lower else '更高'}的目标", review, "ambition"))
    return out


def review_context(targets: TargetSet, findings: list[ReviewFinding], review: TargetReviewRules) -> dict[str, Any]:
    """The review as plain rows by table, for the CLI, a page or JSON."""
    severity = {Severity.ERROR: "错误", Severity.WARNING: "警告", Severity.INFO: "提示"}
    tables = []
    for t in targets.tables:
        if not t.indicators:
            continue
        items = [{"code": f.code, "what": REVIEW_CODES.get(f.code, f.code), "severity": f.severity.value,
                  "severity_label": severity[f.severity], "indicator": f.location.indicator or "（整表）",
                  "item": f.location.item, "where": f.location.model_copy(update={"file": None}).describe(),
                  "message": f.message, "suggestion": f.suggestion or "", "source": f.source or ""}
                 for f in findings if f.location.table == t.id]
        tables.append({"table": t.id, "title": t.title, "indicators": len(t.indicators), "items": items,
                       "counts": {s.value: sum(1 for x in items if x["severity"] == s.value) for s in Severity}})
    return {"unit_name": targets.unit_name, "year": targets.year, "rules": review.label, "title": review.title,
            "tables": tables, "total": len(findings),
            "errors": sum(1 for f in findings if f.severity == Severity.ERROR)}
