"""The Word and Excel documents: the 自评表 (xlsx, docx), the 自评报告 (docx) and the clerk's 审核清单 (xlsx).

Word documents name the fonts Chinese Windows and WPS have (宋体, 黑体, 仿宋, 楷体, 方正小标宋简体) with the East Asian
font attribute set explicitly, so no theme font replaces them; text is black. Tables are written as WordprocessingML
directly — widths on every cell, the header row repeated (tblHeader), rows kept whole (cantSplit), merged cells as
gridSpan / vMerge, vertically centred — which also keeps a 2,000-row table fast (python-docx's ``merge`` walks the
whole table for every merge). Numbers stay with their units across line ends (``linebreak.glue``).
"""
from __future__ import annotations

import io
from copy import copy
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape as xml_escape

from .linebreak import glue
from .output import print_a4_landscape, wrapped_lines

__all__ = ["table_layout", "table_xlsx", "table_docx", "report_docx", "audit_xlsx"]

FONT_TITLE, FONT_HEAD, FONT_BODY, FONT_KAI, FONT_TABLE = "方正小标宋简体", "黑体", "仿宋", "楷体", "宋体"
W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def _time(ctx):
    from .report import doc_time

    return doc_time(ctx["year"])


# --------------------------------------------------------------------------- the 自评表 grid
@dataclass
class Region:
    """One cell (or merged block) of the 自评表, shared by the xlsx and docx writers."""

    r: int
    c: int
    text: str
    value: Any = None  # what Excel stores (a number where the form shows one); None → text
    span: int = 1
    rows: int = 1
    center: bool = True
    number: str | None = None
    head: bool = False


def table_layout(ctx: dict[str, Any]) -> tuple[list[Region], int, int]:
    """The official 自评表 below its title, 9 columns wide: regions, the number of rows, and the row of the
    indicator header (repeated on every printed page)."""
    out: list[Region] = []
    add = lambda *a, **k: out.append(Region(*a, **k))  # noqa: E731
    money = "#,##0." + "0" * ctx["money_decimals"] if ctx["money_decimals"] else "#,##0"
    score = "0." + "0" * max(1, len(ctx["indicators"][0]["weight"].split(".")[-1]) if ctx["indicators"] and
                             "." in ctx["indicators"][0]["weight"] else 2)
    r = 0
    if ctx["is_department"]:
        add(r, 0, "部门名称", span=2, head=True)
        add(r, 2, ctx["unit_name"], span=7, center=False)
    else:
        add(r, 0, "项目名称", span=2, head=True)
        add(r, 2, ctx["project"], span=7, center=False)
        r += 1
        add(r, 0, "主管部门", span=2, head=True)
        add(r, 2, ctx.get("supervisor") or ctx["unit_name"], span=3, center=False)
        add(r, 5, "实施单位", head=True)
        add(r, 6, ctx["unit_name"], span=3, center=False)
    r += 1
    brows = ctx["budget_rows"]
    add(r, 0, "项目资金（万元）" if not ctx["is_department"] else "预算资金（万元）", rows=len(brows) + 1, head=True)
    add(r, 1, "", span=2, head=True)
    for k, head in enumerate(("年初预算数", "全年预算数", "全年执行数", "分值", "执行率", "得分")):
        add(r, 3 + k, head, head=True)
    for b in brows:
        r += 1
        add(r, 1, b["label"], span=2, center=False)
        for k, (key, number) in enumerate((("initial", money), ("budget", money), ("spent", money),
                                           ("weight", score), ("rate", "0.00%"), ("score", score))):
            add(r, 3 + k, b[key], value=b["values"][k], number=number)
    r += 1
    add(r, 0, "年度总体目标", rows=2, head=True)
    add(r, 1, "预期目标", span=4, head=True)
    add(r, 5, "实际完成情况", span=4, head=True)
    r += 1
    add(r, 1, ctx["annual_goal"] or "", span=4, center=False)
    add(r, 5, ctx["achieved_goal"] or "", span=4, center=False)
    r += 1
    inds = ctx["indicators"]
    header_row = r
    add(r, 0, "绩效指标", rows=len(inds) + 1, head=True)
    for k, head in enumerate(("一级指标", "二级指标", "三级指标", "年度指标值", "实际完成值", "分值", "得分",
                              "偏差原因分析及改进措施")):
        add(r, 1 + k, head, head=True)
    for i in inds:
        r += 1
        if i["l1_span"]:
            add(r, 1, i["level1"], rows=i["l1_span"])
        if i["l2_span"]:
            add(r, 2, i["level2"], rows=i["l2_span"])
        add(r, 3, i["level3"], center=False)
        add(r, 4, i["target"])
        add(r, 5, i["actual"])
        add(r, 6, i["weight"], value=i["weight_value"], number=score)
        add(r, 7, i["score"], value=i["score_value"] if i["status"] == "ok" else None, number=score)
        add(r, 8, i["note"], center=False)
    r += 1
    add(r, 0, "总分", span=6, head=True)
    add(r, 6, "100", value=100, number="0")
    add(r, 7, ctx["total_text"], value=ctx["total_value"], number=score)
    add(r, 8, f"评价等级：{ctx['grade_text']}")
    return out, r + 1, header_row


def _signature_line(ctx: dict[str, Any]) -> list[tuple[str, str]]:
    from .report import signature_fields

    return [(k, v or "") for k, v in signature_fields(ctx)]


# --------------------------------------------------------------------------- xlsx
XLSX_WIDTHS = (9, 10, 12, 24, 14, 14, 8, 9, 32)
LINE_PT = 14.0  # a 10.5 pt 宋体 line in Excel


def table_xlsx(ctx: dict[str, Any]) -> bytes:
    """The 自评表 as an Excel sheet in the official layout: numbers stored as numbers, the indicator header
    repeated on every printed page, fit to the page width, no row left alone on the last page."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, Side
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.merge import MergedCellRange
    from openpyxl.worksheet.pagebreak import Break

    wb = Workbook()
    ws = wb.active
    ws.title = "自评表"
    thin = Side(style="thin", color="000000")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    wrap = Alignment(wrap_text=True, vertical="center")
    center = Alignment(wrap_text=True, vertical="center", horizontal="center")
    font = Font(name=FONT_TABLE, size=10.5)
    bold = Font(name=FONT_HEAD, size=10.5)
    styles = _named_styles(wb, {"cell": (font, wrap, border), "cell-c": (font, center, border),
                                "head-c": (bold, center, border), "head": (bold, wrap, border),
                                "edge": (font, wrap, border)})
    widths = XLSX_WIDTHS
    ncol = len(widths)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=ncol)
    title = ws.cell(row=1, column=1, value=ctx["form_title"])
    title.font, title.alignment = Font(name=FONT_TITLE, size=18), center
    ws.row_dimensions[1].height = 30
    ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=ncol)
    sub = ws.cell(row=2, column=1, value=ctx["form_year"])
    sub.font, sub.alignment = Font(name=FONT_BODY, size=12), center
    ws.row_dimensions[2].height = 20
    top = 3
    regions, nrows, header_row = table_layout(ctx)
    lines: dict[int, float] = {}
    for g in regions:
        row, col = g.r + top, g.c + 1
        if g.text:
            room = max(sum(widths[g.c: g.c + g.span]) - 1, 4)
            need = wrapped_lines(g.text, room) * LINE_PT + 4
            if g.rows > 1:  # a merged cell's text needs its rows together tall enough: the last one grows
                need -= LINE_PT * (g.rows - 1) + 4 * (g.rows - 1)
                row_key = row + g.rows - 1
            else:
                row_key = row
            lines[row_key] = max(lines.get(row_key, LINE_PT + 4), need)
        cell = ws.cell(row=row, column=col, value=g.value if g.value is not None else (g.text or None))
        styles(cell, ("head" if g.head else "cell") + ("-c" if g.center else ""))
        if g.number and g.value is not None:
            cell.number_format = g.number
        if g.span > 1 or g.rows > 1:
            # registered directly: openpyxl's merge_cells rebuilds every covered cell and its borders (3.7 s for a
            # 2,000-row table); the covered cells here are already styled with the borders they need
            ws.merged_cells.add(MergedCellRange(ws, f"{get_column_letter(col)}{row}:"
                                                    f"{get_column_letter(col + g.span - 1)}{row + g.rows - 1}"))
            for rr in range(row, row + g.rows):
                for cc in range(col, col + g.span):
                    if (rr, cc) != (row, col):
                        styles(ws.cell(row=rr, column=cc), "edge")
    for row in range(top, top + nrows):
        ws.row_dimensions[row].height = max(lines.get(row, LINE_PT + 4), LINE_PT + 4)
    r = top + nrows + 1
    sig = _signature_line(ctx)
    ws.cell(row=r, column=1, value=f"单位负责人（签字）：{'':8}").font = font
    ws.cell(row=r, column=4, value=f"填表人：{sig[1][1]}").font = font
    ws.cell(row=r, column=6, value=f"联系电话：{sig[2][1]}").font = font
    ws.cell(row=r + 1, column=1, value=f"填报日期：{sig[3][1]}").font = font
    ws.cell(row=r + 1, column=8, value="单位（盖章）").font = font
    ws.row_dimensions[r].height = ws.row_dimensions[r + 1].height = 24
    for k, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(k)].width = w
    print_a4_landscape(ws, centred=True)
    ws.page_margins.left = ws.page_margins.right = 0.5
    ws.page_margins.top, ws.page_margins.bottom = 0.6, 0.6
    ws.print_title_rows = f"{header_row + top}:{header_row + top}"
    ws.oddFooter.center.text = "第 &P 页，共 &N 页"
    # page breaks chosen here so the last page never holds a lone row: the last indicator rows, 总分 and the
    # signature go together
    heights = [ws.row_dimensions[k].height or 15 for k in range(1, r + 2)]
    for row in _page_breaks(heights, header_row + top, top + nrows - 3, widths):
        ws.row_breaks.append(Break(id=row))
    return _workbook_bytes(wb, ctx, creator="")


def _workbook_bytes(wb, ctx: dict[str, Any], creator: str) -> bytes:
    from .report import workbook_bytes

    return workbook_bytes(wb, _time(ctx), creator)


class _Styles(dict):
    """name → the named style's style array. ``style(cell, name)`` gives a cell what ``cell.style = name`` gives
    (a copy of that array), without openpyxl's lookup of the name through a list of every style's name (rebuilt
    on each assignment: half of a 2,000-row 自评表's time)."""

    def __call__(self, cell, name: str) -> None:
        cell._style = copy(self[name])


def _named_styles(wb, specs: dict[str, tuple]) -> _Styles:
    """Register the few cell styles a sheet uses once: assigning a named style costs far less per cell than
    assigning font, alignment and border one by one (openpyxl hashes each)."""
    from openpyxl.styles import NamedStyle

    out = _Styles()
    for name, (font, alignment, border) in specs.items():
        style = NamedStyle(name=name, font=font, alignment=alignment, border=border)
        wb.add_named_style(style)
        out[name] = style.as_tuple()
    return out


def _page_breaks(heights: list[float], header_row: int, keep_from: int, widths: tuple[int, ...]) -> list[int]:
    """Rows after which a printed page ends (A4 landscape, fit to width), chosen so that no page but the first
    starts with fewer than three rows and the last rows (from ``keep_from``) stay together."""
    # the sheet is scaled to the page width: ~7 points per width unit, 277 − 2 × 12.7 mm printable
    scale = min(1.0, (277 - 25.4) / 25.4 * 72 / (sum(widths) * 7.0 + 10))
    page = (210 - 30.5) / 25.4 * 72 / scale * 0.94  # printable height in sheet points, with a margin for rounding
    breaks, used, k = [], 0.0, 0
    n = len(heights)
    repeat = heights[header_row - 1]
    while k < n:
        h = heights[k]
        if used + h > page and used > 0:
            cut = k
            if cut > keep_from:  # move the tail block (last rows, 总分, signature) to the next page together
                cut = max(keep_from, header_row + 1)
            if cut <= (breaks[-1] if breaks else 0):
                cut = k
            breaks.append(cut)
            used = repeat + sum(heights[cut:k])
            continue
        used += h
        k += 1
    return breaks


def audit_xlsx(ctx: dict[str, Any]) -> bytes:
    """The clerk's 审核清单: what to check before signing (every finding, where it is) and how every score was
    computed — the tool's words live here, not in the signed documents."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    thin = Side(style="thin", color="999999")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    head_font, font = Font(name=FONT_HEAD, size=10.5), Font(name=FONT_TABLE, size=10.5)
    wrap = Alignment(wrap_text=True, vertical="center")
    fills = {"错误": PatternFill("solid", fgColor="F8CBAD"), "警告": PatternFill("solid", fgColor="FFE699"),
             "提示": PatternFill("solid", fgColor="DDEBF7")}
    a = ctx["audit"]

    styles = _named_styles(wb, {"cell": (font, wrap, border), "head": (head_font, wrap, border)})

    def sheet(ws, title: str, header: list[str], rows: list[list[Any]], widths: list[int]) -> None:
        ws.cell(row=1, column=1, value=title).font = Font(name=FONT_HEAD, size=14)
        ws.cell(row=2, column=1, value=f"{ctx['unit_name']} · {ctx['subject']} · 规则集 {a['rule_label']}（{a['rule_title']}）"
                                       f" · 表编号 {a['table_id']} · 输入摘要 {a['inputs_hash'] or '—'}").font = font
        for c, h in enumerate(header, start=1):
            cell = ws.cell(row=3, column=c, value=h)
            styles(cell, "head")
            cell.fill = PatternFill("solid", fgColor="D9D9D9")
        for k, row in enumerate(rows, start=4):
            for c, v in enumerate(row, start=1):
                styles(ws.cell(row=k, column=c, value=v), "cell")
            if row and row[0] in fills:
                ws.cell(row=k, column=1).fill = fills[row[0]]
            ws.row_dimensions[k].height = max(16, 14 * max(wrapped_lines(str(v or ""), w - 1)
                                                        for v, w in zip(row, widths)) + 2)
        for c, w in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(c)].width = w
        ws.freeze_panes = "A4"
        if rows:
            ws.auto_filter.ref = f"A3:{get_column_letter(len(header))}{3 + len(rows)}"
        print_a4_landscape(ws, "3:3")

    order = {"错误": 0, "警告": 1, "提示": 2}
    findings = sorted(ctx["findings"], key=lambda f: order.get(f["severity"], 3))
    ws = wb.active
    ws.title = "审核意见"
    sheet(ws, "自评审核清单：签字前请逐项核对", ["严重程度", "位置", "问题", "代码"],
          [[f["severity"], f["where"], f["message"], f["code"]] for f in findings] or [["—", "", "未发现问题。", ""]],
          [10, 40, 80, 24])
    trace = wb.create_sheet("计分过程")
    sheet(trace, "每项指标的计分过程", ["一级指标", "二级指标", "三级指标", "年度指标值", "实际完成值", "分值", "得分",
                                        "单位填报得分", "计分方法", "计算过程"],
          [[i["level1"], i["level2"], i["level3"], i["target"], i["actual"], i["weight_value"],
            i["score_value"] if i["status"] == "ok" else i["score"], i["claimed"] or None, i["method"], i["explanation"]]
           for i in ctx["indicators"]] + [["预算执行率", "", "", "", "", ctx["execution"]["weight_value"],
                                          ctx["execution"]["score_value"], None, "", ctx["execution"]["explanation"]]],
          [10, 12, 24, 14, 14, 7, 7, 9, 12, 60])
    return _workbook_bytes(wb, ctx, creator="evaluator")


# --------------------------------------------------------------------------- docx: XML pieces
def _rpr(font: str, size: float, bold: bool = False, color: str = "000000", highlight: str | None = None) -> str:
    half = int(round(size * 2))
    return (f'<w:rPr><w:rFonts w:ascii="{font}" w:hAnsi="{font}" w:eastAsia="{font}" w:cs="{font}"/>'
            + ("<w:b/><w:bCs/>" if bold else "") + f'<w:color w:val="{color}"/>'
            + (f'<w:highlight w:val="{highlight}"/>' if highlight else "")
            + f'<w:sz w:val="{half}"/><w:szCs w:val="{half}"/></w:rPr>')


def _run(text: str, rpr: str) -> str:
    parts = str(text).split("\n")
    inner = "<w:br/>".join(f'<w:t xml:space="preserve">{xml_escape(glue(p))}</w:t>' for p in parts)
    return f"<w:r>{rpr}{inner}</w:r>"


def _para(text: str, rpr: str, align: str = "left", line: float | None = None, indent_chars: int = 0,
          keep_next: bool = False, before: float = 0, after: float = 0, style: str | None = None) -> str:
    ppr = ""
    if style:
        ppr += f'<w:pStyle w:val="{style}"/>'
    if keep_next:
        ppr += "<w:keepNext/><w:keepLines/>"
    ppr += "<w:widowControl/>"
    ppr += f'<w:spacing w:before="{int(before * 20)}" w:after="{int(after * 20)}"' + (
        f' w:line="{int(line * 20)}" w:lineRule="exact"/>' if line else "/>")
    if indent_chars:
        ppr += f'<w:ind w:firstLineChars="{indent_chars * 100}" w:firstLine="{indent_chars * 320}"/>'
    ppr += f'<w:jc w:val="{ {"left": "both", "center": "center", "right": "right", "start": "left"}[align] }"/>'
    return f"<w:p><w:pPr>{ppr}</w:pPr>{_run(text, rpr) if text else ''}</w:p>"


def _tbl(widths_cm: list[float], header: list[list[tuple[str, int]]], body: list[list[dict]], size: float = 10.5,
         borders: bool = True, row_height: float | None = None) -> str:
    """A table as WordprocessingML: ``header`` rows of (text, colspan) repeat on every page; ``body`` rows are
    lists of cells {text, span, vmerge ("restart"/"continue"/None), align}."""
    tw = [int(w / 2.54 * 1440) for w in widths_cm]
    rpr, hrpr = _rpr(FONT_TABLE, size), _rpr(FONT_HEAD, size)
    b = ('<w:tblBorders>' + "".join(f'<w:{s} w:val="single" w:sz="4" w:space="0" w:color="000000"/>'
                                    for s in ("top", "left", "bottom", "right", "insideH", "insideV")) + '</w:tblBorders>'
         if borders else '<w:tblBorders>' + "".join(f'<w:{s} w:val="nil"/>' for s in (
             "top", "left", "bottom", "right", "insideH", "insideV")) + '</w:tblBorders>')
    out = [f'<w:tbl xmlns:w="{W_NS}"><w:tblPr><w:tblW w:w="{sum(tw)}" w:type="dxa"/><w:jc w:val="center"/>{b}'
           '<w:tblLayout w:type="fixed"/><w:tblCellMar><w:left w:w="57" w:type="dxa"/><w:right w:w="57" w:type="dxa"/>'
           '</w:tblCellMar><w:tblLook w:val="0000"/></w:tblPr><w:tblGrid>'
           + "".join(f'<w:gridCol w:w="{w}"/>' for w in tw) + "</w:tblGrid>"]

    def cell(text: str, col: int, span: int, rp: str, align: str, vmerge: str | None, underline: bool = False) -> str:
        width = sum(tw[col:col + span])
        tcpr = f'<w:tcW w:w="{width}" w:type="dxa"/>' + (f'<w:gridSpan w:val="{span}"/>' if span > 1 else "")
        if underline:  # a line to write on
            tcpr += '<w:tcBorders><w:bottom w:val="single" w:sz="6" w:space="0" w:color="000000"/></w:tcBorders>'
        if vmerge == "restart":
            tcpr += '<w:vMerge w:val="restart"/>'
        elif vmerge == "continue":
            tcpr += "<w:vMerge/>"
        tcpr += '<w:vAlign w:val="center"/>'
        jc = {"L": "left", "C": "center", "R": "right"}[align]
        run = _run(text, rp) if text and vmerge != "continue" else ""
        return (f"<w:tc><w:tcPr>{tcpr}</w:tcPr><w:p><w:pPr><w:spacing w:before=\"0\" w:after=\"0\" w:line=\"280\" "
                f"w:lineRule=\"auto\"/><w:jc w:val=\"{jc}\"/></w:pPr>{run}</w:p></w:tc>")

    for is_head, rows in ((True, header), (False, body)):
        for row in rows:
            out.append("<w:tr><w:trPr><w:cantSplit/>" + ("<w:tblHeader/>" if is_head else "")
                       + (f'<w:trHeight w:val="{int(row_height / 2.54 * 1440)}"/>' if row_height else "") + "</w:trPr>")
            col = 0
            for c in row:
                if isinstance(c, tuple):
                    c = {"text": c[0], "span": c[1], "head": True}
                span = c.get("span", 1)
                out.append(cell(c.get("text", ""), col, span, hrpr if c.get("head") else rpr, c.get("align", "C"),
                                c.get("vmerge"), c.get("underline", False)))
                col += span
            out.append("</w:tr>")
    out.append("</w:tbl>")
    return "".join(out)


def _table_rows(regions: list, nrows: int, ncols: int) -> list[list[dict]]:
    """The 自评表 regions as Word rows: the top-left of a merged block restarts a vMerge, the rows below
    continue it."""
    starts = {(g.r, g.c): g for g in regions}
    covered: dict[tuple[int, int], Any] = {}
    for g in regions:
        for rr in range(g.r + 1, g.r + g.rows):
            covered[(rr, g.c)] = g
    rows = []
    for r in range(nrows):
        row, c = [], 0
        while c < ncols:
            if (r, c) in starts:
                g = starts[(r, c)]
                row.append({"text": g.text, "span": g.span, "vmerge": "restart" if g.rows > 1 else None,
                            "align": "C" if g.center else "L", "head": g.head})
                c += g.span
            elif (r, c) in covered:
                g = covered[(r, c)]
                row.append({"text": "", "span": g.span, "vmerge": "continue"})
                c += g.span
            else:
                row.append({"text": ""})
                c += 1
        rows.append(row)
    return rows


# --------------------------------------------------------------------------- docx documents
def _new_docx(ctx: dict[str, Any], title: str, landscape: bool, margins_cm=(3.7, 2.6, 3.5, 2.8)):
    from docx import Document
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt

    from .report import a4_page, pin_properties

    document = Document()
    for style_name, font, size in (("Normal", FONT_BODY, 16), ("Heading 1", FONT_HEAD, 16), ("Heading 2", FONT_KAI, 16),
                                   ("Title", FONT_TITLE, 22)):
        style = document.styles[style_name]
        style.font.name = font
        style.font.size = Pt(size)
        style.font.bold = False
        style.font.color.rgb = None
        rpr = style.element.get_or_add_rPr()
        for old in rpr.findall(qn("w:rFonts")):
            rpr.remove(old)
        rfonts = rpr.makeelement(qn("w:rFonts"), {qn(f"w:{a}"): font for a in ("ascii", "hAnsi", "eastAsia", "cs")})
        rpr.insert(0, rfonts)
        for color in rpr.findall(qn("w:color")):
            color.set(qn("w:val"), "000000")
            for attr in ("w:themeColor", "w:themeShade", "w:themeTint"):
                color.attrib.pop(qn(attr), None)
    section = a4_page(document, landscape)
    section.top_margin, section.right_margin, section.bottom_margin, section.left_margin = (Cm(m) for m in margins_cm)
    pin_properties(document, title, "", _time(ctx))
    return document


def _clear(document) -> None:
    body = document.element.body
    for el in list(body):
        if el.tag != "{%s}sectPr" % W_NS:
            body.remove(el)


def _append(document, xml: str) -> None:
    """Append WordprocessingML (paragraphs or a table) before the final section properties."""
    from docx.oxml import parse_xml

    body = document.element.body
    sect = body.sectPr
    wrapper = parse_xml(f'<w:body xmlns:w="{W_NS}">{xml}</w:body>')
    for el in list(wrapper):
        if sect is not None:
            sect.addprevious(el)
        else:
            body.append(el)


def _page_numbers(document, first_page_blank: bool = False) -> None:
    """Page numbers "— 1 —" in the footer (宋体 四号); a cover page gets none and the body starts at 1."""
    from docx.oxml import parse_xml

    section = document.sections[0]
    footer = section.footer
    p = footer.paragraphs[0]
    rpr = _rpr(FONT_TABLE, 14)
    xml = (f'<w:p xmlns:w="{W_NS}"><w:pPr><w:jc w:val="center"/></w:pPr><w:r>{rpr}<w:t xml:space="preserve">— </w:t></w:r>'
           f'<w:r>{rpr}<w:fldChar w:fldCharType="begin"/></w:r><w:r>{rpr}<w:instrText xml:space="preserve"> PAGE </w:instrText>'
           f'</w:r><w:r>{rpr}<w:fldChar w:fldCharType="separate"/></w:r><w:r>{rpr}<w:t>1</w:t></w:r>'
           f'<w:r>{rpr}<w:fldChar w:fldCharType="end"/></w:r><w:r>{rpr}<w:t xml:space="preserve"> —</w:t></w:r></w:p>')
    p._p.addprevious(parse_xml(xml))
    p._p.getparent().remove(p._p)
    if first_page_blank:
        section.different_first_page_header_footer = True
        section.first_page_footer.is_linked_to_previous = False  # an empty footer of its own on the cover
        sect = section._sectPr
        pg = sect.makeelement("{%s}pgNumType" % W_NS, {"{%s}start" % W_NS: "0"})
        sect.append(pg)


def _save(document, ctx) -> bytes:
    from .report import document_bytes

    return document_bytes(document, _time(ctx))


TABLE_CM = [1.6, 2.0, 2.0, 4.2, 2.6, 2.6, 1.5, 1.6, 6.6]  # landscape 自评表: 偏差原因 wide, 分值/得分 narrow


def table_docx(ctx: dict[str, Any]) -> bytes:
    """The 自评表 in Word, landscape A4, as the form prints."""
    document = _new_docx(ctx, ctx["form_title"], landscape=True, margins_cm=(2.0, 1.8, 1.8, 1.8))
    _clear(document)
    regions, nrows, header_row = table_layout(ctx)
    rows = _table_rows(regions, nrows, 9)
    xml = _para(ctx["form_title"], _rpr(FONT_TITLE, 18), "center", keep_next=True)
    xml += _para(ctx["form_year"], _rpr(FONT_BODY, 12), "center", keep_next=True, after=4)
    # only the indicator header repeats on a new page (tblHeader rows must open a table): the block above it is a
    # table of its own, drawn flush with the indicator table below
    xml += _tbl(TABLE_CM, [], rows[:header_row])
    # a hairline paragraph between them, or Word and LibreOffice join the two tables into one
    xml += (f'<w:p xmlns:w="{W_NS}"><w:pPr><w:spacing w:before="0" w:after="0" w:line="20" w:lineRule="exact"/>'
            '<w:rPr><w:sz w:val="2"/></w:rPr></w:pPr></w:p>')
    xml += _tbl(TABLE_CM, [rows[header_row]], rows[header_row + 1:])
    sig = dict(_signature_line(ctx))
    xml += _para("", _rpr(FONT_TABLE, 10.5))
    xml += _tbl([8.0, 8.0, 8.4], [], [[{"text": f"单位负责人（签字）：", "align": "L"}, {"text": f"填表人：{sig['填表人']}", "align": "L"},
                                       {"text": f"联系电话：{sig['联系电话']}", "align": "L"}],
                                      [{"text": f"填报日期：{sig['填报日期']}", "align": "L"}, {"text": ""},
                                       {"text": "单位（盖章）", "align": "L"}]], borders=False)
    _append(document, xml)
    _page_numbers(document)
    return _save(document, ctx)


def report_docx(ctx: dict[str, Any], blocks: list, charts: dict[str, bytes]) -> bytes:
    """The 自评报告 in Word in the 公文 layout: a cover page, 黑体 / 楷体 headings, 仿宋 body at a fixed line pitch,
    the tables, charts, places to write highlighted, and the signature block."""
    from docx.shared import Cm

    from .report import cover_fields, signature_fields, write_label

    document = _new_docx(ctx, ctx["report_title"], landscape=False)
    _clear(document)
    body = document.element.body
    line = 28.95
    body_rpr = _rpr(FONT_BODY, 16)
    for b in blocks:
        if b.kind == "title":
            # a long title breaks after its year, as titles are set (Word would break it anywhere)
            text = b.text.replace("年度", "年度\n", 1) if len(b.text) > 20 and "年度" in b.text[:-4] else b.text
            title = _para(text, _rpr(FONT_TITLE, 22), "center", line=36, keep_next=True, after=12)
            if any(x.kind == "cover" for x in blocks):
                title = title.replace("<w:pPr>", "<w:pPr><w:pageBreakBefore/>", 1)
            _append(document, title)
        elif b.kind == "cover":
            _append(document, _cover_xml(ctx, cover_fields(ctx)))
        elif b.kind == "h1":
            _append(document, _para(b.text, _rpr(FONT_HEAD, 16), "left", line=line, indent_chars=2, keep_next=True,
                                    style="Heading1"))
        elif b.kind == "h2":
            _append(document, _para(b.text, _rpr(FONT_KAI, 16), "left", line=line, indent_chars=2, keep_next=True,
                                    style="Heading2"))
        elif b.kind == "p":
            _append(document, _para(b.text, body_rpr, "left", line=line, indent_chars=2))
        elif b.kind == "ul":
            _append(document, "".join(_para(i, body_rpr, "left", line=line, indent_chars=2) for i in b.items))
        elif b.kind == "write":
            _append(document, _para(f"【{write_label(b, ctx)}】", _rpr(FONT_BODY, 16, highlight="yellow"), "left",
                                    line=line, indent_chars=2) + _para("", body_rpr, line=line) * 2)
        elif b.kind == "indicators":
            rows = []
            for i in ctx["indicators"]:
                rows.append([
                    {"text": i["level1"], "vmerge": "restart" if i["l1_span"] > 1 else None} if i["l1_span"] else
                    {"vmerge": "continue"},
                    {"text": i["level2"], "vmerge": "restart" if i["l2_span"] > 1 else None} if i["l2_span"] else
                    {"vmerge": "continue"},
                    {"text": i["level3"], "align": "L"}, {"text": i["target"]}, {"text": i["actual"]},
                    {"text": i["weight"]}, {"text": i["score"]}, {"text": i["note"], "align": "L"}])
            rows.append([{"text": "总分", "span": 5, "head": True}, {"text": ctx["total_weight"]},
                         {"text": ctx["total_text"]}, {"text": f"评价等级：{ctx['grade_text']}"}])
            _append(document, _tbl([1.4, 1.7, 3.0, 2.0, 2.1, 1.1, 1.2, 3.1], [[(h, 1) for h in (
                "一级指标", "二级指标", "三级指标", "年度指标值", "实际完成值", "分值", "得分", "偏差原因分析及改进措施")]],
                rows, size=9) + _para("", body_rpr, line=14))
        elif b.kind == "budget":
            rows = [[{"text": r["label"], "align": "L"}, *[{"text": r[k], "align": "R" if n < 3 else "C"} for n, k in
                                                           enumerate(("initial", "budget", "spent", "weight", "rate",
                                                                      "score"))]] for r in ctx["budget_rows"]]
            _append(document, _tbl([3.4, 2.2, 2.2, 2.2, 1.3, 1.7, 1.6], [[(h, 1) for h in (
                "项目资金（万元）", "年初预算数", "全年预算数", "全年执行数", "分值", "执行率", "得分")]], rows, size=10.5)
                + _para("", body_rpr, line=14))
        elif b.kind == "monitoring" and ctx["monitoring"]:
            from .report import MONITORING_HEADER

            rows = [[{"text": r["indicator"], "align": "L"}, {"text": r["warning"], "align": "L"},
                     {"text": r["action"], "align": "L"}, {"text": r["year_end"], "align": "L"}]
                    for r in ctx["monitoring"]["rows"]]
            _append(document, _tbl([2.8, 5.4, 3.8, 3.6], [[(h, 1) for h in MONITORING_HEADER]], rows, size=9)
                    + _para("", body_rpr, line=14))
        elif b.kind == "chart" and charts.get(b.name):
            document.add_picture(io.BytesIO(charts[b.name]), width=Cm(14.5))
            pic = body[-2] if body[-1].tag == "{%s}sectPr" % W_NS else body[-1]
            jc = pic.makeelement("{%s}jc" % W_NS, {"{%s}val" % W_NS: "center"})
            pic.get_or_add_pPr().append(jc)
        elif b.kind == "signature":
            sig = dict(signature_fields(ctx))
            rp = _rpr(FONT_BODY, 16)
            _append(document, _para("", rp, line=line) + _tbl([8.0, 7.6], [], [
                [{"text": "单位负责人（签字）：", "align": "L"}, {"text": f"填表人：{sig['填表人'] or ''}", "align": "L"}],
                [{"text": f"联系电话：{sig['联系电话'] or ''}", "align": "L"},
                 {"text": f"填报日期：{sig['填报日期'] or ''}", "align": "L"}],
                [{"text": ""}, {"text": "单位（盖章）", "align": "L"}]], size=16, borders=False))
    _page_numbers(document, first_page_blank=any(b.kind == "cover" for b in blocks))
    return _save(document, ctx)


def _cover_xml(ctx: dict[str, Any], fields: list[tuple[str, str | None]]) -> str:
    xml = ""
    if ctx.get("example"):
        xml += _para("示例数据：实际完成值仅用于演示，不代表单位的真实完成情况", _rpr(FONT_BODY, 10.5, color="C00000"), "center")
    xml += _para("", _rpr(FONT_BODY, 16), line=28.95) * 3
    xml += _para(f"{ctx['subject']}绩效自评报告", _rpr(FONT_TITLE, 26), "center", line=40)
    if ctx["form_year"]:
        xml += _para(ctx["form_year"], _rpr(FONT_BODY, 16), "center", line=28.95)
    xml += _para("", _rpr(FONT_BODY, 16), line=28.95) * 3
    rows = [[{"text": f"{k}：", "align": "L", "head": True}, {"text": v or "", "align": "L", "underline": True}]
            for k, v in fields]
    xml += _tbl([3.6, 9.0], [], rows, size=16, borders=False, row_height=0.95)
    xml += _para("", _rpr(FONT_BODY, 16), line=28.95) * 3
    # the bureau's line ends the cover page: the report's title starts the next one
    xml += _para(f"{ctx['bureau']}（制）", _rpr(FONT_HEAD, 16), "center", line=28.95)
    return xml
