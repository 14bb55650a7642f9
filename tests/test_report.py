"""Reports: open the generated files and check what matters — layout, every score, totals, grade, 【待填写】
markers, Chinese text, fonts — and that generating twice gives identical bytes."""
from __future__ import annotations

import hashlib
import re
import zipfile
from pathlib import Path

import pytest
from docx import Document
from openpyxl import load_workbook
from pypdf import PdfReader

from evaluator import evaluate, inputs_hash
from evaluator.charts import font_covers
from evaluator.report import PENDING, build_context, render_blocks, write_reports

from .conftest import SEED_ACTUALS, SEED_TARGETS

TABLES = ("dept-2023", "business-2023", "sectors-2023")
SECTIONS = ["一、基本情况", "二、绩效目标及完成情况", "三、预算执行情况", "四、偏差原因分析", "五、存在的问题", "六、改进措施",
            "七、自评结论", "八、其他需要说明的情况"]


@pytest.fixture(scope="module")
def seed_eval(seed_targets, seed_actuals, mof):
    return evaluate(seed_targets, seed_actuals, mof, inputs_hash=inputs_hash(SEED_TARGETS, SEED_ACTUALS))


@pytest.fixture(scope="module")
def reports(tmp_path_factory, seed_targets, seed_actuals, seed_eval, mof) -> Path:
    out = tmp_path_factory.mktemp("reports")
    write_reports(seed_targets, seed_actuals, seed_eval, mof, out)
    return out


def test_every_table_gets_the_full_set(reports):
    names = sorted(p.name for p in reports.iterdir())
    assert names == sorted(f"{t}-{kind}" for t in TABLES for kind in
                           ("自评表.xlsx", "自评表.docx", "自评报告.html", "自评报告.docx", "自评报告.pdf"))


def test_reports_are_byte_identical_when_generated_twice(tmp_path, seed_targets, seed_actuals, seed_eval, mof, reports):
    write_reports(seed_targets, seed_actuals, seed_eval, mof, tmp_path)
    digest = lambda p: hashlib.sha256(p.read_bytes()).hexdigest()  # noqa: E731
    assert {p.name: digest(p) for p in tmp_path.iterdir()} == {p.name: digest(p) for p in reports.iterdir()}


def test_worker_processes_and_one_process_write_the_same_files(tmp_path, seed_targets, seed_actuals, seed_eval, mof,
                                                               reports):
    files = write_reports(seed_targets, seed_actuals, seed_eval, mof, tmp_path, jobs=1)
    assert [p.name for p in files][:5] == ["dept-2023-自评表.xlsx", "dept-2023-自评表.docx", "dept-2023-自评报告.html",
                                          "dept-2023-自评报告.docx", "dept-2023-自评报告.pdf"]
    for p in files:
        assert p.read_bytes() == (reports / p.name).read_bytes(), p.name


def test_report_command(tmp_path):
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "evaluator", "report", str(SEED_TARGETS), str(SEED_ACTUALS), "-o",
                        str(tmp_path), "--format", "xlsx,html"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "已生成 6 个文件" in r.stdout and "总分 97.66，等级 优" in r.stdout
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".html"] * 3 + [".xlsx"] * 3
    r = subprocess.run([sys.executable, "-m", "evaluator", "report", str(SEED_TARGETS), str(SEED_ACTUALS), "-o",
                        str(tmp_path), "--format", "xlsx,odt"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 1 and "不支持的输出格式：odt" in r.stderr


def _xlsx_rows(path: Path) -> list[list]:
    return [list(r) for r in load_workbook(path).active.iter_rows(values_only=True)]


@pytest.mark.parametrize("table", TABLES)
def test_xlsx_table_layout_and_scores(reports, seed_eval, table):
    te = next(t for t in seed_eval.tables if t.table == table)
    wb = load_workbook(reports / f"{table}-自评表.xlsx")
    ws = wb.active
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    title = "部门整体支出绩效自评表（2023年度）" if table == "dept-2023" else "项目支出绩效自评表（2023年度）"
    assert rows[0][0] == title
    header = next(i for i, r in enumerate(rows) if r[1] == "一级指标")
    assert rows[header][1:9] == ["一级指标", "二级指标", "三级指标", "年度指标值", "实际完成值", "分值", "得分",
                                 "偏差原因分析及改进措施"]
    body = rows[header + 1: header + 1 + len(te.indicators)]
    assert [r[3] for r in body] == [i.level3 for i in te.indicators]
    scores = [r[7] for r in body]
    assert scores == [i.score if i.status == "ok" else "不适用" for i in te.indicators]
    assert all(isinstance(s, (int, float)) for s, i in zip(scores, te.indicators) if i.status == "ok")  # not text
    total_row = rows[header + 1 + len(te.indicators)]
    assert (total_row[0], total_row[6], total_row[7], total_row[8]) == ("总分", 100, te.total, f"评价等级：{te.grade}")
    # merged 一级/二级 cells: one region per run of the same 一级指标
    merged = {str(r) for r in ws.merged_cells.ranges}
    first = header + 2
    n_out = sum(1 for i in te.indicators if i.level1 == "产出指标")
    assert f"B{first}:B{first + n_out - 1}" in merged
    budget_row = next(r for r in rows if r[1] == "年度资金总额")
    assert budget_row[3:9] == [pytest.approx(v) if v is not None else None for v in
                               (budget_row[3], te.execution.budget, te.execution.spent, 10, te.execution.rate,
                                te.execution.score)]
    assert str(ws.page_setup.paperSize) == ws.PAPERSIZE_A4 == "9"  # A4
    assert ws.column_dimensions["D"].width > 20
    assert any(isinstance(c, str) and "单位负责人：" + PENDING in c for r in rows for c in r)


@pytest.mark.parametrize("table", TABLES)
def test_docx_table_has_merged_cells_and_songti(reports, seed_eval, table):
    te = next(t for t in seed_eval.tables if t.table == table)
    doc = Document(reports / f"{table}-自评表.docx")
    xml = doc.tables[0]._tbl.xml
    assert xml.count('w:vMerge w:val="restart"') >= 3 and "w:gridSpan" in xml
    text = "\n".join(c.text for row in doc.tables[0].rows for c in row.cells)
    for i in te.indicators:
        assert i.level3 in text
    assert f"{te.total:.2f}" in text and f"评价等级：{te.grade}" in text
    fonts = doc.styles["Normal"].element.rPr.rFonts
    assert fonts.get("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}eastAsia") == "宋体"


@pytest.mark.parametrize("table", TABLES)
def test_report_docx_sections_scores_and_pending(reports, seed_eval, table):
    te = next(t for t in seed_eval.tables if t.table == table)
    doc = Document(reports / f"{table}-自评报告.docx")
    headings = [p.text for p in doc.paragraphs if p.style.name.startswith("Heading 2")]
    assert headings == SECTIONS
    body = "\n".join(p.text for p in doc.paragraphs)
    assert f"自评总分 {te.total:.2f} 分，评价等级为“{te.grade}”" in body
    assert PENDING in body  # 存在的问题 / 改进措施 / 单位负责人 come only from the unit
    table_text = "\n".join(c.text for t in doc.tables for row in t.rows for c in row.cells)
    assert all(f"{i.score:.2f}" in table_text for i in te.indicators if i.score is not None)
    assert len(doc.inline_shapes) == 3  # the three charts


def _pdf_text(path: Path) -> str:
    return re.sub(r"\s+", "", "".join(page.extract_text() for page in PdfReader(path).pages))


@pytest.mark.parametrize("table", TABLES)
def test_pdf_report_text(reports, seed_eval, table):
    te = next(t for t in seed_eval.tables if t.table == table)
    text = _pdf_text(reports / f"{table}-自评报告.pdf")
    for s in SECTIONS:
        assert s in text
    assert f"自评总分{te.total:.2f}分，评价等级为“{te.grade}”" in text
    assert "示例数据" in text and PENDING in text
    assert f"规则集{seed_eval.rule_set}@{seed_eval.rule_version}" in text and seed_eval.inputs_hash in text


def test_deviation_section_quotes_reasons_or_says_they_are_missing(reports):
    text = _pdf_text(reports / "sectors-2023-自评报告.pdf")
    section = text[text.index("四、偏差原因分析"): text.index("五、存在的问题")]
    assert "界别活动" in section and "单位说明：2个界别召集人调整" in section
    assert "收集社情民意，切实为群众排忧解难" in section and "单位未填写偏差原因分析及改进措施。" + PENDING in section
    business = _pdf_text(reports / "business-2023-自评报告.pdf")
    section = business[business.index("四、偏差原因分析"): business.index("五、存在的问题")]
    assert "提案" in section and "专题调研" in section and "为“一极三区”建设贡献政协力量" in section
    assert "政协全会" not in section  # met indicators are not deviations


def test_html_report(reports, seed_eval):
    html = (reports / "dept-2023-自评报告.html").read_text(encoding="utf-8")
    for s in SECTIONS:
        assert f"<h2>{s}</h2>" in html
    assert html.count("<img src=\"data:image/png;base64,") == 3
    assert '<span class="pending">【待填写】</span>' in html
    assert "97.66" in html and "<td rowspan=" in html


def test_html_escapes_input_text(tmp_path, seed_targets, seed_actuals, mof):
    hostile = seed_targets.model_copy(deep=True)
    hostile.tables[0].indicators[0].level3 = "<script>alert(1)</script>"
    actuals = seed_actuals.model_copy(deep=True)
    actuals.tables[0].indicators[0].indicator = "<script>alert(1)</script>"
    actuals.tables[0].problems = "<b>不应加粗</b>"
    ev = evaluate(hostile, actuals, mof)
    write_reports(hostile, actuals, ev, mof, tmp_path, ["html"])
    html = (tmp_path / "dept-2023-自评报告.html").read_text(encoding="utf-8")
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<b>不应加粗</b>" not in html


def test_every_character_in_pdfs_and_charts_has_a_glyph(reports, seed_targets, seed_actuals, seed_eval, mof):
    for te in seed_eval.tables:
        ctx = build_context(seed_eval, te, next(t for t in seed_targets.tables if t.id == te.table), seed_actuals, mof)
        blocks = render_blocks(ctx, seed_eval, mof)
        text = "".join(b.text + "".join(b.items) for b in blocks) + str(ctx["indicators"]) + str(ctx["budget_rows"])
        assert font_covers(text, "serif") == set()
        labels = "".join(i.level3 for i in te.indicators) + "".join(te.groups) + "各一级指标得分与分值完成率预算执行情况万元分值得分"
        assert font_covers(labels, "sans") == set()
    # and what the PDFs actually contain is drawn from the embedded font (pypdf maps every glyph back)
    for table in TABLES:
        assert "\ufffd" not in _pdf_text(reports / f"{table}-自评报告.pdf")


def test_documents_carry_pinned_metadata(reports):
    with zipfile.ZipFile(reports / "dept-2023-自评表.xlsx") as z:
        core = z.read("docProps/core.xml").decode()
        assert "2024-01-01T00:00:00Z" in core
        assert {i.date_time for i in z.infolist()} == {(2000, 1, 1, 0, 0, 0)}
    assert PdfReader(reports / "dept-2023-自评报告.pdf").metadata["/CreationDate"].startswith("D:20240101")


def test_text_from_inputs_is_never_a_formula(tmp_path, seed_targets, seed_actuals, mof):
    from evaluator.workbook import write_template

    hostile = seed_targets.model_copy(deep=True)
    hostile.tables[0].indicators[0].level3 = "=HYPERLINK(\"http://x\",\"点我\")"
    actuals = seed_actuals.model_copy(deep=True)
    actuals.tables[0].indicators[0].indicator = hostile.tables[0].indicators[0].level3
    actuals.tables[0].indicators[2].deviation_note = "=1+1"
    ev = evaluate(hostile, actuals, mof)
    write_reports(hostile, actuals, ev, mof, tmp_path, ["xlsx"])
    template = write_template(hostile, mof, tmp_path / "t.xlsx", actuals=actuals)
    for path in (tmp_path / "dept-2023-自评表.xlsx", template):
        wb = load_workbook(path)
        cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
        assert not [c.coordinate for c in cells if c.data_type == "f"], path.name
        assert any(c.value == "=1+1" for c in cells) and any(c.value.startswith("=HYPERLINK") for c in cells)
