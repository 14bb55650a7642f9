"""Domain models: target tables, actuals, parsed values, findings and evaluation results.

Input models are strict (unknown keys are errors) and accept the Chinese column names as aliases, so a
data file can be written with either 三级指标 or level3.
"""
from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal, NamedTuple

from pydantic import AfterValidator, AliasChoices, BaseModel, ConfigDict, Field, field_validator


# ----------------------------------------------------------------------------- parsed values
class Comparator(StrEnum):
    GE = "ge"
    GT = "gt"
    LE = "le"
    LT = "lt"
    EQ = "eq"
    BAND = "band"


COMPARATOR_SYMBOL = {"ge": "≥", "gt": "＞", "le": "≤", "lt": "＜", "eq": "=", "band": "±"}


class ValueKind(StrEnum):
    NUMBER = "number"
    RATE = "rate"  # 4次/年/界别: a number per unit that needs a count to compare with a total
    DEADLINE = "deadline"
    QUALITATIVE = "qualitative"
    NOT_APPLICABLE = "na"
    BLANK = "blank"
    UNREADABLE = "unreadable"
    NO_ANSWER = "no-answer"  # 不详, 待统计, TBD, ?, nan, inf, an Excel error value (#DIV/0!): never a score


class Band(StrEnum):
    """The three 定性 bands of 财预〔2020〕10号."""

    ACHIEVED = "achieved"  # 达成年度指标
    PARTIAL = "partial"  # 部分达成年度指标并具有一定效果
    NOT_ACHIEVED = "not-achieved"  # 未达成年度指标且效果较差


BAND_LABEL = {
    Band.ACHIEVED: "达成年度指标",
    Band.PARTIAL: "部分达成年度指标并具有一定效果",
    Band.NOT_ACHIEVED: "未达成年度指标且效果较差",
}


BAND_ALIASES = {label: band for band, label in BAND_LABEL.items()} | {
    "达成": Band.ACHIEVED,
    "部分达成": Band.PARTIAL,
    "未达成": Band.NOT_ACHIEVED,
}


class Direction(StrEnum):
    HIGHER = "higher"  # 正向
    LOWER = "lower"  # 反向
    EQUAL = "equal"


class ParsedValue(NamedTuple):
    """What a 指标值 / 实际完成值 cell says, independent of where it came from.

    Numbers are scaled (万 → ×10⁴) and units normalised (％, 百分比 → %); ``tolerance`` is the ± half-width
    of a two-sided band. A named tuple: immutable and cheap to build, since the parser makes one per
    distinct string.
    """

    raw: str
    kind: ValueKind
    comparator: Comparator | None = None
    value: float | None = None
    unit: str | None = None
    per: tuple[str, ...] = ()
    tolerance: float | None = None
    deadline: tuple[int | None, int, int] | None = None  # (year or None, month, day)
    scale: float = 1.0  # 万 → 1e4: how the written number was scaled
    loose: bool = False  # the number was picked out of surrounding words
    band: Band | None = None
    problem: str | None = None  # why it is unreadable, in Chinese

    @property
    def is_number(self) -> bool:
        return self.kind in (ValueKind.NUMBER, ValueKind.RATE)


# ----------------------------------------------------------------------------- findings
class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class Location(BaseModel):
    """Where a finding points: as much of file / sheet / table / row / column / indicator as is known."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    file: str | None = None
    sheet: str | None = None
    table: str | None = None
    row: int | None = None  # row in a sheet or CSV file
    item: int | None = None  # position of the indicator in its table (data files)
    column: str | None = None
    indicator: str | None = None
    # every row a finding is about when it concerns several (a name repeated on many rows): the message lists the
    # first of them, ``row`` is the first that needs attention
    rows: tuple[int, ...] | None = None

    def describe(self) -> str:
        parts = []
        if self.file:
            parts.append(f"文件 {self.file}")
        if self.sheet:  # "工作表“Sheet1”", a Word "表 2" or "第 3 段", or a bare sheet name
            parts.append(self.sheet if self.sheet.startswith(("工作表", "表 ", "第 ")) else f"工作表 {self.sheet}")
        if self.table:
            parts.append(f"表 {self.table}")
        if self.row is not None:
            parts.append(f"第 {self.row} 行")
        elif self.item is not None:
            parts.append(f"第 {self.item} 项指标")
        if self.column:
            parts.append(f"列“{self.column}”")
        if self.indicator:
            parts.append(f"指标“{self.indicator}”")
        return "，".join(parts)


class Finding(BaseModel):
    """A problem in the data: collected and shown, never raised."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    code: str
    severity: Severity
    location: Location = Field(default_factory=Location)
    message: str


# ----------------------------------------------------------------------------- inputs
class _Strict(BaseModel):
    # allow_inf_nan=False: no .inf / NaN weight, amount or score gets in (it would print "总分 inf" or NaN JSON)
    model_config = ConfigDict(extra="forbid", populate_by_name=True, str_strip_whitespace=True, allow_inf_nan=False)


# Ranges every input number is checked against when it is read (docs/security.md): a value outside is the file's
# located error, never a score.
YEARS = (2000, 2100)
MAX_AMOUNT = 1e12  # 万元 (or 元): far above any budget, far below where float sums lose whole units
MAX_POINTS = 100.0  # 分值 and scores are on the 100-point scale


def _year(v: int) -> int:
    if v != 0 and not YEARS[0] <= v <= YEARS[1]:  # 0: not stated (a flat 自评表 without a year)
        raise ValueError(f"年度应在 {YEARS[0]}–{YEARS[1]} 之间")
    return v


Year = Annotated[int, AfterValidator(_year)]
Amount = Annotated[float, Field(ge=-MAX_AMOUNT, le=MAX_AMOUNT)]
Spending = Annotated[float, Field(ge=0, le=MAX_AMOUNT)]
Points = Annotated[float, Field(ge=0, le=MAX_POINTS)]
Count = Annotated[float, Field(gt=0, le=MAX_AMOUNT)]


def _alias(*names: str) -> Any:
    return AliasChoices(*names)


class TableKind(StrEnum):
    DEPARTMENT = "department"  # 部门整体
    SPECIAL_FUND = "special-fund"  # 专项资金 (汇总表)
    PROJECT = "project"  # 项目 / 专项资金支出方向


TABLE_KIND_LABEL = {
    TableKind.DEPARTMENT: "部门整体支出",
    TableKind.SPECIAL_FUND: "专项资金",
    TableKind.PROJECT: "项目支出",
}
_TABLE_KIND_ALIASES = {
    "部门整体": TableKind.DEPARTMENT,
    "部门整体支出": TableKind.DEPARTMENT,
    "专项资金": TableKind.SPECIAL_FUND,
    "专项": TableKind.SPECIAL_FUND,
    "项目": TableKind.PROJECT,
    "项目支出": TableKind.PROJECT,
    "专项资金支出方向": TableKind.PROJECT,
}


class Indicator(_Strict):
    """One 三级指标 row of a 绩效目标表."""

    id: str | None = None
    level1: str = Field(validation_alias=_alias("level1", "一级指标"))
    level2: str = Field(validation_alias=_alias("level2", "二级指标"))
    level3: str = Field(validation_alias=_alias("level3", "三级指标", "indicator"))
    target: str = Field("", validation_alias=_alias("target", "年度指标值", "指标值"))
    unit: str | None = Field(None, validation_alias=_alias("unit", "度量单位"))
    weight: Points | None = Field(None, validation_alias=_alias("weight", "分值"))
    standard: str | None = Field(None, validation_alias=_alias("standard", "绩效标准"))
    direction: Direction | None = Field(None, validation_alias=_alias("direction", "指标方向"))
    rate_base: Count | None = Field(None, validation_alias=_alias("rate_base", "计量基数"))
    scoring: dict[str, Any] | None = Field(None, validation_alias=_alias("scoring", "评分规则"))
    row: int | None = Field(None, ge=1, description="row in the source sheet, set by the readers")

    @field_validator("target", mode="before")
    @classmethod
    def _target_text(cls, v: Any) -> Any:
        return "" if v is None else (str(v) if isinstance(v, (int, float)) else v)


class WorkItem(_Strict):
    """年度重点工作计划: 事项 / 责任单位 / 工作目标."""

    item: str = Field(validation_alias=_alias("item", "事项"))
    owner: str | None = Field(None, validation_alias=_alias("owner", "责任单位"))
    goal: str | None = Field(None, validation_alias=_alias("goal", "工作目标"))


class FundItem(_Strict):
    """A row of the 专项资金绩效目标汇总表."""

    seq: str | None = Field(None, validation_alias=_alias("seq", "序号"))
    name: str = Field(validation_alias=_alias("name", "名称"))
    amount: Amount = Field(validation_alias=_alias("amount", "金额"))
    long_term_goal: str | None = Field(None, validation_alias=_alias("long_term_goal", "实施期绩效目标"))
    annual_goal: str | None = Field(None, validation_alias=_alias("annual_goal", "年度绩效目标"))


class CostNote(_Strict):
    """支出明细及测算说明."""

    summary: str | None = Field(None, validation_alias=_alias("summary", "支出内容简介"))
    detail: str | None = Field(None, validation_alias=_alias("detail", "支出明细"))
    amount: Amount | None = Field(None, validation_alias=_alias("amount", "金额"))
    basis: str | None = Field(None, validation_alias=_alias("basis", "支出测算依据及过程说明"))


class BudgetPlan(_Strict):
    """年度预算申请 (万元), by 收入性质 (source) and 支出性质 (nature)."""

    total: Amount = Field(validation_alias=_alias("total", "资金总额"))
    by_source: dict[str, Amount] = Field(default_factory=dict, validation_alias=_alias("by_source", "按收入性质分"))
    by_nature: dict[str, Amount] = Field(default_factory=dict, validation_alias=_alias("by_nature", "按支出性质分"))


class Contacts(_Strict):
    head: str | None = Field(None, validation_alias=_alias("head", "单位负责人"))
    filler: str | None = Field(None, validation_alias=_alias("filler", "填表人"))
    phone: str | None = Field(None, validation_alias=_alias("phone", "联系电话"))


class TargetTable(_Strict):
    """One 绩效目标表: 部门整体 (附表1), 专项资金汇总 (附表2) or 项目/支出方向 (附表3)."""

    id: str
    kind: TableKind
    title: str
    unit_name: str = Field(validation_alias=_alias("unit_name", "部门名称", "单位名称"))
    year: Year
    form: str | None = None  # 附表1 …
    form_title: str | None = Field(None, validation_alias=_alias("form_title", "表名"))  # as printed, when not the title
    project: str | None = Field(None, validation_alias=_alias("project", "项目名称"))
    project_lead: str | None = Field(None, validation_alias=_alias("project_lead", "项目负责人"))
    project_lead_phone: str | None = Field(None, validation_alias=_alias("project_lead_phone", "项目负责人联系电话"))
    supervisor: str | None = Field(None, validation_alias=_alias("supervisor", "主管部门"))
    fund: str | None = Field(None, validation_alias=_alias("fund", "所属专项"))
    amount: Amount | None = Field(None, validation_alias=_alias("amount", "项目金额"))
    amount_unit: str = "万元"
    period: str | None = Field(None, validation_alias=_alias("period", "项目实施期"))
    budget: BudgetPlan | None = None
    duties: str | None = Field(None, validation_alias=_alias("duties", "部门职责概述"))
    work_plan: list[WorkItem] = Field(default_factory=list, validation_alias=_alias("work_plan", "年度重点工作计划"))
    long_term_goal: str | None = Field(None, validation_alias=_alias("long_term_goal", "实施期绩效目标"))
    annual_goal: str | None = Field(None, validation_alias=_alias("annual_goal", "年度绩效目标", "年度总体目标"))
    fund_items: list[FundItem] = Field(default_factory=list)
    cost_notes: list[CostNote] = Field(default_factory=list, validation_alias=_alias("cost_notes", "支出明细及测算说明"))
    indicators: list[Indicator] = Field(default_factory=list)
    contacts: Contacts | None = None
    footnotes: list[str] = Field(default_factory=list, validation_alias=_alias("footnotes", "注"))

    @field_validator("kind", mode="before")
    @classmethod
    def _kind_alias(cls, v: Any) -> Any:
        return _TABLE_KIND_ALIASES.get(v, v) if isinstance(v, str) else v


class TargetSet(_Strict):
    """A department's 绩效目标表 for one year: the contents of one data/targets file."""

    unit_name: str
    year: Year
    source: str | None = None
    tables: list[TargetTable]


class Actual(_Strict):
    """What was achieved on one indicator, entered at year end."""

    indicator: str = Field(validation_alias=_alias("indicator", "三级指标", "level3"))
    level2: str | None = Field(None, validation_alias=_alias("level2", "二级指标"))
    id: str | None = None
    actual: str | None = Field(None, validation_alias=_alias("actual", "实际完成值"))
    deviation_note: str | None = Field(None, validation_alias=_alias("deviation_note", "偏差原因分析及改进措施"))
    band: Band | None = Field(None, validation_alias=_alias("band", "评判档次"))
    judged_score: Points | None = Field(None, validation_alias=_alias("judged_score", "评判得分"))
    claimed_score: Points | None = Field(None, validation_alias=_alias("claimed_score", "得分"))
    rate_base: Count | None = Field(None, validation_alias=_alias("rate_base", "计量基数"))

    @field_validator("actual", mode="before")
    @classmethod
    def _actual_text(cls, v: Any) -> Any:
        if isinstance(v, bool):
            return "是" if v else "否"
        return str(v) if isinstance(v, (int, float)) else v

    @field_validator("band", mode="before")
    @classmethod
    def _band_alias(cls, v: Any) -> Any:
        return BAND_ALIASES.get(v, v) if isinstance(v, str) else v


class BudgetLine(_Strict):
    """年初预算数 / 全年预算数 / 全年执行数 for one source of funds (万元)."""

    initial: Amount | None = Field(None, validation_alias=_alias("initial", "年初预算数"))
    budget: Spending | None = Field(None, validation_alias=_alias("budget", "全年预算数"))
    spent: Spending | None = Field(None, validation_alias=_alias("spent", "全年执行数"))


class BudgetExecution(BudgetLine):
    """Budget execution for a table: the total line plus optional lines by source."""

    by_source: dict[str, BudgetLine] = Field(default_factory=dict, validation_alias=_alias("by_source", "按资金来源"))
    weight: float | None = Field(None, ge=0, validation_alias=_alias("weight", "分值"))  # as the form prints them
    claimed_rate: float | None = Field(None, validation_alias=_alias("claimed_rate", "执行率"))
    claimed_score: float | None = Field(None, validation_alias=_alias("claimed_score", "得分"))


class SheetPlace(_Strict):
    """Where a fill-in workbook held a table's entries (set by the workbook reader): findings then name the sheet
    and the cell the clerk sees, not an internal id."""

    sheet: str
    rows: list[int] = Field(default_factory=list)  # the sheet row of each indicator, in order
    columns: dict[str, str] = Field(default_factory=dict)  # column header → letter


class TableActuals(_Strict):
    """Year-end entries for one target table."""

    table: str
    budget: BudgetExecution | None = None
    achieved_goal: str | None = Field(None, validation_alias=_alias("achieved_goal", "实际完成情况"))
    problems: str | None = Field(None, validation_alias=_alias("problems", "存在的问题"))
    improvements: str | None = Field(None, validation_alias=_alias("improvements", "改进措施"))
    claimed_total: Points | None = Field(None, validation_alias=_alias("claimed_total", "自评得分"))
    indicators: list[Actual] = Field(default_factory=list)
    place: SheetPlace | None = None


class ActualSet(_Strict):
    """A department's year-end actuals: the contents of one data/actuals file."""

    unit_name: str
    year: Year
    example: bool = Field(False, validation_alias=_alias("example", "示例数据"))
    note: str | None = None
    contacts: Contacts | None = None
    report_date: str | None = Field(None, validation_alias=_alias("report_date", "报告日期"))
    budget_code: str | None = Field(None, validation_alias=_alias("budget_code", "预算编码"))
    # what the 自评报告 says that only the unit can write; absent, the report leaves a marked place to write
    organization: str | None = Field(None, validation_alias=_alias("organization", "机构设置及人员情况"))
    evaluation_work: str | None = Field(None, validation_alias=_alias("evaluation_work", "自评工作开展情况"))
    results_use: str | None = Field(None, validation_alias=_alias("results_use", "结果应用"))
    other_notes: str | None = Field(None, validation_alias=_alias("other_notes", "其他需要说明的情况"))
    bureau: str | None = Field(None, validation_alias=_alias("bureau", "财政部门"))  # who issues the form (cover)
    evaluator_org: str | None = Field(None, validation_alias=_alias("evaluator_org", "评价机构"))
    tables: list[TableActuals]


# ----------------------------------------------------------------------------- results
Status = Literal["ok", "na", "error"]


class IndicatorScore(BaseModel):
    """One scored indicator with its trace."""

    model_config = ConfigDict(extra="forbid")
    table: str
    position: int
    level1: str
    level2: str
    level3: str
    group: str | None
    target: str
    actual: str | None
    weight: float | None
    score: float | None
    status: Status
    method: str | None
    rule: str
    explanation: str
    inputs: dict[str, Any] = Field(default_factory=dict)
    deviation_note: str | None = None
    claimed_score: float | None = None


class ExecutionScore(BaseModel):
    model_config = ConfigDict(extra="forbid")
    budget: float | None
    spent: float | None
    initial: float | None = None
    rate: float | None
    weight: float
    score: float | None
    explanation: str


class TableEvaluation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    table: str
    title: str
    kind: TableKind
    indicators: list[IndicatorScore]
    groups: dict[str, dict[str, float | None]]  # group → {weight, score}
    execution: ExecutionScore
    total: float | None
    raw_total: float | None
    cap: float | None = None
    grade: str | None
    complete: bool
    undetermined: str | None = None  # why the total is no grade (无法确定): rows unscored, no budget, weights ≠ 100


class Evaluation(BaseModel):
    """A department's evaluation under one rule set."""

    model_config = ConfigDict(extra="forbid")
    unit_name: str
    year: int | None
    rule_set: str
    rule_version: str
    tables: list[TableEvaluation]
    findings: list[Finding]
    inputs_hash: str | None = None
    example: bool = False
    unscored_tables: list[str] = Field(default_factory=list)
