"""The clerk's in-year progress workbook (绩效运行监控填报表): written from the targets, filled in Excel or WPS, read
back as a ``ProgressSet`` for ``monitor``.

Like the year-end fill-in (``workbook``): the targets are locked, only the yellow cells take entries, entries are
validated in the sheet where Excel can (numbers, lists), and reading back checks that the locked cells still match
the targets, naming every offending cell. A workbook is never written over an existing file (``free_path``).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from .errors import InputFileError
from .model import TargetSet, TargetTable, ValueKind
from .monitor import ProgressSet
from .output import SHEET_FORBIDDEN
from .workbook import cell_text, free_path, open_filled, problems_error, same_value, table_sheets, targets_digest

__all__ = ["write_progress_workbook", "read_progress_workbook", "is_progress_workbook", "PROGRESS_SUFFIXES"]

PROGRESS_SUFFIXES = (".xlsx", ".xlsm")
INSTRUCTIONS_SHEET = "填报说明"
BUDGET_SHEET = "预算执行进度"
META_SHEET = "_evaluator_progress"
LOCKED = ("序号", "一级指标", "二级指标", "三级指标", "年度指标值")
FILL = ("截至本月完成值", "全年预计完成值", "完成目标可能性", "偏差原因", "纠偏措施", "计量基数")
HEADER = (*LOCKED, *FILL)
FIELD = {"截至本月完成值": "progress", "全年预计完成值": "expected", "完成目标可能性": "likely", "偏差原因": "reason",
         "纠偏措施": "action", "计量基数": "rate_base"}
BUDGET_HEADER = ("表编号", "表名称", "全年预算数", "累计执行数", "执行偏差原因", "纠偏措施")
LIKELY = ("确定能", "有可能", "不确定", "不能")
WIDTHS = (5, 10, 12, 28, 14, 16, 14, 12, 30, 30, 9)
HEAD_ROW = 3


def _sheet_names(tables: list[TargetTable]) -> list[str]:
    names, seen = [], {INSTRUCTIONS_SHEET, BUDGET_SHEET, META_SHEET}
    for t in tables:
        base = SHEET_FORBIDDEN.sub("", t.project or (t.title.split("（")[-1].rstrip("）") if "（" in t.title
                                                         else t.title))[:28] or t.id[:28]
        name, n = base, 2
        while name in seen:
            name, n = f"{base[:26]}{n}", n + 1
        seen.add(name)
        names.append(name)
    return names


def write_progress_workbook(targets: TargetSet, month: int, path: Path, progress: ProgressSet | None = None) -> Path:
    """Write the progress workbook for the end of ``month``: instructions, the budget execution sheet, and one
    locked sheet per table (the targets grey and locked; 完成值 so far, the year-end estimate, the likelihood,
    偏差原因 and 纠偏措施 yellow). ``progress`` pre-fills what a unit reported before (a later month's copy).
    Returns the path written: ``path``, or ``name.v2.xlsx`` beside it when ``path`` exists."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    from .output import print_a4_landscape, wrapped_lines, write_atomic
    from .parse import parse_value
    from .report import doc_time, workbook_bytes

    if not 1 <= month <= 12:
        raise InputFileError(f"监控月份 {month} 不在 1–12 之间", hint="例如 --month 7 表示 1–7 月")
    tables = [t for t in targets.tables if t.indicators]
    if not tables:
        raise InputFileError("目标表中没有含绩效指标的表，无法生成进度填报表")
    prior = {t.table: t for t in (progress.tables if progress else [])}
    thin = Side(style="thin", color="999999")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    wrap = Alignment(wrap_text=True, vertical="center")
    center = Alignment(wrap_text=True, vertical="center", horizontal="center")
    head_font, body_font = Font(name="宋体", bold=True, size=10), Font(name="宋体", size=10)
    fill_in, locked_fill = PatternFill("solid", fgColor="FFF2CC"), PatternFill("solid", fgColor="F2F2F2")
    open_cell = Protection(locked=False)
    period = f"{targets.year}年1–{month}月"

    wb = Workbook()
    info = wb.active
    info.title = INSTRUCTIONS_SHEET
    lines = [
        f"{targets.unit_name} {period} 绩效运行监控进度填报表",
        "",
        "怎么填：",
        f"1. 每张目标表一个工作表。黄色单元格由填表人填写，灰色单元格是年度绩效目标，已锁定，请勿修改。本表填报截至 {month} 月末的进度"
        f"（时间进度 {month}/12 = {month / 12:.1%}）。",
        "2. 截至本月完成值：填写 1 月至本月累计完成的数值，与年度指标值同一单位（如 2次、60%、15万元）；"
        "时效指标填预计完成日期（如 2023年11月30日）；定性指标填进展的简要描述。空白表示未填报，会提示预警。",
        "3. 全年预计完成值：按目前情况预计全年能完成的数值（可不填）。完成目标可能性：从下拉列表中选择（确定能 / 有可能 / 不确定 / 不能）。",
        "4. 进度落后于时间进度（偏差超过 15 个百分点）或判断“有可能”“不确定”“不能”完成的指标，须填写偏差原因和纠偏措施。",
        f"5. 在“{BUDGET_SHEET}”工作表中填写每张表的全年预算数和 1 月至本月的累计执行数（万元，只填数字）；"
        "执行进度低于时间进度 80% 的，须填写执行偏差原因和纠偏措施。",
        "6. 可以调整列宽、行高；请不要增删指标行、不要改工作表中的表编号。"
        f"填好后运行：evaluator monitor 目标表文件 本文件.xlsx --month {month}",
        "",
        f"目标表摘要：{targets_digest(targets)}（用于核对本表与目标表是否一致）",
    ]
    for k, line in enumerate(lines, start=1):
        c = info.cell(row=k, column=1, value=line)
        c.font = Font(name="宋体", size=14 if k == 1 else 11, bold=k == 1)
        c.alignment = Alignment(wrap_text=True, vertical="top")
        info.row_dimensions[k].height = 15 * max(1, wrapped_lines(line, 108)) + 3
    info.column_dimensions["A"].width = 110
    print_a4_landscape(info)
    info.protection.sheet = True

    # budget execution so far -----------------------------------------------------------------------------
    bs = wb.create_sheet(BUDGET_SHEET)
    bs.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(BUDGET_HEADER))
    bs.cell(row=1, column=1, value=f"预算执行进度（{period}，金额单位：万元）").font = Font(name="宋体", size=13, bold=True)
    for c, text in enumerate(BUDGET_HEADER, start=1):
        cell = bs.cell(row=2, column=c, value=text)
        cell.font, cell.alignment, cell.border = head_font, center, border
        cell.fill = locked_fill if c <= 2 else fill_in
    money = DataValidation(type="decimal", operator="greaterThanOrEqual", formula1="0", allow_blank=True,
                           showErrorMessage=True, errorTitle="请输入数字", error="请填写金额（万元），只填数字，不要带单位")
    bs.add_data_validation(money)
    for r, t in enumerate(tables, start=3):
        old = prior.get(t.id)
        planned = (t.budget.total if t.budget else None) or t.amount
        values = (t.id, t.title, old.budget.budget if old and old.budget else planned,
                  old.budget.spent if old and old.budget else None, old.reason if old else None,
                  old.action if old else None)
        for c, v in enumerate(values, start=1):
            cell = bs.cell(row=r, column=c, value=v)
            cell.font, cell.alignment, cell.border = body_font, wrap, border
            if c <= 2:
                cell.fill = locked_fill
            else:
                cell.protection, cell.fill = open_cell, fill_in
                if c in (3, 4):
                    cell.number_format = "0.######"
                    money.add(cell)
                else:
                    cell.number_format = "@"
        bs.row_dimensions[r].height = max(30, 13.5 * wrapped_lines(t.title, 43) + 4)
    for c, w in enumerate((14, 44, 13, 13, 32, 32), start=1):
        bs.column_dimensions[get_column_letter(c)].width = w
    bs.freeze_panes = "C3"
    print_a4_landscape(bs, "2:2")
    bs.protection.sheet = True
    bs.protection.formatColumns = bs.protection.formatRows = False

    # one sheet per table -------------------------------------------------------------------------------------
    names = _sheet_names(tables)
    for t, name in zip(tables, names):
        ws = wb.create_sheet(name)
        ws.cell(row=1, column=1, value=f"{t.title}：绩效运行监控（{period}）").font = Font(name="宋体", size=13, bold=True)
        ws.cell(row=2, column=1, value=f"表编号：{t.id}").font = Font(name="宋体", size=9, color="666666")
        for c, text in enumerate(HEADER, start=1):
            cell = ws.cell(row=HEAD_ROW, column=c, value=text)
            cell.font, cell.alignment, cell.border = head_font, center, border
            cell.fill = fill_in if text in FILL else locked_fill
        likely = DataValidation(type="list", formula1='"' + ",".join(LIKELY) + '"', allow_blank=True,
                                showErrorMessage=True, errorTitle="完成目标可能性", error="请从下拉列表中选择：确定能、有可能、不确定或不能")
        base = DataValidation(type="decimal", operator="greaterThan", formula1="0", allow_blank=True,
                              showErrorMessage=True, errorTitle="计量基数", error="请填写人数、界别数等计量基数（大于 0 的数字）")
        ws.add_data_validation(likely)
        ws.add_data_validation(base)
        old = {(i.level2, i.indicator): i for i in prior[t.id].indicators} if t.id in prior else {}
        for k, ind in enumerate(t.indicators, start=1):
            row = HEAD_ROW + k
            p = old.get((ind.level2, ind.level3)) or old.get((None, ind.level3))
            values = (k, ind.level1, ind.level2, ind.level3, ind.target,
                      *(getattr(p, FIELD[h]) if p else None for h in FILL[:-1]),
                      (p.rate_base if p and p.rate_base else ind.rate_base))
            for c, v in enumerate(values, start=1):
                cell = ws.cell(row=row, column=c, value=v)
                cell.font, cell.border = body_font, border
                cell.alignment = wrap if c in (4, 9, 10) else center
                if HEADER[c - 1] in FILL:
                    cell.protection, cell.fill = open_cell, fill_in
                    cell.number_format = "@"  # text: "2次", "60%" stay as typed
                else:
                    cell.fill = locked_fill
            likely.add(ws.cell(row=row, column=8))
            if parse_value(ind.target).kind == ValueKind.RATE:  # a per-unit target: the base it is counted on
                base.add(ws.cell(row=row, column=11))
                ws.cell(row=row, column=11).number_format = "0.##"
            else:
                ws.cell(row=row, column=11).fill = locked_fill
                ws.cell(row=row, column=11).protection = Protection(locked=True)
            lines = max(wrapped_lines(str(v or ""), w - 1) for v, w in zip(values, WIDTHS))
            ws.row_dimensions[row].height = max(18, 13.5 * lines + 4)
        for c, w in enumerate(WIDTHS, start=1):
            ws.column_dimensions[get_column_letter(c)].width = w
        ws.row_dimensions[HEAD_ROW].height = 30
        ws.freeze_panes = ws.cell(row=HEAD_ROW + 1, column=len(LOCKED) + 1)
        print_a4_landscape(ws, f"{HEAD_ROW}:{HEAD_ROW}")
        ws.protection.sheet = True
        ws.protection.formatColumns = ws.protection.formatRows = False

    meta = wb.create_sheet(META_SHEET)
    meta.append(["targets_digest", targets_digest(targets)])
    meta.append(["unit_name", targets.unit_name])
    meta.append(["year", targets.year])
    meta.append(["month", month])
    meta.append(["example", 1 if progress is not None and progress.example else 0])  # pre-filled with example data
    for t, name in zip(tables, names):
        meta.append(["table", t.id, name])
    meta.sheet_state = "veryHidden"
    meta.protection.sheet = True
    return write_atomic(free_path(Path(path)), workbook_bytes(wb, doc_time(targets.year)))


# --------------------------------------------------------------------------- reading it back
def is_progress_workbook(path: Path) -> bool:
    return Path(path).suffix.lower() in PROGRESS_SUFFIXES


def read_progress_workbook(path: str | Path, targets: TargetSet) -> ProgressSet:
    """A filled-in progress workbook → ``ProgressSet``. The locked targets must still match ``targets`` and every
    row must be in place; a 累计执行数 or 计量基数 must be a number: otherwise ``InputFileError`` lists each cell."""
    p = Path(path)
    wb = open_filled(p, "进度填报表")
    if META_SHEET not in wb.sheetnames:
        raise InputFileError("这不是 evaluator 生成的进度填报表（缺少隐藏的说明页）", where=str(p),
                             hint="请用 evaluator monitor-template 目标表文件 --month 7 生成进度填报表后填写；"
                                  "或提交 YAML/JSON 进度文件")
    meta = {str(r[0]): r[1:] for r in wb[META_SHEET].iter_rows(values_only=True) if r and r[0]}
    month = meta.get("month", (None,))[0]
    year = meta.get("year", (None,))[0]
    if not isinstance(month, int) or not 1 <= month <= 12:
        raise InputFileError("进度填报表的隐藏说明页已损坏（缺少监控月份）", where=str(p), hint="请重新生成进度填报表")
    if year != targets.year:
        raise InputFileError(f"进度填报表是 {year} 年的，目标表是 {targets.year} 年的", where=str(p),
                             hint="请核对是否选对了目标表或进度填报表")
    tables = {t.id: t for t in targets.tables if t.indicators}
    problems: list[str] = []
    sheets = table_sheets(wb, tables, (INSTRUCTIONS_SHEET, BUDGET_SHEET, META_SHEET), problems)
    budgets = _read_budget(wb, tables, problems)
    out = []
    for tid, ws in sheets.items():
        indicators = _read_sheet(ws, tables[tid], problems)
        b = budgets.get(tid, {})
        out.append({"table": tid, "budget": b.get("budget"), "reason": b.get("reason"), "action": b.get("action"),
                    "indicators": indicators})
    if problems:
        raise problems_error(problems, "进度填报表", p, "请按上面所列逐格改正：金额和计量基数须为数字，完成目标可能性从"
                                                       "下拉列表中选；锁定的指标和指标值不能修改，也不要增删指标行")
    from .load import validate_mapping

    return validate_mapping(ProgressSet, {"unit_name": targets.unit_name, "year": targets.year, "month": month,
                                   "example": meta.get("example", (0,))[0] == 1, "tables": out}, p)


def _number(value: Any, where: str, what: str, problems: list[str]) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        value = str(value)
    if isinstance(value, (int, float)):
        number = float(value)
    else:
        from .parse import normalise_text

        try:
            number = float(normalise_text(str(value)).replace(",", "").removesuffix("万元").removesuffix("万").strip())
        except ValueError:
            problems.append(f"{where}：{what}“{value}”不是数字，请只填数字（万元）")
            return None
    if number != number or number in (float("inf"), float("-inf")) or number < 0:
        problems.append(f"{where}：{what}“{value}”应为不小于 0 的数字")
        return None
    return number


def _read_budget(wb, tables: dict[str, TargetTable], problems: list[str]) -> dict[str, dict[str, Any]]:
    if BUDGET_SHEET not in wb.sheetnames:
        problems.append(f"缺少工作表“{BUDGET_SHEET}”（请不要删除或重命名它）")
        return {}
    ws = wb[BUDGET_SHEET]
    out: dict[str, dict[str, Any]] = {}
    for r in range(3, (ws.max_row or 2) + 1):
        tid = ws.cell(row=r, column=1).value
        if tid is None:
            continue
        tid = str(tid).strip()
        if tid not in tables:
            problems.append(f"工作表“{BUDGET_SHEET}” A{r}：表编号“{tid}”不在目标表中（表编号已锁定，请勿修改）")
            continue
        where = f"工作表“{BUDGET_SHEET}”"
        budget = _number(ws.cell(row=r, column=3).value, f"{where} C{r}", "全年预算数", problems)
        spent = _number(ws.cell(row=r, column=4).value, f"{where} D{r}", "累计执行数", problems)
        entry: dict[str, Any] = {"reason": cell_text(ws.cell(row=r, column=5).value),
                                 "action": cell_text(ws.cell(row=r, column=6).value)}
        if spent is not None:
            if budget is None:
                problems.append(f"{where} C{r}：填写了累计执行数，但全年预算数为空")
            else:
                entry["budget"] = {"budget": budget, "spent": spent}
        out[tid] = entry
    return out


def _read_sheet(ws, table: TargetTable, problems: list[str]) -> list[dict[str, Any]]:
    from openpyxl.utils import get_column_letter


    heads = [str(ws.cell(row=HEAD_ROW, column=c).value or "").strip() for c in range(1, len(HEADER) + 1)]
    if tuple(heads) != HEADER:
        problems.append(f"工作表“{ws.title}”第 {HEAD_ROW} 行的列标题被改动（应为：{'、'.join(HEADER)}），请重新生成进度填报表")
        return []
    out = []
    for k, ind in enumerate(table.indicators, start=1):
        row = HEAD_ROW + k
        shown = [ws.cell(row=row, column=c).value for c in range(1, len(LOCKED) + 1)]
        expected = (k, ind.level1, ind.level2, ind.level3, ind.target)
        for c, (a, b) in enumerate(zip(shown, expected), start=1):
            if not same_value(a, b):
                problems.append(f"工作表“{ws.title}” {get_column_letter(c)}{row}：{LOCKED[c - 1]}应为“{b or ''}”，"
                                f"表中为“{a if a is not None else ''}”（锁定的内容不能修改，也不要增删指标行）")
                break
        entry: dict[str, Any] = {"indicator": ind.level3, "level2": ind.level2}
        for c, head in enumerate(FILL, start=len(LOCKED) + 1):
            cell = ws.cell(row=row, column=c)
            where = f"工作表“{ws.title}” {get_column_letter(c)}{row}（{ind.level3}）"
            if head == "计量基数":
                value = cell.value if cell.value is not None else None
                base = _number(value, where, "计量基数", problems) if value is not None else None
                if base == 0:
                    problems.append(f"{where}：计量基数应大于 0")
                elif base is not None:
                    entry["rate_base"] = base
                continue
            text = cell_text(cell.value, cell.number_format)
            if head == "完成目标可能性" and text is not None and text not in LIKELY:
                problems.append(f"{where}：完成目标可能性“{text}”不在下拉列表中，请选择：{'、'.join(LIKELY)}")
                continue
            if text is not None:
                entry[FIELD[head]] = text
        out.append(entry)
    extra = ws.cell(row=HEAD_ROW + len(table.indicators) + 1, column=4).value
    if extra not in (None, ""):
        problems.append(f"工作表“{ws.title}”第 {HEAD_ROW + len(table.indicators) + 1} 行：多出指标“{extra}”"
                        "（请不要增加指标行：目标表中没有的指标无法监控）")
    return out
