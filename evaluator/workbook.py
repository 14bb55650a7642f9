"""Data files and the clerk's fill-in workbook: write targets/actuals YAML, write the 自评填报 workbook from
targets, and read a filled-in workbook back as actuals.

Nothing a user entered is ever overwritten: ``free_path`` picks a new versioned name when the file exists, and
every write goes through a temporary file and a rename.
"""
from __future__ import annotations

import hashlib
import math
import re
from pathlib import Path
from typing import Any

import yaml

from .errors import InputFileError, check_cell, check_file_size, check_sheet_size, quote
from .model import (
    MAX_AMOUNT, MAX_POINTS,
    BAND_LABEL, Actual, ActualSet, Band, BudgetExecution, BudgetLine, Contacts, Location, SheetPlace, TableActuals,
    TargetSet, TargetTable, ValueKind,
)
from .output import SHEET_FORBIDDEN, is_input, print_a4_landscape_xlsxwriter, wrapped_lines, write_atomic
from .parse import excel_error, normalise_text, parse_value
from .rules import RuleSet

__all__ = ["dump_yaml", "free_path", "holds_actuals", "write_template", "read_workbook", "template_weights", "cell_text",
           "same_value", "open_filled", "problems_error", "table_sheets"]

INSTRUCTIONS_SHEET = "填报说明"
BUDGET_SHEET = "预算执行"
META_SHEET = "_evaluator"
FILL_COLUMNS = ("实际完成值", "偏差原因分析及改进措施", "定性评判档次", "评判得分", "计量基数")
HEADER = ("序号", "一级指标", "二级指标", "三级指标", "年度指标值", "分值", *FILL_COLUMNS)
LOCKED = HEADER[:6]
INFO_SHEET = "基本信息"
# what the 自评表 and 自评报告 need from the unit besides the indicators: (key, label, contacts field?)
INFO_FIELDS = (("head", "单位负责人", True), ("filler", "填表人", True), ("phone", "联系电话", True),
               ("budget_code", "预算编码", False), ("report_date", "报告日期", False),
               ("organization", "机构设置及人员情况", False), ("evaluation_work", "自评工作开展情况", False),
               ("results_use", "结果应用", False), ("other_notes", "其他需要说明的情况", False))
NARRATIVE = (("achieved_goal", "实际完成情况"), ("problems", "存在的问题"), ("improvements", "改进措施"))
SOURCES = ("当年财政拨款", "上年结转资金", "其他资金")
NARRATIVE_COLUMN = 4  # 实际完成情况 / 存在的问题 / 改进措施: label in A:C, text from D


# --------------------------------------------------------------------------- YAML and safe paths
class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def dump_yaml(model: Any, header: str = "") -> str:
    """A model as YAML: keys in model order, multi-line text as blocks, nothing left at its default."""
    data = model.model_dump(mode="json", exclude_defaults=True, exclude_none=True)
    for table in data.get("tables", []):
        for ind in table.get("indicators", []):
            ind.pop("row", None)
    text = yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=120)
    return header + text


def holds_actuals(path: Path) -> bool:
    """Does an existing file hold year-end entries (an actuals file, or a workbook with filled cells)?"""
    if not path.exists():
        return False
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        try:
            return bool(read_entries_only(path))
        except Exception:  # an unreadable workbook: treat as precious
            return True
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except Exception:
        return True
    keys = ("actual", "deviation_note", "band", "judged_score", "claimed_score")  # what a clerk enters

    def entered(i: Any) -> bool:
        return isinstance(i, dict) and any(i.get(k) not in (None, "") for k in keys)

    return isinstance(data, dict) and any(
        isinstance(t, dict) and (t.get("budget") or t.get("claimed_total") is not None
                                 or any(t.get(k) for k, _ in NARRATIVE)
                                 or any(entered(i) for i in t.get("indicators") or []))
        for t in data.get("tables") or [])


def free_path(path: Path, force: bool = False) -> Path:
    """``path`` if it is free (or may be replaced: ``force`` and it holds no entries), else the next ``name.vN.ext``."""
    if not path.exists() or is_input(path) is not None or (force and not holds_actuals(path)):
        return path  # (a command's own input is returned as it is: writing it is refused, not renamed)
    stem = re.sub(r"\.v\d+$", "", path.stem)
    n = 2
    while (candidate := path.with_name(f"{stem}.v{n}{path.suffix}")).exists():
        n += 1
    return candidate


# --------------------------------------------------------------------------- the fill-in workbook
def template_weights(targets: TargetSet, rules: RuleSet) -> dict[str, list[float | None]]:
    """The 分值 the engine will use for each indicator (given, or split by the rule set), per table."""
    import numpy as np

    from .frame import indicator_frame
    from .score import score_frame

    frame, _ = indicator_frame(targets, None)
    # no actuals yet: score_frame still assigns weights; statuses are irrelevant here
    scored = score_frame(frame, rules)
    out: dict[str, list[float | None]] = {}
    rounded = np.round(scored["weight"].to_numpy(dtype=float), 2).tolist()  # (numpy's rounding, as round() on each)
    for table, w in zip(scored["table"].tolist(), rounded):  # (a groupby: 7,500 small frames)
        out.setdefault(str(table), []).append(None if w != w else w)
    return out


def _is_qualitative(target: str) -> bool:
    """Whether a 指标值 is judged by 档次 (qualitative or blank): the workbook's and the web form's rule."""
    return parse_value(target).kind in (ValueKind.QUALITATIVE, ValueKind.BLANK)


RESERVED_SHEETS = (INSTRUCTIONS_SHEET, BUDGET_SHEET, META_SHEET, INFO_SHEET, "History")  # (Excel reserves History)


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _sheet_base(text: str) -> str:
    """Text as the start of a sheet name Excel accepts: no []:*?/\\, no apostrophe at either end, ≤ 28 UTF-16 units
    (room for a number)."""
    base = SHEET_FORBIDDEN.sub("", text).strip("'")
    while _utf16(base) > 28:
        base = base[:-1]
    return base.rstrip("'")


def _sheet_names(tables: list[TargetTable]) -> list[str]:
    """One sheet name per table, unique as Excel compares them (ignoring case)."""
    names, seen = [], {n.lower() for n in RESERVED_SHEETS}
    tried: dict[str, int] = {}  # per base name, the next number to try (many tables of one name: linear)
    for t in tables:
        name = t.project or (t.title.split("（")[-1].rstrip("）") if "（" in t.title else t.title)
        base = _sheet_base(name) or _sheet_base(t.id) or "表"
        key = base.lower()
        name, n = base, tried.get(key, 2)
        while name.lower() in seen:
            name, n = f"{_sheet_base(base[:26])}{n}", n + 1
        tried[key] = n
        seen.add(name.lower())
        names.append(name)
    return names


def targets_digest(targets: TargetSet) -> str:
    """A short fingerprint of the targets as the template shows them (source row numbers left out, like
    ``dump_yaml``): pydantic's JSON of the model, which costs milliseconds where a YAML dump of 10,000 tables
    took most of a minute. Shown to the clerk and stored in the workbook; nothing is refused on it."""
    text = targets.model_dump_json(exclude_defaults=True, exclude_none=True,
                                   exclude={"tables": {"__all__": {"indicators": {"__all__": {"row"}}}}})
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


# the template's cell formats (XlsxWriter properties): 宋体, thin grey borders, grey locked cells, yellow fill-in
# cells — each registered once with the workbook
_SONG = {"font_name": "宋体", "font_size": 10}
_BOX = {"border": 1, "border_color": "#999999"}
_WRAP = {"text_wrap": True, "valign": "vcenter"}
_GREY = {"pattern": 1, "bg_color": "#F2F2F2"}
_OPEN = {"pattern": 1, "bg_color": "#FFF2CC", "locked": False}
FORMATS: dict[str, dict[str, Any]] = {
    "head": {**_SONG, "bold": True, **_WRAP, **_BOX},  # header of 基本信息 and 预算执行
    "head_locked": {**_SONG, "bold": True, **_WRAP, "align": "center", **_BOX, **_GREY},  # a table's header row
    "head_open": {**_SONG, "bold": True, **_WRAP, "align": "center", **_BOX, "pattern": 1, "bg_color": "#FFF2CC"},
    "locked": {**_SONG, **_WRAP, **_BOX, **_GREY},
    "amount": {**_SONG, **_WRAP, **_BOX, **_OPEN, "num_format": "0.######"},
    "entry": {**_SONG, **_WRAP, **_BOX, **_OPEN},
    "entry_text": {**_SONG, **_WRAP, **_BOX, **_OPEN, "num_format": "@"},  # 实际完成值: "5次", "96%" stay as typed
    "entry_base": {**_SONG, **_WRAP, **_BOX, **_OPEN, "num_format": "0.##"},
    "title": {"font_name": "宋体", "font_size": 13, "bold": True},
    "table_id": {"font_name": "宋体", "font_size": 9, "font_color": "#666666"},
    "label": {**_SONG, "bold": True, "valign": "top", **_GREY},  # 实际完成情况 … (merged A:C)
    "narrative": {"text_wrap": True, "valign": "top", **_OPEN},  # (merged D:K)
    "info_label": {**_SONG, "bold": True, **_BOX, **_GREY},
    "info_value": {**_SONG, "text_wrap": True, "valign": "top", **_BOX, **_OPEN, "num_format": "@"},
    "doc_title": {"font_name": "宋体", "font_size": 14, "bold": True, "text_wrap": True, "valign": "top"},
    "doc_line": {"font_name": "宋体", "font_size": 11, "text_wrap": True, "valign": "top"},
}
TABLE_WIDTHS = (5, 10, 12, 30, 14, 7, 16, 36, 18, 9, 9)
BUDGET_WIDTHS = (14, 44, 18, 14, 14, 14)


def _workbook(out: Any, when: Any) -> Any:
    """The workbook, written row by row (``xlsx_rows``: XlsxWriter's own XML, without its per-cell cost or
    temporary files), text always as text, dated ``when``: the same inputs give the same bytes."""
    from .xlsx_rows import Book

    wb = Book(out)
    wb.set_properties({"author": "evaluator", "created": when})
    return wb


def _widths(ws: Any, widths: tuple[float, ...]) -> None:
    """Column widths as Excel stores them (character units, like openpyxl's): XlsxWriter's ``set_column`` adds
    the cell padding, so the width is given in pixels (7 a character at the default font)."""
    for c, w in enumerate(widths):
        ws.set_column_pixels(c, c, round(w * 7))


def _margins(ws: Any) -> None:
    """The page margins every sheet had (openpyxl's defaults, in inches)."""
    ws.set_margins(left=0.75, right=0.75, top=1, bottom=1)
    ws.set_header("", {"margin": 0.5})
    ws.set_footer("", {"margin": 0.5})


def _protect(ws: Any, widths_open: bool = False) -> None:
    """Sheet protection as before: cells, rows and columns locked (only unlocked cells editable), objects and
    scenarios not; on a table's sheet column widths and row heights may be changed."""
    ws.protect("", {"objects": True, "scenarios": True, "format_columns": widths_open, "format_rows": widths_open})


def write_template(targets: TargetSet, rules: RuleSet, path: Path, actuals: ActualSet | None = None) -> Path:
    """Write the 自评填报 workbook: instructions, budget, and one locked sheet per table with cells to fill."""
    from .load import paused_gc

    with paused_gc():  # (millions of targets' objects alive: a full collection walks them all)
        return _write_template(targets, rules, path, actuals)


def _write_template(targets: TargetSet, rules: RuleSet, path: Path, actuals: ActualSet | None) -> Path:
    """The workbook, written a row at a time (``xlsx_rows``): 10,000 tables are 1.5 million cells, which
    XlsxWriter's per-cell calls took ~15 s to write and openpyxl most of a minute."""
    import datetime as dt
    import io

    tables = [t for t in targets.tables if t.indicators]
    if not tables:
        raise InputFileError("目标表中没有含绩效指标的表，无法生成填报表")
    weights = template_weights(targets, rules)
    prior = {t.table: t for t in (actuals.tables if actuals else [])}
    digest = targets_digest(targets)
    when = dt.datetime((targets.year or 2000) + 1, 1, 1)
    buf = io.BytesIO()
    wb = _workbook(buf, when)
    f = {k: wb.add_format(v) for k, v in FORMATS.items()}

    info = wb.add_worksheet(INSTRUCTIONS_SHEET)
    _margins(info)
    lines = [
        f"{targets.unit_name} {targets.year} 年度绩效自评填报表",
        "",
        "怎么填：",
        "1. 每张目标表一个工作表。黄色单元格由填表人填写，灰色单元格是年度绩效目标和分值，已锁定，请勿修改。",
        "2. 实际完成值：填写全年实际完成的数值，可带单位（如 5、5次、96%、29.86万元）；时效指标填完成日期（如 2023年12月20日）；"
        "定性指标可填“达成”或完成情况的简要描述。确实不适用的填“无”。不要留空：空白表示未填写，不会按 0 分处理。",
        "3. 未达到目标（得分低于分值）的指标，必须填写“偏差原因分析及改进措施”。",
        "4. 定性指标可在“定性评判档次”中选择档次，并可在“评判得分”中填写该档次范围内的得分（不填则按档次默认分计算）。",
        "5. 在“预算执行”工作表中填写年初预算数、全年预算数、全年执行数（万元）；在“基本信息”工作表中填写单位负责人、填表人、"
        "联系电话、预算编码、报告日期和自评报告需要的机构设置及人员情况、自评工作开展情况、结果应用。",
        "6. 在每个工作表下方填写实际完成情况、存在的问题、改进措施（自评报告将原文引用，空白处显示【待填写】）。",
        "7. 可以重命名工作表、调整列宽；请不要增删指标行。填好后运行：evaluator score 目标表文件 本文件.xlsx",
        "",
        f"评分规则集：{rules.label}（{rules.title}）",
        f"目标表摘要：{digest}（用于核对本表与目标表是否一致）",
    ]
    _widths(info, (110,))
    for k, line in enumerate(lines):
        info.write_cells(k, (line,), (f["doc_title"] if k == 0 else f["doc_line"],))
    info.finish()

    # budget sheet (second), then unit information --------------------------------------------------------
    bs = wb.add_worksheet(BUDGET_SHEET)
    ws_info = wb.add_worksheet(INFO_SHEET)
    _margins(bs)
    _margins(ws_info)
    bs.write_cells(0, ("表编号", "表名称", "资金来源", "年初预算数", "全年预算数", "全年执行数"), (f["head"],) * 6)
    amount_formats = (f["locked"],) * 3 + (f["amount"],) * 3
    r = 1
    for t in tables:
        sources = list(t.budget.by_source) if t.budget and t.budget.by_source else list(SOURCES)
        old = prior.get(t.id)
        for source in ["年度资金总额", *sources]:
            line = None
            if old and old.budget:
                line = old.budget if source == "年度资金总额" else old.budget.by_source.get(source)
            initial = (t.amount if source == "年度资金总额" else (t.budget.by_source.get(source) if t.budget else None))
            values = (t.id, t.title, source, line.initial if line and line.initial is not None else initial,
                      line.budget if line else None, line.spent if line else None)
            bs.write_cells(r, values, amount_formats)
            r += 1
    # one validation for the whole block of amounts
    bs.data_validation(1, 3, r - 1, 5, {
        "validate": "decimal", "criteria": ">=", "value": 0, "ignore_blank": True, "show_input": False,
        "error_title": "请输入数字", "error_message": "请填写金额（万元），不要带单位"})
    _widths(bs, BUDGET_WIDTHS)
    bs.freeze_panes(1, 3)
    print_a4_landscape_xlsxwriter(bs, 0)
    _protect(bs)
    bs.finish()

    ws_info.write_cells(0, ("项目", "填写内容"), (f["head"],) * 2)
    info_formats = (f["info_label"], f["info_value"])
    contacts = actuals.contacts if actuals else None  # the forms' 填表人 line still reaches the documents from the targets
    for k, (key, label, is_contact) in enumerate(INFO_FIELDS, start=1):
        old_value = getattr(contacts, key, None) if is_contact else (getattr(actuals, key, None) if actuals else None)
        ws_info.write_cells(k, (label, old_value), info_formats, height=60 if k > 5 else 20)
    _widths(ws_info, (22, 90))
    _protect(ws_info)
    ws_info.finish()

    # one sheet per table -----------------------------------------------------------------------------------
    bands = [BAND_LABEL[b] for b in Band]
    sheet_names = _sheet_names(tables)
    last_col = len(HEADER) - 1
    kinds: dict[str, tuple[bool, bool]] = {}  # 指标值 → (qualitative, rate): parsed once per distinct text
    lines_of: dict[tuple[str, int], int] = {}  # (text, column width) → wrapped lines

    head_formats = tuple(f["head_open"] if text in FILL_COLUMNS else f["head_locked"] for text in HEADER)
    row_formats = {}  # (qualitative, rate) → each column's format: 档次/评判得分 open if qualitative, 计量基数 if a rate
    for qualitative in (False, True):
        for rate in (False, True):
            row_formats[qualitative, rate] = (
                (f["locked"],) * 6 + (f["entry_text"], f["entry"])
                + ((f["entry"],) * 2 if qualitative else (f["locked"],) * 2)
                + ((f["entry_base"],) if rate else (f["locked"],)))
    narrative_formats = (f["label"], None, None, f["narrative"])  # (A:C and D:K merged: covered cells not written)

    def wrapped(v: Any, width: int) -> int:
        key = (str(v or ""), width)
        n = lines_of.get(key)
        if n is None:
            n = lines_of[key] = wrapped_lines(key[0], width - 1)
        return n

    for t, name in zip(tables, sheet_names):
        ws = wb.add_worksheet(name)
        _margins(ws)
        _widths(ws, TABLE_WIDTHS)
        ws.write_cells(0, (t.title,), (f["title"],))
        ws.write_cells(1, (f"表编号：{t.id}",), (f["table_id"],))
        ws.write_cells(2, HEADER, head_formats)
        band_cells: list[str] = []  # the cells of each validation, given to it at once at the end of the sheet
        judged_cells: dict[float, list[str]] = {}
        base_cells: list[str] = []
        old = {(a.level2, a.indicator): a for a in prior[t.id].indicators} if t.id in prior else {}
        for k, (ind, w) in enumerate(zip(t.indicators, weights.get(t.id, [])), start=1):
            row = 3 + k  # (1-based, as the clerk and the validations see it)
            a = old.get((ind.level2, ind.level3)) or old.get((None, ind.level3))
            values = (k, ind.level1, ind.level2, ind.level3, ind.target, w,
                      a.actual if a else None, a.deviation_note if a else None,
                      BAND_LABEL[a.band] if a and a.band else None, a.judged_score if a else None,
                      (a.rate_base if a and a.rate_base else ind.rate_base))
            lines = max(map(wrapped, values, TABLE_WIDTHS))
            kind = kinds.get(ind.target)
            if kind is None:
                kind = kinds[ind.target] = (_is_qualitative(ind.target),
                                            parse_value(ind.target).kind == ValueKind.RATE)
            qualitative, rate = kind
            # (the height: Excel does not grow wrapped rows by itself)
            ws.write_cells(row - 1, values, row_formats[kind], height=max(15, 13.5 * lines + 2))
            if qualitative:
                band_cells.append(f"I{row}")
                if w:
                    judged_cells.setdefault(w, []).append(f"J{row}")
            if rate:
                base_cells.append(f"K{row}")
        r = 3 + len(t.indicators) + 1  # (0-based: one empty row after the indicators)
        for key, label in NARRATIVE:
            ws.write_cells(r, (label, None, None, getattr(prior[t.id], key) if t.id in prior else None),
                           narrative_formats, height=60)
            ws.merge_cells(r, 0, NARRATIVE_COLUMN - 2)
            ws.merge_cells(r, NARRATIVE_COLUMN - 1, last_col)
            r += 1
        # one validation per kind (and per weight for 评判得分), each given all its cells at once
        common = {"ignore_blank": True, "show_input": False}
        if band_cells:
            ws.data_validation(3, 8, 3, 8, {
                "validate": "list", "source": bands, **common, "error_title": "请选择档次",
                "error_message": "请从下拉列表中选择定性评判档次", "multi_range": " ".join(band_cells)})
        for w, cells in judged_cells.items():
            ws.data_validation(3, 9, 3, 9, {
                "validate": "decimal", "criteria": "between", "minimum": 0, "maximum": w, **common,
                "error_title": "评判得分", "error_message": f"评判得分应在 0 到分值 {w} 之间",
                "multi_range": " ".join(cells)})
        if base_cells:
            ws.data_validation(3, 10, 3, 10, {
                "validate": "decimal", "criteria": ">", "value": 0, **common, "error_title": "计量基数",
                "error_message": "请填写人数、界别数等计量基数（大于 0 的数字）", "multi_range": " ".join(base_cells)})
        ws.freeze_panes(3, 6)
        print_a4_landscape_xlsxwriter(ws, 2)
        _protect(ws, widths_open=True)
        ws.finish()

    meta = wb.add_worksheet(META_SHEET)
    _margins(meta)
    rows: list[list[Any]] = [["targets_digest", digest], ["rule_set", rules.label]]
    for t, name in zip(tables, sheet_names):
        rows.append(["table", t.id, name])
        rows.append(["weights", t.id, *weights.get(t.id, [])])  # what the clerk was shown, checked on reading
    for k, values in enumerate(rows):
        meta.write_cells(k, values, (None,) * len(values))
    meta.very_hidden()
    _protect(meta)
    wb.close()
    return write_atomic(path, buf.getvalue())


# --------------------------------------------------------------------------- reading it back
def cell_text(value: Any, number_format: str = "General") -> str | None:
    """A cell as the clerk meant it: 1.0 in a % cell is "100%", numbers keep their digits, blanks are None."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, (int, float)):
        if "%" in (number_format or ""):
            return f"{_plain(value * 100)}%"
        return _plain(value)
    if hasattr(value, "year") and hasattr(value, "month"):  # a date typed into a 时效 cell
        return f"{value.year}年{value.month}月{value.day}日"
    text = str(value).strip()
    return text or None


def _plain(x: float) -> str:
    return f"{x:.10g}" if not float(x).is_integer() else str(int(x))


def same_value(a: Any, b: Any) -> bool:
    """Whether a locked cell still holds what was written: numbers within 0.005, text after normalising (fill-in workbooks)."""
    if a in (None, "") and b in (None, ""):
        return True
    if isinstance(a, (int, float)) or isinstance(b, (int, float)):
        try:
            return abs(float(normalise_text(str(a))) - float(normalise_text(str(b)))) < 0.005
        except ValueError:
            return False
    return normalise_text(str(a)) == normalise_text(str(b))


def read_entries_only(path: Path) -> list[str]:
    """What a clerk entered in a workbook (for the 'holds entries' check): any 实际完成值, 偏差原因, 档次 or 评判得分, any
    实际完成情况 / 存在的问题 / 改进措施, any 全年预算数 or 全年执行数. A workbook evaluator did not write (no hidden
    sheet of ours) counts as entered: nothing tells what in it is precious."""
    from openpyxl import load_workbook

    wb = load_workbook(path, data_only=True, read_only=True)
    try:
        if META_SHEET not in wb.sheetnames:
            return ["（不是 evaluator 生成的填报表）"]
        found: list[str] = []
        entry_heads = set(FILL_COLUMNS) - {"计量基数"} | {"全年预算数", "全年执行数"}  # (计量基数 may be pre-filled)
        narrative = {label for _, label in NARRATIVE}
        for ws in wb.worksheets:
            if ws.title == INFO_SHEET:  # 基本信息 typed by the clerk are entries too
                found += [str(r[1]) for r in ws.iter_rows(min_row=2, max_col=2, values_only=True)
                          if r and len(r) > 1 and r[1] not in (None, "")]
                continue
            columns: list[int] = []
            for row in ws.iter_rows(values_only=True):
                if not row:
                    continue
                cells = ["" if x is None else str(x).strip() for x in row]
                if not columns and ("实际完成值" in cells or "全年执行数" in cells):
                    columns = [k for k, h in enumerate(cells) if h in entry_heads]
                    continue
                if cells[0] in narrative:
                    found += [c for c in cells[NARRATIVE_COLUMN - 1:] if c]
                elif columns:
                    found += [cells[k] for k in columns if k < len(cells) and cells[k]]
        return found
    finally:
        wb.close()


def open_filled(path: Path, label: str):
    """A filled-in workbook opened for its values (not formulas), file and sheet sizes checked: a broken,
    encrypted or oversized file gets a Chinese message naming it as ``label`` (填报表, 进度填报表)."""
    from openpyxl import load_workbook

    check_file_size(path, label)
    try:
        wb = load_workbook(path, data_only=True)
    except Exception as e:  # broken, encrypted or not an xlsx at all
        raise InputFileError(f"无法打开{label}（{type(e).__name__}）", where=str(path),
                             hint="请确认是 .xlsx 格式、未损坏、未设置打开密码") from e
    for ws in wb.worksheets:
        check_sheet_size(ws.max_row or 0, ws.max_column or 0, f"{path} 工作表“{ws.title}”")
    return wb


def problems_error(problems: list[str], label: str, path: Path, hint: str) -> InputFileError:
    """Every problem found in a filled-in workbook as one message (the first 20 listed), nothing read."""
    listed = "\n  ".join(problems[:20])
    more = f"\n  另有 {len(problems) - 20} 处" if len(problems) > 20 else ""
    return InputFileError(f"{label}有 {len(problems)} 处问题，未读取：\n  {listed}{more}", where=str(path), hint=hint)


def table_sheets(wb, tables: dict[str, TargetTable], skip: tuple[str, ...], problems: list[str]) -> dict[str, Any]:
    """Table id → the sheet that holds it in a filled-in workbook: by its "表编号：…" line (rows 1–3), else by the
    table's title in A1. A sheet naming an unknown table, two sheets for one table, or a table without a sheet is
    added to ``problems``."""
    sheet_of: dict[str, Any] = {}
    for ws in wb.worksheets:
        if ws.title in skip or ws.sheet_state != "visible":
            continue
        ident = None
        for r in range(1, 4):
            v = ws.cell(row=r, column=1).value
            if isinstance(v, str) and (m := re.match(r"^表编号[:：]\s*(\S+)", v.strip())):
                ident = m.group(1)
        if ident is None:
            title = str(ws.cell(row=1, column=1).value or "").strip()
            matches = [t.id for t in tables.values() if t.title == title]
            ident = matches[0] if len(matches) == 1 else None
        if ident is not None:
            if ident not in tables:
                problems.append(f"工作表“{ws.title}”：表编号“{ident}”不在目标表中（是否选错了目标表？）")
            elif ident in sheet_of:
                problems.append(f"工作表“{ws.title}”与“{sheet_of[ident].title}”都对应表“{ident}”，请删除重复的工作表")
            else:
                sheet_of[ident] = ws
    missing = [t for t in tables if t not in sheet_of]
    if missing and not problems:
        problems.append("找不到这些表的工作表：" + "、".join(tables[t].title for t in missing)
                        + "（工作表第 2 行应保留“表编号：…”）")
    return sheet_of


def read_workbook(path: str | Path, targets: TargetSet) -> ActualSet:
    """A filled-in 自评填报 workbook → actuals. Locked targets and weights must be unchanged and every row must
    match its target: otherwise ``InputFileError`` lists each offending cell."""
    p = Path(path)
    wb = open_filled(p, "填报表")
    tables = {t.id: t for t in targets.tables if t.indicators}
    problems: list[str] = []
    sheet_of = table_sheets(wb, tables, (INSTRUCTIONS_SHEET, META_SHEET, INFO_SHEET), problems)
    shown = _shown_weights(wb, tables)
    out_tables: list[TableActuals] = []
    budgets = _read_budget(wb, tables, problems, p)
    for tid, ws in sheet_of.items():
        out_tables.append(_read_table_sheet(ws, tables[tid], budgets.get(tid), problems, shown.get(tid)))
    if problems:
        # two kinds of problem land here: entries the clerk typed (a score that is no number …) and changes to the
        # locked layout (targets, weights, rows); the hint speaks to both
        raise problems_error(problems, "填报表", p, "请按上面所列逐格改正：填写的得分、基数和金额须为相应范围内的数字，"
                                                   "档次从下拉列表中选；锁定的指标、指标值和分值不能修改，也不要增删指标行")
    return ActualSet(unit_name=targets.unit_name, year=targets.year, tables=out_tables, **_read_info(wb))


def _read_info(wb) -> dict[str, Any]:
    """The 基本信息 sheet: contacts, 预算编码, 报告日期 and the report's narrative sections (blank stays absent)."""
    if INFO_SHEET not in wb.sheetnames:
        return {}
    labels = {label: (key, is_contact) for key, label, is_contact in INFO_FIELDS}
    out: dict[str, Any] = {}
    contacts: dict[str, str] = {}
    for row in wb[INFO_SHEET].iter_rows(min_row=2, max_col=2, values_only=True):
        if not row or row[0] is None or str(row[0]).strip() not in labels:
            continue
        key, is_contact = labels[str(row[0]).strip()]
        value = cell_text(row[1]) if len(row) > 1 else None
        if value is None:
            continue
        if is_contact:
            contacts[key] = value
        else:
            out[key] = value
    if contacts:
        out["contacts"] = Contacts(**contacts)
    return out


def _shown_weights(wb, tables: dict[str, TargetTable]) -> dict[str, list[Any]]:
    """The 分值 the template showed: from its hidden sheet, else the 分值 given in the targets."""
    out: dict[str, list[Any]] = {}
    if META_SHEET in wb.sheetnames:
        for row in wb[META_SHEET].iter_rows(values_only=True):
            if row and row[0] == "weights" and row[1] in tables:
                out[row[1]] = list(row[2:2 + len(tables[row[1]].indicators)])
    for tid, t in tables.items():
        if tid not in out and any(i.weight is not None for i in t.indicators):
            out[tid] = [i.weight for i in t.indicators]
    return out


def _merged_value(ws, row: int, col: int) -> Any:
    cell = ws.cell(row=row, column=col)
    for rng in ws.merged_cells.ranges:
        if rng.min_row <= row <= rng.max_row and rng.min_col <= col <= rng.max_col:
            return ws.cell(row=rng.min_row, column=rng.min_col).value
    return cell.value


def entry_value(field: str, raw: Any) -> tuple[Any, str | None]:
    """One typed entry → (value, None), or (None, why not) in Chinese: the rule a fill-in workbook cell and a field
    typed in the web application both go through. Fields: band (定性评判档次), judged_score (评判得分, a number ≥ 0),
    rate_base (计量基数, > 0), initial / budget / spent (万元; thousands separators and 万元 allowed). Blank is None."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None, None
    if field == "band":
        text = normalise_text(str(raw))
        band = next((b for b, label in BAND_LABEL.items() if normalise_text(label) == text or text == b.value), None)
        return (band, None) if band is not None else (None, f"“{raw}”不是可选的档次")
    if err := excel_error(raw):
        return None, f"“{err}”是 Excel 的错误值（公式出错），请改正公式或直接填写数字"
    try:
        value = float(normalise_text(str(raw)).replace(",", "").removesuffix("万元") if field in BUDGET_FIELDS
                      else normalise_text(str(raw)))
    except ValueError:
        value = math.nan
    shown = quote(raw)
    if field == "judged_score" and not (math.isfinite(value) and 0 <= value <= MAX_POINTS):
        return None, f"“{shown}”不是 0–100 之间的数字"
    if field == "rate_base" and not (math.isfinite(value) and 0 < value <= MAX_AMOUNT):
        return None, f"“{shown}”不是大于 0 的数字"
    if field in BUDGET_FIELDS and not (math.isfinite(value) and abs(value) <= MAX_AMOUNT):
        return None, f"“{shown}”不是数字"
    if field in ("budget", "spent") and value < 0:
        return None, f"“{shown}”不能是负数"
    return value, None


BUDGET_FIELDS = ("initial", "budget", "spent")


def _read_table_sheet(ws, table: TargetTable, budget: BudgetExecution | None, problems: list[str],
                      weights: list[Any] | None) -> TableActuals:
    from openpyxl.utils import get_column_letter

    # the header row, wherever it now is (rows may have been inserted above it)
    head_row, cols = None, {}
    for r in range(1, min(ws.max_row, 30) + 1):
        labels = {normalise_text(str(ws.cell(row=r, column=c).value or "")).replace("\n", ""): c
                  for c in range(1, ws.max_column + 1)}
        if "三级指标" in labels and "实际完成值" in labels:
            head_row, cols = r, {h: labels.get(normalise_text(h)) for h in HEADER}
            break
    if head_row is None:
        problems.append(f"工作表“{ws.title}”：找不到表头（需包含“三级指标”“实际完成值”）")
        return TableActuals(table=table.id)
    where = lambda r, name: f"工作表“{ws.title}”第 {r} 行 {get_column_letter(cols[name])} 列（{name}）"  # noqa: E731
    rows = []
    r = head_row + 1
    while r <= ws.max_row and len(rows) < len(table.indicators) + 1:
        values = {h: _merged_value(ws, r, c) for h, c in cols.items() if c}
        for h, v in values.items():
            if isinstance(v, str):  # too long: refused; control characters: removed, with a finding
                values[h] = check_cell(v, f"工作表“{ws.title}”第 {r} 行（{h}）",
                                       Location(sheet=f"工作表“{ws.title}”", row=r, column=h))
        if any(v not in (None, "") for v in values.values()):
            if any(str(values.get(h) or "").strip() in dict(NARRATIVE).values() for h in ("序号",)):
                break
            if values.get("三级指标") in (None, "") and values.get("实际完成值") in (None, ""):
                break
            rows.append((r, values))
        r += 1
    if len(rows) > len(table.indicators):
        extra_r, extra = rows[len(table.indicators)]
        problems.append(f"工作表“{ws.title}”第 {extra_r} 行：多出的指标行“{extra.get('三级指标') or ''}”对应不到目标表")
        rows = rows[: len(table.indicators)]
    if len(rows) < len(table.indicators):
        problems.append(f"工作表“{ws.title}”：应有 {len(table.indicators)} 行指标，只找到 {len(rows)} 行（不要删除指标行）")
    actuals = []
    for k, ((r, values), ind) in enumerate(zip(rows, table.indicators)):
        expected = {"一级指标": ind.level1, "二级指标": ind.level2, "三级指标": ind.level3, "年度指标值": ind.target}
        if weights is not None and k < len(weights):
            expected["分值"] = weights[k]
        for name, want in expected.items():
            if cols.get(name) and not same_value(values.get(name), want):
                problems.append(f"{where(r, name)}：被改为“{values.get(name) or ''}”，目标表为“{want}”")
        actual_cell = ws.cell(row=r, column=cols["实际完成值"]) if cols.get("实际完成值") else None
        actual = cell_text(values.get("实际完成值"), actual_cell.number_format if actual_cell else "General")
        band, problem = entry_value("band", cell_text(values.get("定性评判档次")))
        if problem:
            problems.append(f"{where(r, '定性评判档次')}：{problem}")
        judged, problem = entry_value("judged_score", values.get("评判得分"))
        if problem:
            problems.append(f"{where(r, '评判得分')}：{problem}")
        note = cell_text(values.get("偏差原因分析及改进措施"))
        base, problem = entry_value("rate_base", values.get("计量基数"))
        if problem:
            problems.append(f"{where(r, '计量基数')}：{problem}")
        actuals.append(Actual(indicator=ind.level3, level2=ind.level2, actual=actual, deviation_note=note,
                              band=band, judged_score=judged, rate_base=base))
    narrative = {}
    for rr in range(head_row + 1, ws.max_row + 1):
        label = str(ws.cell(row=rr, column=1).value or "").strip()
        for key, text in NARRATIVE:
            if label == text:
                narrative[key] = cell_text(_merged_value(ws, rr, NARRATIVE_COLUMN))
    place = SheetPlace(sheet=ws.title, rows=[r for r, _ in rows],
                       columns={h: get_column_letter(c) for h, c in cols.items() if c})
    return TableActuals(table=table.id, budget=budget, indicators=actuals, place=place, **narrative)


def _read_budget(wb, tables: dict[str, TargetTable], problems: list[str], path: Path) -> dict[str, BudgetExecution]:
    ws = wb[BUDGET_SHEET] if BUDGET_SHEET in wb.sheetnames else next(
        (w for w in wb.worksheets if str(w.cell(row=1, column=1).value or "").strip() == "表编号"), None)
    if ws is None:
        return {}
    head = {str(ws.cell(row=1, column=c).value or "").strip(): c for c in range(1, ws.max_column + 1)}
    need = ("表编号", "资金来源", "年初预算数", "全年预算数", "全年执行数")
    if any(h not in head for h in need):
        problems.append(f"工作表“{ws.title}”：表头应包含 {'、'.join(need)}")
        return {}
    lines: dict[str, dict[str, BudgetLine]] = {}
    for r in range(2, ws.max_row + 1):
        tid = str(ws.cell(row=r, column=head["表编号"]).value or "").strip()
        if not tid:
            continue
        if tid not in tables:
            problems.append(f"工作表“{ws.title}”第 {r} 行：表编号“{tid}”不在目标表中")
            continue
        nums = {}
        for key, name in (("initial", "年初预算数"), ("budget", "全年预算数"), ("spent", "全年执行数")):
            nums[key], problem = entry_value(key, ws.cell(row=r, column=head[name]).value)
            if problem:
                problems.append(f"工作表“{ws.title}”第 {r} 行（{name}）：{problem}")
        source = str(ws.cell(row=r, column=head["资金来源"]).value or "").strip()
        lines.setdefault(tid, {})[source] = BudgetLine(**nums)
    out = {}
    for tid, by in lines.items():
        total = by.pop("年度资金总额", None)
        if total is None and not by:
            continue
        filled = {k: v for k, v in by.items() if v.budget is not None or v.spent is not None}
        if total is None or (total.budget is None and total.spent is None and filled):
            total = BudgetLine(initial=sum(v.initial or 0 for v in filled.values()) or None,
                               budget=sum(v.budget or 0 for v in filled.values()),
                               spent=sum(v.spent or 0 for v in filled.values()))
        if total.budget is None and total.spent is None:
            continue
        out[tid] = BudgetExecution(initial=total.initial, budget=total.budget, spent=total.spent, by_source=filled)
    return out
