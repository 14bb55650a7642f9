"""Reports: open the generated files and check what matters — layout, every score, totals, grade, the cover and
signature block, places to write, 公文 fonts, Chinese line breaking, nothing of the tool in a signed document —
and that generating twice gives identical bytes."""
from __future__ import annotations

import hashlib
import re
import subprocess
import zipfile
from pathlib import Path

import pytest
from docx import Document
from hypothesis import given, strategies as st
from openpyxl import load_workbook
from pypdf import PdfReader

from evaluator import evaluate, inputs_hash
from evaluator.fonts import font_covers
from evaluator.linebreak import JOINER, NO_END, NO_START, break_lines, pieces
from evaluator.report import build_context, official_basis, render_blocks, render_documents, write_reports

from .conftest import SEED_ACTUALS, SEED_TARGETS, one_table

STEMS = {"dept-2023": "石峰区政协2023年部门整体支出绩效", "business-2023": "石峰区政协2023年业务性专项经费项目支出绩效",
         "sectors-2023": "石峰区政协2023年政协委员界别活动经费项目支出绩效"}
KINDS = ("自评表.xlsx", "自评表.docx", "自评报告.pdf", "自评报告.docx", "自评报告.html", "自评审核清单.xlsx")
SECTIONS = ["一、基本情况", "二、绩效目标及完成情况", "三、自评工作开展情况", "四、自评结论", "五、偏差分析",
            "六、存在问题及改进措施", "七、结果应用", "八、其他需要说明的情况"]
TOOL_WORDS = ("dept-2023", "business-2023", "sectors-2023", "mof-2020", "2020.1", "【警告】", "【错误】", "【提示】",
              "evaluator", "输入摘要", "规则集", "待填写")
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


@pytest.fixture(scope="module")
def seed_eval(seed_targets, seed_actuals, mof):
    return evaluate(seed_targets, seed_actuals, mof, inputs_hash=inputs_hash(SEED_TARGETS, SEED_ACTUALS))


@pytest.fixture(scope="module")
def reports(tmp_path_factory, seed_targets, seed_actuals, seed_eval, mof) -> Path:
    out = tmp_path_factory.mktemp("reports")
    write_reports(seed_targets, seed_actuals, seed_eval, mof, out)
    return out


def doc(reports: Path, table: str, kind: str) -> Path:
    return reports / f"{STEMS[table]}{kind}"


def _pdf_text(path: Path) -> str:
    return re.sub(r"\s+", "", "".join(page.extract_text() for page in PdfReader(path).pages))


def test_every_table_gets_the_full_set_with_names_a_clerk_recognises(reports):
    names = sorted(p.name for p in reports.iterdir() if not p.name.startswith("."))
    assert names == sorted(f"{stem}{kind}" for stem in STEMS.values() for kind in KINDS)


def test_reports_are_byte_identical_when_generated_twice(tmp_path, seed_targets, seed_actuals, seed_eval, mof, reports):
    write_reports(seed_targets, seed_actuals, seed_eval, mof, tmp_path)
    digest = lambda p: hashlib.sha256(p.read_bytes()).hexdigest()  # noqa: E731
    assert {p.name: digest(p) for p in tmp_path.iterdir()} == {p.name: digest(p) for p in reports.iterdir()}


def test_worker_processes_one_process_and_in_memory_give_the_same_files(tmp_path, seed_targets, seed_actuals,
                                                                        seed_eval, mof, reports):
    files = write_reports(seed_targets, seed_actuals, seed_eval, mof, tmp_path, jobs=1)
    assert [p.name for p in files][:6] == [f"{STEMS['dept-2023']}{k}" for k in KINDS]
    for p in files:
        assert p.read_bytes() == (reports / p.name).read_bytes(), p.name
    in_memory = render_documents(seed_targets, seed_actuals, seed_eval, mof, tables=["business-2023"])
    assert sorted(in_memory) == sorted(f"{STEMS['business-2023']}{k}" for k in KINDS)
    assert all(data == (reports / name).read_bytes() for name, data in in_memory.items())


def test_each_table_context_is_built_once_per_run_even_with_workers(tmp_path, seed_targets, seed_actuals,
                                                                     seed_eval, mof, monkeypatch, reports):
    """The worker processes render from the run the parent set up before forking (issue 11 §1): each task used to
    carry pickled copies of the models, which missed the inherited contexts, so every document of a table built
    the table's context again (and the charts built one more). The files stay the same."""
    from evaluator import report

    log = tmp_path / "built.log"
    build = report.build_context

    def counted(*args, **kwargs):
        with log.open("a", encoding="utf-8") as f:  # the forked workers append here too
            f.write(args[1].table + "\n")
        return build(*args, **kwargs)

    monkeypatch.setattr(report, "build_context", counted)
    files = write_reports(seed_targets, seed_actuals, seed_eval, mof, tmp_path / "out", jobs=2)
    assert sorted(log.read_text(encoding="utf-8").split()) == sorted(te.table for te in seed_eval.tables)
    for p in files:
        assert p.read_bytes() == (reports / p.name).read_bytes(), p.name


def test_report_command(tmp_path):
    import sys

    r = subprocess.run([sys.executable, "-m", "evaluator", "report", str(SEED_TARGETS), str(SEED_ACTUALS), "-o",
                        str(tmp_path), "--format", "xlsx,html"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "已生成 9 个文件" in r.stdout and "总分 97.66，等级 优" in r.stdout and "审核清单" in r.stdout
    r = subprocess.run([sys.executable, "-m", "evaluator", "report", str(SEED_TARGETS), str(SEED_ACTUALS), "-o",
                        str(tmp_path), "--format", "xlsx,odt"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 1 and "不支持的输出格式：odt" in r.stderr


def test_an_edited_document_is_never_overwritten(tmp_path, seed_targets, seed_actuals, seed_eval, mof):
    first = write_reports(seed_targets, seed_actuals, seed_eval, mof, tmp_path, ["html"])
    again = write_reports(seed_targets, seed_actuals, seed_eval, mof, tmp_path, ["html"])
    assert [p.name for p in again] == [p.name for p in first]  # unchanged since written: replaced in place
    edited = first[0]
    edited.write_text(edited.read_text(encoding="utf-8") + "<!-- 单位修改 -->", encoding="utf-8")
    third = write_reports(seed_targets, seed_actuals, seed_eval, mof, tmp_path, ["html"])
    assert third[0].name == edited.name.replace(".html", ".v2.html")
    assert "单位修改" in edited.read_text(encoding="utf-8")
    forced = write_reports(seed_targets, seed_actuals, seed_eval, mof, tmp_path, ["html"], force=True)
    assert forced[0] == edited and "单位修改" not in edited.read_text(encoding="utf-8")


def _xlsx_rows(path: Path) -> list[list]:
    return [list(r) for r in load_workbook(path).active.iter_rows(values_only=True)]


@pytest.mark.parametrize("table", STEMS)
def test_xlsx_table_layout_scores_and_printing(reports, seed_eval, table):
    te = next(t for t in seed_eval.tables if t.table == table)
    ws = load_workbook(doc(reports, table, "自评表.xlsx")).active
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    assert rows[0][0] == ("部门整体支出绩效自评表" if table == "dept-2023" else "项目支出绩效自评表")
    assert rows[1][0] == "（2023年度）"
    if table != "dept-2023":
        assert rows[2][:3] == ["项目名称", None, STEMS[table].removeprefix("石峰区政协2023年").removesuffix("项目支出绩效")]
    header = next(i for i, r in enumerate(rows) if r[1] == "一级指标")
    assert rows[header][1:9] == ["一级指标", "二级指标", "三级指标", "年度指标值", "实际完成值", "分值", "得分",
                                 "偏差原因分析及改进措施"]
    body = rows[header + 1: header + 1 + len(te.indicators)]
    assert [r[3] for r in body] == [i.level3 for i in te.indicators]
    assert [r[7] for r in body] == [i.score if i.status == "ok" else "不适用" for i in te.indicators]
    total_row = rows[header + 1 + len(te.indicators)]
    assert (total_row[0], total_row[6], total_row[7], total_row[8]) == ("总分", 100, te.total, f"评价等级：{te.grade}")
    merged = {str(r) for r in ws.merged_cells.ranges}
    n_out = sum(1 for i in te.indicators if i.level1 == "产出指标")
    assert f"B{header + 2}:B{header + 1 + n_out}" in merged
    budget_row = next(r for r in rows if r[1] == "年度资金总额")
    assert budget_row[4:9] == [pytest.approx(te.execution.budget), pytest.approx(te.execution.spent), 10,
                               pytest.approx(te.execution.rate), pytest.approx(te.execution.score)]
    assert ws.print_title_rows == f"${header + 1}:${header + 1}"  # the indicator header repeats on every page
    assert ws.page_setup.fitToWidth == 1 and ws.page_setup.orientation == "landscape"
    text = " ".join(str(c) for r in rows for c in r if c)
    assert "单位负责人（签字）" in text and "填表人：赵萍" in text and "单位（盖章）" in text


@pytest.mark.parametrize("table", STEMS)
def test_docx_table_widths_repeated_header_rows_kept_whole_and_merged(reports, seed_eval, table):
    te = next(t for t in seed_eval.tables if t.table == table)
    d = Document(doc(reports, table, "自评表.docx"))
    indicators = d.tables[1]._tbl
    rows = indicators.findall(f"{W}tr")
    assert rows[0].find(f"{W}trPr/{W}tblHeader") is not None
    assert all(r.find(f"{W}trPr/{W}cantSplit") is not None for r in rows)
    widths = [int(g.get(f"{W}w")) for g in indicators.findall(f"{W}tblGrid/{W}gridCol")]
    assert widths[8] > 3 * widths[6] and widths[8] > 3 * widths[7]  # 偏差原因 wide, 分值/得分 narrow
    assert all(tc.find(f"{W}tcPr/{W}tcW") is not None for tc in indicators.iter(f"{W}tc"))
    xml = indicators.xml if hasattr(indicators, "xml") else ""
    assert xml.count('w:vMerge w:val="restart"') >= 3 and 'w:vAlign w:val="center"' in xml
    assert 'w:gridSpan w:val="6"' in xml  # the 总分 row merged across
    text = "".join(t.text or "" for t in indicators.iter(f"{W}t")).replace(JOINER, "")
    assert all(i.level3 in text for i in te.indicators)
    assert f"{te.total:.2f}" in text and f"评价等级：{te.grade}" in text
    fonts = d.styles["Normal"].element.rPr.rFonts
    assert fonts.get(f"{W}eastAsia") == "仿宋"


@pytest.mark.parametrize("table", STEMS)
def test_report_docx_outline_cover_signature_and_fonts(reports, seed_eval, table):
    te = next(t for t in seed_eval.tables if t.table == table)
    d = Document(doc(reports, table, "自评报告.docx"))
    headings = [p.text for p in d.paragraphs if p.style.name == "Heading 1"]
    assert headings == SECTIONS
    body = "\n".join(p.text for p in d.paragraphs).replace(JOINER, "").replace("\xa0", " ")
    assert f"自评得分 {te.total:.2f} 分，评价等级为“{te.grade}”" in body
    assert "依据《项目支出绩效评价管理办法》（财预〔2020〕10号）的评分规则" in body
    cells = "\n".join(c.text for t in d.tables for row in t.rows for c in row.cells).replace(JOINER, "")
    for label in ("单位名称", "预算编码", "评价方式", "评价机构", "报告日期", "单位负责人（签字）", "填表人", "联系电话",
                  "填报日期", "单位（盖章）"):
        assert label in cells or label in body, label
    assert "石峰区财政局（制）" in body and "2024年3月15日" in cells
    assert all(f"{i.score:.2f}" in cells for i in te.indicators if i.score is not None)
    assert len(d.inline_shapes) == 2  # score by 一级指标, completion by indicator
    for p in d.paragraphs:  # black text, fonts named with their East Asian attribute: no theme font or colour
        for r in (r for r in p.runs if r.text):
            rpr = r._r.rPr
            assert rpr is not None and rpr.rFonts.get(f"{W}eastAsia") in ("仿宋", "黑体", "楷体", "方正小标宋简体", "宋体")
            assert rpr.find(f"{W}color").get(f"{W}val") in ("000000", "C00000")
    styles = d.styles.element.xml
    assert 'w:themeColor' not in d.styles["Heading 1"].element.xml and "asciiTheme" not in d.styles["Normal"].element.xml
    del styles


@pytest.mark.parametrize("table", STEMS)
def test_signed_documents_carry_nothing_of_the_tool(reports, table):
    texts = {
        "pdf": _pdf_text(doc(reports, table, "自评报告.pdf")),
        "report.docx": "\n".join(p.text for p in Document(doc(reports, table, "自评报告.docx")).paragraphs),
        "table.docx": "\n".join(c.text for t in Document(doc(reports, table, "自评表.docx")).tables
                                for row in t.rows for c in row.cells),
        "html": re.sub(r"<[^>]+>|base64,[^\")]+", "", doc(reports, table, "自评报告.html").read_text(encoding="utf-8")),
        "xlsx": " ".join(str(c) for r in _xlsx_rows(doc(reports, table, "自评表.xlsx")) for c in r if c),
    }
    for kind, text in texts.items():
        found = [w for w in TOOL_WORDS if w in text]
        assert not found, (kind, found)
    for path in (doc(reports, table, "自评表.xlsx"), doc(reports, table, "自评表.docx"),
                 doc(reports, table, "自评报告.docx")):
        with zipfile.ZipFile(path) as z:
            assert b"evaluator" not in z.read("docProps/core.xml")
    assert "evaluator" not in str(PdfReader(doc(reports, table, "自评报告.pdf")).metadata)


def test_the_audit_list_holds_the_findings_and_every_calculation(reports, seed_eval):
    wb = load_workbook(doc(reports, "business-2023", "自评审核清单.xlsx"))
    assert wb.sheetnames == ["审核意见", "计分过程"]
    findings = [list(r) for r in wb["审核意见"].iter_rows(min_row=4, values_only=True)]
    assert any(r[0] == "警告" and "提案" in r[1] and r[3] == "target-contradicts-notes" for r in findings)
    assert "mof-2020@2020.1" in wb["审核意见"]["A2"].value  # the tool's words belong here
    trace = [list(r) for r in wb["计分过程"].iter_rows(min_row=4, values_only=True)]
    te = next(t for t in seed_eval.tables if t.table == "business-2023")
    assert [r[9] for r in trace[:-1]] == [i.explanation for i in te.indicators]
    assert trace[-1][0] == "预算执行率" and trace[-1][9] == te.execution.explanation


@pytest.mark.parametrize("table", STEMS)
def test_pdf_report_outline_cover_signature_and_fonts(reports, seed_eval, table):
    te = next(t for t in seed_eval.tables if t.table == table)
    path = doc(reports, table, "自评报告.pdf")
    text = _pdf_text(path)
    for s in SECTIONS:
        assert s in text
    assert f"自评得分{te.total:.2f}分，评价等级为“{te.grade}”" in text
    for label in ("单位名称：石峰区政协", "预算编码：", "评价方式：部门（单位）绩效自评", "评价机构：石峰区政协",
                  "报告日期：2024年3月15日", "石峰区财政局（制）", "单位负责人（签字）：", "填表人：赵萍",
                  "联系电话：0731-22629970", "填报日期：2024年3月15日", "单位（盖章）"):
        assert label in text, label
    assert "示例数据" in text
    reader = PdfReader(path)
    fonts = {f["/BaseFont"] for page in reader.pages for f in (page["/Resources"].get("/Font") or {}).values()
             for f in [f.get_object()]}
    assert any("Serif" in f for f in fonts) and any("Sans" in f for f in fonts)  # 宋体 body, 黑体 headings, embedded
    assert "\ufffd" not in text


def test_a_place_to_write_where_the_data_has_nothing(tmp_path, seed_targets, seed_actuals, seed_eval, mof):
    bare = seed_actuals.model_copy(update={"organization": None, "evaluation_work": None, "results_use": None})
    write_reports(seed_targets, bare, evaluate(seed_targets, bare, mof), mof, tmp_path, ["pdf", "docx"])
    text = _pdf_text(tmp_path / f"{STEMS['dept-2023']}自评报告.pdf")
    for prompt in ("请填写：机构设置及人员情况", "请填写：自评工作的组织", "请填写：自评结果的应用"):
        assert prompt in text
    body = "\n".join(p.text for p in Document(tmp_path / f"{STEMS['dept-2023']}自评报告.docx").paragraphs)
    assert "【请填写：机构设置及人员情况（内设机构、编制数、实有人数）】" in body


def test_filled_in_report_fields_come_from_the_data(reports):
    text = _pdf_text(doc(reports, "dept-2023", "自评报告.pdf"))
    assert "请填写" not in text  # the demo data carries every field the report needs


# --------------------------------------------------------------------------- Chinese line breaking
CJK = st.lists(st.sampled_from(list("政协委员会议提案办理完成情况专题调研经费预算") + list("，。、；：！？（）“”「」")
                               + [" 29.80分", "528.24万元", "≥5次", "97.31%", "2024年3月15日", " 8.34 "]),
               min_size=1, max_size=40).map("".join)


@given(CJK, st.integers(min_value=6, max_value=30))
def test_no_line_starts_with_closing_or_ends_with_opening_punctuation(text, width):
    measure = lambda s: float(sum(2 if ord(c) > 0x2E7F else 1 for c in s))  # noqa: E731
    lines = break_lines(text, width, measure)
    assert "".join(lines).replace(" ", "") == text.replace(" ", "")
    bad = [k for k, s in enumerate(lines) if (s.lstrip()[:1] in NO_START and k > 0)
           or (s.rstrip()[-1:] in NO_END and k < len(lines) - 1)]
    assert bad == [] or any(measure(p) > width for p in pieces(text))
    for number in re.findall(r"\d+(?:\.\d+)?(?:万元|分|次|%)?", text):
        if measure(number) <= width:
            assert any(number in line for line in lines), (number, lines)


def _drawn_lines(monkeypatch, seed_targets, seed_actuals, ev, mof) -> list[str]:
    from evaluator import pdf

    drawn: list[str] = []
    original = pdf.Layout._draw_line

    def record(self, style, x, baseline, text, width, align, justify=False):
        drawn.append((style.size, text))
        return original(self, style, x, baseline, text, width, align, justify)

    monkeypatch.setattr(pdf.Layout, "_draw_line", record)
    render_documents(seed_targets, seed_actuals, ev, mof, formats=["pdf"])
    return drawn


def test_pdf_lines_keep_punctuation_and_numbers_in_place(monkeypatch, seed_targets, seed_actuals, seed_eval, mof):
    drawn = [(size, s) for size, s in _drawn_lines(monkeypatch, seed_targets, seed_actuals, seed_eval, mof) if s.strip()]
    lines = [s for _, s in drawn]
    assert len(lines) > 300
    assert [s for s in lines if s.lstrip()[0] in NO_START] == []
    assert [s for s in lines if s.rstrip()[-1] in NO_END] == []
    # no number cut from its decimals or its unit: a paragraph line never ends inside a number and the next begins
    # with its rest (table cells are drawn side by side, so their lines are checked by the property test above)
    body = [s for size, s in drawn if size >= 12]
    for a, b in zip(body, body[1:]):
        assert not (re.search(r"\d[.,]?$", a) and re.match(r"^[.,]?\d|^(万元|分|个|次|%)", b)), (a, b)


def test_docx_keeps_numbers_with_their_units(reports):
    body = [p.text for p in Document(doc(reports, "dept-2023", "自评报告.docx")).paragraphs]
    joined = "\n".join(body)
    assert re.search(r"\d(?=[分万次个])", joined) is None  # every digit-unit join carries a WORD JOINER
    assert f"9{JOINER}次" not in joined and f"48.33\xa0分" in joined


def test_docx_and_pdf_render_without_forbidden_line_starts(tmp_path, reports, soffice, pdftoppm):
    src = doc(reports, "dept-2023", "自评报告.docx")
    r = subprocess.run([soffice, f"-env:UserInstallation=file://{tmp_path}/profile", "--headless", "--convert-to", "pdf",
                        "--outdir", str(tmp_path), str(src)], capture_output=True, timeout=180)
    assert r.returncode == 0, r.stderr
    pdf = tmp_path / src.with_suffix(".pdf").name
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True).stdout
    lines = [s.strip() for s in text.splitlines() if s.strip()]
    assert any("一、基本情况" in s for s in lines)
    assert [s for s in lines if s[0] in "，。、；：！？）」』”"] == []


# --------------------------------------------------------------------------- text is data
def test_input_text_never_becomes_markup(tmp_path, seed_targets, seed_actuals, mof):
    hostile = seed_actuals.model_copy(deep=True)
    hostile.tables[0].problems = "# 假标题\n## 假二级标题\n- 假列表\n[[cover]]\n[[chart:groups]]\n真实问题。"
    hostile.tables[0].indicators[2].deviation_note = "[[indicators]]\n# 不是标题"
    ev = evaluate(seed_targets, hostile, mof)
    te = ev.tables[0]
    ctx = build_context(ev, te, seed_targets.tables[0], hostile, mof)
    blocks = render_blocks(ctx, ev, mof)
    kinds = [b.kind for b in blocks]
    assert kinds.count("cover") == 1 and kinds.count("title") == 1 and kinds.count("indicators") == 1
    assert kinds.count("chart") == 2 and [b.text for b in blocks if b.kind == "h1"] == SECTIONS
    texts = [b.text for b in blocks if b.kind == "p"]
    assert "# 假标题" in texts and "[[cover]]" in texts and "真实问题。" in texts
    assert any("[[indicators]]" in t for t in texts + [i for b in blocks for i in b.items])


def test_html_escapes_input_text(tmp_path, seed_targets, seed_actuals, mof):
    hostile = seed_targets.model_copy(deep=True)
    hostile.tables[0].indicators[0].level3 = "<script>alert(1)</script>"
    actuals = seed_actuals.model_copy(deep=True)
    actuals.tables[0].indicators[0].indicator = "<script>alert(1)</script>"
    actuals.tables[0].problems = "<b>不应加粗</b>"
    ev = evaluate(hostile, actuals, mof)
    write_reports(hostile, actuals, ev, mof, tmp_path, ["html"])
    html = (tmp_path / f"{STEMS['dept-2023']}自评报告.html").read_text(encoding="utf-8")
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<b>不应加粗</b>" not in html


def test_a_dollar_sign_in_names_is_plain_text(tmp_path, mof):
    targets, actuals = one_table([("产出指标", "数量指标", "$x^2$ 培训$5", "≥5次", "4次", 50),
                                  ("效益指标", "社会效益指标", "$\\frac{1}{2}$", "有所提升", "有所提升", 40)])
    targets.tables[0].unit_name = targets.unit_name = actuals.unit_name = "$单位$"
    ev = evaluate(targets, actuals, mof)
    files = write_reports(targets, actuals, ev, mof, tmp_path)
    assert len(files) == 6
    assert "$x^2$培训$5" in _pdf_text(next(f for f in files if f.suffix == ".pdf"))


def test_a_reason_up_to_the_cell_limit_renders_across_pages(tmp_path, mof):
    long_note = "因项目调整，" + "部分任务延期至下一年度完成，已制定整改计划并按月调度。" * 60  # ~1,600 characters
    targets, actuals = one_table([("产出指标", "数量指标", "培训", "≥5次", "4次", 50, {"deviation_note": long_note}),
                                  ("效益指标", "社会效益指标", "满意度", "≥90%", "95%", 40)])
    ev = evaluate(targets, actuals, mof)
    files = write_reports(targets, actuals, ev, mof, tmp_path, ["pdf"])
    reader = PdfReader(files[0])
    text = re.sub(r"\s+", "", "".join(p.extract_text() for p in reader.pages))
    assert text.count("已制定整改计划并按月调度") >= 100  # all of it, in the table and in 五、偏差分析
    assert len(reader.pages) >= 5


def test_a_long_table_keeps_charts_small(tmp_path, mof):
    rows = [("产出指标", f"数量指标{k // 50}", f"指标{k}", "≥5次", f"{k % 7}次", 0.09) for k in range(500)]
    rows.append(("效益指标", "社会效益指标", "满意度", "≥90%", "95%", 45))
    targets, actuals = one_table(rows)
    ev = evaluate(targets, actuals, mof)
    out = render_documents(targets, actuals, ev, mof, formats=["docx"])
    d = Document(io_bytes(next(v for k, v in out.items() if k.endswith("自评报告.docx"))))
    assert all(s.height.cm < 20 for s in d.inline_shapes)


def io_bytes(data: bytes):
    import io

    return io.BytesIO(data)


def test_rule_set_is_named_by_its_official_title(mof, platform):
    assert official_basis(mof) == "《项目支出绩效评价管理办法》（财预〔2020〕10号）"
    assert "platform" not in official_basis(platform) and official_basis(platform).startswith("《")


def test_every_character_in_pdfs_and_charts_has_a_glyph(reports, seed_targets, seed_actuals, seed_eval, mof):
    for te in seed_eval.tables:
        ctx = build_context(seed_eval, te, next(t for t in seed_targets.tables if t.id == te.table), seed_actuals, mof)
        blocks = render_blocks(ctx, seed_eval, mof)
        text = "".join(b.text + "".join(b.items) for b in blocks) + str(ctx["indicators"]) + str(ctx["budget_rows"])
        assert font_covers(text, "serif") == set()
        labels = "".join(i.level3 for i in te.indicators) + "".join(te.groups) + "各一级指标得分与分值完成率预算执行情况万元分值得分"
        assert font_covers(labels, "sans") == set()


def test_documents_carry_pinned_metadata(reports):
    with zipfile.ZipFile(doc(reports, "dept-2023", "自评表.xlsx")) as z:
        core = z.read("docProps/core.xml").decode()
        assert "2024-01-01T00:00:00Z" in core
        assert {i.date_time for i in z.infolist()} == {(2000, 1, 1, 0, 0, 0)}
    assert PdfReader(doc(reports, "dept-2023", "自评报告.pdf")).metadata["/CreationDate"].startswith("D:20240101")


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
    for path in (tmp_path / f"{STEMS['dept-2023']}自评表.xlsx", template):
        wb = load_workbook(path)
        cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
        assert not [c.coordinate for c in cells if c.data_type == "f"], path.name
        assert any(c.value == "=1+1" for c in cells) and any(c.value.startswith("=HYPERLINK") for c in cells)


def test_a_published_case_gets_its_own_documents(tmp_path, mof):
    from evaluator import load_actuals, load_targets

    from .conftest import ROOT

    targets = load_targets(ROOT / "data/targets/yongde-nutrition-2022.yaml")
    actuals = load_actuals(ROOT / "data/actuals/yongde-nutrition-2022.yaml")
    ev = evaluate(targets, actuals, mof)
    files = {p.name: p for p in write_reports(targets, actuals, ev, mof, tmp_path)}
    stem = "永德县明朗中学2022年义务教育营养改善计划专项资金项目支出绩效"
    assert sorted(files) == sorted(f"{stem}{k}" for k in KINDS)
    rows = _xlsx_rows(files[f"{stem}自评表.xlsx"])
    assert rows[2][:3] == ["项目名称", None, "义务教育营养改善计划专项资金"]
    assert rows[3][:3] == ["主管部门", None, "永德县教育体育局"] and rows[3][5:7] == ["实施单位", "永德县明朗中学"]
    text = _pdf_text(files[f"{stem}自评报告.pdf"])
    assert "永德县财政局（制）" in text and "≥735人次" in text and "≧" not in text and "═" not in text
    audit = load_workbook(files[f"{stem}自评审核清单.xlsx"])["审核意见"]
    codes = [r[3] for r in audit.iter_rows(min_row=4, values_only=True)]
    assert "claimed-score-mismatch" in codes  # 资金到位及时率 docked to 7 with no reason: shown to the clerk


def test_the_fill_in_workbook_carries_what_the_documents_need(tmp_path, seed_targets, seed_actuals, mof):
    from evaluator.workbook import read_workbook, write_template

    from .test_workbook import _fill

    path = write_template(seed_targets, mof, tmp_path / "填报.xlsx")
    _fill(path, seed_actuals)
    wb = load_workbook(path)
    info = wb["基本信息"]
    typed = {"单位负责人": "王明", "填表人": "赵萍", "联系电话": "0731-22629970", "预算编码": "901001",
             "报告日期": "2024-03-15", "机构设置及人员情况": "内设办公室等5个机构，核定编制25名。",
             "自评工作开展情况": "成立自评工作小组，逐项核实。", "结果应用": "问题纳入2024年整改。"}
    for row in info.iter_rows(min_row=2):
        if row[0].value in typed:
            row[1].value = typed[row[0].value]
    wb.save(path)
    actuals = read_workbook(path, seed_targets)
    assert actuals.contacts.head == "王明" and actuals.budget_code == "901001" and actuals.results_use
    ev = evaluate(seed_targets, actuals, mof)
    files = {p.name: p for p in write_reports(seed_targets, actuals, ev, mof, tmp_path / "out", ["pdf", "xlsx"])}
    text = _pdf_text(files[f"{STEMS['dept-2023']}自评报告.pdf"])
    assert "请填写" not in text and "报告日期：2024年3月15日" in text and "内设办公室等5个机构" in text
    # findings name the sheet and the cell the clerk sees, never an internal table id
    audit = load_workbook(files[f"{STEMS['business-2023']}自评审核清单.xlsx"])["审核意见"]
    where = [r[1] for r in audit.iter_rows(min_row=4, values_only=True)]
    assert any(re.match(r"工作表“[^”]+” [A-Z]+\d+", w) for w in where), where
    assert not any("business-2023" in w for w in where)
