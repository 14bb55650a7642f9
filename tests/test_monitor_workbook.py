"""The in-year progress workbook (monitor-template): locked targets, cells to fill, validation, read back by monitor."""
from __future__ import annotations

import json
import subprocess

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from evaluator import read_flat_table
from evaluator.cli import app
from evaluator.errors import InputFileError
from evaluator.monitor import load_progress, monitor, monitor_context
from evaluator.monitor_workbook import BUDGET_SHEET, HEADER, INSTRUCTIONS_SHEET, META_SHEET, read_progress_workbook, \
    write_progress_workbook

from .conftest import CASES, ROOT, SEED_TARGETS

PROGRESS = ROOT / "data" / "progress" / "shifeng-cppcc-2023-07.yaml"
FORM = ROOT / "tests" / "fixtures" / "seed-forms.docx"
runner = CliRunner()


@pytest.fixture(scope="module")
def seed_progress():
    return load_progress(PROGRESS)


def _sheet(wb, table_id: str):
    return next(ws for ws in wb.worksheets if str(ws.cell(row=2, column=1).value or "").endswith(table_id))


def test_a_blank_workbook_is_locked_where_the_targets_are(tmp_path, seed_targets):
    path = write_progress_workbook(seed_targets, 7, tmp_path / "p.xlsx")
    wb = load_workbook(path)
    assert wb.sheetnames[:2] == [INSTRUCTIONS_SHEET, BUDGET_SHEET] and wb[META_SHEET].sheet_state == "veryHidden"
    assert "石峰区政协 2023年1–7月 绩效运行监控进度填报表" == wb[INSTRUCTIONS_SHEET]["A1"].value
    assert any("纠偏措施" in str(c.value) for c in wb[INSTRUCTIONS_SHEET]["A"])
    ws = _sheet(wb, "dept-2023")
    assert ws.protection.sheet and wb[BUDGET_SHEET].protection.sheet
    assert tuple(c.value for c in ws[3]) == HEADER
    row = next(r for r in range(4, 20) if ws.cell(row=r, column=4).value == "政协常委会")
    assert [ws.cell(row=row, column=c).value for c in range(1, 6)] == [2, "产出指标", "数量指标", "政协常委会", "≥5次"]
    assert all(ws.cell(row=row, column=c).protection.locked for c in range(1, 6))  # the targets
    assert not any(ws.cell(row=row, column=c).protection.locked for c in range(6, 11))  # 完成值 … 纠偏措施
    assert all(ws.cell(row=row, column=c).value is None for c in range(6, 11))
    lists = [dv for dv in ws.data_validations.dataValidation if dv.type == "list"]
    assert lists and "有可能" in lists[0].formula1 and f"H{row}" in str(lists[0].sqref)
    budget = wb[BUDGET_SHEET]
    assert [budget.cell(row=3, column=c).value for c in range(1, 5)] == ["dept-2023", seed_targets.tables[0].title,
                                                                         seed_targets.tables[0].budget.total, None]
    money = budget.data_validations.dataValidation[0]
    assert money.type == "decimal" and "D3" in str(money.sqref)
    # reproducible, and never written over an existing file
    again = write_progress_workbook(seed_targets, 7, tmp_path / "p.xlsx")
    assert again.name == "p.v2.xlsx" and again.read_bytes() == path.read_bytes()


def test_filled_in_it_reads_back_as_the_progress_file(tmp_path, seed_targets, seed_progress, mof):
    """Pre-filled with the seed's progress, the workbook gives the same monitoring as the YAML file."""
    path = write_progress_workbook(seed_targets, 7, tmp_path / "p.xlsx", seed_progress)
    back = read_progress_workbook(path, seed_targets)
    assert (back.unit_name, back.year, back.month) == ("石峰区政协", 2023, 7)
    assert monitor_context(monitor(seed_targets, back, mof)) == monitor_context(monitor(seed_targets, seed_progress, mof))
    # a clerk's entry typed as a number stays what was typed
    wb = load_workbook(path)
    ws = _sheet(wb, "business-2023")
    row = next(r for r in range(4, 20) if ws.cell(row=r, column=4).value == "双月协商")
    ws.cell(row=row, column=6).value = 2
    wb[BUDGET_SHEET]["D4"] = 31.5
    wb.save(path)
    back = read_progress_workbook(path, seed_targets)
    table = next(t for t in back.tables if t.table == "business-2023")
    assert next(i for i in table.indicators if i.indicator == "双月协商").progress == "2"
    assert table.budget.spent == 31.5


def test_changed_or_wrong_cells_are_named(tmp_path, seed_targets):
    path = write_progress_workbook(seed_targets, 7, tmp_path / "p.xlsx")
    wb = load_workbook(path)
    ws = _sheet(wb, "dept-2023")
    ws["E5"] = "≥3次"  # a locked target changed (the protection was lifted)
    ws["H6"] = "差不多"  # not from the list
    ws["K14"] = "很多"  # no number
    wb[BUDGET_SHEET]["D3"] = "二百万"
    ws.cell(row=3 + len(seed_targets.tables[0].indicators) + 1, column=4).value = "新增指标"
    wb.save(path)
    with pytest.raises(InputFileError) as e:
        read_progress_workbook(path, seed_targets)
    text = e.value.render()
    sheet = ws.title
    assert "进度填报表有 5 处问题，未读取" in text
    assert f"工作表“{sheet}” E5：年度指标值应为“≥5次”，表中为“≥3次”" in text
    assert f"工作表“{sheet}” H6（政协主席会议）：完成目标可能性“差不多”不在下拉列表中" in text
    assert "计量基数“很多”不是数字" in text
    assert f"工作表“{BUDGET_SHEET}” D3：累计执行数“二百万”不是数字" in text
    assert "多出指标“新增指标”" in text


def test_a_workbook_that_is_not_ours_or_not_this_year(tmp_path, seed_targets):
    other = tmp_path / "other.xlsx"
    from openpyxl import Workbook

    Workbook().save(other)
    with pytest.raises(InputFileError, match="不是 evaluator 生成的进度填报表"):
        read_progress_workbook(other, seed_targets)
    path = write_progress_workbook(seed_targets, 7, tmp_path / "p.xlsx")
    with pytest.raises(InputFileError, match="进度填报表是 2023 年的，目标表是 2024 年的"):
        read_progress_workbook(path, seed_targets.model_copy(update={"year": 2024}))
    with pytest.raises(InputFileError, match="监控月份 13"):
        write_progress_workbook(seed_targets, 13, tmp_path / "q.xlsx")


def test_the_commands(tmp_path):
    out = tmp_path / "进度.xlsx"
    res = runner.invoke(app, ["monitor-template", str(SEED_TARGETS), "--month", "7", "-o", str(out), "--from",
                              str(PROGRESS)])
    assert res.exit_code == 0, res.output
    assert f"进度填报表已写入 {out}" in res.output
    res = runner.invoke(app, ["monitor", str(SEED_TARGETS), str(out), "--month", "7", "-o", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    assert "红色预警 6 项，黄色预警 5 项" in res.output  # as from the YAML file
    res = runner.invoke(app, ["monitor", str(SEED_TARGETS), str(out), "--month", "8"])
    assert res.exit_code == 1 and "进度文件是 7 月的" in res.output
    # a second template beside an existing one does not replace it
    res = runner.invoke(app, ["monitor-template", str(SEED_TARGETS), "--month", "7", "-o", str(out)])
    assert res.exit_code == 0 and "进度.v2.xlsx" in res.output and "未覆盖" in res.output
    res = runner.invoke(app, ["report", str(SEED_TARGETS), str(ROOT / "data" / "actuals" / "shifeng-cppcc-2023.yaml"),
                              "--monitor", str(out), "-f", "html", "-o", str(tmp_path / "r")])
    assert res.exit_code == 0, res.output
    assert any("绩效运行监控预警及整改情况" in p.read_text(encoding="utf-8") for p in (tmp_path / "r").glob("*.html"))


def test_from_a_word_form(tmp_path):
    """Targets as the office lays them out (a Word 目标表): the template and the monitoring read the same form."""
    out = tmp_path / "p.xlsx"
    res = runner.invoke(app, ["monitor-template", str(FORM), "--month", "6", "-o", str(out)])
    assert res.exit_code == 0, res.output
    wb = load_workbook(out)
    sheets = [ws for ws in wb.worksheets if ws.title not in (INSTRUCTIONS_SHEET, BUDGET_SHEET, META_SHEET)]
    assert sheets
    ws = sheets[0]
    ws["F4"] = ws["E4"].value  # the first indicator already met
    wb[BUDGET_SHEET]["D3"] = 1.0
    wb.save(out)
    res = runner.invoke(app, ["monitor", str(FORM), str(out), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["month"] == 6 and data["tables"][0]["indicators"][0]["light"] == "green"
    assert data["tables"][0]["light"] == "red"  # 1 万元 spent by June


@pytest.mark.skipif(not CASES.is_dir(), reason="../shared/cases is not beside the repository")
def test_a_published_table(tmp_path, mof):
    """永德县营养改善计划 (a published 自评表 as the targets): a July workbook, filled, read back, monitored."""
    case = CASES / "yunnan-yongde-nutrition-2022.csv"
    targets, _ = read_flat_table(case)
    path = write_progress_workbook(targets, 7, tmp_path / "p.xlsx")
    wb = load_workbook(path)
    ws = next(w for w in wb.worksheets if w.title not in (INSTRUCTIONS_SHEET, BUDGET_SHEET, META_SHEET))
    rows = {ws.cell(row=r, column=4).value: r for r in range(4, ws.max_row + 1)}
    ws.cell(row=rows["学生受资助人数"], column=6).value = "735人次"
    ws.cell(row=rows["营养改善计划覆盖率"], column=6).value = "80%"
    ws.cell(row=rows["营养改善计划覆盖率"], column=10).value = "9月开学后补录"
    wb[BUDGET_SHEET]["C3"], wb[BUDGET_SHEET]["D3"] = 38.766462, 19.0
    wb.save(path)
    result = monitor(targets, read_progress_workbook(path, targets), mof)
    (t,) = result.tables
    assert t.light == "green"  # 49.0% ÷ 58.3% = 84.0%
    lights = {i.level3: (i.light, i.action) for i in t.indicators}
    assert lights["学生受资助人数"] == ("green", None)
    assert lights["营养改善计划覆盖率"] == ("yellow", "9月开学后补录")
    assert lights["资金到位及时率"][0] == "yellow"  # not reported


def test_the_workbook_renders(tmp_path, seed_targets, seed_progress, soffice, pdftoppm):
    path = write_progress_workbook(seed_targets, 7, tmp_path / "p.xlsx", seed_progress)
    subprocess.run([soffice, "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path), str(path)], check=True,
                   capture_output=True, timeout=300)
    subprocess.run([pdftoppm, "-r", "40", "-png", "-f", "3", "-l", "3", str(tmp_path / "p.pdf"), str(tmp_path / "g")],
                   check=True, timeout=120)
    assert next(tmp_path.glob("g-*.png")).stat().st_size > 10_000


def test_the_bureau_folder_takes_workbooks_too(tmp_path, seed_targets, seed_progress):
    """`monitor DIR`: a unit that sent its 进度填报表 (progress.xlsx) is listed like one that sent a YAML file."""
    import shutil

    for name in ("a", "b"):
        (tmp_path / "units" / name).mkdir(parents=True)
        shutil.copy(SEED_TARGETS, tmp_path / "units" / name / "targets.yaml")
    shutil.copy(PROGRESS, tmp_path / "units" / "a" / "progress.yaml")
    write_progress_workbook(seed_targets, 7, tmp_path / "units" / "b" / "progress.xlsx", seed_progress)
    res = runner.invoke(app, ["monitor", str(tmp_path / "units"), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["failed"] == [] and [u["counts"] for u in data["units"]] == [{"red": 6, "yellow": 5}] * 2
