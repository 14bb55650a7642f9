"""Reports: Evaluation → context → the official 自评表 (xlsx, docx) and the 自评报告 (HTML, docx, PDF).

Compute, then structure, then render: ``build_context`` turns one scored table into plain, already formatted
values; the narrative wording lives in ``templates/report.md.j2`` and renders to a small block list that each
writer lays out in its own format. Every writer pins timestamps and document metadata, so the same inputs and
rule set give byte-identical files.
"""
from __future__ import annotations

import base64
import datetime as dt
import io
import multiprocessing
import os
import re
import warnings
import zipfile
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PackageLoader, StrictUndefined, select_autoescape
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup, escape

from .model import ActualSet, Evaluation, Severity, TableEvaluation, TableKind, TargetSet, TargetTable
from .output import no_formulas, wrapped_lines, write_atomic
from .rules import RuleSet, fmt

__all__ = ["FORMATS", "build_context", "render_blocks", "write_reports", "PENDING"]

PENDING = "【待填写】"
FORMATS = ("xlsx", "docx", "pdf", "html")
GRADE_USE = {"优": "优先保障", "良": "保障", "中": "压缩", "差": "取消"}
SEVERITY_LABEL = {Severity.ERROR: "错误", Severity.WARNING: "警告", Severity.INFO: "提示"}
STANDARD_SOURCES = ("其中：当年财政拨款", "上年结转资金", "其他资金")


# --------------------------------------------------------------------------- context
def _num(x: float | None, decimals: int = 2) -> str:
    return "" if x is None else fmt(x, decimals)


def _fixed(x: float | None, decimals: int = 2) -> str:
    """Scores and weights as the forms print them: a fixed number of decimals (7.50, 10.00)."""
    return "" if x is None else f"{x:.{decimals}f}"


def _spans(values: list[tuple]) -> list[int]:
    """Row spans for merged cells: the first row of each run of equal keys gets the run length, others 0."""
    spans = [0] * len(values)
    i = 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and values[j + 1] == values[i]:
            j += 1
        spans[i] = j - i + 1
        i = j + 1
    return spans


def _completion(i) -> float | None:
    """Completion ratio in % for the chart: actual/target (target/actual for 反向), else score/weight."""
    inp = i.inputs
    t, a = inp.get("target"), inp.get("actual")
    if i.status != "ok":
        return None
    if i.method in ("ratio", "equal", "inverse-ratio", "linear-to-zero", "threshold", "step-deduction", "banded") \
            and t and a is not None:
        if inp.get("direction") == "lower":
            return 100.0 * t / a if a > 0 else 100.0
        return 100.0 * a / t
    return 100.0 * (i.score or 0) / i.weight if i.weight else None


def build_context(ev: Evaluation, te: TableEvaluation, target: TargetTable, actuals: ActualSet | None,
                  rules: RuleSet) -> dict[str, Any]:
    """Everything the documents show for one table, formatted once."""
    d = rules.rounding.decimals
    ta = next((t for t in (actuals.tables if actuals else []) if t.table == te.table), None)
    is_dept = te.kind == TableKind.DEPARTMENT
    kind_word = "部门整体支出" if is_dept else "项目支出"
    year = ev.year or target.year
    rows = te.indicators
    l1_spans = _spans([(r.level1,) for r in rows])
    l2_spans = _spans([(r.level1, r.level2) for r in rows])
    indicators = []
    for r, s1, s2 in zip(rows, l1_spans, l2_spans):
        indicators.append({
            "level1": r.level1, "level2": r.level2, "level3": r.level3, "target": r.target or "",
            "actual": r.actual or "", "weight": _fixed(r.weight, d), "weight_value": r.weight,
            "score": {"ok": _fixed(r.score, d), "na": "不适用", "error": "无法计分"}[r.status],
            "score_value": r.score, "note": r.deviation_note or "", "explanation": r.explanation,
            "short": r.status == "ok" and r.score is not None and r.weight and r.score < r.weight - 1e-9,
            "l1_span": s1, "l2_span": s2, "status": r.status,
        })
    ex = te.execution
    budget = ta.budget if ta else None
    budget_rows = [{
        "label": "年度资金总额", "initial": _num(budget.initial if budget else None, 6),
        "budget": _num(ex.budget, 6), "spent": _num(ex.spent, 6), "weight": _num(ex.weight),
        "rate": f"{ex.rate * 100:.2f}%" if ex.rate is not None else "", "score": _fixed(ex.score, d),
        "values": (budget.initial if budget else None, ex.budget, ex.spent, ex.weight, ex.rate, ex.score),
    }]
    sources = list(budget.by_source.items()) if budget and budget.by_source else [(s, None) for s in STANDARD_SOURCES]
    for k, (name, line) in enumerate(sources):
        label = name if name.startswith("其中") or k else f"其中：{name}"
        budget_rows.append({"label": label, "initial": _num(line.initial, 6) if line else "",
                            "budget": _num(line.budget, 6) if line else "", "spent": _num(line.spent, 6) if line else "",
                            "weight": "—", "rate": "—", "score": "—",
                            "values": (line.initial, line.budget, line.spent, None, None, None) if line else (None,) * 6})
    threshold = rules.over_achievement.threshold
    deviations = []
    for r in rows:
        if r.status == "error":
            continue
        over = r.status == "ok" and r.inputs.get("direction") == "higher" and r.inputs.get("target") \
            and r.inputs.get("actual") is not None and r.inputs["actual"] >= threshold * r.inputs["target"]
        short = r.status == "ok" and r.score is not None and r.weight and r.score < r.weight - 1e-9
        if short or over:
            what = (f"得 {_fixed(r.score, d)} 分（分值 {_fixed(r.weight, d)}）" if short else
                    f"超过目标的 {fmt(threshold * 100)}%，应说明指标值是否设定偏低")
            deviations.append({"level3": r.level3, "target": r.target, "actual": r.actual, "what": what,
                               "reason": r.deviation_note})
    counts = {"total": len(rows), "full": sum(1 for r in rows if r.status == "ok" and not _short(r)),
              "short": sum(1 for r in rows if _short(r)), "na": sum(1 for r in rows if r.status == "na"),
              "error": sum(1 for r in rows if r.status == "error")}
    groups = [{"label": k, "weight": _num(v["weight"], d), "score": _fixed(v["score"], d),
               "weight_value": v["weight"], "score_value": v["score"]} for k, v in te.groups.items()]
    findings = [{"severity": SEVERITY_LABEL[f.severity], "where": f.location.model_copy(update={"file": None}).describe(),
                 "message": f.message} for f in ev.findings if f.location.table in (te.table, None)]
    plan = target.budget
    contacts = (actuals.contacts if actuals and actuals.contacts else None) or target.contacts
    cost_notes = [line.strip() for c in target.cost_notes for line in (c.basis or c.detail or c.summary or "").splitlines()
                  if line.strip()]
    annual_goal = target.annual_goal or "；".join(f"{w.item}：{w.goal}" for w in target.work_plan if w.goal) or None
    return {
        "id": te.table, "title": te.title, "kind": te.kind.value, "is_department": is_dept, "year": year,
        "form_title": f"{kind_word}绩效自评表（{year}年度）",
        "report_title": f"{ev.unit_name}{year}年度{'部门整体支出' if is_dept else te.title + ' '}绩效自评报告"
        if is_dept else f"{target.project or (te.title.split('（')[-1].rstrip('）') if '（' in te.title else te.title)}"
                        f"{year}年度绩效自评报告",
        "unit_name": ev.unit_name, "supervisor": target.supervisor, "fund": target.fund,
        "amount": _num(target.amount, 6), "period": target.period,
        "long_term_goal": target.long_term_goal, "annual_goal": annual_goal,
        "achieved_goal": ta.achieved_goal if ta else None, "problems": ta.problems if ta else None,
        "improvements": ta.improvements if ta else None,
        "duties_lines": [line.strip() for line in (target.duties or "").splitlines() if line.strip()],
        "work_plan": [w.model_dump() for w in target.work_plan], "cost_notes": cost_notes,
        "plan": {"total": _num(plan.total, 6), "by_source": [(k, _num(v, 6)) for k, v in plan.by_source.items()],
                 "by_nature": [(k, _num(v, 6)) for k, v in plan.by_nature.items()]} if plan else
        {"total": _num(target.amount, 6), "by_source": [], "by_nature": []},
        "indicators": indicators, "budget_rows": budget_rows, "groups": groups, "counts": counts,
        "deviations": deviations, "findings": findings,
        "execution": {"budget": _num(ex.budget, 6), "spent": _num(ex.spent, 6),
                      "initial": _num(budget.initial, 6) if budget and budget.initial is not None else None,
                      "rate": ex.rate, "rate_text": f"{ex.rate * 100:.2f}%" if ex.rate is not None else "",
                      "score": _fixed(ex.score, d), "weight": _num(ex.weight),
                      "unspent": _num(ex.budget - ex.spent, 6) if ex.rate is not None and ex.budget > ex.spent else None,
                      "values": (ex.budget, ex.spent, ex.rate)},
        "total": _fixed(te.total, d) if te.total is not None else None, "raw_total": _fixed(te.raw_total, d),
        "capped": te.cap is not None and te.raw_total is not None and te.raw_total > te.cap,
        "grade": te.grade, "total_value": te.total, "total_weight": "100",
        "total_text": _fixed(te.total, d) if te.total is not None else "无法确定",
        "grade_text": te.grade or "无法确定",
        "contacts": {"head": contacts.head if contacts else None, "filler": contacts.filler if contacts else None,
                     "phone": contacts.phone if contacts else None},
    }


def _short(r) -> bool:
    return r.status == "ok" and r.score is not None and bool(r.weight) and r.score < r.weight - 1e-9


def _cover(ctx: dict[str, Any], ev: Evaluation, actuals: ActualSet | None) -> list[tuple[str, str]]:
    c = ctx["contacts"]
    return [
        ("部门（单位）名称", ev.unit_name), ("预算编码", (actuals.budget_code if actuals else None) or PENDING),
        ("评价方式", "部门（单位）绩效自评"), ("报告日期", (actuals.report_date if actuals else None) or PENDING),
        ("填表人", c["filler"] or PENDING), ("联系电话", c["phone"] or PENDING), ("单位负责人", c["head"] or PENDING),
    ]


# --------------------------------------------------------------------------- narrative → blocks
@dataclass
class Block:
    kind: str  # h1 h2 p ul cover indicators budget chart
    text: str = ""
    items: list[str] = field(default_factory=list)
    name: str = ""


_ENV: Environment | None = None


def _env() -> Environment:
    """One sandboxed jinja2 environment. Templates in $EVALUATOR_TEMPLATES (a folder) override the bundled ones by
    name; whoever wrote them, they run in jinja2's sandbox with autoescaping on."""
    global _ENV
    user = os.environ.get("EVALUATOR_TEMPLATES")
    if _ENV is None or getattr(_ENV, "_user_dir", None) != user:
        loaders = [FileSystemLoader(user)] if user else []
        _ENV = SandboxedEnvironment(loader=ChoiceLoader([*loaders, PackageLoader("evaluator", "templates")]),
                                    autoescape=select_autoescape(["html", "j2"]), undefined=StrictUndefined,
                                    trim_blocks=False, lstrip_blocks=False, keep_trailing_newline=True)
        _ENV._user_dir = user
        _ENV.filters["pending"] = lambda s: Markup(str(escape(s)).replace(PENDING, f'<span class="pending">{PENDING}</span>'))
    return _ENV


def render_blocks(ctx: dict[str, Any], ev: Evaluation, rules: RuleSet) -> list[Block]:
    """Render the narrative template and read it back as blocks."""
    text = _env().get_template("report.md.j2").render(
        t=ctx, unit=ev.unit_name, pending=PENDING, example=ev.example, rules_title=rules.title, rules_label=rules.label)
    # the markdown template is rendered with autoescape on (".j2"): undo the HTML escaping, the block writers escape
    text = _unescape(text)
    blocks: list[Block] = []
    para: list[str] = []

    def flush() -> None:
        if para:
            blocks.append(Block("p", "".join(para)))
            para.clear()

    for line in text.splitlines():
        s = line.rstrip()
        if not s.strip():
            flush()
        elif m := re.fullmatch(r"\[\[(\w+)(?::(\w+))?\]\]", s.strip()):
            flush()
            blocks.append(Block(m.group(1), name=m.group(2) or ""))
        elif s.startswith("## "):
            flush()
            blocks.append(Block("h2", s[3:].strip()))
        elif s.startswith("# "):
            flush()
            blocks.append(Block("h1", s[2:].strip()))
        elif s.startswith("- "):
            flush()
            if blocks and blocks[-1].kind == "ul":
                blocks[-1].items.append(s[2:].strip())
            else:
                blocks.append(Block("ul", items=[s[2:].strip()]))
        else:
            para.append(s.strip())
    flush()
    return blocks


def _unescape(text: str) -> str:
    return (text.replace("&lt;", "<").replace("&gt;", ">").replace("&#34;", '"').replace("&#39;", "'")
            .replace("&amp;", "&"))


# --------------------------------------------------------------------------- charts
def _charts(ctx: dict[str, Any], fmt_: str) -> dict[str, bytes]:
    from . import charts

    groups = [(g["label"], g["weight_value"], g["score_value"]) for g in ctx["groups"]]
    b, s, rate = ctx["execution"]["values"]
    if rate is not None:
        groups.append(("预算执行率", float(ctx["execution"]["weight"]), float(ctx["execution"]["score"])))
    out = {"groups": charts.chart_groups(groups, fmt_)}
    rows = ctx["_completion"]
    out["completion"] = charts.chart_completion(rows, fmt_) if rows else b""
    out["execution"] = charts.chart_execution(b, s, rate, fmt_) if rate is not None else b""
    return out


# --------------------------------------------------------------------------- writers
FIXED_TIME = (2000, 1, 1, 0, 0, 0)


def _pin_zip(data: bytes, when: dt.datetime) -> bytes:
    """Rewrite an OOXML zip with fixed entry times and fixed core.xml timestamps: same content → same bytes."""
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    src = zipfile.ZipFile(io.BytesIO(data))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)",
                                 rb"\g<1>" + stamp.encode() + rb"\g<2>", content)
                content = re.sub(rb"<cp:lastPrinted>[^<]*</cp:lastPrinted>", b"", content)
            zi = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o600 << 16
            dst.writestr(zi, content)
    return buf.getvalue()


def _doc_time(year: int | None) -> dt.datetime:
    """Document metadata time: pinned to the start of the year after the evaluated year (reproducible)."""
    return dt.datetime((year or 2000) + 1, 1, 1, tzinfo=dt.timezone.utc)


@dataclass
class Region:
    """One cell (or merged block) of the 自评表, shared by the xlsx and docx writers."""

    r: int
    c: int
    text: str
    value: Any = None  # what Excel stores (a number where the form shows one); None → text
    span: int = 1
    rows: int = 1
    center: bool = False
    number: str | None = None


def table_layout(ctx: dict[str, Any]) -> tuple[list[Region], int]:
    """The official 自评表 below its title, 9 columns wide: regions and the number of rows."""
    out: list[Region] = []
    add = lambda *a, **k: out.append(Region(*a, **k))  # noqa: E731
    r = 0
    if ctx["is_department"]:
        add(r, 0, "部门名称", span=2, center=True)
        add(r, 2, ctx["unit_name"], span=7)
    else:
        add(r, 0, "项目名称", span=2, center=True)
        add(r, 2, ctx["title"], span=7)
        r += 1
        add(r, 0, "主管部门", span=2, center=True)
        add(r, 2, ctx.get("supervisor") or ctx["unit_name"], span=3)
        add(r, 5, "实施单位", center=True)
        add(r, 6, ctx["unit_name"], span=3)
    r += 1
    brows = ctx["budget_rows"]
    add(r, 0, "项目资金（万元）" if not ctx["is_department"] else "预算资金（万元）", rows=len(brows) + 1, center=True)
    add(r, 1, "", span=2)
    for k, head in enumerate(("年初预算数", "全年预算数", "全年执行数", "分值", "执行率", "得分")):
        add(r, 3 + k, head, center=True)
    for b in brows:
        r += 1
        add(r, 1, b["label"], span=2)
        for k, (key, number) in enumerate((("initial", "0.######"), ("budget", "0.######"), ("spent", "0.######"),
                                           ("weight", "0.######"), ("rate", "0.00%"), ("score", "0.00"))):
            add(r, 3 + k, b[key], value=b["values"][k], center=True, number=number)
    r += 1
    add(r, 0, "年度总体目标", rows=2, center=True)
    add(r, 1, "预期目标", span=4, center=True)
    add(r, 5, "实际完成情况", span=4, center=True)
    r += 1
    add(r, 1, ctx["annual_goal"] or "", span=4)
    add(r, 5, ctx["achieved_goal"] or PENDING, span=4)
    r += 1
    inds = ctx["indicators"]
    add(r, 0, "绩效指标", rows=len(inds) + 1, center=True)
    for k, head in enumerate(("一级指标", "二级指标", "三级指标", "年度指标值", "实际完成值", "分值", "得分",
                              "偏差原因分析及改进措施")):
        add(r, 1 + k, head, center=True)
    for i in inds:
        r += 1
        if i["l1_span"]:
            add(r, 1, i["level1"], rows=i["l1_span"], center=True)
        if i["l2_span"]:
            add(r, 2, i["level2"], rows=i["l2_span"], center=True)
        add(r, 3, i["level3"])
        add(r, 4, i["target"], center=True)
        add(r, 5, i["actual"], center=True)
        add(r, 6, i["weight"], value=i["weight_value"], center=True, number="0.00")
        add(r, 7, i["score"], value=i["score_value"] if i["status"] == "ok" else None, center=True, number="0.00")
        add(r, 8, i["note"])
    r += 1
    add(r, 0, "总分", span=6, center=True)
    add(r, 6, "100", value=100, center=True, number="0")
    add(r, 7, ctx["total_text"], value=ctx["total_value"], center=True, number="0.00")
    add(r, 8, f"评价等级：{ctx['grade_text']}", center=True)
    return out, r + 1


def _contacts_line(ctx: dict[str, Any]) -> str:
    c = ctx["contacts"]
    return f"填表人：{c['filler'] or PENDING}    联系电话：{c['phone'] or PENDING}    单位负责人：{c['head'] or PENDING}"


def write_table_xlsx(ctx: dict[str, Any], path: Path, footer: str) -> Path:
    """The 自评表 as an Excel sheet in the official layout, numbers stored as numbers."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, Side
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    ws.title = "自评表"
    thin = Side(style="thin", color="000000")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    wrap = Alignment(wrap_text=True, vertical="center")
    center = Alignment(wrap_text=True, vertical="center", horizontal="center")
    font = Font(name="宋体", size=10)
    widths = (10, 10, 12, 26, 14, 14, 8, 9, 30)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(widths))
    title = ws.cell(row=1, column=1, value=ctx["form_title"])
    title.font, title.alignment = Font(name="宋体", size=14, bold=True), center
    regions, nrows = table_layout(ctx)
    lines: dict[int, int] = {}
    for g in regions:
        row, col = g.r + 2, g.c + 1
        if g.rows == 1 and g.text:
            # Excel does not grow rows for wrapped text on open: size them from the text (CJK = 2 units)
            room = max(sum(widths[g.c: g.c + g.span]) - 1, 4)
            need = wrapped_lines(g.text, room)
            lines[row] = max(lines.get(row, 1), need)
        cell = ws.cell(row=row, column=col, value=g.value if g.value is not None else (g.text or None))
        cell.font, cell.alignment = font, center if g.center else wrap
        if g.number and g.value is not None:
            cell.number_format = g.number
        if g.span > 1 or g.rows > 1:
            ws.merge_cells(start_row=row, start_column=col, end_row=row + g.rows - 1, end_column=col + g.span - 1)
        for rr in range(row, row + g.rows):
            for cc in range(col, col + g.span):
                ws.cell(row=rr, column=cc).border = border
    r = nrows + 3
    ws.cell(row=r, column=1, value=_contacts_line(ctx)).font = font
    ws.cell(row=r + 1, column=1, value=footer).font = Font(name="宋体", size=8, color="666666")
    for row, n in lines.items():
        if n > 1:
            ws.row_dimensions[row].height = 13.5 * n + 2
    for k, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(k)].width = w
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.print_title_rows = "1:1"
    when = _doc_time(ctx["year"]).replace(tzinfo=None)
    wb.properties.creator = "evaluator"
    wb.properties.created = wb.properties.modified = when
    buf = io.BytesIO()
    no_formulas(wb)
    wb.save(buf)
    return write_atomic(path, _pin_zip(buf.getvalue(), _doc_time(ctx["year"])))


def _docx_fonts(document) -> None:
    from docx.oxml.ns import qn
    from docx.shared import Pt

    for style_name in ("Normal", "Heading 1", "Heading 2", "Title", "Table Grid"):
        try:
            style = document.styles[style_name]
        except KeyError:
            continue
        style.font.name = "宋体"
        rpr = style.element.get_or_add_rPr()
        rfonts = rpr.find(qn("w:rFonts"))
        if rfonts is None:
            rfonts = rpr.makeelement(qn("w:rFonts"), {})
            rpr.append(rfonts)
        for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
            rfonts.set(qn(attr), "宋体")
        if style_name == "Normal":
            style.font.size = Pt(10.5)


def _docx_table(document, ctx: dict[str, Any]) -> None:
    """The 自评表 as a Word table: the same layout as the xlsx, merged 一级/二级 cells."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    regions, nrows = table_layout(ctx)
    table = document.add_table(rows=nrows, cols=9)
    table.style = "Table Grid"
    grid = table._cells  # one pass over the XML; table.cell() re-walks the whole table on every call
    for g in regions:  # text first, merges last: merging joins the content of non-empty cells
        p = grid[g.r * 9 + g.c].paragraphs[0]
        p.add_run(g.text).font.size = Pt(9)
        if g.center:
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    for g in regions:  # regions do not overlap, so each corner's cell is still in the table
        if g.span > 1 or g.rows > 1:
            grid[g.r * 9 + g.c].merge(grid[(g.r + g.rows - 1) * 9 + g.c + g.span - 1])


def _new_docx(ctx: dict[str, Any], title: str, landscape: bool):
    from docx import Document
    from docx.enum.section import WD_ORIENT
    from docx.shared import Cm

    document = Document()
    _docx_fonts(document)
    section = document.sections[0]
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    if landscape:
        section.orientation = WD_ORIENT.LANDSCAPE
        section.page_width, section.page_height = section.page_height, section.page_width
    for side in ("left_margin", "right_margin"):
        setattr(section, side, Cm(1.8))
    props = document.core_properties
    when = _doc_time(ctx["year"]).replace(tzinfo=None)
    props.title, props.author, props.last_modified_by = title, "evaluator", "evaluator"
    props.created = props.modified = when
    props.revision = 1
    return document


def _docx_footer(document, footer: str) -> None:
    from docx.shared import Pt

    p = document.sections[0].footer.paragraphs[0]
    run = p.add_run(footer)
    run.font.size = Pt(8)


def _save_docx(document, path: Path, year: int | None) -> Path:
    buf = io.BytesIO()
    document.save(buf)
    return write_atomic(path, _pin_zip(buf.getvalue(), _doc_time(year)))


def write_table_docx(ctx: dict[str, Any], path: Path, footer: str) -> Path:
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    document = _new_docx(ctx, ctx["form_title"], landscape=True)
    h = document.add_heading(ctx["form_title"], level=1)
    h.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _docx_table(document, ctx)
    document.add_paragraph(_contacts_line(ctx))
    _docx_footer(document, footer)
    return _save_docx(document, path, ctx["year"])


def write_report_docx(ctx: dict[str, Any], blocks: list[Block], cover: list[tuple[str, str]], charts: dict[str, bytes],
                      path: Path, footer: str) -> Path:
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm

    document = _new_docx(ctx, ctx["report_title"], landscape=False)
    for b in blocks:
        if b.kind == "h1":
            document.add_heading(b.text, level=1).alignment = WD_ALIGN_PARAGRAPH.CENTER
        elif b.kind == "h2":
            document.add_heading(b.text, level=2)
        elif b.kind == "p":
            document.add_paragraph(b.text)
        elif b.kind == "ul":
            for item in b.items:
                document.add_paragraph(item, style="List Bullet")
        elif b.kind == "cover":
            for label, value in cover:
                document.add_paragraph(f"{label}：{value}")
        elif b.kind == "indicators":
            _docx_indicator_table(document, ctx)
        elif b.kind == "budget":
            _docx_budget_table(document, ctx)
        elif b.kind == "chart" and charts.get(b.name):
            document.add_picture(io.BytesIO(charts[b.name]), width=Cm(15))
    _docx_footer(document, footer)
    return _save_docx(document, path, ctx["year"])


def _docx_rows(document, header: Iterable[str], rows: list[list[str]]):
    from docx.shared import Pt

    header = list(header)
    table = document.add_table(rows=len(rows) + 1, cols=len(header))
    table.style = "Table Grid"
    grid = table._cells
    for k, text in enumerate([*header, *(str(x) for row in rows for x in row)]):
        grid[k].paragraphs[0].add_run(text).font.size = Pt(8)
    return table


def _docx_indicator_table(document, ctx: dict[str, Any]) -> None:
    rows = [[i["level1"], i["level2"], i["level3"], i["target"], i["actual"], i["weight"], i["score"], i["note"]]
            for i in ctx["indicators"]]
    rows.append(["总分", "", "", "", "", "100", ctx["total_text"], f"评价等级：{ctx['grade_text']}"])
    table = _docx_rows(document, ("一级指标", "二级指标", "三级指标", "年度指标值", "实际完成值", "分值", "得分",
                                  "偏差原因分析及改进措施"), rows)
    grid = table._cells
    for k, i in enumerate(ctx["indicators"], start=1):  # merge 一级/二级 runs like the official form
        for col, key in ((0, "l1_span"), (1, "l2_span")):
            if i[key] > 1:
                for below in range(k + 1, k + i[key]):  # empty the repeated names so the merge keeps one
                    for p in grid[below * 8 + col].paragraphs:
                        for run in p.runs:
                            run.text = ""
    for k, i in enumerate(ctx["indicators"], start=1):
        for col, key in ((0, "l1_span"), (1, "l2_span")):
            if i[key] > 1:
                grid[k * 8 + col].merge(grid[(k + i[key] - 1) * 8 + col])


def _docx_budget_table(document, ctx: dict[str, Any]) -> None:
    rows = [[b["label"], b["initial"], b["budget"], b["spent"], b["weight"], b["rate"], b["score"]]
            for b in ctx["budget_rows"]]
    _docx_rows(document, ("项目资金（万元）", "年初预算数", "全年预算数", "全年执行数", "分值", "执行率", "得分"), rows)


def write_report_html(ctx: dict[str, Any], blocks: list[Block], cover: list[tuple[str, str]], charts: dict[str, bytes],
                      path: Path, footer: str, example: bool, font: str | None = None) -> Path:
    from .charts import web_font

    images = {k: "data:image/png;base64," + base64.b64encode(v).decode("ascii") for k, v in charts.items() if v}
    template = _env().get_template("report.html.j2")
    args = dict(title=ctx["report_title"], blocks=blocks, cover=cover, t=ctx, charts=images, footer=footer,
                example=example)
    if font is None:  # render once to learn the characters, then embed a font with exactly those glyphs
        font = web_font(template.render(**args, font=""))
    return write_atomic(path, template.render(**args, font=font))


def write_report_pdf(ctx: dict[str, Any], blocks: list[Block], cover: list[tuple[str, str]], charts: dict[str, bytes],
                     path: Path, footer: str, example: bool, font_file: Path | None = None) -> Path:
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    from .charts import pdf_font
    from .charts import missing_glyphs as font_covers_path

    class Report(FPDF):
        def footer(self) -> None:  # noqa: D401 - fpdf2 hook
            self.set_y(-12)
            self.set_font("serif", size=7)
            self.cell(0, 5, f"{footer}    第 {self.page_no()} 页", align="C")

    pdf = Report(orientation="portrait", unit="mm", format="A4")
    pdf.set_creation_date(_doc_time(ctx["year"]))
    pdf.set_title(ctx["report_title"])
    pdf.set_author("evaluator")
    pdf.set_creator("evaluator")
    pdf.set_producer("evaluator")
    text = "".join([footer, *(b.text for b in blocks), *(i for b in blocks for i in b.items),
                    *(v for row in cover for v in row), *(str(v) for i in ctx["indicators"] for v in i.values()),
                    *(str(v) for r in ctx["budget_rows"] for v in r.values())])
    usable = font_file is not None and not font_covers_path(font_file, text)
    pdf.add_font("serif", fname=str(font_file if usable else pdf_font(text)))
    # the embedded subset carries no build time, and keeps the glyphs' stored bounds (the cached font was
    # saved with them): fontTools then copies each glyph as it is instead of re-encoding its outline
    pdf.fonts["serif"].ttfont.recalcTimestamp = False
    pdf.fonts["serif"].ttfont.recalcBBoxes = False
    pdf.set_auto_page_break(auto=True, margin=16)
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin
    plain = FontFace(emphasis="")
    if example:
        pdf.set_font("serif", size=9)
        pdf.set_text_color(192, 0, 0)
        pdf.multi_cell(width, 5, "示例数据：本报告的实际完成值仅用于演示，不代表单位的真实完成情况。", border=1,
                       new_x="LMARGIN", new_y="NEXT", wrapmode="CHAR")
        pdf.set_text_color(0, 0, 0)
    for b in blocks:
        if b.kind == "h1":
            pdf.set_font("serif", size=16)
            pdf.ln(2)
            pdf.multi_cell(width, 9, b.text, align="C", new_x="LMARGIN", new_y="NEXT", wrapmode="CHAR")
            pdf.ln(2)
        elif b.kind == "h2":
            pdf.set_font("serif", size=12.5)
            pdf.ln(2)
            pdf.multi_cell(width, 7, b.text, new_x="LMARGIN", new_y="NEXT", wrapmode="CHAR")
        elif b.kind == "p":
            pdf.set_font("serif", size=10.5)
            pdf.multi_cell(width, 6, b.text, new_x="LMARGIN", new_y="NEXT", wrapmode="CHAR")
            pdf.ln(1)
        elif b.kind == "ul":
            pdf.set_font("serif", size=10.5)
            for item in b.items:
                pdf.multi_cell(width, 6, f"• {item}", new_x="LMARGIN", new_y="NEXT", wrapmode="CHAR")
            pdf.ln(1)
        elif b.kind == "cover":
            pdf.set_font("serif", size=11)
            for label, value in cover:
                pdf.multi_cell(width, 7, f"{label}：{value}", new_x="LMARGIN", new_y="NEXT", wrapmode="CHAR")
        elif b.kind == "indicators":
            pdf.set_font("serif", size=7.5)
            widths = (12, 16, 34, 20, 24, 10, 12, 52)
            with pdf.table(col_widths=widths, headings_style=plain, line_height=4.2, text_align="CENTER") as table:
                table.row(["一级指标", "二级指标", "三级指标", "年度指标值", "实际完成值", "分值", "得分", "偏差原因分析及改进措施"])
                for i in ctx["indicators"]:
                    row = table.row()
                    if i["l1_span"]:
                        row.cell(i["level1"], rowspan=i["l1_span"])
                    if i["l2_span"]:
                        row.cell(i["level2"], rowspan=i["l2_span"])
                    row.cell(i["level3"], align="LEFT")
                    for key in ("target", "actual", "weight", "score"):
                        row.cell(i[key])
                    row.cell(i["note"], align="LEFT")
                row = table.row()
                row.cell("总分", colspan=5)
                row.cell("100")
                row.cell(ctx["total_text"])
                row.cell(f"评价等级：{ctx['grade_text']}")
            pdf.ln(2)
        elif b.kind == "budget":
            pdf.set_font("serif", size=8)
            with pdf.table(headings_style=plain, line_height=5, text_align="CENTER") as table:
                table.row(["项目资金（万元）", "年初预算数", "全年预算数", "全年执行数", "分值", "执行率", "得分"])
                for r in ctx["budget_rows"]:
                    table.row([r["label"], r["initial"], r["budget"], r["spent"], r["weight"], r["rate"], r["score"]])
            pdf.ln(2)
        elif b.kind == "chart" and charts.get(b.name):
            pdf.image(io.BytesIO(charts[b.name]), w=min(width, 160), x=pdf.l_margin + (width - min(width, 160)) / 2)
            pdf.ln(2)
    return write_atomic(path, bytes(pdf.output()))


# --------------------------------------------------------------------------- all documents
def write_reports(targets: TargetSet, actuals: ActualSet | None, ev: Evaluation, rules: RuleSet, out_dir: str | Path,
                  formats: Iterable[str] = FORMATS, jobs: int | None = None) -> list[Path]:
    """Write the 自评表 (xlsx/docx) and 自评报告 (html/docx/pdf) of every scored table into ``out_dir``.

    Tables are independent, so with several tables and cores they are written in forked worker processes
    (``jobs``; $EVALUATOR_JOBS; default one per core). The files are the same either way.
    """
    formats = tuple(formats)
    out = Path(out_dir)
    footer = (f"evaluator · 规则集 {rules.label} · 输入摘要 {ev.inputs_hash or '—'}"
              + (" · 示例数据" if ev.example else ""))
    # two tasks per table (the 自评表 files, the 自评报告 files) keep two or more cores evenly busy
    parts = [part for part, kinds in (("table", {"xlsx", "docx"}), ("report", {"html", "docx", "pdf"}))
             if kinds & set(formats)]
    # the longer 自评报告 tasks first, so no core is left with a long task at the end
    # one embedded web font and one PDF font for all the reports of this run, cut once here, not in each worker
    fonts = _run_fonts(targets, actuals, ev, rules, footer, formats)
    args = [(targets, actuals, ev, rules, te.table, part, out, formats, footer, fonts)
            for part in sorted(parts, key=lambda p: p != "report") for te in ev.tables]
    jobs = jobs or int(os.environ.get("EVALUATOR_JOBS", "0") or 0) or (os.cpu_count() or 1)
    jobs = min(jobs, len(args))
    if jobs > 1 and "fork" in multiprocessing.get_all_start_methods():
        _prepare_workers(formats)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)  # 3.12+: fork with threads; workers only write files
                with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork")) as pool:
                    results = list(pool.map(_write_table_set, args))
                return sorted((p for paths in results for p in paths), key=_file_order(ev))
        except BrokenProcessPool:  # pragma: no cover - a worker killed from outside: redo in this process
            pass
    return sorted((p for a in args for p in _write_table_set(a)), key=_file_order(ev))


def _file_order(ev: Evaluation):
    """Files listed table by table, 自评表 before 自评报告, in FORMATS order."""
    tables = {t.table: k for k, t in enumerate(ev.tables)}
    kinds = [f"自评表.{f}" for f in ("xlsx", "docx")] + [f"自评报告.{f}" for f in ("html", "docx", "pdf")]

    def key(p: Path) -> tuple[int, int]:
        table, _, kind = p.name.rpartition("-")
        return tables.get(table, len(tables)), kinds.index(kind) if kind in kinds else len(kinds)

    return key


def _prepare_workers(formats: tuple[str, ...]) -> None:
    """Import the writers' libraries and build the PDF font cache once, so forked workers inherit them."""
    import docx  # noqa: F401
    import openpyxl  # noqa: F401

    from . import charts

    charts.font_family("sans")
    with charts._style():
        pass
    if "pdf" in formats:
        import fpdf  # noqa: F401

        charts.pdf_font()


def _run_fonts(targets: TargetSet, actuals: ActualSet | None, ev: Evaluation, rules: RuleSet, footer: str,
               formats: tuple[str, ...]) -> dict[str, Any]:
    """The characters of every report of the run (the HTML text holds them all) → a web font and a PDF font."""
    from .charts import run_font, web_font

    if not {"html", "pdf"} & set(formats):
        return {}
    template = _env().get_template("report.html.j2")
    text = []
    for te in ev.tables:
        ctx = build_context(ev, te, next(t for t in targets.tables if t.id == te.table), actuals, rules)
        text.append(template.render(title=ctx["report_title"], blocks=render_blocks(ctx, ev, rules),
                                    cover=_cover(ctx, ev, actuals), t=ctx, charts={}, footer=footer,
                                    example=ev.example, font=""))
    chars = "".join(sorted(set("".join(text) + "第页示例数据：本报告的实际完成值仅用于演示，不代表单位的真实完成情况。•")))
    return {"web": web_font(chars) if "html" in formats else None, "pdf": run_font(chars) if "pdf" in formats else None}


def _write_table_set(args: tuple) -> list[Path]:
    targets, actuals, ev, rules, table_id, part, out, formats, footer, fonts = args
    te = next(t for t in ev.tables if t.table == table_id)
    target = next(t for t in targets.tables if t.id == table_id)
    ctx = build_context(ev, te, target, actuals, rules)
    ctx["_completion"] = [(i.level3, v) for i in te.indicators if (v := _completion(i)) is not None]
    stem = te.table
    written: list[Path] = []
    if part == "table":
        if "xlsx" in formats:
            written.append(write_table_xlsx(ctx, out / f"{stem}-自评表.xlsx", footer))
        if "docx" in formats:
            written.append(write_table_docx(ctx, out / f"{stem}-自评表.docx", footer))
    else:
        blocks = render_blocks(ctx, ev, rules)
        cover = _cover(ctx, ev, actuals)
        png = _charts(ctx, "png")
        if "html" in formats:
            written.append(write_report_html(ctx, blocks, cover, png, out / f"{stem}-自评报告.html", footer, ev.example,
                                             fonts.get("web")))
        if "docx" in formats:
            written.append(write_report_docx(ctx, blocks, cover, png, out / f"{stem}-自评报告.docx", footer))
        if "pdf" in formats:
            written.append(write_report_pdf(ctx, blocks, cover, png, out / f"{stem}-自评报告.pdf", footer, ev.example,
                                            fonts.get("pdf")))
    return written
