"""Every input gets in, whatever its format and extension, or is refused with a message that says what to do:
file types by content, .xls/.et/.doc/.wps, forms given to every command, arguments in the wrong order, control
characters, broken CSV quotes, hidden sheets."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from openpyxl import Workbook

from evaluator import InputFileError, load_targets
from evaluator.errors import collecting
from evaluator.forms import import_form
from evaluator.intake import read_inputs, sniff

from .conftest import ROOT, SEED_ACTUALS, SEED_TARGETS

FIXTURES = ROOT / "tests" / "fixtures"


def run(*args: str, cwd=ROOT, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "evaluator", *args], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, "COLUMNS": "200", "PYTHONIOENCODING": "utf-8", **(env or {})}, timeout=300)


@pytest.mark.parametrize("name,kind", [
    ("seed-forms.docx", "docx"), ("seed-forms-layout.doc", "doc"), ("seed-forms.xlsx", "xlsx"),
    ("seed-forms.xls", "xls"), ("self-evaluation.xls", "xls"), ("bad/pdf-renamed.xlsx", "pdf"),
    ("bad/gbk.csv", "csv"), ("bad/broken.yaml", "yaml"),
])
def test_type_is_read_from_the_content(name, kind):
    assert sniff(FIXTURES / name) == kind


@pytest.mark.parametrize("src,renamed", [("seed-forms.xls", "目标表.xlsx"), ("seed-forms.xls", "目标表.et"),
                                         ("seed-forms.xlsx", "目标表.xls"), ("seed-forms-layout.docx", "目标表.doc"),
                                         ("seed-forms-layout.docx", "目标表.wps")])
def test_a_wrong_extension_does_not_matter(tmp_path, src, renamed):
    path = tmp_path / renamed
    shutil.copyfile(FIXTURES / src, path)
    t = import_form(path).targets
    assert sum(len(x.indicators) for x in t.tables) == 37


def test_a_csv_saved_as_xls_is_read_as_csv(tmp_path, mof):
    path = tmp_path / "自评表.xls"  # web systems export CSV text under an Excel name
    path.write_text("一级指标,二级指标,三级指标,年度指标值,实际完成值,分值\n产出指标,数量指标,会议,≥5次,5次,90\n",
                    encoding="utf-8")
    got = read_inputs(path, None, 10, 10)
    assert got.one_file and got.targets.tables[0].indicators[0].level3 == "会议"


def test_without_libreoffice_a_doc_gets_a_one_line_chinese_message(tmp_path):
    r = run("import", str(FIXTURES / "seed-forms-layout.doc"), "-o", str(tmp_path), env={"EVALUATOR_SOFFICE": ""})
    assert r.returncode == 1
    assert r.stderr.count("\n") == 1 and "需要 LibreOffice" in r.stderr and "另存为” .docx" in r.stderr
    assert "Traceback" not in r.stderr


def test_doc_and_wps_convert_with_libreoffice(soffice, tmp_path):
    """Converted straight from a Word file here (not the committed copy): 37 indicators and every budget figure."""
    from evaluator.intake import convert_with_libreoffice

    seed = load_targets(SEED_TARGETS)
    doc = tmp_path / "目标表.doc"
    doc.write_bytes(convert_with_libreoffice(FIXTURES / "seed-forms-layout.docx", "doc"))
    shutil.copyfile(doc, doc.with_suffix(".wps"))
    for path in (doc, doc.with_suffix(".wps")):
        t = import_form(path).targets
        assert [len(x.indicators) for x in t.tables] == [len(x.indicators) for x in seed.tables]
        assert t.tables[0].budget == seed.tables[0].budget and t.tables[1].fund_items == seed.tables[1].fund_items


def test_two_conversions_at_once_do_not_clash(soffice, tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    from evaluator.intake import convert_with_libreoffice

    with ThreadPoolExecutor(2) as pool:
        out = list(pool.map(lambda _: convert_with_libreoffice(FIXTURES / "county-project.docx", "doc"), range(2)))
    assert all(x[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" for x in out)


def test_conversion_has_a_time_limit(soffice, tmp_path, monkeypatch):
    from evaluator.intake import convert_with_libreoffice

    slow = tmp_path / "soffice"
    slow.write_text("#!/bin/sh\nsleep 30\n")
    slow.chmod(0o755)
    monkeypatch.setenv("EVALUATOR_SOFFICE", str(slow))
    monkeypatch.setenv("EVALUATOR_CONVERT_SECONDS", "1")
    with pytest.raises(InputFileError, match="LibreOffice 转换超时（超过 1 秒）"):
        convert_with_libreoffice(FIXTURES / "county-project.doc", "docx")


# --------------------------------------------------------------------------- forms to every command
@pytest.mark.parametrize("form", ["seed-forms-layout.docx", "seed-forms.xls", "seed-forms-layout.doc"])
def test_a_target_form_works_in_template_and_score_without_import(tmp_path, form):
    book = tmp_path / "填报.xlsx"
    r = run("template", str(FIXTURES / form), "-o", str(book))
    assert r.returncode == 0, r.stderr
    r = run("score", str(FIXTURES / form), str(book), "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert len(data["indicators"]) == 37 and "ok" not in {i["status"] for i in data["indicators"]}  # nothing filled yet
    r = run("check", str(FIXTURES / form), str(book))
    assert r.returncode == 1 and "缺少实际完成值" in r.stdout


@pytest.mark.parametrize("form", ["self-evaluation.xlsx", "self-evaluation.xls"])
def test_a_filled_self_evaluation_scores_with_its_own_header_and_budget(tmp_path, form):
    r = run("score", str(FIXTURES / form), "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert (data["total"], data["grade"], data["execution"]["score"]) == (99.8, "优", 10.0)
    assert "读取的是工作表“自评表”" in r.stderr
    r = run("score", str(FIXTURES / form), "--spent", "19.383231", "--json")  # an override: half spent
    assert json.loads(r.stdout)["execution"]["score"] == 5.0
    r = run("template", str(FIXTURES / form))
    assert r.returncode == 1 and "已填好的自评表" in r.stderr and "evaluator score" in r.stderr


@pytest.mark.parametrize("args,expected", [
    (["score", "{actuals}", "{targets}"], "这是实际完成值文件，不是目标表（是否把目标表和实际完成值的顺序写反了？"),
    (["score", "{targets}", "{targets}"], "这是目标表数据文件，不是实际完成值（是否把目标表和实际完成值的顺序写反了？"),
    (["score", "{book}", "{targets}"], "这是自评填报表（实际完成值），不是目标表（是否把目标表和实际完成值的顺序写反了？"),
    (["score", "{targets}", "{form}"], "这是一份绩效目标表或自评表，不是实际完成值文件"),
    (["report", "{self_eval}", "{actuals}"], "这份自评表已包含实际完成值，不需要再指定实际完成值文件"),
    (["check", "{form}"], "缺少实际完成值文件（这是目标表：用法：evaluator score seed-forms.docx 实际完成值.yaml"),
    (["score", "{pdf}", "{actuals}"], "扩展名是 .xlsx，但实际是 PDF 文件，不能作为目标表"),
    (["template", "{pdf}"], "扩展名是 .xlsx，但实际是 PDF 文件，不能作为目标表"),
    (["score", "{targets}", "{pdf}"], "扩展名是 .xlsx，但实际是 PDF 文件，不能作为实际完成值文件"),
    (["import", "{actuals}"], "文件是 YAML 数据文件，不是绩效目标表或自评表的 Word/Excel/CSV 文件"),
])
def test_files_in_the_wrong_place_get_a_message_that_says_so(tmp_path, args, expected):
    book = tmp_path / "填报.xlsx"
    assert run("template", str(SEED_TARGETS), "-o", str(book)).returncode == 0
    names = dict(actuals=SEED_ACTUALS, targets=SEED_TARGETS, book=book, form=FIXTURES / "seed-forms.docx",
                 self_eval=FIXTURES / "self-evaluation.xlsx", pdf=FIXTURES / "bad" / "pdf-renamed.xlsx")
    r = run(*[a.format(**names) for a in args], "-o", str(tmp_path / "out")) if args[0] in ("report", "import") else \
        run(*[a.format(**names) for a in args])
    assert r.returncode == 1, r.stdout
    assert r.stderr.startswith("错误：") and expected in r.stderr and r.stderr.count("\n") == 1
    assert "Traceback" not in r.stderr and "budget 中" not in r.stderr


def test_a_flat_table_without_budget_says_how_to_give_it(tmp_path):
    p = tmp_path / "自评表.csv"
    p.write_text("一级指标,二级指标,三级指标,年度指标值,实际完成值,分值\n产出指标,数量指标,会议,≥5次,5次,90\n",
                 encoding="utf-8")
    r = run("check", str(p))
    assert r.returncode == 1
    assert "自评表中没有填写预算执行情况" in r.stdout and "--budget 全年预算数 --spent 全年执行数" in r.stdout
    assert "budget 中" not in r.stdout


# --------------------------------------------------------------------------- what the readers clean and refuse
def test_control_characters_are_removed_with_a_located_finding(tmp_path, mof):
    p = tmp_path / "自评表.csv"
    p.write_text("一级指标,二级指标,三级指标,年度指标值,实际完成值,分值,偏差原因分析及改进措施\n"
                 "产出指标,数量指标,会议\x0b次数,≥5次,4次,90,因\x00故减少\n", encoding="utf-8")
    got = read_inputs(p, None, 1, 1)
    ind = got.targets.tables[0].indicators[0]
    assert ind.level3 == "会议次数" and got.actuals.tables[0].indicators[0].deviation_note == "因故减少"
    found = [(f.code, f.location.row, f.location.column) for f in got.findings]
    assert found == [("control-character", 2, "C"), ("control-character", 2, "G")]
    r = run("report", str(p), "--budget", "1", "--spent", "1", "-o", str(tmp_path / "out"), "-f", "html,xlsx")
    assert r.returncode == 0, r.stderr
    html = (tmp_path / "out").glob("*.html").__next__().read_text(encoding="utf-8")
    assert "会议次数" in html and "\x0b" not in html and "\x00" not in html
    import zipfile

    for made in (tmp_path / "out").iterdir():
        parts = [made.read_bytes()] if not zipfile.is_zipfile(made) else \
            [z.read(n) for z in [zipfile.ZipFile(made)] for n in z.namelist() if n.endswith(".xml")]
        assert not any(b"\x0b" in x or b"_x000B_" in x or b"&#11;" in x for x in parts), made.name
    r = run("check", str(p), "--budget", "1", "--spent", "1")
    assert "第 2 行，列“C”：内容中有不可见的控制字符（垂直制表符 \\v），已删除" in r.stdout


def test_control_characters_in_excel_cells(tmp_path):
    """Excel stores a control character as _x000B_ (or &#11;): read, removed, located."""
    import zipfile

    wb = Workbook()
    ws = wb.active
    ws.append(["一级指标", "二级指标", "三级指标", "年度指标值", "实际完成值", "分值"])
    ws.append(["产出指标", "数量指标", "会议QQ次数", "≥5次", "5次", 90])
    plain = tmp_path / "plain.xlsx"
    wb.save(plain)
    path = tmp_path / "自评表.xlsx"
    with zipfile.ZipFile(plain) as zin, zipfile.ZipFile(path, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item)
            zout.writestr(item, data.replace(b"QQ", b"_x000B_") if item.filename.endswith("sheet1.xml") else data)
    got = read_inputs(path, None, 1, 1)
    assert got.targets.tables[0].indicators[0].level3 == "会议次数"
    (f,) = [f for f in got.findings if f.code == "control-character"]
    assert (f.location.sheet, f.location.row, f.location.column) == ("工作表“Sheet”", 2, "C")
    assert "垂直制表符" in f.message


def test_unclosed_quote_is_refused_at_the_line_it_opens(tmp_path):
    p = tmp_path / "自评表.csv"
    p.write_text("一级指标,二级指标,三级指标,年度指标值,实际完成值,分值\n"
                 "产出指标,数量指标,会议,≥5次,5次,30\n"
                 "产出指标,数量指标,\"调研,2个,2个,30\n"
                 "产出指标,数量指标,培训,1次,1次,30\n", encoding="utf-8")
    with pytest.raises(InputFileError) as e:
        read_inputs(p, None, 1, 1)
    assert f"{p} 第 3 行：引号没有配对" in str(e.value)
    p.write_text(p.read_text(encoding="utf-8") + "效益指标,社会效益指标,\"满意度\",95%,96%,10\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="第 3 行：引号没有配对"):  # closed much later: rows swallowed
        read_inputs(p, None, 1, 1)
    p.write_text("一级指标,二级指标,三级指标,年度指标值,实际完成值,分值\n"
                 "产出指标,数量指标,\"会议\n（全体）\",≥5次,5次,90\n", encoding="utf-8")  # a real line break in a cell
    assert read_inputs(p, None, 1, 1).targets.tables[0].indicators[0].level3 == "会议（全体）"


def test_hidden_sheets_are_skipped_and_the_sheet_read_is_named(tmp_path):
    wb = Workbook()
    old = wb.active
    old.title = "去年"
    for row in (["一级指标", "二级指标", "三级指标", "年度指标值", "实际完成值", "分值"], ["产出指标", "数量指标", "旧", "1次", "1次", 90]):
        old.append(row)
    old.sheet_state = "hidden"
    ws = wb.create_sheet("今年")
    for row in (["一级指标", "二级指标", "三级指标", "年度指标值", "实际完成值", "分值"], ["产出指标", "数量指标", "新", "1次", "1次", 90]):
        ws.append(row)
    path = tmp_path / "自评表.xlsx"
    wb.save(path)
    got = read_inputs(path, None, 1, 1)
    assert [i.level3 for i in got.targets.tables[0].indicators] == ["新"]
    assert got.notes == ["自评表.xlsx：已跳过隐藏的工作表 “去年”", "自评表.xlsx：读取的是工作表“今年”"]
    r = run("import", str(path), "-o", str(tmp_path / "t"), "--actuals-dir", str(tmp_path / "a"))
    assert r.returncode == 0 and "读取的是工作表“今年”" in r.stderr and "隐藏的工作表 “去年”" in r.stderr


def test_excel_error_values_are_kept_as_written(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(["一级指标", "二级指标", "三级指标", "年度指标值", "实际完成值", "分值"])
    ws.append(["产出指标", "数量指标", "会议", "≥5次", "#DIV/0!", 90])
    path = tmp_path / "自评表.xlsx"
    wb.save(path)
    got = read_inputs(path, None, 1, 1)
    assert got.actuals.tables[0].indicators[0].actual == "#DIV/0!"  # never blank, never 0


def test_size_is_checked_from_the_dimension_before_reading(tmp_path, monkeypatch):
    import time

    wb = Workbook()
    ws = wb.active
    for k in range(1, 3001):
        ws.append([f"行{k}", k])
    path = tmp_path / "big.xlsx"
    wb.save(path)
    monkeypatch.setenv("EVALUATOR_MAX_ROWS", "1000")
    start = time.perf_counter()
    with pytest.raises(InputFileError, match="表格过大（3000 行 × 2 列，上限 1000 行"):
        import_form(path)
    assert time.perf_counter() - start < 5


def test_control_characters_in_yaml_and_json_data_files(tmp_path):
    """A literal \\v in a YAML file (which YAML itself refuses) and an escaped \\u000b in JSON: removed, located."""
    text = SEED_ACTUALS.read_text(encoding="utf-8")
    y = tmp_path / "actuals.yaml"
    y.write_text(text.replace("unit_name: 石峰区政协", "unit_name: 石峰区\x0b政协", 1), encoding="utf-8")
    got = read_inputs(SEED_TARGETS, y)
    assert got.actuals.unit_name == "石峰区政协"
    assert [(f.code, f.location.row) for f in got.findings] == [("control-character", 4)]
    from evaluator.load import parse_data

    data = parse_data(text, str(SEED_ACTUALS))
    data["unit_name"] = "石峰区\x0b政协"
    j = tmp_path / "actuals.json"
    j.write_text(json.dumps(data, ensure_ascii=True), encoding="utf-8")  # written as \\u000b
    got = read_inputs(SEED_TARGETS, j)
    assert got.actuals.unit_name == "石峰区政协"
    assert [(f.code, f.location.column) for f in got.findings] == [("control-character", "unit_name")]


def test_control_characters_typed_into_the_fill_in_workbook(tmp_path):
    """A \\v pasted into a 偏差原因 of the clerk's workbook never reaches the report (issue 11 §3)."""
    from openpyxl import load_workbook

    book = tmp_path / "填报.xlsx"
    assert run("template", str(SEED_TARGETS), "-o", str(book)).returncode == 0
    wb = load_workbook(book)
    ws, head = next((ws, r) for ws in wb.worksheets for r in range(1, 10)
                    if ws.sheet_state == "visible" and ws.cell(row=r, column=4).value == "三级指标")
    cols = {ws.cell(row=head, column=c).value: c for c in range(1, ws.max_column + 1)}
    ws.cell(row=head + 1, column=cols["实际完成值"], value="1次")
    ws.cell(row=head + 1, column=cols["偏差原因分析及改进措施"], value="原因QQVT说明")
    import zipfile

    wb.save(tmp_path / "raw.xlsx")
    with zipfile.ZipFile(tmp_path / "raw.xlsx") as zin, zipfile.ZipFile(book, "w") as zout:
        for item in zin.infolist():  # Excel writes a pasted \v as _x000B_
            zout.writestr(item, zin.read(item).replace(b"QQVT", b"_x000B_"))
    got = read_inputs(SEED_TARGETS, book)
    notes = [a.deviation_note for t in got.actuals.tables for a in t.indicators if a.deviation_note]
    assert notes == ["原因说明"]
    assert [f.code for f in got.findings] == ["control-character"]
