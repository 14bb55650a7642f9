"""Read the official Word/Excel 绩效目标表 and 自评表 forms into target (and actual) data.

Two steps. ``read_grids`` turns every Word table or Excel sheet into a dense grid in which each merged region's
text fills all its cells (merged cells in both directions, Word's gridBefore/vMerge, Excel merge ranges), and
records which cell each region starts at. ``parse_forms`` then finds the forms in those rows by their labels —
the title (…绩效目标表 / …绩效自评表), 部门名称, 年度预算申请, 年度绩效指标, 支出明细及测算说明, 填表人 … — so a
form may start in the middle of a table or sheet, several forms may share one file, and stray blank rows do not
matter. Whatever cannot be placed is reported with its table, row, column and text; nothing is guessed silently.
"""
from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from .errors import Code, InputFileError, check_cell, check_file_size, check_sheet_size
from .model import (
    Actual, ActualSet, BudgetExecution, BudgetLine, BudgetPlan, Contacts, CostNote, Finding, FundItem, Indicator,
    Location, Severity, TableActuals, TableKind, TargetSet, TargetTable, WorkItem,
)
from .parse import normalise_text

__all__ = ["Grid", "read_grids", "parse_forms", "import_form", "FormImport"]


# --------------------------------------------------------------------------- grids
@dataclass
class Grid:
    """One Word table or Excel sheet as a dense grid of texts; ``origin[r][c]`` is the top-left of c's region."""

    name: str  # "表 1" or "工作表“Sheet1”"
    cells: list[list[str]]
    origin: list[list[tuple[int, int]]]
    rows: list[int] = field(default_factory=list)  # 1-based row numbers in the source (Excel rows)


def _docx_tables(path: Path) -> list[Any]:
    from docx import Document
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = Document(str(path))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as e:
        raise InputFileError(f"无法打开 Word 文件（{type(e).__name__}）", where=str(path),
                             hint="请确认是 .docx 格式（不是 .doc）、未损坏、未加密；.doc 请先用 Word/WPS 另存为 .docx") from e
    return [t._tbl for t in document.tables]


def _tc_text(tc) -> str:
    paragraphs = tc.xpath("./w:p | ./w:tbl//w:p")
    return clean_text("\n".join("".join(p.xpath(".//w:t/text()")) for p in paragraphs))


_END = "。；;：:！!？?）)」』”"


def clean_text(text: str) -> str:
    """Cell text as data: lines stripped, and a line break that only wrapped a narrow cell removed.

    "专题调研和\n提案工作" → "专题调研和提案工作"; "…答复；\n2.完成…" keeps its break (the line ends a sentence
    or item, or is long enough to be a line of its own)."""
    lines = [line.strip() for line in str(text).replace("\r", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    while lines and not lines[0]:
        lines.pop(0)
    out: list[str] = []
    for line in lines:
        if out and out[-1] and line and len(out[-1]) <= 12 and out[-1][-1] not in _END:
            out[-1] += line
        else:
            out.append(line)
    return "\n".join(out)


def _name(text: str) -> str:
    """Names (指标, 事项, 专项) carry no spaces: "可持续影响  指标" → "可持续影响指标"."""
    return re.sub(r"\s+", "", text or "")


def _docx_grid(tbl, name: str) -> Grid:
    raw: list[list[tuple[int, int, str, str | None]]] = []  # (col, span, text, vMerge)
    width = 0
    check_sheet_size(len(tbl.tr_lst), 0, name)
    for tr in tbl.tr_lst:
        col = tr.grid_before
        row = []
        for tc in tr.tc_lst:
            span = tc.grid_span
            text = check_cell(_tc_text(tc), f"{name} 第 {len(raw) + 1} 行 {_col_name(col)} 列")
            row.append((col, span, text, tc.vMerge))
            col += span
        width = max(width, col + tr.grid_after)
        raw.append(row)
    cells = [[""] * width for _ in raw]
    origin = [[(r, c) for c in range(width)] for r in range(len(raw))]
    for r, row in enumerate(raw):
        for col, span, text, vmerge in row:
            if vmerge == "continue" and r > 0:
                top = origin[r - 1][col]
                for c in range(col, min(col + span, width)):
                    origin[r][c] = top
                    cells[r][c] = cells[top[0]][top[1]]
            else:
                for c in range(col, min(col + span, width)):
                    origin[r][c] = (r, col)
                    cells[r][c] = text
    return Grid(name=name, cells=cells, origin=origin, rows=list(range(1, len(raw) + 1)))


def _xlsx_grids(path: Path) -> list[Grid]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, data_only=True)
    except Exception as e:  # openpyxl raises many types for a broken, encrypted or foreign file
        raise InputFileError(f"无法打开 Excel 文件（{type(e).__name__}）", where=str(path),
                             hint="请确认是 .xlsx 格式、未损坏、未设置打开密码；.xls 请先另存为 .xlsx") from e
    grids = []
    formulas = None  # loaded only if a cell reads as empty: a formula Excel never calculated looks the same
    for ws in wb.worksheets:
        nrows, ncols = ws.max_row or 0, ws.max_column or 0
        check_sheet_size(nrows, ncols, f"{path} 工作表“{ws.title}”")
        cells = [["" for _ in range(ncols)] for _ in range(nrows)]
        origin = [[(r, c) for c in range(ncols)] for r in range(nrows)]
        for r, row in enumerate(ws.iter_rows(min_row=1, max_row=nrows, max_col=ncols, values_only=True)):
            for c, v in enumerate(row):
                if isinstance(v, str):
                    check_cell(v, f"{path} 工作表“{ws.title}” 第 {r + 1} 行 {_col_name(c)} 列")
                cells[r][c] = _cell_text(v)
        formulas = _uncalculated(path, ws.title, cells, formulas)
        for rng in ws.merged_cells.ranges:
            r0, c0 = rng.min_row - 1, rng.min_col - 1
            for r in range(r0, min(rng.max_row, nrows)):
                for c in range(c0, min(rng.max_col, ncols)):
                    cells[r][c] = cells[r0][c0]
                    origin[r][c] = (r0, c0)
        grids.append(Grid(name=f"工作表“{ws.title}”", cells=cells, origin=origin, rows=list(range(1, nrows + 1))))
    return grids


def _uncalculated(path: Path, sheet: str, cells: list[list[str]], formulas: Any) -> Any:
    """Refuse a formula with no stored result (a file written by a program, never opened in Excel): its value is
    unknown, and reading it as blank would silently drop an entry."""
    if not any("" in row for row in cells):
        return formulas
    if formulas is None:
        from openpyxl import load_workbook

        formulas = load_workbook(path, data_only=False)
    ws = formulas[sheet]
    for r, row in enumerate(cells):
        for c, text in enumerate(row):
            if text == "":
                v = ws.cell(row=r + 1, column=c + 1).value
                if isinstance(v, str) and v.startswith("="):
                    raise InputFileError(f"单元格是公式“{v}”，但没有计算结果",
                                         where=f"{path} 工作表“{sheet}” 第 {r + 1} 行 {_col_name(c)} 列",
                                         hint="请在 Excel/WPS 中打开并保存该文件后再试，或直接填写数值")
    return formulas


def _cell_text(v: Any) -> str:
    if v is None:
        return ""
    if hasattr(v, "year") and hasattr(v, "month") and hasattr(v, "day"):  # a date typed into Excel (a serial number)
        return f"{v.year}年{v.month}月{v.day}日"
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else repr(v)
    return clean_text(str(v))


def read_grids(path: str | Path) -> list[Grid]:
    """Every table of a .docx, or every sheet of a .xlsx, as a dense grid."""
    p = Path(path)
    check_file_size(p)
    suffix = p.suffix.lower()
    if suffix == ".docx":
        return [_docx_grid(t, f"表 {k}") for k, t in enumerate(_docx_tables(p), start=1)]
    if suffix in (".xlsx", ".xlsm"):
        return _xlsx_grids(p)
    raise InputFileError(f"不支持的文件类型“{p.suffix}”", where=str(p), hint="请使用 .docx 或 .xlsx（.doc/.xls 请先另存）")


# --------------------------------------------------------------------------- rows of a form
def _key(text: str) -> str:
    """Label text without spaces, line breaks and brackets' contents-insensitive spacing: '年度重点   工作计划' → '年度重点工作计划'."""
    return re.sub(r"\s+", "", normalise_text(text or ""))


@dataclass
class Row:
    grid: Grid
    r: int

    @property
    def cells(self) -> list[str]:
        return self.grid.cells[self.r]

    def own(self) -> list[tuple[int, str]]:
        """The cells that start in this row (not carried from above, not repeated by a horizontal merge)."""
        out = []
        for c, text in enumerate(self.cells):
            o = self.grid.origin[self.r][c]
            if o == (self.r, c) and text:
                out.append((c, text))
        return out

    def where(self, c: int | None = None) -> Location:
        return Location(sheet=self.grid.name, row=self.grid.rows[self.r],
                        column=_col_name(c) if c is not None else None)

    def blank(self) -> bool:
        return not any(t.strip() for t in self.cells)


def _col_name(c: int) -> str:
    s, n = "", c + 1
    while n:
        n, rem = divmod(n - 1, 26)
        s = chr(65 + rem) + s
    return s


def _find(row: Row, *labels: str) -> int | None:
    keys = {_key(x) for x in labels}
    for c, text in enumerate(row.cells):
        if _key(text) in keys:
            return c
    return None


def _right_of(row: Row, c: int) -> tuple[int, str] | None:
    """The next region to the right of column c that has text."""
    label = row.grid.origin[row.r][c]
    for k in range(c + 1, len(row.cells)):
        if row.grid.origin[row.r][k] != label and row.cells[k].strip():
            return k, row.cells[k]
    return None


_NUM = re.compile(r"^-?\d+(?:\.\d+)?$")


def _number(text: str) -> float | None:
    t = normalise_text(text).replace(",", "").removesuffix("万元").removesuffix("元")
    return float(t) if _NUM.match(t) else None


# --------------------------------------------------------------------------- the forms
TITLE = re.compile(r"绩效(目标|自评)(汇总)?表")
BOILERPLATE = re.compile(r"^(附表\s*\d+(-\d+)?|填报单位[:：].*|金额(单位)?[:：]?\s*万元|单位[:：]\s*万元|（?盖章）?|"
                         r"单位负责人签字[:：]?.*|填表人.*|联系电话.*|合\s*计)$")
INDICATOR_HEADERS = {
    "level1": ("一级指标",), "level2": ("二级指标",), "level3": ("三级指标",),
    "target": ("指标值及单位", "指标值", "年度指标值", "目标值"), "comparator": ("指标性质",),
    "unit": ("度量单位", "计量单位"), "weight": ("分值", "权重"), "standard": ("绩效标准", "评价标准"),
    "actual": ("实际完成值", "全年实际值", "实际值"), "claimed": ("得分", "自评得分"),
    "note": ("偏差原因分析及改进措施", "未完成原因及拟采取的改进措施", "偏差原因分析", "偏差原因"),
}


@dataclass
class FormImport:
    """What a form file gave: targets, actuals (for a 自评表), and what could not be placed."""

    targets: TargetSet
    actuals: ActualSet | None
    findings: list[Finding]


class _Parser:
    def __init__(self, path: Path, grids: list[Grid]):
        self.path = path
        self.rows = [Row(g, r) for g in grids for r in range(len(g.cells))]
        self.used: set[tuple[str, int, int]] = set()  # (grid name, row, origin col) consumed
        self.findings: list[Finding] = []
        self.claimed_total: float | None = None

    # bookkeeping -----------------------------------------------------------------------------------------
    def take(self, row: Row, c: int) -> str:
        o = row.grid.origin[row.r][c]
        self.used.add((row.grid.name, o[0], o[1]))
        return row.grid.cells[o[0]][o[1]]

    def take_row(self, row: Row) -> None:
        for c, _ in row.own():
            self.take(row, c)

    def columns(self, row: Row, spec: tuple[tuple[str, tuple[str, ...]], ...]) -> dict[str, int | None]:
        """A header row's columns by name (each key: the first of its names found), taken as placed."""
        cols = {key: _find(row, *names) for key, names in spec}
        for c in cols.values():
            if c is not None:
                self.take(row, c)
        return cols

    @staticmethod
    def section(rows: list[Row], head: Row, label: int) -> Iterator[Row]:
        """The non-blank rows after ``head`` while the merged label column still shows the section's label."""
        for row in rows[rows.index(head) + 1:]:
            if row.blank():
                continue
            if row.cells[label] and _key(row.cells[label]) != _key(head.cells[label]):
                return
            yield row

    def note(self, row: Row, c: int | None, message: str, severity: Severity = Severity.WARNING) -> None:
        loc = row.where(c).model_copy(update={"file": str(self.path)})
        self.findings.append(Finding(code=Code.FORM_UNPLACED, severity=severity, location=loc, message=message))

    # splitting into forms --------------------------------------------------------------------------------
    def forms(self) -> list[tuple[str, str | None, list[Row]]]:
        starts = []
        for k, row in enumerate(self.rows):
            for c, text in row.own():
                if TITLE.search(_key(text)) and len(_key(text)) < 60:
                    starts.append((k, c, text))
                    break
        out = []
        for n, (k, c, title) in enumerate(starts):
            end = starts[n + 1][0] if n + 1 < len(starts) else len(self.rows)
            self.take(self.rows[k], c)
            # a "附表N" line just above the title names the form
            form = None
            for row in reversed(self.rows[max(0, k - 3):k]):
                hit = next((t for _, t in row.own() if re.fullmatch(r"附表\s*\d+(-\d+)?", _key(t))), None)
                if hit:
                    form = _key(hit)
                    break
            out.append((_key(title), form, self.rows[k + 1:end]))
        return out

    # common fields ---------------------------------------------------------------------------------------
    def contacts(self, rows: list[Row]) -> Contacts | None:
        head = filler = phone = None
        for row in rows:
            for c, text in row.own():
                t = normalise_text(text)
                hit = False
                if m := re.search(r"填表人[:：]\s*([^\s:：]+?)(?=\s|联系|$)", t):
                    filler, hit = m.group(1), True
                if m := re.search(r"联系电话[:：]\s*([\d\-()（）]+)", t):
                    phone, hit = m.group(1), True
                if m := re.search(r"单位负责人(签字)?[:：][^\S\n]*([^\s:：]*)", t):
                    name = m.group(2)
                    head, hit = (None if not name or name.startswith(("填表人", "联系")) else name), True
                if hit:
                    self.take(row, c)
        if head or filler or phone:
            return Contacts(head=head, filler=filler, phone=phone)
        return None

    def label_value(self, rows: list[Row], *labels: str) -> tuple[Row, int, str] | None:
        """The text right of the first of ``labels`` found (labels in order of preference)."""
        for label in labels:
            for row in rows:
                c = _find(row, label)
                if c is None:
                    continue
                right = _right_of(row, c)
                self.take(row, c)
                if right:
                    self.take(row, right[0])
                    return row, right[0], right[1].strip()
                return row, c, ""
        return None

    def indicators(self, rows: list[Row]) -> tuple[list[Indicator], list[Actual], int] | None:
        """The 年度绩效指标 block: a header row naming the columns, then one row per 三级指标."""
        for k, row in enumerate(rows):
            cols: dict[str, int] = {}
            for key, names in INDICATOR_HEADERS.items():
                c = _find(row, *names)
                if c is not None:
                    cols[key] = c
            if {"level1", "level2", "level3"} <= set(cols) and ("target" in cols or "comparator" in cols):
                break
        else:
            return None
        for c in cols.values():
            self.take(row, c)
        label_col = min(cols.values()) - 1  # the merged "年度绩效指标"/"绩效指标" label column, if any
        if label_col >= 0:
            self.take(row, label_col)
        label = row.cells[label_col] if label_col >= 0 else ""
        indicators, actuals = [], []
        last1 = last2 = ""
        end = k + 1
        for row in rows[k + 1:]:
            if row.blank():
                end += 1
                continue
            if any(re.match(r"^(总分|合计)", _key(t)) for _, t in row.own()):
                numbers = [_number(t) for c, t in row.own() if _number(t) is not None]
                self.claimed_total = numbers[-1] if len(numbers) >= 2 else None  # 总分 | 100 | 96 | 优
                self.take_row(row)
                end += 1
                break
            first = row.cells[label_col] if label_col >= 0 else ""
            if label_col >= 0 and first and first != label:
                break  # the next section of the form (支出明细…, 单位负责人签字…)
            cell = lambda key: row.cells[cols[key]].strip() if key in cols else ""  # noqa: E731
            l1, l2, l3 = _name(cell("level1")) or last1, _name(cell("level2")) or last2, _name(cell("level3"))
            end += 1
            if not l3:
                if any(t for _, t in row.own()):
                    self.note(row, None, f"绩效指标行缺少三级指标，未导入：{' | '.join(t for _, t in row.own())}")
                continue
            last1, last2 = l1, l2
            for key in cols:
                self.take(row, cols[key])
            weight = _number(cell("weight")) if cell("weight") else None
            if cell("weight") and weight is None:
                self.note(row, cols["weight"], f"分值“{cell('weight')}”不是数字，未导入该分值")
            target = cell("comparator") + cell("target")
            indicators.append(Indicator(level1=l1, level2=l2, level3=l3, target=target, unit=cell("unit") or None,
                                        weight=weight, standard=cell("standard") or None,
                                        row=row.grid.rows[row.r]))
            if "actual" in cols or "claimed" in cols:
                claimed = _number(cell("claimed")) if cell("claimed") else None
                note = cell("note")
                actuals.append(Actual(indicator=l3, level2=l2, actual=cell("actual") or None,
                                      deviation_note=None if normalise_text(note) in ("", "0", "无", "/") else note,
                                      claimed_score=claimed))
        return indicators, actuals, end

    # one form --------------------------------------------------------------------------------------------
    def parse(self, title: str, rows: list[Row], unit_hint: str | None, index: int) -> tuple[TargetTable, TableActuals | None]:
        year_m = re.search(r"(\d{4})年", title)
        year = int(year_m.group(1)) if year_m else 0
        if "自评表" in title:
            return self.parse_self_evaluation(title, rows, unit_hint, year, index)
        kind = TableKind.DEPARTMENT if "部门整体" in title else (
            TableKind.SPECIAL_FUND if "汇总表" in title else TableKind.PROJECT)
        fields: dict[str, Any] = {"kind": kind, "year": year}
        if (hit := self.label_value(rows, "部门名称", "单位名称")):
            fields["unit_name"] = _name(hit[2])
        if kind == TableKind.DEPARTMENT:
            fields.update(self.department_block(rows))
        elif kind == TableKind.SPECIAL_FUND:
            fields.update(self.fund_summary(rows))
        else:
            fields.update(self.project_block(rows))
        found = self.indicators(rows)
        if found:
            fields["indicators"] = found[0]
        notes = self.cost_notes(rows)
        if notes:
            fields["cost_notes"] = notes
        contacts = self.contacts(rows)
        name = fields.pop("direction_name", None)
        fields["title"] = title + (f"（{name}）" if name else "")
        fields.setdefault("unit_name", unit_hint or "")
        fields["id"] = _table_id(kind, year, index)
        if contacts:
            fields["contacts"] = contacts
        return TargetTable(**fields), None

    def department_block(self, rows: list[Row]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        budget_row = next((r for r in rows if _find(r, "年度预算申请（万元）", "年度预算申请") is not None), None)
        if budget_row is not None:
            c = _find(budget_row, "年度预算申请（万元）", "年度预算申请")
            self.take(budget_row, c)
            right = _right_of(budget_row, c)
            total = None
            if right:
                self.take(budget_row, right[0])
                m = re.search(r"(-?\d+(?:\.\d+)?)", normalise_text(right[1]))
                total = float(m.group(1)) if m else None
            by_source, by_nature = {}, {}
            start = rows.index(budget_row) + 1
            split_col = None
            for row in rows[start:]:
                if (k := _find(row, "按支出性质分")) is not None:
                    split_col = row.grid.origin[row.r][k][1]
                    self.take(row, k)
                    if (j := _find(row, "按收入性质分")) is not None:
                        self.take(row, j)
                    continue
                own = row.own()
                label_cells = [(c, t) for c, t in own if row.grid.origin[row.r][c][0] == row.r]
                pairs = []
                for (c1, t1), nxt in zip(label_cells, label_cells[1:] + [(None, None)]):
                    if _number(t1) is None and nxt[1] is not None and _number(nxt[1]) is not None:
                        pairs.append((c1, t1, nxt[0], _number(nxt[1])))
                if not pairs:
                    break
                for c1, t1, c2, value in pairs:
                    key = re.sub(r"^其中[:：]", "", _key(t1))
                    (by_nature if split_col is not None and c1 >= split_col else by_source)[key] = value
                    self.take(row, c1)
                    self.take(row, c2)
            if total is not None:
                out["budget"] = BudgetPlan(total=total, by_source=by_source, by_nature=by_nature)
                out["amount"] = total
        if (hit := self.label_value(rows, "部门职责概述", "部门职能概述")):
            out["duties"] = hit[2]
        plan_rows = [r for r in rows if _find(r, "年度重点工作计划") is not None]
        if plan_rows:
            head = plan_rows[0]
            label = _find(head, "年度重点工作计划")
            cols = self.columns(head, (("item", ("事项", "重点工作")),
                                       ("owner", ("责任单位/科室", "责任单位", "责任科室")), ("goal", ("工作目标", "目标"))))
            self.take(head, label)
            items = []
            for row in self.section(rows, head, label):
                if cols["item"] is None or not row.cells[cols["item"]].strip():
                    break
                vals = {k: row.cells[c].strip() if c is not None else None for k, c in cols.items()}
                for c in cols.values():
                    if c is not None:
                        self.take(row, c)
                items.append(WorkItem(item=_name(vals["item"]), owner=_name(vals["owner"]) or None,
                                      goal=vals["goal"] or None))
            out["work_plan"] = items
        return out

    def fund_summary(self, rows: list[Row]) -> dict[str, Any]:
        head = next((r for r in rows if _find(r, "名称") is not None and _find(r, "金额") is not None), None)
        if head is None:
            return {}
        cols = self.columns(head, (("seq", ("序号",)), ("name", ("名称", "专项名称")), ("amount", ("金额",)),
                                   ("long_term_goal", ("实施期绩效目标",)), ("annual_goal", ("年度绩效目标",))))
        items, total = [], None
        for row in rows[rows.index(head) + 1:]:
            if row.blank():
                continue
            vals = {k: row.cells[c].strip() if c is not None else "" for k, c in cols.items()}
            if _key(vals["name"]) == "合计" or _key(vals["seq"]) == "合计":
                total = _number(vals["amount"])
                self.take_row(row)
                continue
            amount = _number(vals["amount"])
            if not vals["name"] or amount is None:
                break
            for c in cols.values():
                if c is not None:
                    self.take(row, c)
            items.append(FundItem(seq=vals["seq"] or None, name=_name(vals["name"]), amount=amount,
                                  long_term_goal=vals["long_term_goal"] or None, annual_goal=vals["annual_goal"] or None))
        out: dict[str, Any] = {"fund_items": items}
        if total is not None:
            out["amount"] = total
        return out

    def project_block(self, rows: list[Row]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if (hit := self.label_value(rows, "支出方向（子项）", "支出方向", "项目名称")):
            out["direction_name"] = _name(hit[2])
        for row in rows:
            c = _find(row, "所属专项")
            if c is not None:
                self.take(row, c)
                name_c = _find(row, "名称")
                if name_c is not None:
                    self.take(row, name_c)
                    right = _right_of(row, name_c)
                    if right:
                        out["fund"] = _name(self.take(row, right[0]))
                break
        if (hit := self.label_value(rows, "项目金额", "项目资金", "金额")):
            out["amount"] = _number(hit[2])
            # the same row repeats the amount under 所属专项 › 金额
            row = hit[0]
            c = _find(row, "金额")
            if c is not None and c != hit[1]:
                self.take(row, c)
                right = _right_of(row, c)
                if right:
                    self.take(row, right[0])
        if (hit := self.label_value(rows, "主管部门")) and hit[2]:
            out["supervisor"] = _name(hit[2])
        if (hit := self.label_value(rows, "实施单位")) and hit[2]:
            out["unit_name"] = _name(hit[2])
        if (hit := self.label_value(rows, "项目实施期", "实施期")):
            out["period"] = hit[2]
        if (hit := self.label_value(rows, "实施期绩效目标")):
            out["long_term_goal"] = hit[2]
        if (hit := self.label_value(rows, "年度绩效目标", "年度总体目标")):
            out["annual_goal"] = hit[2]
        return out

    def cost_notes(self, rows: list[Row]) -> list[CostNote]:
        start = next((r for r in rows if _find(r, "支出明细及测算说明") is not None), None)
        if start is None:
            return []
        label = _find(start, "支出明细及测算说明")
        self.take(start, label)
        cols = self.columns(start, (("summary", ("支出内容简介",)), ("detail", ("支出明细",)), ("amount", ("金额",)),
                                    ("basis", ("支出测算依据及过程说明", "测算依据"))))
        notes = []
        for row in self.section(rows, start, label):
            vals = {k: row.cells[c].strip() if c is not None else "" for k, c in cols.items()}
            if any(_key(v) == "合计" for v in vals.values()):
                self.take_row(row)
                continue
            if not any(vals.values()):
                continue
            for c in cols.values():
                if c is not None:
                    self.take(row, c)
            notes.append(CostNote(summary=vals["summary"] or None, detail=vals["detail"] or None,
                                  amount=_number(vals["amount"]) if vals["amount"] else None,
                                  basis=vals["basis"] or None))
        return notes

    def parse_self_evaluation(self, title: str, rows: list[Row], unit_hint: str | None, year: int, index: int
                              ) -> tuple[TargetTable, TableActuals]:
        """A filled-in 自评表: targets, actuals, claimed 得分 and the budget block in one table."""
        kind = TableKind.DEPARTMENT if "部门整体" in title else TableKind.PROJECT
        fields: dict[str, Any] = {"kind": kind, "year": year}
        self.claimed_total = None
        name = self.label_value(rows, "项目名称", "部门名称")
        unit = self.label_value(rows, "实施单位", "单位名称")
        supervisor = self.label_value(rows, "主管部门")
        if supervisor and supervisor[2]:
            fields["supervisor"] = _name(supervisor[2])
        fields["unit_name"] = _name(unit[2]) if unit and unit[2] else (unit_hint or "")
        fields["title"] = (name[2] if name else None) or title
        budget = self.self_evaluation_budget(rows)
        goal = self.goal_pair(rows)
        if goal[0]:
            fields["annual_goal"] = goal[0]
        found = self.indicators(rows)
        if found:
            fields["indicators"] = found[0]
        contacts = self.contacts(rows)
        if contacts:
            fields["contacts"] = contacts
        fields["id"] = _table_id(kind, year, index)
        if budget and budget.budget is not None:
            fields["amount"] = budget.budget
        table = TargetTable(**fields)
        actuals = TableActuals(table=table.id, budget=budget, achieved_goal=goal[1] or None,
                               claimed_total=self.claimed_total, indicators=found[1] if found else [])
        return table, actuals

    def self_evaluation_budget(self, rows: list[Row]) -> BudgetExecution | None:
        head = next((r for r in rows if _find(r, "全年预算数") is not None and _find(r, "全年执行数") is not None), None)
        if head is None:
            return None
        cols = self.columns(head, (("initial", ("年初预算数",)), ("budget", ("全年预算数",)), ("spent", ("全年执行数",))))
        for extra in ("分值", "执行率", "得分", "项目资金（万元）", "项目资金", "预算资金（万元）"):
            if (c := _find(head, extra)) is not None:
                self.take(head, c)
        total: BudgetLine | None = None
        by_source: dict[str, BudgetLine] = {}
        block = head.grid.origin[head.r][0]  # the merged "项目资金（万元）" label, when the form has one
        first_value = min(c for c in cols.values() if c is not None)
        for row in rows[rows.index(head) + 1:]:
            if head.grid.cells[block[0]][block[1]] and row.grid is head.grid and row.grid.origin[row.r][0] != block:
                break
            own = [(c, t) for c, t in row.own() if c < first_value]
            label = next((t for c, t in own if _number(t) is None), None)
            if label is None or re.match(r"^(年度总体目标|年度绩效目标|绩效指标|预期目标)", _key(label)):
                break
            values = {k: _number(row.cells[c]) if c is not None else None for k, c in cols.items()}
            line = BudgetLine(**values)
            for c, _ in row.own():
                self.take(row, c)
            key = re.sub(r"^其中[:：]", "", _key(label))
            if "资金总额" in key or "合计" in key:
                total = line
            elif any(v is not None for v in values.values()):
                by_source[key] = line
        if total is None and not by_source:
            return None
        if total is None or all(v in (None, 0) for v in (total.budget, total.spent)):
            # a 年度资金总额 row left at 0 while its sub-rows are filled: add the sub-rows up
            summed = {k: sum(getattr(v, k) or 0 for v in by_source.values()) for k in ("initial", "budget", "spent")}
            total = BudgetLine(**summed)
            if rows:
                self.findings.append(Finding(
                    code=Code.FORM_UNPLACED, severity=Severity.INFO, location=Location(file=str(self.path)),
                    message="年度资金总额行为空或为 0，已按其下各资金来源行合计"))
        return BudgetExecution(initial=total.initial, budget=total.budget, spent=total.spent, by_source=by_source)

    def goal_pair(self, rows: list[Row]) -> tuple[str | None, str | None]:
        head = next((r for r in rows if _find(r, "预期目标") is not None), None)
        if head is None:
            return None, None
        c1, c2 = _find(head, "预期目标"), _find(head, "实际完成情况")
        for c in (c1, c2, _find(head, "年度总体目标"), _find(head, "年度绩效目标")):
            if c is not None:
                self.take(head, c)
        nxt = rows[rows.index(head) + 1] if rows.index(head) + 1 < len(rows) else None
        if nxt is None:
            return None, None
        goal = self.take(nxt, c1) if c1 is not None else None
        done = self.take(nxt, c2) if c2 is not None else None
        label = _find(nxt, "年度总体目标", "年度绩效目标")
        if label is not None:
            self.take(nxt, label)
        return goal, done

    # leftovers -------------------------------------------------------------------------------------------
    def report_unplaced(self, form_rows: list[Row]) -> None:
        for row in form_rows:
            for c, text in row.own():
                o = row.grid.origin[row.r][c]
                if (row.grid.name, o[0], o[1]) in self.used or BOILERPLATE.match(_key(text)) or BOILERPLATE.match(text.strip()):
                    continue
                self.note(row, c, f"未能识别该内容所属的栏目，未导入：“{_short(text)}”")


def _short(text: str, n: int = 40) -> str:
    t = re.sub(r"\s+", " ", text).strip()
    return t if len(t) <= n else t[: n - 1] + "…"


def _table_id(kind: TableKind, year: int, index: int) -> str:
    prefix = {TableKind.DEPARTMENT: "dept", TableKind.SPECIAL_FUND: "funds", TableKind.PROJECT: "project"}[kind]
    return f"{prefix}-{year or 'x'}-{index}"


def parse_forms(path: str | Path, grids: list[Grid], unit_name: str | None = None) -> FormImport:
    """Find every 绩效目标表 / 自评表 in the grids and read it."""
    p = Path(path)
    parser = _Parser(p, grids)
    forms = parser.forms()
    if not forms:
        raise InputFileError("文件中找不到绩效目标表或绩效自评表（标题应含“绩效目标表”或“绩效自评表”）", where=str(p),
                             hint="请确认文件是官方的绩效目标表/自评表格式")
    # the department's name, if any form states it, names the forms that do not (附表2, 附表3)
    hint = unit_name
    if hint is None:
        for _, _, rows in forms:
            for row in rows:
                c = _find(row, "部门名称", "单位名称", "实施单位")
                if c is not None and (right := _right_of(row, c)):
                    hint = _name(right[1])
                    break
            if hint:
                break
    tables: list[TargetTable] = []
    actual_tables: list[TableActuals] = []
    for index, (title, form, rows) in enumerate(forms, start=1):
        table, acts = parser.parse(title, rows, hint, index)
        if form:
            table = table.model_copy(update={"form": form})
        if not table.unit_name:
            parser.findings.append(Finding(code=Code.FORM_UNPLACED, severity=Severity.WARNING,
                                           location=Location(file=str(p), table=table.id),
                                           message="表中没有部门（单位）名称，请用 --unit 指定"))
        tables.append(table)
        if acts is not None:
            actual_tables.append(acts)
        parser.report_unplaced(rows)
    year = next((t.year for t in tables if t.year), 0)
    unit = hint or next((t.unit_name for t in tables if t.unit_name), "")
    targets = TargetSet(unit_name=unit, year=year, source=p.name, tables=tables)
    actuals = ActualSet(unit_name=unit, year=year, tables=actual_tables) if actual_tables else None
    return FormImport(targets=targets, actuals=actuals, findings=parser.findings)


def import_form(path: str | Path, unit_name: str | None = None) -> FormImport:
    """Read a .docx/.xlsx file holding one or more official forms."""
    from .load import values_in_range  # a year, 分值 or amount out of range: the file's one-line error

    with values_in_range(str(path)):
        return parse_forms(path, read_grids(path), unit_name)
