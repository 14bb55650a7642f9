"""A small page layout for the signed PDF documents, drawn with fpdf2.

fpdf2 draws; this module decides where: lines are broken by the Chinese rules of ``linebreak`` and justified,
paragraphs keep at least two lines together at a page end, headings stay with what follows them, and tables
repeat their header on every page, keep each row on one page (a row taller than a page continues on the next)
and redraw a merged 一级/二级 cell at the top of a new page. The page follows the 公文 layout of GB/T 9704
(A4, 156 × 225 mm text block, page numbers "— 1 —").
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

from .linebreak import break_lines

MM_PER_PT = 25.4 / 72


@dataclass(frozen=True)
class Style:
    font: str  # "body" (宋体 style), "head" (黑体 style), "title" (小标宋 style)
    size: float  # pt
    leading: float  # mm between baselines
    heavy: float = 0.0  # stroke width as a share of the size: how word processors embolden a face without bold
    color: tuple[int, int, int] = (0, 0, 0)


@dataclass
class Cell:
    text: str
    align: str = "C"  # L C R
    rows: int = 1  # rows spanned (merged down)
    cols: int = 1  # columns spanned
    style: Style | None = None
    lines: list[str] = field(default_factory=list)


@dataclass
class _Row:
    cells: dict[int, Cell]  # column → the cell that starts in this row
    covers: dict[int, Cell]  # column → the merged cell from a row above that covers this column here
    height: float = 0.0


class Layout:
    """Pages in the 公文 layout with a cursor; every block method lays out, breaks pages and draws."""

    def __init__(self, fonts: dict[str, Path], *, title: str, when, landscape: bool = False,
                 margins: tuple[float, float, float, float] = (37.0, 26.0, 35.0, 28.0), page_numbers: bool = True):
        from fpdf import FPDF

        self.pdf = FPDF(orientation="landscape" if landscape else "portrait", unit="mm", format="A4")
        self.pdf.set_creation_date(when)
        for setter in (self.pdf.set_title,):
            setter(title)
        self.pdf.set_author("")
        self.pdf.set_creator("")
        self.pdf.set_producer("")
        for name, path in fonts.items():
            self.pdf.add_font(name, fname=str(path))
            font = self.pdf.fonts[name]
            # the embedded subset carries no build time and keeps each glyph's stored bounds: reproducible, fast
            font.ttfont.recalcTimestamp = False
            font.ttfont.recalcBBoxes = False
        self.widths = {name: self.pdf.fonts[name].cw for name in fonts}
        self.pdf.set_auto_page_break(False)
        self.top, self.right, self.bottom, self.left = margins
        self.pdf.set_margins(self.left, self.top, self.right)
        self.page_numbers = page_numbers
        self.numbered_from = 1  # the physical page that is "— 1 —" (a cover page carries no number)
        self.width = self.pdf.w - self.left - self.right
        self.y = self.top
        self.started = False
        self.line_width = 0.2
        self._measured: dict[tuple, float] = {}
        self._current: tuple | None = None  # the (font, size, colour) last set
        self._broken: dict[tuple, list[str]] = {}

    # ----------------------------------------------------------------------------------------- measuring
    def measure(self, style: Style, text: str) -> float:
        key = (style.font, style.size, text)
        w = self._measured.get(key)
        if w is None:
            cw = self.widths[style.font]
            w = self._measured[key] = sum(cw[ord(c)] for c in text) * style.size * 0.001 * MM_PER_PT
        return w

    def lines(self, style: Style, text: str, width: float, first: float | None = None) -> list[str]:
        """``text`` broken into lines (cached: a table repeats its targets, units and reasons row after row)."""
        key = (style.font, style.size, text, width, first)
        out = self._broken.get(key)
        if out is None:
            out = self._broken[key] = break_lines(text, width, lambda s: self.measure(style, s), first=first)
        return list(out)

    @property
    def page_bottom(self) -> float:
        return self.pdf.h - self.bottom

    def room(self) -> float:
        return self.page_bottom - self.y

    # ----------------------------------------------------------------------------------------- pages
    def new_page(self) -> None:
        self.pdf.add_page()
        self.started = True
        self.y = self.top
        if self.page_numbers and self.pdf.page_no() >= self.numbered_from:
            style = Style("body", 14, 6)
            text = f"— {self.pdf.page_no() - self.numbered_from + 1} —"
            self._font(style)
            w = self.measure(style, text)
            self.pdf.text(self.left + (self.width - w) / 2, self.pdf.h - self.bottom + 14, text)

    def ensure(self, height: float) -> None:
        """Start a new page unless ``height`` fits below the cursor."""
        if not self.started or self.y + height > self.page_bottom + 1e-6:
            self.new_page()

    def space(self, mm: float) -> None:
        if self.started and self.y > self.top + 1e-6:
            self.y = min(self.y + mm, self.page_bottom)

    def _font(self, style: Style) -> None:
        # fpdf2 keeps the font and the colour across pages and local contexts; setting them again for each of the
        # ~20,000 lines of a 2,000-row table cost more than drawing the lines' borders
        key = (style.font, style.size, style.color)
        if key != self._current:
            self.pdf.set_font(style.font, size=style.size)
            self.pdf.set_text_color(*style.color)
            self._current = key

    def _draw_line(self, style: Style, x: float, baseline: float, text: str, width: float, align: str,
                   justify: bool = False) -> None:
        w = self.measure(style, text)
        gap = 0.0
        if justify and len(text) > 1 and w < width:
            gap = (width - w) / (len(text) - 1)
            if gap > style.size * MM_PER_PT * 0.6:  # a very short line: left as it is rather than spaced out
                gap = 0.0
        if align == "C":
            x += (width - w) / 2
        elif align == "R":
            x += width - w
        if gap:
            # fpdf2 writes the spacing into the content stream as given: in points (PDF text space)
            self.pdf.set_char_spacing(gap / MM_PER_PT)
        if style.heavy:
            from fpdf.enums import TextMode

            # a stroked outline inside q … Q: the text render mode is graphics state, restored after this line
            with self.pdf.local_context(text_mode=TextMode.FILL_STROKE, line_width=style.heavy * style.size * MM_PER_PT,
                                        draw_color=style.color):
                self.pdf.text(x, baseline, text)
        else:
            self.pdf.text(x, baseline, text)
        if gap:
            self.pdf.set_char_spacing(0)

    def _reset_stroke(self) -> None:
        self.pdf.set_line_width(self.line_width)
        self.pdf.set_draw_color(0, 0, 0)

    # ----------------------------------------------------------------------------------------- blocks
    def paragraph(self, text: str, style: Style, *, indent: float = 2.0, align: str = "J", keep: int = 2,
                  after: float = 0.0, left: float = 0.0) -> None:
        """A paragraph: first line indented by ``indent`` characters, justified; no single line left alone at the
        foot or the head of a page when ``keep`` ≥ 2."""
        em = style.size * MM_PER_PT
        first_indent = indent * em
        width = self.width - left
        lines = self.lines(style, text, width, first=width - first_indent) if text else [""]
        k = 0
        while k < len(lines):
            if not self.started:
                self.new_page()
            fit = int((self.room() + 1e-6) // style.leading)
            remaining = len(lines) - k
            n = remaining
            if remaining > fit:
                n = fit
                if keep >= 2 and remaining - n < keep:
                    n = remaining - keep  # leave at least ``keep`` lines for the next page
                if keep >= 2 and n < keep:
                    n = 0  # and never a single line at the foot of this one
            if n <= 0:
                if self.y <= self.top + 1e-6:
                    n = max(1, min(fit, remaining))
                else:
                    self.new_page()
                    continue
            self._font(style)
            for i in range(k, k + n):
                x = self.left + left + (first_indent if i == 0 else 0)
                w = width - (first_indent if i == 0 else 0)
                last = i == len(lines) - 1
                self._draw_line(style, x, self.y + style.leading * 0.78, lines[i], w,
                                "L" if align == "J" else align, justify=align == "J" and not last)
                self.y += style.leading
            self._reset_stroke()
            k += n
            if k < len(lines):
                self.new_page()
        self.y += after

    def heading(self, text: str, style: Style, *, keep_with: float, align: str = "L", before: float = 0.0,
                after: float = 0.0, indent: float = 0.0) -> None:
        """A heading that is never the last thing on a page: ``keep_with`` mm of what follows must fit too."""
        width = self.width - indent * style.size * MM_PER_PT
        lines = self.lines(style, text, width)
        if align == "C" and len(lines) > 1:
            lines = _title_lines(self, style, text, width)
        need = before + len(lines) * style.leading + after + keep_with
        if not self.started or self.y + need > self.page_bottom + 1e-6:
            self.new_page()
        else:
            self.space(before)
        self._font(style)
        for line in lines:
            self._draw_line(style, self.left + indent * style.size * MM_PER_PT, self.y + style.leading * 0.78, line,
                            self.width, align)
            self.y += style.leading
        self._reset_stroke()
        self.y += after

    def image(self, png: bytes, width: float, height: float, *, after: float = 2.0) -> None:
        self.ensure(height)
        self.pdf.image(io.BytesIO(png), x=self.left + (self.width - width) / 2, y=self.y, w=width, h=height)
        self.y += height + after

    def box(self, label: str, style: Style, lines: int = 3) -> None:
        """A framed place to write, with its prompt in grey: where the data has nothing to say."""
        height = lines * style.leading + 2
        self.ensure(height)
        self.pdf.set_draw_color(120, 120, 120)
        self.pdf.set_line_width(0.3)
        self.pdf.rect(self.left, self.y, self.width, height)
        grey = Style(style.font, style.size * 0.8, style.leading, color=(110, 110, 110))
        self._font(grey)
        self.pdf.text(self.left + 2, self.y + grey.leading * 0.7, label)
        self._reset_stroke()
        self.y += height + 1

    def rule(self, x1: float, x2: float, y: float) -> None:
        self.pdf.set_line_width(0.3)
        self.pdf.line(x1, y, x2, y)
        self.pdf.set_line_width(self.line_width)

    def text_at(self, text: str, style: Style, x: float, baseline: float, width: float | None = None,
                align: str = "L") -> None:
        self._font(style)
        self._draw_line(style, x, baseline, text, width if width is not None else self.measure(style, text), align)
        self._reset_stroke()

    # ----------------------------------------------------------------------------------------- tables
    def table(self, widths: list[float], header: list[list[Cell]], rows: list[list[tuple[int, Cell]]], style: Style,
              *, pad: float = 1.2, keep_last: bool = True, head_style: Style | None = None) -> None:
        """A ruled table. ``header`` rows repeat on every page; ``rows`` are lists of (column, cell) starting in that
        row (a cell with ``rows`` > 1 is merged down). Rows never split unless one is taller than a page; the last
        row (总分) never stands alone on a page."""
        scale = self.width / sum(widths)
        widths = [w * scale for w in widths]
        x_at = [self.left + sum(widths[:k]) for k in range(len(widths) + 1)]
        head_style = head_style or style
        head = [self._prepare_row(dict(r), {}, widths, head_style, pad) for r in
                [[(sum(c.cols for c in row[:k]), c) for k, c in enumerate(row)] for row in header]]
        for h in head:
            h.height = max(h.height, style.leading + 2 * pad)
        head_height = sum(h.height for h in head)
        body: list[_Row] = []
        active: dict[int, tuple[Cell, int]] = {}  # column → (merged cell, rows still to cover)
        for row in rows:
            covers = {c: cell for c, (cell, left) in active.items() if left > 0}
            body.append(self._prepare_row(dict(row), covers, widths, style, pad))
            active = {c: (cell, left - 1) for c, (cell, left) in active.items() if left - 1 > 0}
            for col, cell in row:
                if cell.rows > 1:
                    active[col] = (cell, cell.rows - 1)
        self._fit_merged(body, style, pad)
        usable = self.page_bottom - self.top - head_height

        def start_page() -> None:
            self.new_page()
            self._draw_rows(head, x_at, widths, head_style, pad, header=True)

        if not self.started or self.room() < head_height + (body[0].height if body else 0):
            start_page()
        else:
            self._draw_rows(head, x_at, widths, head_style, pad, header=True)
        page: list[_Row] = []
        k = 0
        while k < len(body):
            row = body[k]
            last_pair = keep_last and k == len(body) - 2 and len(body) >= 2
            need = row.height + (body[k + 1].height if last_pair else 0)
            if self.y + sum(r.height for r in page) + need <= self.page_bottom + 1e-6:
                page.append(row)
                k += 1
                continue
            if row.height > usable + 1e-6:  # taller than a page: as many lines as fit here, the rest continues
                avail = self.page_bottom - self.y - sum(r.height for r in page)
                if avail < style.leading * 3 + 2 * pad:
                    self._flush(page, x_at, widths, style, pad)
                    page = []
                    start_page()
                    avail = self.page_bottom - self.y
                first, rest = self._split_row(row, avail, style, pad)
                body[k:k + 1] = [first, rest]
                continue
            self._flush(page, x_at, widths, style, pad)
            page = []
            start_page()
            if last_pair and row.height + body[k + 1].height > usable:
                page.append(row)
                k += 1
        self._flush(page, x_at, widths, style, pad)

    def _prepare_row(self, cells: dict[int, Cell], covers: dict[int, Cell], widths: list[float], style: Style,
                     pad: float) -> _Row:
        height = 0.0
        for col, cell in cells.items():
            st = cell.style or style
            w = sum(widths[col:col + cell.cols]) - 2 * pad
            cell.lines = [line for part in str(cell.text).split("\n") for line in self.lines(st, part, w)]
            if cell.rows == 1:
                height = max(height, len(cell.lines) * st.leading + 2 * pad)
        return _Row(cells, covers, max(height, style.leading + 2 * pad))

    def _fit_merged(self, body: list[_Row], style: Style, pad: float) -> None:
        """A merged cell's text needs its rows tall enough: the last row it covers grows if they are not."""
        for k, row in enumerate(body):
            for col, cell in row.cells.items():
                if cell.rows > 1:
                    st = cell.style or style
                    need = len(cell.lines) * st.leading + 2 * pad
                    span = body[k:k + cell.rows]
                    have = sum(r.height for r in span)
                    if need > have:
                        span[-1].height += need - have

    def _split_row(self, row: _Row, avail: float, style: Style, pad: float) -> tuple[_Row, _Row]:
        n = max(1, int((avail - 2 * pad + 1e-6) // style.leading))
        first, rest = {}, {}
        for col, cell in row.cells.items():
            a = Cell(cell.text, cell.align, 1, cell.cols, cell.style, cell.lines[:n])
            b = Cell(cell.text, cell.align, 1, cell.cols, cell.style, cell.lines[n:])
            first[col], rest[col] = a, b
        h_first = max([len(c.lines) * (c.style or style).leading + 2 * pad for c in first.values()] +
                      [style.leading + 2 * pad])
        h_rest = max([len(c.lines) * (c.style or style).leading + 2 * pad for c in rest.values()] +
                     [style.leading + 2 * pad])
        return _Row(first, dict(row.covers), h_first), _Row(rest, dict(row.covers), h_rest)

    def _flush(self, page: list[_Row], x_at: list[float], widths: list[float], style: Style, pad: float) -> None:
        if page:
            self._draw_rows(page, x_at, widths, style, pad)

    def _draw_rows(self, rows: list[_Row], x_at: list[float], widths: list[float], style: Style, pad: float,
                   header: bool = False) -> None:
        """Draw rows from the cursor down; a merged cell is drawn once over the rows it covers on this page."""
        self.pdf.set_draw_color(0, 0, 0)
        self.pdf.set_line_width(0.25)
        y = self.y
        tops: list[float] = []
        for row in rows:
            tops.append(y)
            y += row.height
        seen: set[int] = set()
        for i, row in enumerate(rows):
            for col, cell in list(row.cells.items()) + list(row.covers.items()):
                if id(cell) in seen:
                    continue
                if cell.rows > 1 or col in row.covers:
                    seen.add(id(cell))
                    j = i
                    while j + 1 < len(rows) and (rows[j + 1].covers.get(col) is cell):
                        j += 1
                    top, bottom = tops[i], tops[j] + rows[j].height
                else:
                    top, bottom = tops[i], tops[i] + row.height
                x, w = x_at[col], sum(widths[col:col + cell.cols])
                self.pdf.rect(x, top, w, bottom - top)
                self._cell_text(cell, x, top, w, bottom - top, style, pad)
        self.y = y
        self._reset_stroke()

    def _cell_text(self, cell: Cell, x: float, top: float, w: float, h: float, style: Style, pad: float) -> None:
        st = cell.style or style
        lines = cell.lines
        fit = max(1, int((h - 2 * pad + 1e-6) // st.leading))
        lines = lines[:fit]
        block = len(lines) * st.leading
        y = top + (h - block) / 2  # vertically centred, as the forms print merged cells
        self._font(st)
        for line in lines:
            self._draw_line(st, x + pad, y + st.leading * 0.76, line, w - 2 * pad, cell.align)
            y += st.leading

    def output(self) -> bytes:
        if not self.started:
            self.new_page()
        return bytes(self.pdf.output())




def _title_lines(layout: Layout, style: Style, text: str, width: float) -> list[str]:
    """A title's lines as titles are set: broken after the year and before "绩效自评报告" when the parts fit, else
    into lines of even length (never a lone word on the last line)."""
    lines = layout.lines(style, text, width)
    if len(lines) < 2:
        return lines
    cuts = sorted({k + 2 for k in [text.find("年度")] if k > 0} | {k for k in [text.rfind("绩效自评")] if k > 0})
    for n in range(1, len(cuts) + 1):
        for chosen in ([cuts[:n]] if n == len(cuts) else [cuts[-n:], cuts[:n]]):
            parts = [text[a:b] for a, b in zip([0, *chosen], [*chosen, len(text)])]
            if all(len(layout.lines(style, p, width)) == 1 for p in parts):
                return parts
    lo, hi = layout.measure(style, text) / len(lines), width
    for _ in range(12):
        mid = (lo + hi) / 2
        if len(layout.lines(style, text, mid)) > len(lines):
            lo = mid
        else:
            hi = mid
    return layout.lines(style, text, hi)


# --------------------------------------------------------------------------------------------- the 自评报告
TITLE = Style("title", 22, 12.5)
H1 = Style("head", 16, 10.2, heavy=0.012)
H2 = Style("body", 16, 10.2, heavy=0.03)
BODY = Style("body", 16, 10.2)
TABLE = Style("body", 9, 4.2)
TABLE_HEAD = Style("head", 9, 4.2)
INDICATOR_WIDTHS = [11, 13, 26, 22, 22, 11, 11, 40]
BUDGET_WIDTHS = [30, 22, 22, 22, 12, 16, 14]


def _png_size(png: bytes) -> tuple[int, int]:
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def indicator_table(layout: Layout, ctx: dict, style: Style = TABLE, head: Style = TABLE_HEAD) -> None:
    """The 三级指标 table of the 自评表: 一级/二级 merged down, the 总分 row merged across."""
    header = [[Cell(h, style=head) for h in ("一级指标", "二级指标", "三级指标", "年度指标值", "实际完成值", "分值", "得分",
                                           "偏差原因分析及改进措施")]]
    rows: list[list[tuple[int, Cell]]] = []
    for i in ctx["indicators"]:
        row: list[tuple[int, Cell]] = []
        if i["l1_span"]:
            row.append((0, Cell(i["level1"], rows=i["l1_span"])))
        if i["l2_span"]:
            row.append((1, Cell(i["level2"], rows=i["l2_span"])))
        row += [(2, Cell(i["level3"], "L")), (3, Cell(i["target"])), (4, Cell(i["actual"])), (5, Cell(i["weight"])),
                (6, Cell(i["score"])), (7, Cell(i["note"], "L"))]
        rows.append(row)
    rows.append([(0, Cell("总分", cols=5, style=head)), (5, Cell(ctx["total_weight"])), (6, Cell(ctx["total_text"])),
                 (7, Cell(f"评价等级：{ctx['grade_text']}"))])
    layout.table(INDICATOR_WIDTHS, header, rows, style, head_style=head, pad=1.0)


def budget_table(layout: Layout, ctx: dict, style: Style = TABLE, head: Style = TABLE_HEAD) -> None:
    header = [[Cell(h, style=head) for h in ("项目资金（万元）", "年初预算数", "全年预算数", "全年执行数", "分值", "执行率",
                                           "得分")]]
    rows = [[(0, Cell(r["label"], "L")), *[(k, Cell(r[key], "R" if k < 4 else "C")) for k, key in
                                            enumerate(("initial", "budget", "spent", "weight", "rate", "score"), 1)]]
            for r in ctx["budget_rows"]]
    layout.table(BUDGET_WIDTHS, header, rows, style, head_style=head, keep_last=False)


MONITORING_WIDTHS = [28, 54, 38, 36]


def monitoring_table(layout: Layout, ctx: dict, style: Style = TABLE, head: Style = TABLE_HEAD) -> None:
    """The in-year monitoring's warnings, the corrective actions and the year-end result (report --monitor)."""
    from .report import MONITORING_HEADER

    header = [[Cell(h, style=head) for h in MONITORING_HEADER]]
    rows = [[(k, Cell(r[key], "L")) for k, key in enumerate(("indicator", "warning", "action", "year_end"))]
            for r in ctx["monitoring"]["rows"]]
    layout.table(MONITORING_WIDTHS, header, rows, style, head_style=head, pad=1.0)


def _cover(layout: Layout, ctx: dict, fields: list, heavy_title: bool) -> None:
    from .report import PENDING  # noqa: F401 - the marker never reaches the PDF: blanks are lines to write on

    layout.numbered_from = 10 ** 6  # the cover carries no page number
    layout.new_page()
    pdf = layout.pdf
    if ctx.get("example"):
        layout.text_at("示例数据：实际完成值仅用于演示，不代表单位的真实完成情况", Style("body", 10.5, 5, color=(192, 0, 0)),
                       layout.left, layout.top - 12, layout.width, "C")
    big = Style("title", 26, 14, heavy=0 if heavy_title else 0.04)
    y = layout.top + 38
    for line in _title_lines(layout, big, f"{ctx['subject']}绩效自评报告", layout.width):
        layout.text_at(line, big, layout.left, y, layout.width, "C")
        y += big.leading
    if ctx["form_year"]:
        layout.text_at(ctx["form_year"], Style("body", 16, 9), layout.left, y + 2, layout.width, "C")
    y += 45
    label = Style("head", 16, 11, heavy=0.012)
    value = Style("body", 16, 11)
    label_w = max(layout.measure(label, f"{k}：") for k, _ in fields)
    x0 = layout.left + 14
    for k, v in fields:
        layout.text_at(f"{k}：", label, x0, y)
        line_x = x0 + label_w
        line_w = layout.width - 14 - label_w - 10
        text = v or ""
        lines = layout.lines(value, text, line_w) if text else [""]
        for line in lines:
            layout.text_at(line, value, line_x + 1, y)
            layout.rule(line_x, line_x + line_w, y + 1.6)
            y += value.leading + 4
    bureau = Style("head", 16, 10, heavy=0.012)
    layout.text_at(f"{ctx['bureau']}（制）", bureau, layout.left, pdf.h - layout.bottom - 10, layout.width, "C")
    layout.numbered_from = pdf.page_no() + 1
    layout.started = False  # the body starts on a new page


def _signature(layout: Layout, ctx: dict, fields: list) -> None:
    style = Style("body", 16, 12)
    height = 3 * style.leading + 6
    layout.ensure(height + 6)
    layout.y += 6
    half = layout.width / 2
    items = dict(fields)
    rows = [(("单位负责人（签字）", items.get("单位负责人（签字）")), ("填表人", items.get("填表人"))),
            (("联系电话", items.get("联系电话")), ("填报日期", items.get("填报日期"))),
            ((None, None), ("单位（盖章）", None))]
    for left, right in rows:
        base = layout.y + style.leading * 0.75
        for x, (k, v) in ((layout.left, left), (layout.left + half, right)):
            if k is None:
                continue
            label = f"{k}：" if k != "单位（盖章）" else k
            layout.text_at(label, style, x, base)
            lx = x + layout.measure(style, label)
            if k != "单位（盖章）":
                end = x + half - 4
                if v:
                    layout.text_at(v, style, lx + 1, base)
                layout.rule(lx, end, base + 1.6)
        layout.y += style.leading


def report_pdf(ctx: dict, blocks: list, charts: dict[str, bytes], fonts: dict[str, Path] | None) -> bytes:
    """The 自评报告 as PDF: a cover page, the report in the 公文 layout, the signature block."""
    from .fonts import pdf_font, title_is_heavy
    from .report import doc_time, cover_fields, signature_fields, write_label

    if fonts is None:
        fonts = {"body": pdf_font("", "serif"), "head": pdf_font("", "sans"), "title": pdf_font("", "title")}
    heavy = title_is_heavy()
    title = TITLE if heavy else Style("title", 22, 12.5, heavy=0.035)
    layout = Layout(fonts, title=ctx["report_title"], when=doc_time(ctx["year"]))
    for b in blocks:
        if b.kind == "title":
            layout.heading(b.text, title, keep_with=BODY.leading * 2, align="C", after=6)
        elif b.kind == "cover":
            _cover(layout, ctx, cover_fields(ctx), heavy)
        elif b.kind == "h1":
            layout.heading(b.text, H1, keep_with=BODY.leading * 2, indent=2)
        elif b.kind == "h2":
            layout.heading(b.text, H2, keep_with=BODY.leading * 2, indent=2)
        elif b.kind == "p":
            layout.paragraph(b.text, BODY)
        elif b.kind == "ul":
            for item in b.items:
                layout.paragraph(item, BODY)
        elif b.kind == "write":
            layout.box(write_label(b, ctx), BODY)
        elif b.kind == "indicators":
            layout.space(2)
            indicator_table(layout, ctx)
            layout.space(3)
        elif b.kind == "budget":
            layout.space(2)
            budget_table(layout, ctx)
            layout.space(3)
        elif b.kind == "monitoring" and ctx["monitoring"]:
            layout.space(2)
            monitoring_table(layout, ctx)
            layout.space(3)
        elif b.kind == "chart" and charts.get(b.name):
            w, h = _png_size(charts[b.name])
            width = min(layout.width, 150)
            height = min(width * h / w, layout.page_bottom - layout.top)
            layout.image(charts[b.name], height * w / h, height)
        elif b.kind == "signature":
            _signature(layout, ctx, signature_fields(ctx))
    return layout.output()
