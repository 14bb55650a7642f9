"""In-year monitoring (绩效运行监控, "双监控"): budget execution against time elapsed, each indicator's progress
against its target, the deviations that need a corrective action, and the year-end look back at them.

The progress file (``ProgressSet``) is entered like the actuals, a few months into the year. Progress values are
read and put into the target's unit by the scoring engine (``score_frame`` on targets + progress), never parsed a
second way; thresholds are data (``rules/checks/monitor.yaml``). ``monitor`` computes a plain result that the CLI,
the 绩效运行监控表 writers (xlsx, docx), the bureau's warning list and a web page all render.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator

from .checks import CheckRules, Section, load_check_rules
from .columns import num as _num, records
from .errors import InputFileError
from .model import Actual, ActualSet, BudgetExecution, Evaluation, TableActuals, TargetSet
from .rules import RuleSet, fmt

__all__ = ["ProgressSet", "MonitorRules", "load_monitor_rules", "load_progress", "monitor", "MonitorResult",
           "monitor_context", "followup", "followup_context", "write_monitor_xlsx", "write_monitor_docx", "write_warning_list",
           "discover_progress", "progress_template"]

PROGRESS_NAMES = ("progress.yaml", "progress.yml", "progress.json", "progress.xlsx")  # in a unit's folder


# --------------------------------------------------------------------------- the progress file
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, str_strip_whitespace=True)


def _alias(*names: str) -> Any:
    return AliasChoices(*names)


class IndicatorProgress(_Strict):
    """One indicator's progress so far, as the unit reports it."""

    indicator: str = Field(validation_alias=_alias("indicator", "三级指标", "level3"))
    level2: str | None = Field(None, validation_alias=_alias("level2", "二级指标"))
    progress: str | None = Field(None, validation_alias=_alias("progress", "截至本月完成值", "累计完成值", "完成值"))
    expected: str | None = Field(None, validation_alias=_alias("expected", "全年预计完成值", "预计完成值"))
    likely: str | None = Field(None, validation_alias=_alias("likely", "完成目标可能性"))
    reason: str | None = Field(None, validation_alias=_alias("reason", "偏差原因"))
    action: str | None = Field(None, validation_alias=_alias("action", "纠偏措施"))
    rate_base: float | None = Field(None, gt=0, validation_alias=_alias("rate_base", "计量基数"))

    @field_validator("progress", "expected", mode="before")
    @classmethod
    def _text(cls, v: Any) -> Any:
        return str(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v


class ExecutionProgress(_Strict):
    """全年预算数 and the cumulative 执行数 so far (万元)."""

    budget: float = Field(ge=0, validation_alias=_alias("budget", "全年预算数"))
    spent: float = Field(ge=0, validation_alias=_alias("spent", "累计执行数", "截至本月执行数", "执行数"))


class TableProgress(_Strict):
    table: str
    budget: ExecutionProgress | None = None
    reason: str | None = Field(None, validation_alias=_alias("reason", "执行偏差原因", "偏差原因"))
    action: str | None = Field(None, validation_alias=_alias("action", "纠偏措施"))
    indicators: list[IndicatorProgress] = Field(default_factory=list)


class ProgressSet(_Strict):
    """A unit's in-year progress report: the contents of a progress file."""

    unit_name: str = Field(validation_alias=_alias("unit_name", "单位名称", "部门名称"))
    year: int
    month: int = Field(ge=1, le=12, validation_alias=_alias("month", "监控月份", "截至月份"))
    example: bool = Field(False, validation_alias=_alias("example", "示例数据"))
    note: str | None = None
    tables: list[TableProgress]


def load_progress(path: str | Path, targets: TargetSet | None = None) -> ProgressSet:
    """A progress file (YAML or JSON), or a filled-in progress workbook (.xlsx, read against ``targets``) →
    ``ProgressSet`` (a located Chinese message when it is wrong)."""
    from .load import read_mapping, validate_mapping

    p = Path(path)
    if p.suffix.lower() in (".xlsx", ".xlsm"):
        from .monitor_workbook import read_progress_workbook

        if targets is None:
            raise InputFileError("读取进度填报表需要目标表", where=str(p), hint="用法：evaluator monitor 目标表 进度填报表.xlsx")
        return read_progress_workbook(p, targets)
    if p.suffix.lower() in (".xls", ".et", ".csv", ".docx", ".doc", ".wps"):
        raise InputFileError(f"进度文件不支持“{p.suffix}”格式", where=str(p),
                             hint="请用 evaluator monitor-template 生成的进度填报表（.xlsx），或 YAML/JSON 进度文件")
    return validate_mapping(ProgressSet, read_mapping(p), p)


# --------------------------------------------------------------------------- the rules
class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Milestone(_Rule):
    month: int = Field(ge=1, le=12)
    min_rate: float = Field(ge=0, le=1)


class ExecutionRule(Section):
    method: Literal["ratio-to-time", "milestones"] = "ratio-to-time"
    red_below: float = Field(0.6, ge=0, le=1)
    yellow_below: float = Field(0.8, ge=0, le=1.5)
    milestones: tuple[Milestone, ...] = ()

    @model_validator(mode="after")
    def _ordered(self) -> "ExecutionRule":
        if self.red_below > self.yellow_below:
            raise ValueError("red_below 应不大于 yellow_below")
        if self.method == "milestones" and not self.milestones:
            raise ValueError("method 为 milestones 时须给出 milestones")
        return self


class IndicatorRule(Section):
    threshold: float = Field(0.15, gt=0, le=1)
    level_units: tuple[str, ...] = ("%",)
    unlikely_words: tuple[str, ...] = ()
    doubtful_words: tuple[str, ...] = ()


class MonitorRules(CheckRules):
    """The monitoring rule set (rules/checks/monitor.yaml)."""

    SECTIONS: ClassVar[tuple[str, ...]] = ("execution", "indicators")
    execution: ExecutionRule
    indicators: IndicatorRule
    spending_gap: float | None = Field(None, gt=0, le=1)
    action_required: bool = True


def load_monitor_rules(ref: str | Path | None = None) -> MonitorRules:
    return load_check_rules(MonitorRules, "monitor", ref)


# --------------------------------------------------------------------------- the result
Light = Literal["red", "yellow", "green", "none"]
LIGHT_LABEL = {"red": "红色预警", "yellow": "黄色预警", "green": "正常", "none": "—"}


class IndicatorMonitor(BaseModel):
    model_config = ConfigDict(extra="forbid")
    position: int
    level1: str
    level2: str
    level3: str
    target: str
    progress: str | None
    achieved: float | None  # 目标实现程度: progress ÷ target (a share; 反向: how much of the ceiling is used)
    projection: str | None  # 全年预计 (ours): cumulative progress ÷ time elapsed, or the level as it stands
    expected: str | None  # 全年预计完成值 as the unit states it
    deviation: float | None  # 时间进度 − 目标实现程度 (shares; positive = behind)
    light: Light
    message: str
    reason: str | None
    action: str | None
    needs_action: bool  # warned and no 纠偏措施 stated


class TableMonitor(BaseModel):
    model_config = ConfigDict(extra="forbid")
    table: str
    title: str
    budget: float | None
    spent: float | None
    rate: float | None  # 执行率 so far
    progress: float | None  # 执行率 ÷ 时间进度
    light: Light
    message: str
    reason: str | None
    action: str | None
    needs_action: bool
    indicators: list[IndicatorMonitor]


class MonitorWarning(BaseModel):
    """One line of the bureau's warning list."""

    model_config = ConfigDict(extra="forbid")
    unit_name: str
    table: str
    title: str
    indicator: str  # "预算执行" for the execution warning
    light: Light
    message: str
    reason: str | None
    action: str | None
    needs_action: bool


class MonitorResult(BaseModel):
    model_config = ConfigDict(extra="forbid")
    unit_name: str
    year: int
    month: int
    time_share: float
    rules: str
    example: bool
    tables: list[TableMonitor]
    warnings: list[MonitorWarning]
    unmatched: list[str]  # progress entries that match no target indicator


# --------------------------------------------------------------------------- computing
def monitor(targets: TargetSet, progress: ProgressSet, rules: RuleSet, mrules: MonitorRules | None = None,
            month: int | None = None) -> MonitorResult:
    """The 双监控 result for one unit at the end of ``month`` (default: the progress file's month)."""
    from .frame import indicator_frame
    from .score import score_frame

    mrules = mrules or load_monitor_rules()
    month = month or progress.month
    if month != progress.month:
        raise InputFileError(f"进度文件是 {progress.month} 月的，命令指定 --month {month}",
                             hint="请核对监控月份，或去掉 --month 使用文件中的月份")
    if progress.year != targets.year:
        raise InputFileError(f"进度文件的年度 {progress.year} 与目标表的年度 {targets.year} 不一致")
    share = month / 12
    entries = ActualSet(unit_name=targets.unit_name, year=targets.year, tables=[
        TableActuals(table=t.table, budget=BudgetExecution(budget=t.budget.budget, spent=t.budget.spent)
                     if t.budget else None,
                     indicators=[Actual(indicator=i.indicator, level2=i.level2, actual=i.progress, rate_base=i.rate_base)
                                 for i in t.indicators])
        for t in progress.tables])
    frame, problems = indicator_frame(targets, entries)
    scored = records(score_frame(frame, rules)) if len(frame) else []
    by_table: dict[str, list[dict[str, Any]]] = {}
    for r in scored:
        by_table.setdefault(str(r["table"]), []).append(r)
    reported = {t.table: t for t in progress.tables}
    tables, warnings = [], []
    for table in targets.tables:
        if not table.indicators:
            continue
        tp = reported.get(table.id)
        notes = {(i.indicator, i.level2): i for i in (tp.indicators if tp else [])}
        rows = []
        for r in by_table.get(table.id, []):
            note = notes.get((r["level3"], r["level2"])) or notes.get((r["level3"], None))
            rows.append(_indicator(r, note, share, mrules))
        budget = tp.budget if tp else None
        tm = _execution(table.id, table.title, budget, tp, rows, share, month, mrules)
        tables.append(tm)
        for w in [tm] if tm.light in ("red", "yellow") else []:
            warnings.append(MonitorWarning(unit_name=targets.unit_name, table=table.id, title=table.title, indicator="预算执行",
                                    light=w.light, message=w.message, reason=w.reason, action=w.action,
                                    needs_action=w.needs_action))
        for i in rows:
            if i.light in ("red", "yellow"):
                warnings.append(MonitorWarning(unit_name=targets.unit_name, table=table.id, title=table.title,
                                        indicator=i.level3, light=i.light, message=i.message, reason=i.reason,
                                        action=i.action, needs_action=i.needs_action))
    unmatched = [f"{f.location.table} / {f.location.indicator or ''}".rstrip(" /") for f in problems
                 if f.code == "unmatched-actual"]
    return MonitorResult(unit_name=targets.unit_name, year=targets.year, month=month, time_share=share,
                         rules=mrules.label, example=progress.example, tables=tables, warnings=warnings,
                         unmatched=unmatched)



def _pct(x: float) -> str:
    return f"{x * 100:.1f}%"


def _indicator(r: dict[str, Any], note: Any, share: float, mrules: MonitorRules) -> IndicatorMonitor:
    from .losses import amount_text

    rule = mrules.indicators
    t, a = _num(r["t_val"]), _num(r["a_val"])
    progress_text = r["actual_raw"] if isinstance(r["actual_raw"], str) and r["actual_raw"] else None
    base = dict(position=int(r["position"]), level1=r["level1"], level2=r["level2"], level3=r["level3"],
                target=r["target_raw"] or "", progress=progress_text, expected=note.expected if note else None,
                reason=note.reason if note else None, action=note.action if note else None)
    likely = (note.likely or "") if note else ""
    light: Light = "none"
    achieved = projection = deviation = None
    likely_shown = False
    message = ""
    numeric = r["status"] == "ok" and r["method"] in ("@higher", "@lower", "@equal", "@band", "@custom") \
        and t is not None and a is not None
    if r["status"] == "na":
        message = "不适用"
    elif progress_text is None and not r["cost_fill"]:
        message = "未填报完成进度"
        light = "yellow"
    elif numeric:
        level = (r["t_unit"] if isinstance(r["t_unit"], str) else None) in rule.level_units
        lower = r["direction_used"] == "lower"
        achieved = a / t if t else None
        projected = a if level else a / share
        projection = amount_text(projected, r)
        if lower:  # a ceiling: behind when the projected total goes over it
            over = (projected - t) / t if t else 0.0
            deviation = over
            message = (f"已使用上限的 {_pct(achieved or 0)}，按当前进度预计全年 {projection}，"
                       f"{'超过' if over > 0 else '未超过'}上限 {amount_text(t, r)}")
        elif level:
            deviation = 1 - (achieved or 0)
            message = f"目前 {amount_text(a, r)}，目标 {amount_text(t, r)}"
        elif (achieved or 0) >= 1 - 1e-9:  # already met: nothing to project
            deviation, projection = None, f"已完成（{amount_text(a, r)}）"
            message = f"已达到目标 {amount_text(t, r)}"
        else:
            deviation = share - (achieved or 0)
            message = (f"目标实现程度 {_pct(achieved or 0)}，时间进度 {_pct(share)}，"
                       f"按当前进度预计全年 {projection}（目标 {amount_text(t, r)}）")
        if deviation is not None and deviation > rule.threshold + 1e-9:
            light = "red" if deviation > 2 * rule.threshold else "yellow"
            message += f"；偏差 {deviation * 100:.1f} 个百分点，超过 {rule.threshold * 100:g}%"
        else:
            light = "green"
    elif r["status"] == "ok" and r["method"] == "deadline":
        late = (r["fraction"] if r["fraction"] == r["fraction"] else 1.0) < 1
        light = "red" if late else "green"
        message = f"预计 {progress_text} 完成，{'晚于' if late else '不晚于'}期限 {r['target_raw']}"
    elif r["status"] == "error":
        light = "yellow"
        message = f"完成进度“{progress_text}”无法与指标值比较，请按指标值的单位填写"
    else:
        message = "定性指标，按单位对完成目标可能性的判断" + (f"（{likely}）" if likely else "（未填写）")
        likely_shown = True
    said = "" if likely_shown else f"；单位判断：{likely}"
    if any(w in likely for w in rule.unlikely_words):
        light, message = "red", message + said
    elif any(w in likely for w in rule.doubtful_words) and light in ("none", "green"):
        light, message = "yellow", message + said
    if not rule.enabled:  # indicator warnings switched off in the rule file
        light = "none"
    warned = light in ("red", "yellow")
    needs = warned and mrules.action_required and not (note and note.action)
    if needs:
        message += _ASK[0]
    return IndicatorMonitor(**base, achieved=achieved, projection=projection, deviation=deviation, light=light,
                            message=message, needs_action=needs)


def _execution(table_id: str, title: str, budget: ExecutionProgress | None, tp: TableProgress | None,
               rows: list[IndicatorMonitor], share: float, month: int, mrules: MonitorRules) -> TableMonitor:
    ex = mrules.execution
    reason, action = (tp.reason, tp.action) if tp else (None, None)
    if budget is None or budget.budget <= 0:
        return TableMonitor(table=table_id, title=title, budget=None, spent=None, rate=None, progress=None,
                            light="yellow", message="未填报全年预算数和累计执行数", reason=reason, action=action,
                            needs_action=False, indicators=rows)
    rate = budget.spent / budget.budget
    progress = rate / share
    if ex.method == "milestones":
        due = max((m for m in ex.milestones if m.month <= month), key=lambda m: m.month, default=None)
        light: Light = "red" if due and rate < due.min_rate - 1e-9 else "green"
        message = f"累计执行率 {_pct(rate)}" + (f"，{due.month} 月末应不低于 {_pct(due.min_rate)}" if due else "")
    else:
        light = "red" if progress < ex.red_below - 1e-9 else ("yellow" if progress < ex.yellow_below - 1e-9 else "green")
        message = f"执行率 {_pct(rate)}，时间进度 {_pct(share)}，执行进度 {_pct(progress)}（执行率 ÷ 时间进度）"
    if mrules.spending_gap:
        shares = [i.achieved for i in rows if i.achieved is not None]
        if shares:
            gap = sum(min(s, 1.0) for s in shares) / len(shares) - rate
            if abs(gap) > mrules.spending_gap + 1e-9:
                light = "red" if light == "red" else "yellow"
                message += f"；指标平均完成进度与执行率相差 {abs(gap) * 100:.1f} 个百分点"
    if not ex.enabled:  # execution warnings switched off in the rule file
        light = "none"
    warned = light in ("red", "yellow")
    needs = warned and mrules.action_required and not action
    if needs:
        message += _ASK[1]
    return TableMonitor(table=table_id, title=title, budget=budget.budget, spent=budget.spent, rate=rate,
                        progress=progress, light=light, message=message, reason=reason, action=action,
                        needs_action=needs, indicators=rows)


# --------------------------------------------------------------------------- structure for rendering
def monitor_context(result: MonitorResult) -> dict[str, Any]:
    """The result as formatted rows: what the 监控表, the warning list and a page show."""
    def pct(x: float | None) -> str:
        return "" if x is None else _pct(x)

    tables = []
    for t in result.tables:
        tables.append({
            "table": t.table, "title": t.title, "budget": fmt(t.budget, 6) if t.budget is not None else "",
            "spent": fmt(t.spent, 6) if t.spent is not None else "", "rate": pct(t.rate), "progress": pct(t.progress),
            "light": t.light, "light_label": LIGHT_LABEL[t.light], "message": t.message, "reason": t.reason or "",
            "action": t.action or "", "needs_action": t.needs_action,
            "indicators": [{"level1": i.level1, "level2": i.level2, "level3": i.level3, "target": i.target,
                            "progress": i.progress or "", "achieved": pct(i.achieved), "projection": i.projection or "",
                            "expected": i.expected or "",
                            "deviation": f"{i.deviation * 100:.1f}" if i.deviation and i.deviation > 0 else "",
                            "light": i.light, "light_label": LIGHT_LABEL[i.light], "message": i.message,
                            "reason": i.reason or "", "action": i.action or "", "needs_action": i.needs_action}
                           for i in t.indicators],
        })
    return {"unit_name": result.unit_name, "year": result.year, "month": result.month,
            "period": f"{result.year}年1–{result.month}月", "time_share": _pct(result.time_share),
            "rules": result.rules, "example": result.example, "tables": tables,
            "warnings": [w.model_dump() | {"light_label": LIGHT_LABEL[w.light]} for w in result.warnings],
            "unmatched": result.unmatched,
            "counts": {k: sum(1 for w in result.warnings if w.light == k) for k in ("red", "yellow")}}


_ASK = ("；须说明偏差原因和纠偏措施", "；须说明执行偏差原因和纠偏措施")


def _plain(message: str) -> str:
    """A warning without the request for a 纠偏措施 (the look back says whether one was stated)."""
    for ask in _ASK:
        message = message.removesuffix(ask)
    return message


def followup(result: MonitorResult, ev: Evaluation) -> dict[str, list[dict[str, Any]]]:
    """Per table, every indicator (and the execution) warned in the monitoring, with the corrective action then
    stated and what the year-end evaluation shows now: ``result`` as one line (the CLI), and its parts
    (``year_end``, ``met``, ``stated``) for the 自评报告's table."""
    out: dict[str, list[dict[str, Any]]] = {}
    scored = {t.table: t for t in ev.tables}
    for t in result.tables:
        te = scored.get(t.table)
        if te is None:
            continue
        items = []
        if t.light in ("red", "yellow"):
            ex = te.execution
            met = ex.rate is not None and ex.score is not None and ex.score >= ex.weight - 1e-9
            year_end = (f"全年执行率 {_pct(ex.rate)}，得 {fmt(ex.score)} 分（分值 {fmt(ex.weight)} 分）"
                        if ex.rate is not None else "全年执行数据缺失")
            items.append({"indicator": "预算执行", "light": LIGHT_LABEL[t.light], "tone": t.light,
                          "warning": _plain(t.message), "action": t.action or "（未说明纠偏措施）",
                          "stated": bool(t.action), "year_end": year_end,
                          "met": met if ex.rate is not None else None,
                          "result": f"全年执行率 {_pct(ex.rate)}，得分 {fmt(ex.score)} / {fmt(ex.weight)}"
                          if ex.rate is not None else "全年执行数据缺失"})
        by_pos = {i.position: i for i in te.indicators}
        for i in t.indicators:
            if i.light not in ("red", "yellow"):
                continue
            s = by_pos.get(i.position)
            if s is None:
                continue
            met: bool | None = None
            if s.status == "ok":
                met = s.weight is not None and s.score is not None and s.score >= s.weight - 1e-9
                year_end = f"实际“{s.actual or '（空）'}”，得 {fmt(s.score)} 分（分值 {fmt(s.weight)} 分）"
                result_text = (f"年末实际 {s.actual or '（空）'}，得 {fmt(s.score)} / {fmt(s.weight)}"
                               + ("，已达成" if met else "，仍未达成" + (f"：{s.deviation_note}" if s.deviation_note else "")))
            else:
                year_end = result_text = "年末无法计分（见问题清单）" if s.status == "error" else "不适用"
            items.append({"indicator": i.level3, "light": LIGHT_LABEL[i.light], "tone": i.light,
                          "warning": _plain(i.message), "action": i.action or "（未说明纠偏措施）",
                          "stated": bool(i.action), "year_end": year_end, "met": met, "result": result_text})
        if items:
            out[t.table] = items
    return out


def followup_context(result: MonitorResult, ev: Evaluation) -> dict[str, Any]:
    """The look back as the 自评报告 and ``score --monitor`` show it: the period and, per table, the warned rows."""
    return {"period": f"1–{result.month}月", "month": result.month, "year": result.year,
            "tables": followup(result, ev)}


def progress_template(targets: TargetSet, month: int) -> str:
    """A progress file to fill in (YAML): every table and indicator of ``targets``, the values left empty."""
    import yaml

    data = {"unit_name": targets.unit_name, "year": targets.year, "month": month, "tables": [
        {"table": t.id, "budget": {"budget": (t.budget.total if t.budget else t.amount) or 0, "spent": 0},
         "reason": None, "action": None,
         "indicators": [{"indicator": i.level3, **({"level2": i.level2} if sum(j.level3 == i.level3 for j in t.indicators) > 1
                                                    else {}),
                         "progress": None, "expected": None, "likely": None, "reason": None, "action": None}
                        for i in t.indicators]}
        for t in targets.tables if t.indicators]}
    head = (f"# {targets.unit_name} {targets.year}年1–{month}月 绩效运行监控进度（evaluator monitor）。\n"
            "# budget.spent：截至本月累计执行数（万元）；progress：截至本月完成值（与年度指标值同一单位）；expected：全年预计完成值；\n"
            "# likely：完成目标可能性（确定能 / 有可能 / 不能）；reason / action：偏差原因 / 纠偏措施。空着的值表示未填报。\n")
    return head + yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=1000)


# --------------------------------------------------------------------------- the bureau: many units
def discover_progress(root: str | Path) -> list[tuple[Path, Path]]:
    """(targets, progress) for every folder under ``root`` that holds both."""
    from .bureau import TARGET_NAMES

    base = Path(root)
    if not base.is_dir():
        raise InputFileError("目录不存在", where=str(base), hint="请检查路径")
    found = []
    for t in sorted(p for name in TARGET_NAMES for p in base.rglob(name)):
        progress = next((t.parent / n for n in PROGRESS_NAMES if (t.parent / n).is_file()), None)
        if progress is not None:
            found.append((t, progress))
    return found


# --------------------------------------------------------------------------- the 绩效运行监控表 and the warning list
MONITOR_COLUMNS = ("一级指标", "二级指标", "三级指标", "年度指标值", "截至本月完成值", "目标实现程度", "全年预计",
                   "单位预计全年", "偏差（百分点）", "预警", "偏差原因", "纠偏措施")
_WIDTHS = (8, 10, 18, 11, 11, 9, 11, 11, 8, 8, 22, 22)
_FILL = {"red": "F4CCCC", "yellow": "FFF2CC", "green": "D9EAD3"}


def write_monitor_xlsx(ctx: dict[str, Any], path: Path) -> Path:
    """The 绩效运行监控表: one sheet per table (budget execution block, then the indicators), and the warning list."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter

    from .output import print_a4_landscape, wrapped_lines, write_atomic
    from .report import doc_time, workbook_bytes

    wb = Workbook()
    wb.remove(wb.active)
    thin = Side(style="thin", color="000000")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    font, bold = Font(name="宋体", size=10), Font(name="宋体", size=10, bold=True)
    wrap = Alignment(wrap_text=True, vertical="center")
    center = Alignment(wrap_text=True, vertical="center", horizontal="center")
    used: set[str] = set()
    for k, t in enumerate(ctx["tables"], start=1):
        name = _sheet_name(t["title"], k, used)
        ws = wb.create_sheet(name)
        n = len(MONITOR_COLUMNS)
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=n)
        c = ws.cell(row=1, column=1, value=f"绩效运行监控表（{ctx['period']}）")
        c.font, c.alignment = Font(name="宋体", size=14, bold=True), center
        ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=n)
        ws.cell(row=2, column=1, value=f"单位：{ctx['unit_name']}    表：{t['title']}    时间进度 {ctx['time_share']}"
                                       f"    规则 {ctx['rules']}").font = font
        heads = ("全年预算数（万元）", "累计执行数（万元）", "执行率", "时间进度", "执行进度", "预警", "执行偏差原因", "纠偏措施")
        values = (t["budget"], t["spent"], t["rate"], ctx["time_share"], t["progress"], t["light_label"], t["reason"],
                  t["action"])
        spans = (1, 1, 1, 1, 1, 1, 3, 3)
        col = 1
        for head, value, span in zip(heads, values, spans):
            for row, text, f in ((3, head, bold), (4, value, font)):
                cell = ws.cell(row=row, column=col, value=text or None)
                cell.font, cell.alignment = f, center if span == 1 else wrap
                if span > 1:
                    ws.merge_cells(start_row=row, start_column=col, end_row=row, end_column=col + span - 1)
                for cc in range(col, col + span):
                    ws.cell(row=row, column=cc).border = border
            col += span
        if t["light"] in _FILL:
            ws.cell(row=4, column=6).fill = PatternFill("solid", fgColor=_FILL[t["light"]])
        ws.row_dimensions[3].height = 30
        ws.merge_cells(start_row=5, start_column=1, end_row=5, end_column=n)
        ws.cell(row=5, column=1, value=t["message"]).alignment = wrap
        ws.cell(row=5, column=1).font = font
        ws.row_dimensions[5].height = 13.5 * max(1, wrapped_lines(t["message"], sum(_WIDTHS))) + 2
        for j, head in enumerate(MONITOR_COLUMNS, start=1):
            cell = ws.cell(row=6, column=j, value=head)
            cell.font, cell.alignment, cell.border = bold, center, border
        ws.row_dimensions[6].height = 30
        for r_i, i in enumerate(t["indicators"], start=7):
            cells = (i["level1"], i["level2"], i["level3"], i["target"], i["progress"], i["achieved"], i["projection"],
                     i["expected"], i["deviation"], i["light_label"], i["reason"], i["action"] or
                     ("（须填写）" if i["needs_action"] else ""))
            lines = 1
            for j, value in enumerate(cells, start=1):
                cell = ws.cell(row=r_i, column=j, value=value if value != "" else None)
                cell.font, cell.border = font, border
                cell.alignment = wrap if j in (3, 11, 12) else center
                lines = max(lines, wrapped_lines(str(value), _WIDTHS[j - 1] - 1))
            if i["light"] in _FILL:
                ws.cell(row=r_i, column=10).fill = PatternFill("solid", fgColor=_FILL[i["light"]])
            ws.row_dimensions[r_i].height = 13.5 * lines + 2
        for col, keys in ((1, ("level1",)), (2, ("level1", "level2"))):  # merged 一级/二级 cells, as on the forms
            for start, span in _runs([tuple(i[k] for k in keys) for i in t["indicators"]]):
                if span > 1:
                    ws.merge_cells(start_row=7 + start, start_column=col, end_row=7 + start + span - 1, end_column=col)
        last = 7 + len(t["indicators"])
        ws.cell(row=last + 1, column=1, value="填表人：          联系电话：          单位负责人：").font = font
        for j, w in enumerate(_WIDTHS, start=1):
            ws.column_dimensions[get_column_letter(j)].width = w
        ws.freeze_panes = "A7"
        print_a4_landscape(ws, centred=True)
    _warning_sheet(wb, ctx["warnings"], f"预警清单（{ctx['period']}）")
    return write_atomic(path, workbook_bytes(wb, doc_time(ctx["year"])))


def _runs(keys: list[tuple]) -> list[tuple[int, int]]:
    """(start, length) of each run of equal keys."""
    out: list[tuple[int, int]] = []
    for k, key in enumerate(keys):
        if out and keys[out[-1][0]] == key:
            out[-1] = (out[-1][0], out[-1][1] + 1)
        else:
            out.append((k, 1))
    return out


def _sheet_name(title: str, k: int, used: set[str]) -> str:
    from .output import SHEET_FORBIDDEN

    base = SHEET_FORBIDDEN.sub("", title)[:26] or f"表{k}"
    name = base if base not in used else f"{base[:23]}（{k}）"
    used.add(name)
    return name


WARNING_COLUMNS = ("单位", "表", "指标", "预警", "情况", "偏差原因", "纠偏措施")
_WARNING_WIDTHS = (18, 26, 22, 9, 46, 24, 24)


def _warning_sheet(wb, warnings: list[dict[str, Any]], title: str) -> None:
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter

    from .output import print_a4_landscape, wrapped_lines

    ws = wb.create_sheet("预警清单")
    thin = Side(style="thin", color="000000")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    font, bold = Font(name="宋体", size=10), Font(name="宋体", size=10, bold=True)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(WARNING_COLUMNS))
    c = ws.cell(row=1, column=1, value=title)
    c.font, c.alignment = Font(name="宋体", size=14, bold=True), Alignment(horizontal="center")
    for j, head in enumerate(WARNING_COLUMNS, start=1):
        cell = ws.cell(row=2, column=j, value=head)
        cell.font, cell.border, cell.alignment = bold, border, Alignment(horizontal="center", vertical="center")
    order = {"red": 0, "yellow": 1}
    for r, w in enumerate(sorted(warnings, key=lambda w: order.get(w["light"], 2)), start=3):
        values = (w["unit_name"], w["title"], w["indicator"], w["light_label"], w["message"], w["reason"] or "",
                  w["action"] or ("（未说明）" if w["needs_action"] else ""))
        lines = 1
        for j, v in enumerate(values, start=1):
            cell = ws.cell(row=r, column=j, value=v or None)
            cell.font, cell.border = font, border
            cell.alignment = Alignment(wrap_text=True, vertical="center")
            lines = max(lines, wrapped_lines(str(v), _WARNING_WIDTHS[j - 1] - 1))
        ws.cell(row=r, column=4).fill = PatternFill("solid", fgColor=_FILL.get(w["light"], "FFFFFF"))
        ws.row_dimensions[r].height = 13.5 * lines + 2
    if not warnings:
        ws.cell(row=3, column=1, value="无预警").font = font
    for j, width in enumerate(_WARNING_WIDTHS, start=1):
        ws.column_dimensions[get_column_letter(j)].width = width
    ws.freeze_panes = "A3"
    print_a4_landscape(ws, centred=True)


def write_warning_list(contexts: list[dict[str, Any]], path: Path, period: str, year: int) -> Path:
    """The bureau's warning list over many units (one workbook, red first)."""
    from openpyxl import Workbook

    from .output import write_atomic
    from .report import doc_time, workbook_bytes

    wb = Workbook()
    wb.remove(wb.active)
    _warning_sheet(wb, [w for c in contexts for w in c["warnings"]], f"绩效运行监控预警清单（{period}）")
    return write_atomic(path, workbook_bytes(wb, doc_time(year)))


def write_monitor_docx(ctx: dict[str, Any], path: Path) -> Path:
    """The 绩效运行监控表 in Word (宋体, landscape): per table the execution block and the indicator table."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt

    from .report import plain_docx, save_docx

    title = f"绩效运行监控表（{ctx['period']}）"
    document = plain_docx({"year": ctx["year"]}, title, landscape=True)

    def shade(cell, light: str) -> None:
        if light in _FILL:
            props = cell._tc.get_or_add_tcPr()
            fill = OxmlElement("w:shd")
            fill.set(qn("w:val"), "clear")
            fill.set(qn("w:fill"), _FILL[light])
            props.append(fill)

    def rows(header: tuple[str, ...], body: list[tuple[str, ...]], lights: list[str], light_col: int, size: float,
             widths: tuple[float, ...], merge: int = 0):
        table = document.add_table(rows=len(body) + 1, cols=len(header))
        table.style = "Table Grid"
        table.autofit = False
        grid = table._cells
        cols = len(header)
        scale = 25.0 / sum(widths)  # cm across a landscape A4 page
        for c, column in enumerate(table.columns):  # the grid (LibreOffice, WPS) and each cell (Word) both say it
            column.width = Cm(widths[c] * scale)
        for r, values in enumerate([header, *body]):
            for c, value in enumerate(values):
                cell = grid[r * cols + c]
                cell.width = Cm(widths[c] * scale)
                run = cell.paragraphs[0].add_run(str(value))
                run.font.size = Pt(size)
                run.bold = r == 0
                if r and c == light_col:
                    shade(cell, lights[r - 1])
        for c in range(merge):  # merged 一级/二级 cells (text first, merges last)
            for start, span in _runs([tuple(b[: c + 1]) for b in body]):
                if span > 1:
                    top = grid[(start + 1) * cols + c]
                    for k in range(1, span):
                        grid[(start + 1 + k) * cols + c].paragraphs[0].runs[0].text = ""
                    top.merge(grid[(start + span) * cols + c])
        return table

    h = document.add_heading(title, level=1)
    h.alignment = WD_ALIGN_PARAGRAPH.CENTER
    document.add_paragraph(f"单位：{ctx['unit_name']}    时间进度 {ctx['time_share']}    规则 {ctx['rules']}")
    if ctx["example"]:
        document.add_paragraph("示例数据：进度数据仅用于演示，不代表单位的真实情况。")
    for t in ctx["tables"]:
        document.add_heading(t["title"], level=2)
        rows(("全年预算数（万元）", "累计执行数（万元）", "执行率", "时间进度", "执行进度", "预警", "执行偏差原因", "纠偏措施"),
             [(t["budget"], t["spent"], t["rate"], ctx["time_share"], t["progress"], t["light_label"], t["reason"],
               t["action"])], [t["light"]], 5, 8, (10, 10, 7, 7, 7, 8, 25, 25))
        document.add_paragraph(t["message"]).runs[0].font.size = Pt(9)
        rows(MONITOR_COLUMNS, [(i["level1"], i["level2"], i["level3"], i["target"], i["progress"], i["achieved"],
                                i["projection"], i["expected"], i["deviation"], i["light_label"], i["reason"],
                                i["action"] or ("（须填写）" if i["needs_action"] else "")) for i in t["indicators"]],
             [i["light"] for i in t["indicators"]], 9, 7.5, (9, 10, 17, 11, 10, 9, 10, 10, 8, 10, 20, 20), merge=2)
    document.add_heading("预警清单", level=2)
    rows(WARNING_COLUMNS[1:], [(w["title"], w["indicator"], w["light_label"], w["message"], w["reason"] or "",
                                w["action"] or ("（未说明）" if w["needs_action"] else "")) for w in ctx["warnings"]]
         or [("无预警", "", "", "", "", "")], [w["light"] for w in ctx["warnings"]] or ["none"], 2, 8,
         (24, 20, 10, 44, 24, 24))
    document.add_paragraph("填表人：            联系电话：            单位负责人：")
    return save_docx(document, path, ctx["year"])
