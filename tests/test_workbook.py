"""The clerk's fill-in workbook: written from targets, filled programmatically (as Excel/WPS users do), read
back — and the round trip form → import → template → fill → score equals scoring the data files directly."""
from __future__ import annotations

import subprocess
import sys

import pytest
from openpyxl import load_workbook

from evaluator import InputFileError, evaluate, load_actuals, load_targets
from evaluator.workbook import dump_yaml, free_path, holds_actuals, read_workbook, write_template

from .conftest import ROOT, SEED_TARGETS

FIXTURES = ROOT / "tests" / "fixtures"


@pytest.fixture()
def template(tmp_path, seed_targets, mof):
    return write_template(seed_targets, mof, tmp_path / "自评填报.xlsx")


def _sheet(wb, table_id):
    return next(ws for ws in wb.worksheets if ws.cell(row=2, column=1).value == f"表编号：{table_id}")


def _fill(path, actuals, *, mutate=None):
    """Type the actuals file's values into the workbook, as a clerk would."""
    wb = load_workbook(path)
    by = {t.table: t for t in actuals.tables}
    for tid, ta in by.items():
        ws = _sheet(wb, tid)
        names = {ws.cell(row=r, column=4).value: r for r in range(4, ws.max_row + 1)}
        for a in ta.indicators:
            r = names[a.indicator]
            ws.cell(row=r, column=7, value=a.actual)
            ws.cell(row=r, column=8, value=a.deviation_note)
            if a.band:
                from evaluator.model import BAND_LABEL

                ws.cell(row=r, column=9, value=BAND_LABEL[a.band])
            ws.cell(row=r, column=10, value=a.judged_score)
            ws.cell(row=r, column=11, value=a.rate_base)
        for row in range(1, ws.max_row + 1):
            label = ws.cell(row=row, column=1).value
            for key, text in (("achieved_goal", "实际完成情况"), ("problems", "存在的问题"), ("improvements", "改进措施")):
                if label == text:
                    ws.cell(row=row, column=4, value=getattr(ta, key))
    bs = wb["预算执行"]
    for r in range(2, bs.max_row + 1):
        tid, source = bs.cell(row=r, column=1).value, bs.cell(row=r, column=3).value
        b = by.get(tid).budget if tid in by else None
        if b is None:
            continue
        line = b if source == "年度资金总额" else b.by_source.get(source)
        if line:
            for c, v in ((4, line.initial), (5, line.budget), (6, line.spent)):
                bs.cell(row=r, column=c, value=v)
    if mutate:
        mutate(wb)
    wb.save(path)


def _rejection(path, targets) -> str:
    """The message of the error reading a workbook the clerk got wrong."""
    with pytest.raises(InputFileError) as e:
        read_workbook(path, targets)
    return str(e.value)


def _scores(ev):
    return [(t.table, i.level3, i.weight, i.score, i.status) for t in ev.tables for i in t.indicators] + \
        [(t.table, t.total, t.grade) for t in ev.tables]


def test_template_layout(template, seed_targets):
    wb = load_workbook(template)
    assert wb.sheetnames[:2] == ["填报说明", "预算执行"]
    assert wb["_evaluator"].sheet_state == "veryHidden"
    ws = _sheet(wb, "dept-2023")
    assert [c.value for c in ws[3]] == ["序号", "一级指标", "二级指标", "三级指标", "年度指标值", "分值", "实际完成值",
                                        "偏差原因分析及改进措施", "定性评判档次", "评判得分", "计量基数"]
    assert ws.protection.sheet and ws.freeze_panes == "G4"
    assert ws["D4"].protection.locked and ws["F4"].protection.locked  # targets and weights locked
    assert not ws["G4"].protection.locked and not ws["H4"].protection.locked  # entries open
    assert [ws.cell(row=r, column=6).value for r in range(4, 15)] == [8.33, 8.33, 8.34, 8.33, 8.33, 8.34, 7.5, 7.5, 7.5,
                                                                     7.5, 10.0]  # the rule set's weights
    lists = [dv for dv in ws.data_validations.dataValidation if dv.type == "list"]
    assert lists and "达成年度指标" in lists[0].formula1
    qualitative_rows = {int(str(r).strip("I")) for dv in lists for r in str(dv.sqref).split()}
    assert qualitative_rows == {7, 10, 11, 12, 13}  # blank or qualitative 指标值 rows only
    assert ws.page_setup.orientation == "landscape" and ws.print_title_rows == "$3:$3"
    bs = wb["预算执行"]
    assert [c.value for c in bs[1]] == ["表编号", "表名称", "资金来源", "年初预算数", "全年预算数", "全年执行数"]
    assert any(dv.type == "decimal" for dv in bs.data_validations.dataValidation)


def test_empty_template_reads_as_all_missing(template, seed_targets, mof):
    actuals = read_workbook(template, seed_targets)
    ev = evaluate(seed_targets, actuals, mof)
    assert {i.status for t in ev.tables for i in t.indicators} == {"error", "na"}  # 无 is the only na
    assert {f.code for f in ev.findings} >= {"missing-actual", "missing-budget"}
    assert all(t.total is None for t in ev.tables)


def test_round_trip_equals_scoring_the_data_files(template, seed_targets, seed_actuals, mof):
    _fill(template, seed_actuals)
    from_workbook = evaluate(seed_targets, read_workbook(template, seed_targets), mof)
    direct = evaluate(seed_targets, seed_actuals, mof)
    assert _scores(from_workbook) == _scores(direct)


def test_round_trip_from_the_word_forms(tmp_path, seed_actuals, mof):
    """Form → import → template → fill → score, through the commands a clerk runs."""
    run = lambda *a: subprocess.run([sys.executable, "-m", "evaluator", *a], capture_output=True, text=True,  # noqa
                                    cwd=tmp_path, timeout=300)
    r = run("import", str(FIXTURES / "seed-forms.docx"), "-o", "targets")
    assert r.returncode == 0, r.stderr
    imported = load_targets(tmp_path / "targets" / "seed-forms.yaml")
    r = run("template", "targets/seed-forms.yaml", "-o", "填报.xlsx")
    assert r.returncode == 0, r.stderr
    ids = {t.title: t.id for t in imported.tables}
    seed_ids = {t.title: t.id for t in load_targets(SEED_TARGETS).tables}
    renamed = seed_actuals.model_copy(update={"tables": [
        t.model_copy(update={"table": ids[next(k for k, v in seed_ids.items() if v == t.table)]})
        for t in seed_actuals.tables]})
    _fill(tmp_path / "填报.xlsx", renamed)
    r = run("score", "targets/seed-forms.yaml", "填报.xlsx", "--json")
    assert r.returncode == 0, r.stderr
    import json

    data = json.loads(r.stdout)
    direct = evaluate(load_targets(SEED_TARGETS), seed_actuals, mof)
    assert [t["total"] for t in data["tables"]] == [t.total for t in direct.tables] == [97.66, 94.14, 98.62]
    assert [i["score"] for i in data["indicators"]] == [i.score for t in direct.tables for i in t.indicators]


def test_what_excel_users_do_is_tolerated(template, seed_targets, seed_actuals, mof):
    def mutate(wb):
        ws = _sheet(wb, "dept-2023")
        ws.title = "部门整体（改名）"  # renamed sheet: matched by its 表编号 line
        ws["G4"] = "１次 "  # full-width digit, trailing space
        ws["G14"] = 0.96  # 96% typed into a cell formatted as percent
        ws["G14"].number_format = "0%"
        ws["G5"] = 5  # a number instead of "5次"
        bs = wb["预算执行"]
        bs["F2"] = "526.82"  # a number stored as text
        ws.insert_rows(16, amount=2)  # extra empty rows between the indicators and the narrative
    _fill(template, seed_actuals, mutate=mutate)
    got = evaluate(seed_targets, read_workbook(template, seed_targets), mof)
    direct = evaluate(seed_targets, seed_actuals, mof)
    assert _scores(got) == _scores(direct)


def test_changed_targets_and_weights_are_rejected_by_cell(template, seed_targets, seed_actuals):
    def mutate(wb):
        ws = _sheet(wb, "business-2023")
        ws["E8"] = "≥50个"  # 提案 ≤50个 "corrected" in the workbook
        ws["F4"] = 10  # a weight
        ws["D5"] = "政协常委会"  # a renamed indicator
    _fill(template, seed_actuals, mutate=mutate)
    msg = _rejection(template, seed_targets)
    assert "第 8 行 E 列（年度指标值）：被改为“≥50个”，目标表为“≤50个”" in msg
    assert "第 4 行 F 列（分值）" in msg
    assert "第 5 行 D 列（三级指标）：被改为“政协常委会”" in msg


def test_extra_and_missing_rows_are_rejected(template, seed_targets, seed_actuals):
    def add_row(wb):
        ws = _sheet(wb, "sectors-2023")
        ws.insert_rows(16)
        ws["D16"] = "新增指标"
        ws["G16"] = "5次"
    _fill(template, seed_actuals, mutate=add_row)
    with pytest.raises(InputFileError, match="多出的指标行“新增指标”对应不到目标表"):
        read_workbook(template, seed_targets)


def test_a_changed_weight_is_rejected_even_in_words(template, seed_targets):
    wb = load_workbook(template)
    _sheet(wb, "dept-2023")["F4"] = "十"
    wb.save(template)
    with pytest.raises(InputFileError, match="分值"):
        read_workbook(template, seed_targets)


def test_judged_scores_and_rate_bases_out_of_range_are_located(template, seed_targets):
    """A negative or non-finite 评判得分 / 计量基数 is the clerk's typing slip, reported by cell (found by make fuzz)."""
    wb = load_workbook(template)
    ws = _sheet(wb, "dept-2023")
    ws["J4"], ws["J5"], ws["K6"] = -1, "nan", "inf"
    wb.save(template)
    msg = _rejection(template, seed_targets)
    assert "第 4 行 J 列（评判得分）：“-1”不是 0–100 之间的数字" in msg
    assert "第 5 行 J 列（评判得分）：“nan”不是 0–100 之间的数字" in msg
    assert "第 6 行 K 列（计量基数）：“inf”不是大于 0 的数字" in msg


def test_template_never_overwrites_entries(tmp_path, seed_targets, seed_actuals, mof):
    path = write_template(seed_targets, mof, tmp_path / "填报.xlsx")
    assert not holds_actuals(path)
    assert free_path(path, force=True) == path  # empty: may be replaced on request
    _fill(path, seed_actuals)
    assert holds_actuals(path)
    assert free_path(path, force=True).name == "填报.v2.xlsx"  # entries: never, not even with --force
    r = subprocess.run([sys.executable, "-m", "evaluator", "template", str(SEED_TARGETS), "-o", str(path), "--force"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and "另存为新版本" in r.stdout
    assert read_workbook(path, seed_targets).tables[0].indicators[0].actual == "1次"  # the old one kept
    assert (tmp_path / "填报.v2.xlsx").exists()


def test_template_carries_existing_entries(tmp_path, seed_targets, seed_actuals, mof):
    path = write_template(seed_targets, mof, tmp_path / "t.xlsx", actuals=seed_actuals)
    got = evaluate(seed_targets, read_workbook(path, seed_targets), mof)
    assert _scores(got) == _scores(evaluate(seed_targets, seed_actuals, mof))


def test_template_is_reproducible(tmp_path, seed_targets, mof):
    a = write_template(seed_targets, mof, tmp_path / "a.xlsx").read_bytes()
    b = write_template(seed_targets, mof, tmp_path / "b.xlsx").read_bytes()
    assert a == b


def test_import_never_overwrites_actuals(tmp_path):
    run = lambda *a: subprocess.run([sys.executable, "-m", "evaluator", *a], capture_output=True, text=True,  # noqa
                                    cwd=tmp_path, timeout=300)
    form = str(FIXTURES / "self-evaluation.xlsx")
    assert run("import", form, "-o", "t", "--actuals-dir", "a").returncode == 0
    actuals = (tmp_path / "a" / "self-evaluation.yaml").read_text(encoding="utf-8")
    r = run("import", form, "-o", "t", "--actuals-dir", "a", "--force")
    assert r.returncode == 0
    assert (tmp_path / "a" / "self-evaluation.yaml").read_text(encoding="utf-8") == actuals
    assert (tmp_path / "a" / "self-evaluation.v2.yaml").exists()
    assert not (tmp_path / "t" / "self-evaluation.v2.yaml").exists()  # targets may be replaced with --force


def test_dumped_yaml_loads_back(tmp_path, seed_targets, seed_actuals):
    (tmp_path / "t.yaml").write_text(dump_yaml(seed_targets), encoding="utf-8")
    (tmp_path / "a.yaml").write_text(dump_yaml(seed_actuals), encoding="utf-8")
    assert load_targets(tmp_path / "t.yaml") == seed_targets
    assert load_actuals(tmp_path / "a.yaml") == seed_actuals


def test_broken_workbook(tmp_path, seed_targets):
    p = tmp_path / "x.xlsx"
    p.write_bytes(b"PK\x03\x04broken")
    with pytest.raises(InputFileError, match="无法打开填报表"):
        read_workbook(p, seed_targets)


def test_template_protection_and_validations_read_back(template, seed_targets):
    """What Excel enforces, as openpyxl reads it back: every sheet but the instructions protected (a table's column
    widths and row heights may change), targets locked and entries open, each drop-down and number check on
    exactly its cells, the narrative merged, formula-like text kept as text."""
    wb = load_workbook(template)
    assert not wb["填报说明"].protection.sheet
    for name in ("预算执行", "基本信息", "_evaluator"):
        p = wb[name].protection
        assert p.sheet and p.formatColumns and p.formatRows and not p.objects and not p.selectUnlockedCells
    ws = _sheet(wb, "dept-2023")
    p = ws.protection
    assert p.sheet and not p.formatColumns and not p.formatRows and p.formatCells and p.insertRows and p.deleteRows
    assert all(ws.cell(row=r, column=c).protection.locked for r in range(3, 15) for c in range(1, 7))
    assert not any(ws.cell(row=r, column=c).protection.locked for r in range(4, 15) for c in (7, 8))
    assert ws["G4"].number_format == "@" and ws["G4"].fill.fgColor.rgb[-6:] == "FFF2CC"
    assert ws["I4"].protection.locked and not ws["I7"].protection.locked  # 档次 open on qualitative rows only
    checks = ws.data_validations.dataValidation
    judged = [dv for dv in ws.data_validations.dataValidation if dv.type == "decimal" and dv.formula2]
    assert {(str(dv.sqref), dv.formula1, dv.formula2) for dv in judged} == {("J7", "0", "8.33"),
                                                                          ("J10 J11 J12 J13", "0", "7.5")}
    assert all(dv.showErrorMessage and dv.allow_blank and not dv.showInputMessage for dv in checks)
    assert sorted(str(r) for r in ws.merged_cells.ranges) == ["A16:C16", "A17:C17", "A18:C18",
                                                              "D16:K16", "D17:K17", "D18:K18"]
    assert [ws.cell(row=r, column=1).value for r in (16, 17, 18)] == ["实际完成情况", "存在的问题", "改进措施"]
    assert not ws["D16"].protection.locked and ws.row_dimensions[16].height == 60
    assert ws.column_dimensions["D"].width == 30 and ws.column_dimensions["H"].width == 36
    bs = wb["预算执行"]
    (money,) = bs.data_validations.dataValidation
    assert (money.type, money.operator, money.formula1, str(money.sqref)) == (
        "decimal", "greaterThanOrEqual", "0", f"D2:F{bs.max_row}")
    assert not bs["E2"].protection.locked and bs["A2"].protection.locked and bs.freeze_panes == "D2"
    assert bs.print_title_rows == "$1:$1" and bs.page_setup.paperSize == 9
    assert wb.properties.creator == "evaluator" and wb.properties.created.year == seed_targets.year + 1


def test_template_text_is_never_a_formula_and_sheet_names_are_valid(tmp_path, seed_targets, mof):
    """Names from the targets are data: "=…" stays text; sheet names Excel would refuse (forbidden characters,
    apostrophes at either end, two names equal but for case, too long in UTF-16) are cleaned and numbered."""
    tables = [t for t in seed_targets.tables if t.indicators]
    odd = ["=1+1 [甲]:乙/丙", "'引号'", "abc", "ABC", "𠀀" * 20]
    changed = [tables[k % len(tables)].model_copy(update={"id": f"t{k}", "project": name,
                                                          "title": "=SUM(A1)" if k == 0 else tables[k % 3].title})
               for k, name in enumerate(odd)]
    path = write_template(seed_targets.model_copy(update={"tables": changed}), mof, tmp_path / "t.xlsx")
    wb = load_workbook(path)
    names = wb.sheetnames[3:-1]
    assert names[:4] == ["=1+1 甲乙丙", "引号", "abc", "ABC2"]
    assert len(names[4].encode("utf-16-le")) // 2 <= 31 and len({n.lower() for n in names}) == 5
    first = _sheet(wb, "t0")
    assert first["A1"].value == "=SUM(A1)" and first["A1"].data_type == "s"
    assert read_workbook(path, seed_targets.model_copy(update={"tables": changed})).tables


@pytest.mark.skipif(sys.platform == "win32", reason="resource limits are POSIX")
def test_a_large_template_keeps_few_files_open(tmp_path, seed_targets):
    """Hundreds of sheets work under a limit of 64 open files (a 10,000-table template has 7,500 sheets):
    finished sheets' rows share one temporary file (XlsxWriter's constant-memory mode kept one per sheet)."""
    tables = [t for t in seed_targets.tables if t.indicators]
    big = seed_targets.model_copy(update={"tables": [tables[k % len(tables)].model_copy(update={"id": f"t{k}"})
                                                     for k in range(150)]})
    (tmp_path / "t.yaml").write_text(dump_yaml(big), encoding="utf-8")
    code = ("import resource, sys\n"
            "resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))\n"
            "sys.argv = ['evaluator', 'template', sys.argv[1], '-o', sys.argv[2]]\n"
            "from evaluator.cli import main\n"
            "main()\n")
    r = subprocess.run([sys.executable, "-c", code, str(tmp_path / "t.yaml"), str(tmp_path / "t.xlsx")],
                       capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-800:]
    wb = load_workbook(tmp_path / "t.xlsx", read_only=True)
    assert len(wb.sheetnames) == 150 + 4  # every table's sheet, 填报说明/预算执行/基本信息/_evaluator
