"""Reading data files and flat 自评表 (CSV/xlsx): located Chinese errors for unusable input."""
from __future__ import annotations

import pytest
from openpyxl import Workbook

from evaluator import InputFileError, evaluate, load_actuals, load_targets, read_flat_table

HEADER = "一级指标,二级指标,三级指标,年度指标值,实际完成值,分值,得分,偏差原因分析及改进措施\n"


def test_flat_csv_with_bom_and_carry_down(tmp_path, mof):
    p = tmp_path / "自评表.csv"
    p.write_text(HEADER + "产出指标,数量指标,a,≥5次,4次,45,36,因故减少\n,,b,2个,2个,45,45,\n", encoding="utf-8-sig")
    t, a = read_flat_table(p, budget=10, spent=9)
    ind = t.tables[0].indicators
    assert [(i.level1, i.level2, i.level3, i.row) for i in ind] == [("产出指标", "数量指标", "a", 2),
                                                                     ("产出指标", "数量指标", "b", 3)]
    ev = evaluate(t, a, mof, targets_file=str(p))
    assert [i.score for i in ev.tables[0].indicators] == [36.0, 45.0]
    assert ev.tables[0].total == 36 + 45 + 9.0
    assert ev.findings == []


def test_flat_csv_gbk_as_chinese_excel_writes_it(tmp_path):
    p = tmp_path / "gbk.csv"
    p.write_bytes((HEADER + "产出指标,数量指标,a,≥5次,5次,90,90,\n").encode("gbk"))
    t, _ = read_flat_table(p)
    assert t.tables[0].indicators[0].level1 == "产出指标"


def test_flat_separate_comparator_and_unit_columns(tmp_path, mof):
    p = tmp_path / "scqs.csv"
    p.write_text("一级指标,二级指标,三级指标,指标性质,指标值,度量单位,全年实际值,分值\n"
                 "产出指标,数量指标,学生受资助人数,≧,735,人次,735,90\n", encoding="utf-8")
    t, a = read_flat_table(p, budget=1, spent=1)
    assert t.tables[0].indicators[0].target == "≧735"
    assert t.tables[0].indicators[0].unit == "人次"
    ev = evaluate(t, a, mof)
    assert ev.tables[0].indicators[0].score == 90.0


def test_flat_xlsx_with_title_rows_and_merged_cells(tmp_path, mof):
    wb = Workbook()
    ws = wb.active
    ws.append(["项目支出绩效自评表（2022年度）"])
    ws.append(["一级指标", "二级指标", "三级指标", "年度指标值", "实际完成值", "分值", "得分", "偏差原因分析及改进措施"])
    ws.append(["产出指标", "数量指标", "a", "≥5次", 4, 45, 36, "原因"])
    ws.append([None, None, "b", "100%", 1.0, 45, 45, None])
    ws.append(["总分", None, None, None, None, 100, 91, None])
    ws.merge_cells("A3:A4")
    ws.merge_cells("B3:B4")
    p = tmp_path / "t.xlsx"
    wb.save(p)
    t, a = read_flat_table(p, budget=1, spent=1)
    assert [(i.level1, i.level2, i.level3, i.target) for i in t.tables[0].indicators] == \
        [("产出指标", "数量指标", "a", "≥5次"), ("产出指标", "数量指标", "b", "100%")]
    ev = evaluate(t, a, mof)
    assert [i.score for i in ev.tables[0].indicators] == [36.0, 45.0]  # 1.0 read as 100%


@pytest.mark.parametrize("content,expected", [
    ("a,b,c\n1,2,3\n", "找不到绩效目标表或绩效自评表"),
    ("一级指标,二级指标,三级指标,年度指标值\n产出,数量,a,1次\n", "缺少必需的列：实际完成值（这是绩效目标表"),
    (HEADER, "表头下没有指标行"),
    (HEADER + "产出指标,数量指标,a,≥5次,4次,四十五,36,\n", "第 2 行，列“F”：分值应为数字，实际为“四十五”"),
])
def test_flat_bad_input_is_located(tmp_path, content, expected):
    p = tmp_path / "bad.csv"
    p.write_text(content, encoding="utf-8")
    with pytest.raises(InputFileError) as e:
        read_flat_table(p)
    assert expected in str(e.value) and str(p) in str(e.value)


def test_wrong_type_and_broken_xlsx(tmp_path):
    p = tmp_path / "t.pdf"
    p.write_bytes(b"%PDF")
    with pytest.raises(InputFileError, match="文件是 PDF 文件，不能作为目标表"):
        read_flat_table(p)
    x = tmp_path / "broken.xlsx"
    x.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(InputFileError, match="无法打开 Excel 文件"):
        read_flat_table(x)


def test_data_file_errors_name_the_place(tmp_path):
    p = tmp_path / "targets.yaml"
    p.write_text("unit_name: x\nyear: 2023\ntables:\n  - id: t\n    kind: 项目\n    title: t\n    unit_name: x\n"
                 "    year: 2023\n    indicators:\n      - {level1: 产出, level2: 数量, level3: 会议, targt: 1次}\n",
                 encoding="utf-8")
    with pytest.raises(InputFileError) as e:
        load_targets(p)
    msg = str(e.value)
    assert "未知的键“targt”" in msg and "第 1 项（会议）" in msg and str(p) in msg


def test_json_data_files_read_like_yaml_and_fail_with_the_same_located_message(tmp_path, seed_targets):
    """JSON goes straight to pydantic's JSON validator; what it rejects must still get the located message."""
    import json

    import yaml

    from evaluator.workbook import dump_yaml

    data = yaml.safe_load(dump_yaml(seed_targets))
    good = tmp_path / "targets.json"
    good.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    assert load_targets(good) == seed_targets
    data["tables"][0]["indicators"][0]["targt"] = "1次"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(InputFileError) as e:
        load_targets(bad)
    assert "未知的键“targt”" in str(e.value) and "第 1 项" in str(e.value) and str(bad) in str(e.value)
    broken = tmp_path / "broken.json"
    broken.write_text('{"unit_name": "x", "year": 2023,', encoding="utf-8")
    with pytest.raises(InputFileError, match="第 1 行"):
        load_targets(broken)
    bom = tmp_path / "bom.json"
    bom.write_bytes(b"\xef\xbb\xbf" + good.read_bytes())  # Notepad's UTF-8 with BOM
    assert load_targets(bom) == seed_targets


def test_data_file_yaml_syntax_error_has_a_line(tmp_path):
    p = tmp_path / "a.yaml"
    p.write_text("unit_name: x\nyear: [2023\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="第 .* 行"):
        load_actuals(p)


def test_missing_file(tmp_path):
    with pytest.raises(InputFileError, match="文件不存在"):
        load_targets(tmp_path / "nope.yaml")


def test_duplicate_table_ids(tmp_path):
    p = tmp_path / "t.yaml"
    p.write_text("unit_name: x\nyear: 2023\ntables:\n"
                 "  - {id: t, kind: 项目, title: a, unit_name: x, year: 2023}\n"
                 "  - {id: t, kind: 项目, title: b, unit_name: x, year: 2023}\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="表编号重复"):
        load_targets(p)


def test_unmatched_actual_is_a_finding(tmp_path, seed_targets, mof):
    from evaluator.model import ActualSet, Actual, TableActuals

    actuals = ActualSet(unit_name="x", year=2023, tables=[
        TableActuals(table="business-2023", indicators=[Actual(indicator="不存在的指标", actual="1次")]),
        TableActuals(table="no-such-table", indicators=[])])
    ev = evaluate(seed_targets, actuals, mof)
    codes = [(f.code, f.location.table) for f in ev.findings if f.code == "unmatched-actual"]
    assert codes == [("unmatched-actual", "no-such-table"), ("unmatched-actual", "business-2023")]
