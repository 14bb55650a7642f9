"""Read the official Word/Excel/CSV 绩效目标表 and 自评表 forms into target (and actual) data.

The file arrives as grids (``grids.py``): a Word body as its paragraphs and tables in order, each sheet of a
workbook, a CSV file. ``parse_forms`` finds the forms in those rows by their labels — the title (…绩效目标表,
…绩效目标申报表, …绩效自评表 …), 部门名称, 项目名称, 资金情况, 年度绩效指标, 支出明细及测算说明, 填表人 … — so a form may
start in the middle of a table or sheet, its title and signature lines may be paragraphs around its table, several
forms may share one file, and stray blank rows do not matter. A table with an indicator header and no title (a flat
自评表, a CSV) is one form. Whatever cannot be placed is reported with its table, row, column and text; nothing is
guessed silently.
"""
from __future__ import annotations

import math
import re
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import accumulate, chain
from pathlib import Path
from typing import Any, Iterator

from .errors import Code, InputFileError, check_file_size, notice
from .grids import Grid, clean_text, col_name, edge_spaces
from .model import (
    Actual, ActualSet, BudgetExecution, BudgetLine, BudgetPlan, Contacts, CostNote, Finding, FundItem, Indicator,
    MAX_POINTS, Location, Severity, TableActuals, TableKind, TargetSet, TargetTable, WorkItem,
)
from .parse import excel_error, normalise_text, spaceless

__all__ = ["Grid", "read_grids", "parse_forms", "import_form", "FormImport", "clean_text"]


def read_grids(path: str | Path) -> list[Grid]:
    """Every paragraph and table of a Word file, every visible sheet of a workbook, or a CSV file, as grids.

    The file's type is decided by its content (``intake.sniff``); .doc/.wps are converted with LibreOffice first."""
    from .intake import form_grids

    return form_grids(Path(path))


# --------------------------------------------------------------------------- rows of a form
@lru_cache(maxsize=65536)
def _key(text: str) -> str:
    """Label text without spaces and line breaks, full-width forms folded: '年度重点   工作计划' → '年度重点工作计划'."""
    return re.sub(r"\s+", "", normalise_text(text or ""))


@lru_cache(maxsize=65536)
def _bare(text: str) -> str:
    """A column label without what it says in brackets: '年度指标值（A）' → '年度指标值', '分值(%)' → '分值'."""
    return re.sub(r"\([^()]*\)", "", _key(text))


class Row:
    __slots__ = ("grid", "r")

    def __init__(self, grid: Grid, r: int):
        self.grid, self.r = grid, r

    @property
    def cells(self) -> list[str]:
        return self.grid.cells[self.r]

    def own(self) -> list[tuple[int, str]]:
        """The cells that start in this row (not carried from above, not repeated by a horizontal merge)."""
        merged, r = self.grid.merged, self.r
        if not merged or r not in self.grid.merged_rows:
            return [(c, t) for c, t in enumerate(self.cells) if t]
        return [(c, t) for c, t in enumerate(self.cells) if t and (r, c) not in merged]

    def where(self, c: int | None = None) -> Location:
        paragraph = self.grid.kind == "paragraph"
        return Location(file=self.grid.file, sheet=None if self.grid.kind == "csv" else self.grid.name,
                        row=None if paragraph else self.grid.row_number(self.r),
                        column=col_name(c) if c is not None and not paragraph else None)

    def blank(self) -> bool:
        return not any(t.strip() for t in self.cells)


class _Rows(Sequence):
    """The rows of a file's grids in order, each ``Row`` made when it is read: a 200,000-row CSV read column by
    column (``_Parser._plain_block``) never makes a Row per line. Slices are views; ``index`` finds a row by its
    grid and row number."""

    def __init__(self, grids: list[Grid], lo: int = 0, hi: int | None = None, starts: list[int] | None = None):
        self.grids = grids
        self.starts = starts if starts is not None else [0, *accumulate(len(g.cells) for g in grids)]
        self.lo, self.hi = lo, self.starts[-1] if hi is None else hi

    def __len__(self) -> int:
        return self.hi - self.lo

    def __getitem__(self, k):
        if isinstance(k, slice):
            lo, hi, step = k.indices(len(self))
            if step != 1:
                return [self[i] for i in range(lo, hi, step)]
            return _Rows(self.grids, self.lo + lo, self.lo + max(lo, hi), self.starts)
        if k < 0:
            k += len(self)
        if not 0 <= k < len(self):
            raise IndexError(k)
        n = self.lo + k
        g = bisect_right(self.starts, n) - 1
        return Row(self.grids[g], n - self.starts[g])

    def _spans(self) -> Iterator[tuple[int, Grid, int, int]]:
        """(index of the first, grid, first row, end row) of each grid's part of the rows."""
        if self.lo >= self.hi:
            return
        g = bisect_right(self.starts, self.lo) - 1
        n = self.lo
        while n < self.hi:
            start = self.starts[g]
            end = min(self.starts[g + 1], self.hi)
            if end > n:
                yield n - self.lo, self.grids[g], n - start, end - start
            n, g = max(n, end), g + 1

    def __iter__(self) -> Iterator[Row]:
        for _, grid, r0, r1 in self._spans():
            for r in range(r0, r1):
                yield Row(grid, r)

    def where_both(self, a: str, b: str) -> Iterator[tuple[int, Grid, int]]:
        """(index, grid, row) of the rows whose joined text holds both ``a`` and ``b``."""
        for k0, grid, r0, r1 in self._spans():
            for r, joined in enumerate(map("".join, grid.cells[r0:r1]), r0):
                if a in joined and b in joined:
                    yield k0 + r - r0, grid, r

    def index(self, row: Row, *_: Any) -> int:  # type: ignore[override]
        for k0, grid, r0, r1 in self._spans():
            if grid is row.grid and r0 <= row.r < r1:
                return k0 + row.r - r0
        raise ValueError("row not in rows")

    def __add__(self, other) -> list[Row]:
        return [*self, *other]

    def __radd__(self, other) -> list[Row]:
        return [*other, *self]


def _find(row: Row, *labels: str) -> int | None:
    keys = {_key(x) for x in labels}
    for c, text in enumerate(row.cells):
        if text and (_key(text) in keys or _bare(text) in keys):
            return c
    return None


def _right_of(row: Row, c: int) -> tuple[int, str] | None:
    """The next region to the right of column c that has text."""
    label = row.grid.origin(row.r, c)
    for k in range(c + 1, len(row.cells)):
        if row.grid.origin(row.r, k) != label and row.cells[k].strip():
            return k, row.cells[k]
    return None


_NUM = re.compile(r"^-?\d+(?:\.\d+)?$")


def _number(text: str) -> float | None:
    if _NUM.match(text):
        return float(text)
    t = normalise_text(text).replace(",", "").removesuffix("万元").removesuffix("元")
    return float(t) if _NUM.match(t) else None


_NO_NOTE = frozenset({"", "0", "无", "/", "-"})


_MONEY = re.compile(r"^(-?\d+(?:\.\d+)?)(万元|万|元)?$")


def _money(text: str, unit: str = "万元") -> float | None:
    """An amount as written ("854万", "854万元", "8,540,000元", "854") in the table's unit (万元 or 元)."""
    m = _MONEY.match(normalise_text(text or "").replace(",", ""))
    if not m:
        return None
    value, written = float(m.group(1)), m.group(2)
    if written in ("万", "万元") and unit == "元":
        return round(value * 10_000, 6)
    if written == "元" and unit == "万元":
        return round(value / 10_000, 8)
    return value


# --------------------------------------------------------------------------- the forms
# Titles by pattern: 绩效目标表, 绩效目标申报表(基础设施建设类)(2022年度), 部门（单位）整体支出绩效目标表, 项目支出绩效自评表,
# 区域绩效自评表(转移支付), 部门整体支出绩效评价指标表, 专项资金绩效目标汇总表 …
TITLE = re.compile(r"绩效(?:目标|自评|评价)\w{0,8}?表")
BOILERPLATE = re.compile(r"^(附表\s*\d+(-\d+)?|附件\s*\d*|填报单位[:：]\s*[（(]?盖章[)）]?|金额(单位)?[:：]?\s*万?元|单位[:：]\s*万?元|"
                         r"[（(]?盖章[)）]?|单位负责人(签字)?[:：]?|填表人[:：]?|联系电话[:：]?|合\s*计|填报日期[:：]?|"
                         r"[（(]\s*\d{4}\s*年度?\s*[)）])$")
INDICATOR_HEADERS: dict[str, tuple[str, ...]] = {
    "level1": ("一级指标", "level1"), "level2": ("二级指标", "level2"),
    "level3": ("三级指标", "level3", "指标名称"), "comparator": ("指标性质", "comparator"),
    "target": ("年度指标值", "指标值及单位", "指标值", "目标值", "年度目标值", "预期指标值", "target"),
    "unit": ("度量单位", "计量单位", "unit"), "weight": ("分值", "权重", "weight"),
    "standard": ("绩效标准", "评价标准", "评分标准"),
    "actual": ("实际完成值", "全年实际值", "实际值", "完成值", "实际完成情况值", "actual"),
    "claimed": ("得分", "自评得分", "published_score", "claimed_score"),
    "note": ("偏差原因分析及改进措施", "偏差原因分析及改进", "未完成原因及拟采取的改进措施", "偏差原因分析", "偏差原因",
             "原因分析及改进措施", "deviation_reason", "deviation_note"),
}
_HEADER_WORDS = ("指标", "level")
# labels a header line may carry inline ("项目名称：XX工程    主管部门：XX局")
INLINE = re.compile(r"(项目名称|主管部门(?:及代码)?|实施单位|项目负责人|填报单位|部门(?:[(（]单位[)）])?名称|单位名称|金额单位|"
                    r"金额|单位|联系电话|填表人|单位负责人(?:签字)?|填报日期|预算年度|年度)\s*[:：]")


def _inline(text: str) -> dict[str, str]:
    """"填报单位：（盖章）        金额：万元" → {"填报单位": "（盖章）", "金额": "万元"}."""
    hits = list(INLINE.finditer(text))
    out = {}
    for k, m in enumerate(hits):
        end = hits[k + 1].start() if k + 1 < len(hits) else len(text)
        out[_key(m.group(1))] = text[m.end():end].strip()
    return out


def _year_in(text: str) -> int | None:
    m = re.search(r"(20\d{2}|19\d{2})\s*年", text)
    return int(m.group(1)) if m else None


@dataclass
class FormImport:
    """What a form file gave: targets, actuals (for a 自评表), and what could not be placed."""

    targets: TargetSet
    actuals: ActualSet | None
    findings: list[Finding]
    # without models (``parse_forms(models=False)``): each table's indicator rows as columns, by table id; the
    # tables then list no indicators and their actuals no entries
    blocks: "dict[str, _Block]" = field(default_factory=dict)


@dataclass
class _Block:
    """The indicator block of a form: header row, the indicator rows as columns (``BLOCK_COLUMNS``; the actuals'
    only when the form is a 自评表), and where it ends. The models are built from the columns when asked for: a
    200,000-row flat 自评表 scored by ``score --json`` goes to the scoring frame from the columns directly."""

    columns: dict[str, list[Any]]
    start: int  # index of the header row in the form's rows
    end: int  # index after the block
    has_actuals: bool
    percent_weights: bool = False

    @property
    def ids(self) -> list[str | None]:
        """Each indicator's id: in a 自评表 its row ("r12"), which its entry carries too; none in a target form."""
        rows = self.columns["row"]
        return [f"r{at}" for at in rows] if self.has_actuals else [None] * len(rows)

    @property
    def indicators(self) -> list[Indicator]:
        c = self.columns
        return [Indicator(id=i, level1=l1, level2=l2, level3=l3, target=t, unit=u, standard=st, row=at, weight=w)
                for i, l1, l2, l3, t, u, st, at, w in zip(self.ids, c["level1"], c["level2"], c["level3"], c["target"],
                                                          c["unit"], c["standard"], c["row"], c["weight"])]

    @property
    def actuals(self) -> list[Actual]:
        if not self.has_actuals:
            return []
        c = self.columns
        return [Actual(indicator=l3, level2=l2, id=i, actual=a, deviation_note=n, claimed_score=cs)
                for l3, l2, i, a, n, cs in zip(c["level3"], c["level2"], self.ids, c["actual"], c["deviation_note"],
                                               c["claimed_score"])]


BLOCK_COLUMNS = ("level1", "level2", "level3", "target", "unit", "standard", "row", "weight")
ACTUAL_COLUMNS = ("actual", "deviation_note", "claimed_score")
_STOP = re.compile(r"^(填表人|单位负责人|联系电话|填报日期|注\d*[:.、]|说明|备注|审核人)")
_STOP_CHARS = frozenset("总合填单联注说备审")  # the first characters of the totals and signature lines above


def _never_stops(head: str) -> bool:
    """A first character no 总分/合计 or signature line starts with (``_may_stop`` is False for any text it heads)."""
    return head.isascii() and head.isalnum() or "\u4e00" <= head <= "\u9fff" and head not in _STOP_CHARS


# a row's first cell (after the NUL joining it to the one before) whose first character ``_never_stops`` does not
# clear: one regex scan finds them among all the rows' first cells joined
_RISKY_START = re.compile("\x00(?:[^0-9A-Za-z\u4e00-\u9fff\x00]|[" + re.escape("".join(sorted(_STOP_CHARS))) + "])")


def _any_may_stop(first: list[str]) -> bool:
    """``_may_stop`` of any of the rows' first cells ("" for a blank row), each distinct text tested once. Most
    texts are cleared by their first character: a column of few texts by the distinct first characters, one that
    looks distinct (a 一级指标 per row) by one regex scan of all joined — a first character taken from 200,000
    names is 200,000 new strings."""
    sample = first[:1000]
    if len(set(sample)) <= 64:  # (few distinct texts, by the look of it)
        starts = set(first) - {""}
        risky = {h for h in {t[:1] for t in starts} if not _never_stops(h)}  # (first characters: a few)
        return bool(risky) and any(_may_stop(t) for t in starts if t[:1] in risky)
    joined = "\x00" + "\x00".join(first)
    if joined.count("\x00") != len(first):  # (a text holding a NUL: no row starts are told apart by them)
        return any(_may_stop(t) for t in set(first) if t and not _never_stops(t[:1]))
    risky = set()
    for m in _RISKY_START.finditer(joined):
        end = joined.find("\x00", m.end())
        risky.add(joined[m.start() + 1:end if end >= 0 else len(joined)])
    return any(_may_stop(t) for t in risky)


def _may_stop(text: str) -> bool:
    """Could ``text``, as a row's first cell, be a 总分/合计 line or a signature line that ends the indicator block?
    Exact for anything but text starting with an ASCII letter or digit or a CJK ideograph other than the first
    characters of those lines (which normalising leaves in place): those cannot."""
    if _never_stops(text.lstrip()[:1]):
        return False
    key = _key(text)
    return key.startswith(("总分", "合计", "总计")) or bool(_STOP.match(key))


class _Parser:
    def __init__(self, path: Path, grids: list[Grid], models: bool = True):
        self.path, self.models = path, models
        self.rows = _Rows(grids)
        self.used: set[tuple[int, int, int]] = set()  # (id(grid), row, origin col) consumed
        self.findings: list[Finding] = []
        self.claimed_total: float | None = None
        self.last_block: _Block | None = None

    # bookkeeping -----------------------------------------------------------------------------------------
    def take(self, row: Row, c: int) -> str:
        o = row.grid.origin(row.r, c)
        self.used.add((id(row.grid), o[0], o[1]))
        return row.grid.cells[o[0]][o[1]]

    def taken(self, row: Row, c: int) -> bool:
        o = row.grid.origin(row.r, c)
        return (id(row.grid), o[0], o[1]) in self.used

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
            if row.grid is not head.grid:
                return
            if row.cells[label] and _key(row.cells[label]) != _key(head.cells[label]):
                return
            yield row

    def note(self, row: Row, c: int | None, message: str, severity: Severity = Severity.WARNING) -> None:
        loc = row.where(c).model_copy(update={"file": str(self.path)})
        self.findings.append(Finding(code=Code.FORM_UNPLACED, severity=severity, location=loc, message=message))

    # splitting into forms --------------------------------------------------------------------------------
    def forms(self) -> list[tuple[str | None, str | None, list[Row]]]:
        """(title, 附表N, rows) of each form; a titled form's rows run to the next title. No title but an indicator
        header (a flat 自评表, a CSV): the whole file is one form."""
        starts: list[tuple[int, int, str]] = []
        for k, grid, r in self.rows.where_both("绩效", "表"):
            row = Row(grid, r)
            for c, text in row.own():
                key = _key(text)
                if len(key) < 60 and TITLE.search(key) and not _inline(text):
                    if starts and k - starts[-1][0] <= 3 and self._only_boilerplate(starts[-1][0] + 1, k):
                        self.take(row, c)  # the title again (a paragraph above the table and the table's first row)
                    else:
                        starts.append((k, c, text))
                    break
        if not starts:
            return [(None, None, self.rows)] if self.rows else []
        out = []
        for n, (k, c, title) in enumerate(starts):
            end = starts[n + 1][0] if n + 1 < len(starts) else len(self.rows)
            self.take(self.rows[k], c)
            form = None  # a "附表N" line just above the title names the form
            for j in range(k - 1, max(-1, k - 4), -1):
                hit = next(((c2, t) for c2, t in self.rows[j].own() if re.fullmatch(r"附表\s*\d+(-\d+)?", _key(t))), None)
                if hit:
                    form = _key(hit[1])
                    self.take(self.rows[j], hit[0])
                    break
            out.append((_name(title), form, self.rows[k + 1:end]))
        return out

    def _only_boilerplate(self, a: int, b: int) -> bool:
        """Rows a..b hold nothing but boilerplate (填报单位, 金额单位, the year …)."""
        return all(all(BOILERPLATE.match(_key(t)) for _, t in self.rows[j].own()) for j in range(a, b))

    # common fields ---------------------------------------------------------------------------------------
    def contacts(self, rows: list[Row]) -> Contacts | None:
        head = filler = phone = None
        for row in rows:
            for c, text in row.own():
                if not ("填表人" in text or "联系电话" in text or "负责人" in text):
                    continue
                t = normalise_text(text)
                hit = False
                if m := re.search(r"填表人[:：]\s*([^\s:：]+?)(?=\s|联系|单位负责人|$)", t):
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
        """The text right of the first of ``labels`` found (labels in order of preference), or written after the
        label in its own cell or paragraph ("项目名称：XX工程")."""
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
        for label in labels:
            key = _key(label)
            for row in rows:
                for c, text in row.own():
                    if label[:2] in text and (value := _inline(text).get(key)):
                        self.take(row, c)
                        return row, c, value
        return None

    def header(self, rows: list[Row]) -> dict[str, Any]:
        """What the header block of any form holds: names, the amount unit, the period, the goals."""
        out: dict[str, Any] = {}
        if (hit := self.label_value(rows, "项目名称")) and hit[2]:
            out["project"] = _name(hit[2])
        if (hit := self.label_value(rows, "主管部门", "主管部门及代码", "主管单位")) and hit[2]:
            out["supervisor"] = _name(hit[2])
        if (hit := self.label_value(rows, "实施单位", "部门名称", "单位名称", "部门（单位）名称", "预算单位")) and hit[2]:
            out["unit_name"] = _name(hit[2])
        if (hit := self.label_value(rows, "填报单位")) and hit[2] and "盖章" not in hit[2]:
            out.setdefault("unit_name", _name(hit[2]))
        if (hit := self.label_value(rows, "项目负责人")) and hit[2]:
            out["project_lead"] = _name(hit[2])
            phone = _find(hit[0], "联系电话")
            if phone is not None and (right := _right_of(hit[0], phone)):
                self.take(hit[0], phone)
                out["project_lead_phone"] = _name(self.take(hit[0], right[0]))
        if (hit := self.label_value(rows, "项目实施期", "项目期", "实施期", "项目周期")) and hit[2]:
            out["period"] = hit[2]
        out.update(self.amount_unit(rows))
        out.update(self.goals(rows))
        return out

    def amount_unit(self, rows: list[Row]) -> dict[str, Any]:
        """金额单位：万元 / 单位：元, or a label such as 项目资金（万元）."""
        for row in rows:
            for c, text in row.own():
                if "元" not in text:
                    continue
                fields = _inline(text)
                for label in ("金额单位", "金额", "单位"):
                    if (v := _key(fields.get(label, ""))) in ("万元", "元"):
                        self.take(row, c)
                        return {"amount_unit": v}
                if m := re.search(r"[(（](万元|元)[)）]", text):
                    return {"amount_unit": m.group(1)}
        return {}

    GOALS = {"annual_goal": ("年度总体目标", "年度目标", "年度绩效目标", "年度总目标"),
             "long_term_goal": ("实施期目标", "实施期绩效目标", "实施期总体目标", "中期目标", "长期目标", "总体目标")}

    def goals(self, rows: list[Row]) -> dict[str, Any]:
        """年度总体目标 / 实施期目标: a label with its text to the right, or labels heading columns above their texts."""
        out: dict[str, Any] = {}
        names = {_key(n): field for field, labels in self.GOALS.items() for n in labels}
        for k, row in enumerate(rows):
            if "目标" not in "".join(row.cells):
                continue
            found = [(c, names[_bare(t)]) for c, t in row.own() if _bare(t) in names]
            if not found:
                continue
            below = rows[k + 1] if k + 1 < len(rows) and rows[k + 1].grid is row.grid else None
            heads = len(found) > 1 or (below is not None and _find(below, *self.GOALS["annual_goal"]) is None
                                       and not _right_of(row, found[0][0]))
            for c, field in found:
                if heads:
                    self.take(row, c)
                    if field not in out and below is not None and below.cells[c].strip() and \
                            below.grid.origin(below.r, c) == (below.r, c) and not self.taken(below, c):
                        out[field] = self.take(below, c).strip()
                elif field not in out and (right := _right_of(row, c)) and _bare(right[1]) not in names \
                        and not _find(row, "预期目标"):
                    self.take(row, c)
                    out[field] = self.take(row, right[0]).strip()
        return out

    def year_of(self, rows: list[Row]) -> int | None:
        """The year printed near the title: "（2022年度）", "预算年度：2022"."""
        for row in rows[:8]:
            for c, text in row.own():
                key = _key(text)
                if m := re.fullmatch(r"\(?(\d{4})年度?\)?", key):
                    self.take(row, c)
                    return int(m.group(1))
                if (v := _inline(text).get("预算年度") or _inline(text).get("年度")) and (y := _year_in(v + "年")):
                    self.take(row, c)
                    return y
        return None

    def footnotes(self, rows: list[Row]) -> list[str]:
        """注：… / 说明：… / 备注：… lines (the form's notes on how to fill it in): kept with the table."""
        out = []
        for row in rows:
            for c, text in row.own():
                if re.match(r"^\s*(注|说明|备注|填表说明)\s*\d*\s*[:：.、]", text) and not self.taken(row, c):
                    self.take(row, c)
                    out.append(text.strip())
        return out

    def funds(self, rows: list[Row], unit: str) -> dict[str, Any]:
        """资金情况 / 项目资金 of a project form: 年度资金总额 with 其中：财政拨款 / 其他资金 …, amounts "854万" or
        "854万元", as label-value cells, "年度资金总额：854万元" inline, or labels heading a row of amounts."""
        starts = [k for k, row in enumerate(rows) if any(
            re.match(r"^(资金情况|项目资金|资金来源|年度资金总额|资金总额|项目总投资|项目金额|年度预算)", _key(t)) for _, t in row.own())]
        if not starts:
            return {}
        k0 = starts[0]
        if _find(rows[k0], "全年预算数") is not None:
            return {}  # the budget block of a 自评表
        total, parts = None, {}
        for row in rows[k0:k0 + 6]:
            own = [(c, t) for c, t in row.own() if not self.taken(row, c)]
            if any(_find(row, *labels) is not None for labels in self.GOALS.values()) or _find(row, "绩效指标", "年度绩效指标"):
                break
            pairs: list[tuple[int, str, int | None, float]] = []
            for (c1, t1), nxt in zip(own, own[1:] + [(None, "")]):
                label = re.sub(r"^其中[:：]", "", _key(t1))
                inline = re.match(r"^(.*?)[:：]\s*([\d.,]+(?:万元|万|元)?)$", label)
                if inline and (v := _money(inline.group(2), unit)) is not None:
                    pairs.append((c1, inline.group(1), None, v))
                elif _money(t1, unit) is None and nxt[0] is not None and (v := _money(nxt[1], unit)) is not None:
                    pairs.append((c1, re.sub(r"\(.*?\)$", "", label), nxt[0], v))
            for c1, label, c2, value in pairs:
                if re.match(r"^(资金情况|项目资金|资金来源)", label) and not re.search(r"总额|合计", label):
                    label = "年度资金总额"
                self.take(row, c1)
                if c2 is not None:
                    self.take(row, c2)
                if re.search(r"(年度)?资金总额|合计|总投资|项目金额|年度预算", label) and total is None:
                    total = value
                else:
                    parts[label] = value
            for c, t in own:  # the block's label (资金情况（万元）) itself
                if re.match(r"^(资金情况|项目资金|资金来源)", _key(t)) and _money(t, unit) is None:
                    self.take(row, c)
        if total is None and parts:
            total = round(sum(parts.values()), 6)
        if total is None:
            return {}
        return {"budget": BudgetPlan(total=total, by_source=parts), "amount": total}

    def indicators(self, rows: list[Row]) -> _Block | None:
        """The 年度绩效指标 block: a header row naming the columns, then one row per 三级指标."""
        for k, row in enumerate(rows):
            joined = "".join(row.cells)
            if not any(w in joined for w in _HEADER_WORDS):
                continue
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
        wanted = set(cols.values()) | {label_col}
        self_eval = "actual" in cols or "claimed" in cols
        block = self._plain_block(rows, k, cols, label_col, label, self_eval, wanted)
        if block is not None:
            return block
        out: dict[str, list[Any]] = {name: [] for name in BLOCK_COLUMNS + (ACTUAL_COLUMNS if self_eval else ())}
        weights: list[tuple[Row, str, str]] = []
        last1 = last2 = ""
        end = k + 1
        grid = row.grid
        for row in rows[k + 1:]:
            own = row.own()
            if not own:
                end += 1
                continue
            first_text = _key(own[0][1])
            if first_text.startswith(("总分", "合计", "总计")):
                numbers = [_number(t) for c, t in own if _number(t) is not None]
                self.claimed_total = numbers[-1] if len(numbers) >= 2 else None  # 总分 | 100 | 96 | 优
                self.take_row(row)
                end += 1
                break
            if row.grid is not grid or _STOP.match(first_text):
                break
            first = row.cells[label_col] if label_col >= 0 else ""
            if label_col >= 0 and first and first != label:
                break  # the next section of the form (支出明细…, 单位负责人签字…)
            cells = row.cells
            n = len(cells)
            values = {key: cells[c].strip() if c < n else "" for key, c in cols.items()}
            cell = lambda key: values.get(key, "")  # noqa: E731
            l1, l2, l3 = _name(cell("level1")) or last1, _name(cell("level2")) or last2, _name(cell("level3"))
            end += 1
            if not l3:
                if any(t for _, t in own):
                    self.note(row, None, f"绩效指标行缺少三级指标，未导入：{' | '.join(t for _, t in own)}")
                continue
            last1, last2 = l1, l2
            for c, text in own:
                if c not in wanted and not BOILERPLATE.match(_key(text)):
                    self.note(row, c, f"未能识别该内容所属的栏目，未导入：“{_short(text)}”")
            at = row.grid.row_number(row.r)
            weight_text = cell("weight")
            if weight_text:
                weights.append((row, weight_text, l3))
            for name, value in (("level1", l1), ("level2", l2), ("level3", l3),
                                ("target", cell("comparator") + cell("target")), ("unit", cell("unit") or None),
                                ("standard", cell("standard") or None), ("row", at)):
                out[name].append(value)
            if self_eval:
                note = cell("note")
                out["actual"].append(cell("actual") or None)
                out["deviation_note"].append(_deviation_note(note))
                out["claimed_score"].append(self.points(row, cols.get("claimed"), cell("claimed"), "得分", l3))
        by_row, percent = self.weights(weights, cols.get("weight"))
        out["weight"] = [by_row.get(at) for at in out["row"]]
        return _Block(out, k, end, self_eval, percent)

    def _plain_block(self, rows: list[Row], k: int, cols: dict[str, int], label_col: int, label: str,
                     self_eval: bool, wanted: set[int]) -> _Block | None:
        """The rows after the header ``rows[k]`` read column by column, when they are plain: the rest of one grid,
        no merges, every row blank or an indicator row with a 三级指标 and nothing outside the header's columns, no
        总分 or signature line. Anything else (None) goes through the row loop of ``indicators``, which reports
        it; for plain rows both give the same columns and findings."""
        head = rows[k]
        grid, r0 = head.grid, head.r + 1
        cells = grid.cells
        if len(rows) - k - 1 != len(cells) - r0 or r0 >= len(cells) or rows[-1].grid is not grid \
                or any(r >= r0 for r in grid.merged_rows):
            return None
        body = cells[r0:]
        width = len(body[0])
        if set(map(len, body)) != {width} or max(cols.values()) >= width:
            return None
        by_col = list(zip(*body))
        if any(any(col) for c, col in enumerate(by_col) if c not in wanted):
            return None  # text outside the indicator columns: the row loop says where
        if label_col >= 0 and set(by_col[label_col]) - {"", label}:
            return None
        first = list(by_col[0])  # each row's first non-empty cell ("" for a blank row)
        for col in by_col[1:]:
            if all(first):
                break
            first = [a or b for a, b in zip(first, col)]
        if _any_may_stop(first):
            return None
        every = all(first)
        keep = list(range(len(body))) if every else [i for i, t in enumerate(first) if t]

        def stripped(key: str, share: bool = True) -> list[str]:
            """The column's texts, stripped if any needs it; ``share``: each repeated text as one object (a CSV
            gives every cell its own string: 200,000 copies of “数量指标” held by the frame until the end)."""
            c = cols.get(key)
            if c is None:
                return [""] * len(keep)
            texts = by_col[c] if every else [by_col[c][i] for i in keep]
            if not grid.stripped and edge_spaces("\x00".join(texts), "\x00", lines=False):
                texts = [t.strip() for t in texts]
            if not share or len(set(texts[:1000])) == len(texts[:1000]) > 100:  # (all distinct, by the look of it)
                return list(texts)
            shared = {t: t for t in texts}  # one object per distinct text (not sys.intern: on Python 3.12 interned
            return [shared[t] for t in texts]  # strings live for good, and a server reads texts all day)

        def optional(key: str) -> list[str | None]:
            return [t or None for t in stripped(key)] if key in cols else [None] * len(keep)

        level3 = _names(stripped("level3", share=False))  # (names of indicators: mostly distinct)
        if not all(level3):
            return None  # a row without 三级指标: the row loop notes it
        level1, level2 = _filled(_names(stripped("level1"))), _filled(_names(stripped("level2")))
        numbers = grid.rows
        if every:
            at = numbers[r0:] if numbers is not None else list(range(r0 + 1, r0 + 1 + len(body)))
        else:
            at = [numbers[r0 + i] if numbers is not None else r0 + i + 1 for i in keep]
        comparator, target = stripped("comparator"), stripped("target")
        out: dict[str, list[Any]] = {
            "level1": level1, "level2": level2, "level3": level3,
            "target": [a + b for a, b in zip(comparator, target)] if "comparator" in cols else target,
            "unit": optional("unit"), "standard": optional("standard"), "row": at,
        }
        weight_col = cols.get("weight")
        weight_texts = stripped("weight")
        weights = [(Row(grid, r0 + i), t, l3) for i, t, l3 in zip(keep, weight_texts, level3) if t] \
            if any(weight_texts) else []
        if self_eval:
            out["actual"] = optional("actual")
            note_texts = stripped("note")
            notes = {t: _deviation_note(t) for t in set(note_texts)}  # (once per distinct text)
            out["deviation_note"] = list(map(notes.__getitem__, note_texts))
            claimed_col, values = cols.get("claimed"), {"": None}
            claimed_texts = stripped("claimed")
            claimed: list[float | None] = [] if any(claimed_texts) else [None] * len(keep)
            for i, t, l3 in zip(keep, claimed_texts, level3) if any(claimed_texts) else ():
                if t in values:
                    claimed.append(values[t])
                    continue
                found = len(self.findings)
                claimed.append(self.points(Row(grid, r0 + i), claimed_col, t, "得分", l3))
                if len(self.findings) == found:  # no finding: the same text gives the same value on every row
                    values[t] = claimed[-1]
            out["claimed_score"] = claimed
        by_row, percent = self.weights(weights, weight_col)
        out["weight"] = [by_row.get(a) for a in at] if by_row else [None] * len(at)
        return _Block(out, k, len(rows), self_eval, percent)

    def points(self, row: Row, c: int | None, text: str, column: str, indicator: str, percent: bool = False
               ) -> float | None:
        """A 分值 or 得分 cell: blank, or a finite number on the 100-point scale; an Excel error value, a word or a
        number out of range is an error finding naming the row and indicator (a 自评表 with one is not scored)."""
        if not text:
            return None
        if _NUM.match(text):
            value = float(text)
        else:
            t = normalise_text(text).rstrip("分")
            if t in ("/", "-", "—", "无", ""):
                return None
            if err := excel_error(text):
                self.point_error(row, indicator, f"“{column}”是 Excel 的错误值“{err}”（公式出错）")
                return None
            value = _number(t.rstrip("%") if percent else t)
            if value is None:
                self.point_error(row, indicator, f"“{column}”应为数字，实际为“{_short(text)}”")
                return None
        if not (math.isfinite(value) and 0 <= value <= MAX_POINTS):
            self.point_error(row, indicator, f"“{column}”应为 0–100 之间的数字，实际为“{_short(text)}”")
            return None
        return value

    def point_error(self, row: Row, indicator: str, message: str) -> None:
        loc = row.where().model_copy(update={"file": str(self.path), "indicator": indicator})
        self.findings.append(Finding(code=Code.FORM_UNPLACED, severity=Severity.ERROR, location=loc, message=message))

    def weights(self, weights: list[tuple[Row, str, str]], col: int | None) -> tuple[dict[int, float], bool]:
        """分值 by source row: numbers, or printed as percentages ("20%", 100% in all: Sichuan's 区域绩效自评表) — read as
        points on the 100-point scale — or percent-formatted Excel cells (0.2 = 20%)."""
        shown = [normalise_text(t) for _, t, _ in weights]
        shown = [t for t in shown if t not in ("/", "-", "—", "无")]
        percent = bool(shown) and all(t.endswith("%") for t in shown)
        by_row: dict[int, float] = {}
        for row, text, indicator in weights:
            value = self.points(row, col, text, "分值", indicator, percent)
            if value is not None:
                by_row[row.grid.row_number(row.r)] = value
        values = list(by_row.values())
        fractions = bool(values) and not percent and all(0 <= v <= 1 for v in values) and 0.5 <= sum(values) <= 1.0001 \
            and any(not float(v).is_integer() for v in values)
        if fractions:
            by_row = {r: round(v * 100, 6) for r, v in by_row.items()}
        if percent or fractions:
            row = weights[0][0]
            self.findings.append(Finding(code=Code.FORM_UNPLACED, severity=Severity.INFO, location=row.where(col).model_copy(
                update={"file": str(self.path)}), message="分值按百分比填写，已按百分制折算为分值（20% → 20 分）"))
        return by_row, percent or fractions

    # one form --------------------------------------------------------------------------------------------
    def parse(self, title: str | None, rows: list[Row], index: int) -> tuple[TargetTable, TableActuals | None]:
        self.claimed_total = None
        self.last_block = block = self.indicators(rows)
        around = rows[:block.start] + rows[block.end:] if block else rows
        year = (_year_in(title) if title else None) or self.year_of(around) or 0
        evaluation = ("自评" in title or "评价" in title) if title else bool(block and block.has_actuals)
        text = title or ""
        kind = TableKind.DEPARTMENT if re.search(r"部门.{0,4}整体|单位整体|整体支出", text) else (
            TableKind.SPECIAL_FUND if "汇总表" in text and not evaluation else TableKind.PROJECT)
        fields: dict[str, Any] = {"kind": kind, "year": year}
        if kind == TableKind.SPECIAL_FUND:
            if (hit := self.label_value(around, "部门名称", "单位名称")):
                fields["unit_name"] = _name(hit[2])
            fields.update(self.fund_summary(around))
        elif kind == TableKind.DEPARTMENT and not evaluation:
            if (hit := self.label_value(around, "部门名称", "单位名称", "部门（单位）名称")):
                fields["unit_name"] = _name(hit[2])
            fields.update(self.department_block(around))
        elif not evaluation:
            fields.update(self.project_block(around))
        head = self.header(around)
        for key, value in head.items():
            fields.setdefault(key, value)
        budget = None
        achieved = None
        if evaluation:
            budget = self.self_evaluation_budget(around)
            goal, achieved = self.goal_pair(around)
            if goal:
                fields["annual_goal"] = goal
            if budget and budget.budget is not None:
                fields["amount"] = budget.budget
        elif "budget" not in fields:
            fields.update(self.funds(around, fields.get("amount_unit", "万元")))
        if block:
            fields["indicators"] = block.indicators if self.models else []
        notes = self.cost_notes(around) if not evaluation else []
        if notes:
            fields["cost_notes"] = notes
        if contacts := self.contacts(around):
            fields["contacts"] = contacts
        if foot := self.footnotes(around):
            fields["footnotes"] = foot
        direction = fields.pop("direction_name", None)
        printed = title or ""
        if fields.get("project"):
            fields["title"] = fields["project"]
            if printed:
                fields["form_title"] = printed
        elif direction:
            fields["title"] = printed + f"（{direction}）"  # a 专项资金支出方向 form: the direction names the table
        elif printed:
            fields["title"] = printed
        else:
            fields["title"] = self.path.stem
        if title is None and not evaluation:
            fields.setdefault("form_title", None)
        fields.setdefault("unit_name", "")
        fields["id"] = _table_id(kind, year, index)
        table = TargetTable(**fields)
        if not evaluation:
            return table, None
        return table, TableActuals(table=table.id, budget=budget, achieved_goal=achieved or None,
                                   claimed_total=self.claimed_total,
                                   indicators=block.actuals if block and self.models else [])

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
                if row.grid is not budget_row.grid:
                    break
                if (k := _find(row, "按支出性质分")) is not None:
                    split_col = row.grid.origin(row.r, k)[1]
                    self.take(row, k)
                    if (j := _find(row, "按收入性质分")) is not None:
                        self.take(row, j)
                    continue
                own = row.own()
                label_cells = [(c, t) for c, t in own if row.grid.origin(row.r, c)[0] == row.r]
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
            if row.grid is not head.grid:
                break
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
        """A 专项资金支出方向 form's own fields: the direction, its 所属专项 and the amounts."""
        out: dict[str, Any] = {}
        if (hit := self.label_value(rows, "支出方向（子项）", "支出方向")):
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
        if (hit := self.label_value(rows, "项目金额", "金额")) and (amount := _number(hit[2])) is not None:
            out["amount"] = amount
            # the same row repeats the amount under 所属专项 › 金额
            row = hit[0]
            c = _find(row, "金额")
            if c is not None and c != hit[1]:
                self.take(row, c)
                right = _right_of(row, c)
                if right:
                    self.take(row, right[0])
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

    def self_evaluation_budget(self, rows: list[Row]) -> BudgetExecution | None:
        head = next((r for r in rows if _find(r, "全年预算数") is not None and _find(r, "全年执行数") is not None), None)
        if head is None:
            return None
        cols = self.columns(head, (("initial", ("年初预算数",)), ("budget", ("全年预算数",)), ("spent", ("全年执行数",))))
        claims = self.columns(head, (("weight", ("分值",)), ("rate", ("执行率", "预算执行率")), ("score", ("得分",))))
        for extra in ("项目资金（万元）", "项目资金", "预算资金（万元）", "资金情况"):
            if (c := _find(head, extra)) is not None:
                self.take(head, c)
        claimed: dict[str, float | None] = {}
        total: BudgetLine | None = None
        by_source: dict[str, BudgetLine] = {}
        block = head.grid.origin(head.r, 0)  # the merged "项目资金（万元）" label, when the form has one
        first_value = min(c for c in cols.values() if c is not None)
        for row in rows[rows.index(head) + 1:]:
            if row.grid is not head.grid:
                break
            if head.grid.cells[block[0]][block[1]] and row.grid.origin(row.r, 0) != block and row.cells[0].strip():
                break  # past the merged 项目资金 label (in a CSV, the label's column is blank below it)
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
                claimed = {k: self.budget_claim(row.cells[c], k) if c is not None else None for k, c in claims.items()}
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
        return BudgetExecution(initial=total.initial, budget=total.budget, spent=total.spent, by_source=by_source,
                               weight=claimed.get("weight"), claimed_rate=claimed.get("rate"),
                               claimed_score=claimed.get("score"))

    @staticmethod
    def budget_claim(text: str, what: str) -> float | None:
        """The budget line's 分值 / 执行率 / 得分 as the unit printed them (执行率 "100%", "1" or "99.97" → a fraction)."""
        t = normalise_text(text or "")
        value = _number(t.rstrip("%分"))
        if value is None:
            return None
        if what == "rate" and (t.endswith("%") or value > 1.5):
            return round(value / 100, 8)
        return value

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
    def report_unplaced(self, form_rows: list[Row], skip: tuple[int, int] | None = None) -> None:
        n = len(form_rows)  # (the indicator block, ``skip``, reports its own leftovers)
        for k in chain(range(skip[0]), range(skip[1], n)) if skip else range(n):
            row = form_rows[k]
            for c, text in row.own():
                if self.taken(row, c) or BOILERPLATE.match(_key(text)) or BOILERPLATE.match(text.strip()):
                    continue
                self.note(row, c, f"未能识别该内容所属的栏目，未导入：“{_short(text)}”")


def _filled(names: list[str]) -> list[str]:
    """A name column with blanks carrying the name above (merged 一级/二级指标 cells written once)."""
    if all(names):
        return names
    out, last = [], ""
    for x in names:
        last = x or last
        out.append(last)
    return out


def _names(texts: list[str]) -> list[str]:
    """``_name`` of a column of names: none to change when the whole column has no space (one test of all the
    names joined), else once per distinct name (一级/二级指标 repeat a lot)."""
    if spaceless("".join(texts)):
        return list(texts)
    seen: dict[str, str] = {}
    return [seen[t] if t in seen else seen.setdefault(t, _name(t)) for t in texts]


def _deviation_note(note: str) -> str | None:
    """A 偏差原因 as entered; "无", "/", "0" … stand for none."""
    return None if note in _NO_NOTE or normalise_text(note) in _NO_NOTE else note


def _name(text: str) -> str:
    """Names (指标, 事项, 专项) carry no spaces: "可持续影响  指标" → "可持续影响指标"."""
    if not text or spaceless(text):
        return text or ""
    return re.sub(r"\s+", "", text)


def _short(text: str, n: int = 40) -> str:
    t = re.sub(r"\s+", " ", text).strip()
    return t if len(t) <= n else t[: n - 1] + "…"


def _table_id(kind: TableKind, year: int, index: int) -> str:
    prefix = {TableKind.DEPARTMENT: "dept", TableKind.SPECIAL_FUND: "funds", TableKind.PROJECT: "project"}[kind]
    return f"{prefix}-{year or 'x'}-{index}"


def parse_forms(path: str | Path, grids: list[Grid], unit_name: str | None = None, *, models: bool = True
                ) -> FormImport:
    """Find every 绩效目标表 / 自评表 in the grids and read it. ``models=False``: the indicator rows stay columns
    (``FormImport.blocks``), for ``frame.block_frame``."""
    p = Path(path)
    parser = _Parser(p, grids, models)
    blocks: dict[str, _Block] = {}
    forms = parser.forms()
    tables: list[TargetTable] = []
    actual_tables: list[TableActuals] = []
    for index, (title, form, rows) in enumerate(forms, start=1):
        table, acts = parser.parse(title, rows, index)
        if title is None and parser.last_block is None:
            forms = []
            break
        if form:
            table = table.model_copy(update={"form": form})
        tables.append(table)
        if acts is not None:
            actual_tables.append(acts)
        block = parser.last_block
        if block is not None and not models:
            blocks[table.id] = block
        parser.report_unplaced(rows, (block.start, block.end) if block else None)
    if not forms:
        raise InputFileError("文件中找不到绩效目标表或绩效自评表（标题应含“绩效目标表”“绩效目标申报表”或“绩效自评表”，"
                             "或有“一级指标、二级指标、三级指标、指标值”表头）", where=str(p),
                             hint="请确认文件是官方的绩效目标表/自评表格式")
    # the department's name, if any form states it, names the forms that do not (附表2, 附表3)
    hint = unit_name or next((t.unit_name for t in tables if t.unit_name), "")
    for k, table in enumerate(tables):
        if not table.unit_name:
            tables[k] = table = table.model_copy(update={"unit_name": hint})
        if not table.unit_name:
            parser.findings.append(Finding(code=Code.FORM_UNPLACED, severity=Severity.WARNING,
                                           location=Location(file=str(p), table=table.id),
                                           message="表中没有部门（单位）名称，请用 --unit 指定"))
    sheets = list(dict.fromkeys(rows[0].grid.name for _, _, rows in forms if rows and rows[0].grid.kind == "sheet"))
    if sheets:
        notice(f"{p.name}：读取的是{'、'.join(sheets)}")
    year = next((t.year for t in tables if t.year), 0)
    targets = TargetSet(unit_name=hint, year=year, source=p.name, tables=tables)
    actuals = ActualSet(unit_name=hint, year=year, tables=actual_tables) if actual_tables else None
    return FormImport(targets=targets, actuals=actuals, findings=parser.findings, blocks=blocks)


def import_form(path: str | Path, unit_name: str | None = None) -> FormImport:
    """Read a Word/Excel/CSV file holding one or more official forms (any format ``intake`` accepts)."""
    from .load import values_in_range  # a year, 分值 or amount out of range: the file's one-line error

    p = Path(path)
    check_file_size(p)
    with values_in_range(str(p)):
        return parse_forms(p, read_grids(p), unit_name)
