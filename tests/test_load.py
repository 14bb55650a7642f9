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
    (HEADER + "产出指标,数量指标,a,≥5次,4次,四十五,36,\n", "第 2 行，指标“a”：“分值”应为数字，实际为“四十五”"),
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


@pytest.mark.parametrize("loader", ["load_targets", "load_targets_columns"])
def test_duplicate_table_ids(tmp_path, loader):
    """Both readers of a targets file (models for one department, columns for batch) refuse a repeated 表编号."""
    from evaluator import load, load_columns

    read = {"load_targets": load.load_targets, "load_targets_columns": load_columns.load_targets_columns}[loader]
    p = tmp_path / "t.yaml"
    p.write_text("unit_name: x\nyear: 2023\ntables:\n"
                 "  - {id: t, kind: 项目, title: a, unit_name: x, year: 2023}\n"
                 "  - {id: t, kind: 项目, title: b, unit_name: x, year: 2023}\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="表编号重复"):
        read(p)


def test_unmatched_actual_is_a_finding(tmp_path, seed_targets, mof):
    from evaluator.model import ActualSet, Actual, TableActuals

    actuals = ActualSet(unit_name="x", year=2023, tables=[
        TableActuals(table="business-2023", indicators=[Actual(indicator="不存在的指标", actual="1次")]),
        TableActuals(table="no-such-table", indicators=[])])
    ev = evaluate(seed_targets, actuals, mof)
    codes = [(f.code, f.location.table) for f in ev.findings if f.code == "unmatched-actual"]
    assert codes == [("unmatched-actual", "no-such-table"), ("unmatched-actual", "business-2023")]


# --------------------------------------------------------------------------- YAML and JSON read as data (issue 10 §4, 11 §3–§4)
ACTUALS_HEAD = "unit_name: x\nyear: 2023\ntables:\n  - table: t\n    indicators:\n"


@pytest.mark.parametrize("written,read", [
    ("yes", "yes"), ("no", "no"), ("on", "on"), ("off", "off"), ("010", "010"), ("1:30", "1:30"),
    ("2023-12-20", "2023-12-20"), ("0.50", "0.50"), ("1e3", "1e3"), ("'是'", "是"), ("~", None), ("", None),
    ("'null'", "null"), ("5次", "5次"), ("0x1F", "0x1F"), (".inf", ".inf"),
])
def test_yaml_plain_scalars_stay_the_text_the_user_wrote(tmp_path, written, read):
    p = tmp_path / "a.yaml"
    p.write_text(ACTUALS_HEAD + f"      - indicator: 会议\n        actual: {written}\n", encoding="utf-8")
    assert load_actuals(p).tables[0].indicators[0].actual == read


def test_yaml_numbers_still_reach_number_fields(tmp_path):
    p = tmp_path / "a.yaml"
    p.write_text("unit_name: x\nyear: 2023\nexample: true\ntables:\n  - table: t\n    budget: {budget: 100, spent: 95.5}\n"
                 "    indicators: []\n", encoding="utf-8")
    a = load_actuals(p)
    assert (a.year, a.example, a.tables[0].budget.budget, a.tables[0].budget.spent) == (2023, True, 100.0, 95.5)


@pytest.mark.parametrize("name,text,message", [
    ("dup.yaml", "unit_name: x\nyear: 2023\ntables: []\nunit_name: y\n", "第 4 行：键“unit_name”重复（第 1 行已出现）"),
    ("dup-nested.yaml", ACTUALS_HEAD + "      - {indicator: a, actual: 1, actual: 2}\n", "第 6 行：键“actual”重复"),
    ("dup.json", '{"unit_name": "x", "year": 2023,\n "tables": [{"table": "t", "table": "u"}]}', "第 2 行：键“table”重复"),
    ("alias.yaml", "unit_name: &n x\nyear: 2023\ntables: []\nnote: *n\n", "第 4 行：数据文件中不能使用 YAML 别名（*n）"),
    ("merge.yaml", "base: &b {year: 2023}\n<<: *b\nunit_name: x\ntables: []\n", "数据文件中不能使用 YAML 别名"),
    ("docs.yaml", "unit_name: x\n---\nyear: 2023\n", "第 2 行：文件中有多个 YAML 文档"),
    ("deep.yaml", "unit_name: " + "[" * 40 + "]" * 40 + "\n", "嵌套层数超过 32 层"),
    ("deep.json", '{"unit_name": ' + "[" * 40 + "]" * 40 + "}", "嵌套层数超过 32 层"),
    ("inf.json", '{"unit_name": "x", "year": Infinity, "tables": []}', "JSON 中不能写 Infinity"),
    ("big.json", '{"unit_name": "x", "year": 1e999, "tables": []}', "数值“1e999”超出范围"),
    ("bigint.json", '{"unit_name": "x", "year": ' + "7" * 4400 + ', "tables": []}', "整数位数过多（4400 位）"),
    ("key.yaml", "? [a, b]\n: 1\n", "键必须是简单的文字"),
])
def test_data_files_that_are_not_plain_data_are_refused_with_their_line(tmp_path, name, text, message):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    with pytest.raises(InputFileError) as e:
        load_actuals(p)
    assert message in str(e.value) and str(p) in str(e.value)


def test_billion_laughs_is_refused_at_once(tmp_path):
    """~1 KB of nested aliases expands to 9^9 leaves: refused at the first alias, in milliseconds."""
    import time

    laughs = "".join(f"l{k}: &l{k} [" + ", ".join([f"*l{k - 1}" if k else '"哈"'] * 9) + "]\n" for k in range(9))
    p = tmp_path / "laughs.yaml"
    p.write_text(laughs + "unit_name: *l8\nyear: 2023\ntables: []\n", encoding="utf-8")
    start = time.perf_counter()
    with pytest.raises(InputFileError, match="不能使用 YAML 别名"):
        load_actuals(p)
    assert time.perf_counter() - start < 5  # was 100 s and 13.8 GB


@pytest.mark.parametrize("field,value,message", [
    ("year", "100000000000000000000", "年度应在 2000–2100 之间"),
    ("year", "99999", "年度应在 2000–2100 之间"),
    ("year", "1999", "年度应在 2000–2100 之间"),
    ("weight", ".inf", "应为数字"),
    ("weight", "inf", "应为有限的数字"),
    ("weight", "nan", "应为有限的数字"),
    ("weight", "101", "应不大于 100"),
    ("weight", "-1", "应不小于 0"),
    ("weight", "1" * 5000, "应为有限的数字"),
])
def test_input_numbers_are_range_checked_at_load(tmp_path, field, value, message):
    year, weight = (value, "90") if field == "year" else ("2023", value)
    p = tmp_path / "t.yaml"
    p.write_text(f"unit_name: x\nyear: {year}\ntables:\n  - {{id: t, kind: 项目, title: t, unit_name: x, year: 2023,\n"
                 f"     indicators: [{{level1: 产出指标, level2: 数量指标, level3: 会议, target: ≥5次, weight: {weight}}}]}}\n",
                 encoding="utf-8")
    with pytest.raises(InputFileError) as e:
        load_targets(p)
    text = str(e.value)
    assert message in text and f"{field}：取值" in text
    assert len(text) < 400  # the input is quoted, not printed whole


def test_budget_amounts_are_finite_and_bounded(tmp_path):
    p = tmp_path / "a.yaml"
    p.write_text("unit_name: x\nyear: 2023\ntables:\n  - table: t\n    budget: {budget: 1e300, spent: -5}\n", encoding="utf-8")
    with pytest.raises(InputFileError) as e:
        load_actuals(p)
    assert "budget → budget：取值“1e300”无效（应不大于 1e+12）" in str(e.value)
    assert "budget → spent：取值“-5”无效（应不小于 0）" in str(e.value)


def test_yaml_read_as_data_matches_pyyaml_with_every_scalar_as_text():
    """The loader builds plain data from libyaml's events (bench/bench_load.py measures it against PyYAML)."""
    import yaml

    from evaluator.load import parse_data

    from .conftest import SEED_ACTUALS, SEED_TARGETS

    for path in (SEED_TARGETS, SEED_ACTUALS):
        text = path.read_text(encoding="utf-8")
        assert parse_data(text, "x") == _as_text(yaml.safe_load(text))


def _as_text(x):
    """PyYAML's reading with every scalar turned back into text (what the data reader keeps)."""
    if isinstance(x, dict):
        return {str(k): _as_text(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_as_text(v) for v in x]
    if isinstance(x, bool):
        return str(x).lower()
    return x if x is None or isinstance(x, str) else str(x)


# --------------------------------------------------------------------------- the data reader's shortcuts (batch speed)
_PIECES = ["a", "名", "_x00", "0b_", "_x000B_", "\\", "\\u000b", "\\u005f", "\\b", "\\f", "\\n", "\\v", "\\x0b", "u",
           "\x0b", "\x00", "\x85", "\t", '"', "'", " ", "\n  ", "#"]


def _reference_mapping(path) -> tuple[dict, list]:
    """read_mapping as it was before its shortcut: every string of the parsed data checked (errors.clean_strings)."""
    from evaluator.errors import clean_lines, clean_strings, collecting
    from evaluator.load import parse_data

    with collecting() as found:
        text = path.read_text(encoding="utf-8-sig")
        data = parse_data(clean_lines(text, str(path)), str(path), as_json=path.suffix == ".json")
        return clean_strings(data, str(path)), found


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_data_files_without_escapes_skip_the_string_scan_and_read_the_same(tmp_path, suffix):
    """``read_mapping`` scans the parsed strings for control characters only when the text has an escape that could
    make one (JSON \\u \\b \\f; any YAML backslash) or a control character itself: random texts of such pieces read
    to the same data with the same findings (or the same refusal) as the full scan."""
    from hypothesis import HealthCheck, given, settings, strategies as st

    from evaluator.errors import collecting
    from evaluator.load import read_mapping

    path = tmp_path / f"d{suffix}"

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.lists(st.lists(st.sampled_from(_PIECES), max_size=6).map("".join), min_size=1, max_size=4),
           st.sampled_from(["plain", "double", "single"]))
    def check(values, style):
        if suffix == ".json":
            body = "{" + ", ".join(f'"k{i}": ["{v}", {{"x": "{v}"}}]' for i, v in enumerate(values)) + "}"
        else:
            quote = {"plain": "", "double": '"', "single": "'"}[style]
            body = "".join(f"k{i}:\n  - {quote}{v}{quote}\n  - x: {quote}{v}{quote}\n" for i, v in enumerate(values))
        path.write_text(body, encoding="utf-8")
        try:
            expected = _reference_mapping(path)
        except InputFileError as e:
            with pytest.raises(InputFileError) as got:
                read_mapping(path)
            assert got.value.render() == e.render()
            return
        with collecting() as found:
            data = read_mapping(path)
        assert (data, found) == expected

    check()


def test_nesting_depth_is_counted_as_before():
    """``load._depth`` (level by level over the containers) against the plain recursive count, capped past MAX_DEPTH."""
    import random

    from evaluator.load import MAX_DEPTH, _depth

    def plain(x) -> int:
        if isinstance(x, dict):
            return 1 + max(map(plain, x.values()), default=0)
        if isinstance(x, list):
            return 1 + max(map(plain, x), default=0)
        return 0

    rng = random.Random(5)

    def tree(depth: int):
        if depth == 0 or rng.random() < 0.03:
            return rng.choice(["s", 1, None, [], {}])
        kids = [tree(depth - 1)] + [rng.choice(["s", [], {"k": [1]}]) for _ in range(rng.randint(0, 3))]
        rng.shuffle(kids)
        return kids if rng.random() < 0.5 else {f"k{i}": k for i, k in enumerate(kids)}

    depths = []
    for k in range(400):
        x = tree(rng.randint(0, 45))
        depths.append(plain(x))
        assert _depth(x) == min(plain(x), MAX_DEPTH + 1)
    assert sum(d > MAX_DEPTH for d in depths) > 30 and sum(d <= MAX_DEPTH for d in depths) > 30
    assert _depth("text") == 0 and _depth({}) == 1 and _depth([[[]]]) == 3
