"""Importing the official forms: the seed's Word forms give the hand-transcribed data; variants; bad files."""
from __future__ import annotations

import zipfile

import pytest
from docx import Document
from openpyxl import Workbook

from evaluator import InputFileError, evaluate, load_targets
from evaluator.forms import import_form, read_grids

from .conftest import ROOT, SEED_TARGETS

FIXTURES = ROOT / "tests" / "fixtures"


def _comparable(targets) -> dict:
    """Everything but the generated table ids and the source note."""
    data = targets.model_dump(mode="json", exclude={"source"})
    for t in data["tables"]:
        t.pop("id")
        for i in t["indicators"]:
            i.pop("row")
    return data


def test_seed_forms_import_as_the_hand_transcribed_data():
    result = import_form(FIXTURES / "seed-forms.docx")
    assert result.findings == []
    assert result.actuals is None
    assert _comparable(result.targets) == _comparable(load_targets(SEED_TARGETS))


def test_seed_forms_structure():
    t = import_form(FIXTURES / "seed-forms.docx").targets
    assert [(x.form, x.kind.value, len(x.indicators)) for x in t.tables] == [
        ("附表1", "department", 11), ("附表2", "special-fund", 0), ("附表3", "project", 14), ("附表3", "project", 12)]
    dept = t.tables[0]
    assert dept.budget.by_source == {"一般公共预算拨款": 528.244101, "政府性基金拨款": 0, "其他资金": 0}
    assert dept.budget.by_nature == {"基本支出": 443.644101, "项目支出": 84.6}
    assert [w.item for w in dept.work_plan] == ["双月协商", "民主监督", "专题调研和提案工作", "委员培训和界别活动"]
    assert t.tables[2].indicators[12].level2 == "可持续影响指标"  # "可持续影响  指标" in the form
    assert {i.standard for i in t.tables[2].indicators} == {"行业标准"}  # merged down each 二级 block
    assert t.tables[2].indicators[0].row == 10  # located in the source table


def test_merged_cells_in_both_directions_are_read_once():
    grids = read_grids(FIXTURES / "seed-forms.docx")
    g = grids[0]
    r = next(k for k, row in enumerate(g.cells) if row[3] == "政协常委会")
    assert g.cells[r][1] == "产出指标" and g.origin(r, 1) != (r, 1)  # carried down a vertical merge
    title = next(k for k, row in enumerate(g.cells) if row[0] == "2023年部门整体支出绩效目标表")
    assert set(g.cells[title]) == {"2023年部门整体支出绩效目标表"} and g.origin(title, 4) == (title, 0)


def test_three_column_variant_with_weights():
    result = import_form(FIXTURES / "variant-three-columns.xlsx")
    (table,) = result.targets.tables
    assert result.findings == []
    assert (table.unit_name, table.supervisor, table.year) == ("永德县明朗中学", "永德县教育体育局", 2022)
    first = table.indicators[0]
    assert (first.target, first.unit, first.weight) == ("≧735", "人次", 10.0)
    assert sum(i.weight for i in table.indicators) == 90
    assert table.indicators[-1].level2 == "服务对象满意度指标"  # carried down a merge


def test_self_evaluation_imports_as_targets_and_actuals(mof):
    result = import_form(FIXTURES / "self-evaluation.xlsx")
    assert result.findings == []
    (table,) = result.targets.tables
    (acts,) = result.actuals.tables
    assert acts.budget.budget == acts.budget.spent == 38.766462 and acts.budget.initial is None  # no 年初预算数
    assert acts.claimed_total == 96
    assert acts.achieved_goal == "735名学生全部受助，资金全部到位。"
    ev = evaluate(result.targets, result.actuals, mof)
    assert ev.tables[0].total == 99.8
    # the unit docked 资金到位及时率 (7) and 政策知晓率 (9) and totalled 96: all three come out as findings
    assert sorted((f.code, f.location.indicator) for f in ev.findings) == [
        ("claimed-score-mismatch", "政策知晓率"), ("claimed-score-mismatch", "资金到位及时率"),
        ("claimed-total-mismatch", None)]


def test_unplaced_content_is_reported_with_its_location(tmp_path):
    doc = Document(FIXTURES / "seed-forms.docx")
    cell = doc.tables[0].cell(8, 4)  # the empty cell right of 其他资金
    cell.text = "请财政局审核"
    path = tmp_path / "stray.docx"
    doc.save(path)
    result = import_form(path)
    assert [(f.location.sheet, f.location.row, f.location.column) for f in result.findings] == [("表 1", 9, "E")]
    assert "请财政局审核" in result.findings[0].message


def test_docx_with_title_as_a_paragraph_is_not_required(tmp_path):
    # a Word file with no forms at all
    doc = Document()
    doc.add_paragraph("会议纪要")
    doc.add_table(rows=1, cols=2).cell(0, 0).text = "无关内容"
    path = tmp_path / "memo.docx"
    doc.save(path)
    with pytest.raises(InputFileError, match="找不到绩效目标表或绩效自评表"):
        import_form(path)


@pytest.mark.parametrize("name,content,expected", [
    ("truncated.docx", None, "无法打开 Word 文件"),
    ("not-a-docx.docx", b"plain text pretending", "扩展名是 .docx，但实际是文本文件"),
    ("truncated.xlsx", None, "无法打开 Excel 文件"),
    ("encrypted.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504, "设置了打开密码的 Office 文件"),
    ("form.pdf", b"%PDF-1.4", "文件是 PDF 文件，不是绩效目标表或自评表"),
])
def test_broken_files_give_located_errors(tmp_path, name, content, expected):
    path = tmp_path / name
    if content is None:  # the first half of a real file
        src = FIXTURES / ("seed-forms.docx" if name.endswith(".docx") else "variant-three-columns.xlsx")
        data = src.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    else:
        path.write_bytes(content)
    with pytest.raises(InputFileError) as e:
        import_form(path)
    assert expected in str(e.value) and str(path) in str(e.value)


def test_fixtures_are_reproducible(tmp_path):
    """The committed fixtures are what make_forms.py writes (so the script is the truth)."""
    import subprocess
    import sys

    import shutil

    work = tmp_path / "fixtures"
    shutil.copytree(FIXTURES, work)
    subprocess.run([sys.executable, str(work / "make_forms.py")], check=True, capture_output=True)
    for name in ("seed-forms.docx", "variant-three-columns.xlsx", "self-evaluation.xlsx"):
        with zipfile.ZipFile(work / name) as a, zipfile.ZipFile(FIXTURES / name) as b:
            assert {i.filename: a.read(i) for i in a.infolist()} == {i.filename: b.read(i) for i in b.infolist()}, name


def test_xlsx_forms_on_several_sheets(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.title = "空白"
    src = import_form(FIXTURES / "variant-three-columns.xlsx")
    other = wb.create_sheet("目标表")
    from openpyxl import load_workbook

    for row in load_workbook(FIXTURES / "variant-three-columns.xlsx").active.iter_rows(values_only=True):
        other.append(list(row))
    path = tmp_path / "two-sheets.xlsx"
    wb.save(path)
    result = import_form(path)
    assert [i.level3 for i in result.targets.tables[0].indicators] == [i.level3 for i in src.targets.tables[0].indicators]


def test_oversized_files_are_refused_before_parsing(monkeypatch):
    monkeypatch.setenv("EVALUATOR_MAX_FILE_MB", "0.01")
    with pytest.raises(InputFileError, match=r"文件过大（0\.0\d MB，上限 0\.01 MB）.*EVALUATOR_MAX_FILE_MB"):
        import_form(FIXTURES / "seed-forms.docx")


@pytest.mark.parametrize("name", ["seed-forms-layout.docx", "seed-forms.xlsx", "seed-forms.xls", "seed-forms-layout.doc"])
def test_seed_forms_in_every_layout_and_format_import_as_the_seed_data(name):
    """Title, 填报单位 and signature lines as paragraphs around the Word tables; titles in merged cells in Excel; the
    .xls and .doc copies made from them by LibreOffice: exactly the hand-transcribed data, nothing left over."""
    result = import_form(FIXTURES / name)
    assert result.findings == []
    assert sum(len(t.indicators) for t in result.targets.tables) == 37
    assert _comparable(result.targets) == _comparable(load_targets(SEED_TARGETS))


def test_county_project_form_header_block():
    """A county 绩效目标申报表: title paragraph, 项目名称/主管部门/实施单位/项目负责人/资金情况 (854万, 800万元), goals in
    columns, merged 一级/二级 cells, a footnote; the project's name is the project's name."""
    for name in ("county-project.docx", "county-project.doc"):
        result = import_form(FIXTURES / name)
        assert result.findings == [], name
        (t,) = result.targets.tables
        assert (t.project, t.title, t.form_title) == ("城区雨污分流改造工程（二期）", "城区雨污分流改造工程（二期）",
                                                       "绩效目标申报表(基础设施建设类)(2022年度)")
        assert (t.kind.value, t.year, t.supervisor, t.unit_name) == ("project", 2022, "蓬溪县住房和城乡建设局", "蓬溪县市政设施维护所")
        assert (t.project_lead, t.project_lead_phone, t.period) == ("王建国", "0825-5421367", "2022年1月—2023年12月")
        assert t.budget.model_dump() == {"total": 854.0, "by_source": {"财政拨款": 800.0, "其他资金": 54.0}, "by_nature": {}}
        assert t.amount == 854.0 and t.amount_unit == "万元"
        assert t.long_term_goal.startswith("完成城区12公里") and t.annual_goal.startswith("完成6公里")
        assert [(i.level1, i.level2) for i in t.indicators].count(("产出指标", "数量指标")) == 2  # merged down
        assert t.indicators[-1].level1 == "满意度指标" and len(t.indicators) == 9
        assert t.footnotes == ["注：绩效指标可根据项目实际增加，一级指标应包含产出、效益和满意度指标。"]
        assert (t.contacts.filler, t.contacts.phone) == ("李明", "0825-5421300")


@pytest.mark.parametrize("title,kind,evaluation", [
    ("绩效目标申报表", "project", False), ("绩效目标申报表(基础设施建设类)(2022年度)", "project", False),
    ("项目支出绩效目标表", "project", False), ("部门（单位）整体支出绩效目标表", "department", False),
    ("2023年整体支出绩效目标申报表", "department", False), ("项目支出绩效自评表", "project", True),
    ("部门整体支出绩效自评表", "department", True), ("区域绩效自评表（转移支付）", "project", True),
])
def test_titles_real_forms_carry(tmp_path, title, kind, evaluation):
    wb = Workbook()
    ws = wb.active
    ws.append([title])
    ws.append(["项目名称" if kind == "project" else "部门名称", "某某"])
    ws.append(["一级指标", "二级指标", "三级指标", "指标值"] + (["实际完成值", "分值", "得分"] if evaluation else []))
    ws.append(["产出指标", "数量指标", "会议", "≥5次"] + (["5次", "90", "90"] if evaluation else []))
    path = tmp_path / "form.xlsx"
    wb.save(path)
    result = import_form(path)
    (t,) = result.targets.tables
    assert (t.kind.value, result.actuals is not None, len(t.indicators)) == (kind, evaluation, 1)
    assert t.title == "某某" if kind == "project" else t.title == title


def test_amounts_in_yuan_and_wan(tmp_path):
    from evaluator.forms import _money

    assert [_money(x) for x in ("854万", "854万元", "854", "8,540,000元")] == [854, 854, 854, 854]
    assert _money("854万", "元") == 8_540_000 and _money("abc") is None


def test_percentage_weights_are_points(tmp_path, mof):
    """Sichuan's 区域绩效自评表 prints 分值 as "20%"; in Excel they can be percent-formatted cells (0.2)."""
    from evaluator import evaluate
    from evaluator.model import BudgetExecution

    for weights in (["30%", "30%", "30%"], [0.3, 0.3, 0.3]):
        wb = Workbook()
        ws = wb.active
        ws.append(["区域绩效自评表（转移支付）"])
        ws.append(["一级指标", "二级指标", "三级指标", "年度指标值", "实际完成值", "分值", "得分"])
        for name, w in zip("abc", weights):
            ws.append(["产出指标", "数量指标", name, "≥5次", "5次", w, 30])
        path = tmp_path / "region.xlsx"
        wb.save(path)
        result = import_form(path)
        assert [i.weight for i in result.targets.tables[0].indicators] == [30, 30, 30]
        assert "分值按百分比填写" in result.findings[0].message
        ev = evaluate(result.targets, result.actuals.model_copy(update={"tables": [
            result.actuals.tables[0].model_copy(update={"budget": BudgetExecution(budget=1, spent=1)})]}), mof)
        assert ev.tables[0].total == 100


@pytest.mark.parametrize("seed", range(40))
def test_any_may_stop_is_may_stop_of_any_first_cell(seed):
    """_any_may_stop takes a column that looks distinct (over 64 texts in its first 1,000) through one regex scan
    of all the texts joined: the answer is _may_stop of any of them, whatever the column holds."""
    import random

    from evaluator.forms import _any_may_stop, _may_stop

    rng = random.Random(seed)
    odd = ["合计", "  合计", "总分", "（总分）", "注1：说明", "填表人：张三", "审核人", "说明", "备注", "#", "", " ",
           "总体目标", "单位负责人：", "A1", "1.", "\u3000合计", "名\x00字", "-", "]", "^", "\\", "𠀀", "ー"]
    first = [f"指标{i}" for i in range(rng.randrange(70, 1_500))]
    for _ in range(rng.randrange(0, 4)):
        first.insert(rng.randrange(len(first) + 1), rng.choice(odd))
    assert _any_may_stop(first) == any(_may_stop(t) for t in first if t)
