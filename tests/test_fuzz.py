"""Property-based fuzzing: random and mutated input never raises anything but evaluator's own errors, and every
problem it reports is located. `make test` runs a small profile; `make fuzz` runs ≥ 100,000 parser examples."""
from __future__ import annotations

import os
import random

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from evaluator import EvaluatorError, evaluate
from evaluator.model import ValueKind
from evaluator.parse import parse_value

from .conftest import one_table
from .test_parse import BLANK, DEADLINES, NOT_APPLICABLE, NUMBERS, QUALITATIVE, RATES, UNREADABLE, _median_ms

FUZZ = os.environ.get("EVALUATOR_FUZZ") == "1"
settings.register_profile("fuzz", max_examples=100_000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
settings.register_profile("quick", max_examples=300, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
PROFILE = settings.get_profile("fuzz" if FUZZ else "quick")

REAL = [t for t, *_ in NUMBERS] + [t for t, *_ in RATES] + [t for t, _ in DEADLINES] + [t for t, _ in QUALITATIVE] + \
    NOT_APPLICABLE + [b for b in BLANK if b] + UNREADABLE
PIECES = ["≥", "≤", "≧", "＞=", "不低于", "以内", "控制在", "±", "%", "％", "万", "亿", "元", "次", "人次", "/年/界别", "年底", "12月",
          "２０２３", "五", "两", "十二", "，", "。", "(含)", "以上", "-", ".", ",", "\n", " ", "\u3000", "无", "/", "达成", "未完成"]


def mutate(rng: random.Random, text: str) -> str:
    chars = list(text)
    for _ in range(rng.randint(1, 4)):
        op = rng.random()
        pos = rng.randint(0, len(chars))
        if op < 0.4:
            chars[pos:pos] = list(rng.choice(PIECES))
        elif op < 0.7 and chars:
            del chars[min(pos, len(chars) - 1)]
        elif chars:
            chars[min(pos, len(chars) - 1)] = chr(rng.randint(32, 0x9FFF))
    return "".join(chars)


def _check(p) -> None:
    assert p.kind in set(ValueKind)
    if p.kind == ValueKind.UNREADABLE:
        assert p.problem
    if p.value is not None:
        assert p.value == p.value  # never NaN
    if p.kind == ValueKind.DEADLINE:
        assert p.deadline and 1 <= p.deadline[1] <= 12


@PROFILE
@given(st.text(max_size=40))
def test_parser_never_raises_on_random_text(text):
    _check(parse_value.__wrapped__(text))


@PROFILE
@given(st.sampled_from(REAL), st.integers(0, 2**32 - 1))
def test_parser_never_raises_on_mutated_real_strings(text, seed):
    _check(parse_value.__wrapped__(mutate(random.Random(seed), text)))


@PROFILE
@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12),
       st.sampled_from(["", "次", "%", "万元", "人次", "个/人", "天"]), st.sampled_from(["", "≥", "≤", "=", "不少于"]))
def test_numbers_with_units_round_trip(number, unit, op):
    p = parse_value.__wrapped__(f"{op}{number:.4f}{unit}")
    assert p.kind in (ValueKind.NUMBER, ValueKind.RATE)


@settings(parent=PROFILE, max_examples=min(PROFILE.max_examples, 300 if not FUZZ else 3000))
@given(st.lists(st.tuples(st.sampled_from(REAL), st.sampled_from(REAL + ["", None]),
                          st.one_of(st.none(), st.floats(0, 60))), min_size=1, max_size=8),
       st.one_of(st.none(), st.floats(0, 200)), st.one_of(st.none(), st.floats(0, 200)))
def test_scoring_never_raises_and_every_finding_is_located(rows, budget, spent):
    table = [("产出指标" if k % 2 else "效益指标", "数量指标", f"指标{k}", t, a, w) for k, (t, a, w) in enumerate(rows)]
    t, a = one_table(table, budget=budget, spent=spent)
    ev = evaluate(t, a, __import__("evaluator").load_rules())
    for f in ev.findings:
        assert f.location.table and f.message
    for table_ in ev.tables:
        for i in table_.indicators:
            assert i.status in ("ok", "na", "error")
            assert i.score is None or 0 <= i.score <= (i.weight or 0) + 1e-9


@settings(parent=PROFILE, max_examples=min(PROFILE.max_examples, 200 if not FUZZ else 2000))
@given(st.lists(st.lists(st.sampled_from(REAL + ["一级指标", "二级指标", "三级指标", "年度指标值", "实际完成值", "分值", "得分",
                                              "", "总分", "产出指标", "=1+1", "\ufeff"]), min_size=1, max_size=9),
                min_size=1, max_size=12))
def test_flat_table_reader_raises_only_its_own_errors(tmp_path_factory, rows):
    import csv

    from evaluator import read_flat_table

    path = tmp_path_factory.mktemp("fuzz") / "t.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    try:
        t, a = read_flat_table(path, budget=10, spent=9)
        evaluate(t, a, __import__("evaluator").load_rules())
    except EvaluatorError as e:
        assert str(path) in str(e)


@settings(parent=PROFILE, max_examples=min(PROFILE.max_examples, 200 if not FUZZ else 2000))
@given(st.recursive(st.one_of(st.none(), st.booleans(), st.integers(-5, 200), st.text(max_size=8)),
                    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner,
                                                                                          max_size=3)), max_leaves=8),
       st.sampled_from(["weights", "scoring", "execution", "rounding", "grades", "over_achievement", "direction",
                        "not_applicable", "missing_actual", "version", "sources"]))
def test_rule_loader_raises_only_rule_set_errors(tmp_path_factory, value, key):
    import yaml

    from evaluator import RuleSetError, load_rules

    data = load_rules().model_dump(mode="json", exclude={"extends"})
    data[key] = value
    path = tmp_path_factory.mktemp("rules") / "r.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    try:
        load_rules(path)
    except RuleSetError as e:
        assert str(path) in str(e)


@pytest.mark.parametrize("env,make,expected", [
    ({"EVALUATOR_MAX_ROWS": "1000"}, "sparse", "表格过大（200001 行"),
    ({"EVALUATOR_MAX_CELL_CHARS": "100"}, "long-cell", "单元格内容过长（5000 个字符，上限 100）"),
])
def test_limits_are_settings(tmp_path, monkeypatch, env, make, expected):
    from openpyxl import Workbook

    from evaluator.forms import import_form

    for k, v in env.items():
        monkeypatch.setenv(k, v)
    wb = Workbook()
    ws = wb.active
    ws["A1"] = "2023年项目支出绩效目标表"
    if make == "sparse":
        ws.cell(row=200_001, column=1, value="x")  # a sheet that claims 200,001 rows
    else:
        ws["A2"] = "长" * 5000
    path = tmp_path / f"{make}.xlsx"
    wb.save(path)
    with pytest.raises(EvaluatorError) as e:
        import_form(path)
    assert expected in str(e.value) and str(path) in str(e.value)


def test_zip_bomb_is_refused_before_opening(tmp_path, monkeypatch):
    import zipfile

    from evaluator.forms import import_form

    monkeypatch.setenv("EVALUATOR_MAX_UNPACKED_MB", "5")
    path = tmp_path / "bomb.docx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", b"\0" * (20 * 1024 * 1024))  # 20 MB of zeros, a few KB packed
    assert path.stat().st_size < 100_000
    with pytest.raises(EvaluatorError, match="解压后过大（20 MB，上限 5 MB），可能是恶意文件"):
        import_form(path)


def test_dates_typed_in_excel_are_read_as_dates(tmp_path, mof):
    import datetime as dt

    from openpyxl import Workbook

    from evaluator import read_flat_table

    wb = Workbook()
    ws = wb.active
    ws.append(["一级指标", "二级指标", "三级指标", "年度指标值", "实际完成值", "分值"])
    ws.append(["产出指标", "时效指标", "完成时限", "2023年底", dt.datetime(2023, 12, 20), 90])
    ws["E2"].number_format = "yyyy-mm-dd"
    path = tmp_path / "dates.xlsx"
    wb.save(path)
    t, a = read_flat_table(path, budget=1, spent=1)
    assert a.tables[0].indicators[0].actual == "2023年12月20日"
    assert evaluate(t, a, mof).tables[0].indicators[0].score == 90


def test_outputs_do_not_depend_on_the_hash_seed(tmp_path):
    """The same inputs give byte-identical files whatever PYTHONHASHSEED is (set and dict order never leak)."""
    import hashlib
    import subprocess
    import sys

    from .conftest import SEED_ACTUALS, SEED_TARGETS

    digests = []
    for seed in ("0", "1", "12345"):
        out = tmp_path / seed
        env = {**os.environ, "PYTHONHASHSEED": seed}
        r = subprocess.run([sys.executable, "-m", "evaluator", "report", str(SEED_TARGETS), str(SEED_ACTUALS), "-o",
                            str(out), "--format", "xlsx,html,pdf"], env=env, capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        r = subprocess.run([sys.executable, "-m", "evaluator", "score", str(SEED_TARGETS), str(SEED_ACTUALS), "--json"],
                           env=env, capture_output=True, text=True, timeout=300)
        files = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(out.iterdir())}
        digests.append((files, hashlib.sha256(r.stdout.encode()).hexdigest()))
    assert digests[0] == digests[1] == digests[2]


def test_a_writer_killed_midway_leaves_the_old_or_the_new_file(tmp_path):
    """Kill a process that keeps rewriting a workbook and a data file: what is left always opens and is complete."""
    import signal
    import subprocess
    import sys
    import time

    from openpyxl import load_workbook

    script = tmp_path / "writer.py"
    script.write_text(
        "import sys\n"
        "from pathlib import Path\n"
        "from evaluator import load_rules, load_targets\n"
        "from evaluator.output import write_atomic\n"
        "from evaluator.workbook import write_template\n"
        f"t = load_targets({str(__import__('tests.conftest', fromlist=['x']).SEED_TARGETS)!r})\n"
        "rules = load_rules()\n"
        "out = Path(sys.argv[1])\n"
        "for k in range(100):\n"
        "    write_template(t, rules, out / 'book.xlsx')\n"
        "    write_atomic(out / 'data.yaml', ('x: ' + str(k) + '\\n') * 20000)\n", encoding="utf-8")
    rng = random.Random(3)
    for round_ in range(6):
        out = tmp_path / f"r{round_}"
        out.mkdir()
        proc = subprocess.Popen([sys.executable, str(script), str(out)])
        time.sleep(1.5 + rng.random() * 2)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        book, data = out / "book.xlsx", out / "data.yaml"
        if book.exists():
            assert load_workbook(book).sheetnames[:2] == ["填报说明", "预算执行"]
        if data.exists():
            lines = data.read_text(encoding="utf-8").splitlines()
            assert len(lines) == 20000 and len(set(lines)) == 1


@settings(parent=PROFILE, max_examples=min(PROFILE.max_examples, 60 if not FUZZ else 1000))
@given(st.lists(st.lists(st.sampled_from(REAL + ["一级指标", "二级指标", "三级指标", "指标值", "实际完成值", "分值",
                                              "2023年项目支出绩效目标表", "项目支出绩效自评表（2023年度）", "部门名称",
                                              "年度绩效指标", "", None]), min_size=1, max_size=7), min_size=1, max_size=10),
       st.lists(st.tuples(st.integers(1, 10), st.integers(1, 7), st.integers(0, 3), st.integers(0, 2)), max_size=6))
def test_form_reader_with_random_merged_cells_raises_only_its_own_errors(tmp_path_factory, rows, merges):
    from openpyxl import Workbook

    from evaluator.forms import import_form

    wb = Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    taken: set[tuple[int, int]] = set()
    for r, c, dr, dc in merges:  # random merged regions that do not overlap
        cells = {(r + i, c + j) for i in range(dr + 1) for j in range(dc + 1)}
        if (dr or dc) and not cells & taken:
            ws.merge_cells(start_row=r, start_column=c, end_row=r + dr, end_column=c + dc)
            taken |= cells
    path = tmp_path_factory.mktemp("forms") / "f.xlsx"
    wb.save(path)
    try:
        result = import_form(path)
    except EvaluatorError as e:
        assert str(path) in str(e)
    else:
        for f in result.findings:
            assert f.location.file and f.message


@settings(parent=PROFILE, max_examples=min(PROFILE.max_examples, 40 if not FUZZ else 500))
@given(st.lists(st.tuples(st.integers(1, 30), st.integers(1, 12),
                          st.one_of(st.none(), st.sampled_from(REAL), st.floats(-1e6, 1e6), st.integers(-5, 500),
                                    st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=12))),
                max_size=12),
       st.lists(st.tuples(st.integers(4, 20), st.integers(7, 11), st.integers(0, 2)), max_size=3))
def test_fill_in_workbook_reader_raises_only_its_own_errors(tmp_path_factory, edits, merges):
    """Random typing and merging in the clerk's workbook: it is read, or refused with the cells named."""
    from openpyxl import load_workbook

    from evaluator import InputFileError, load_rules, load_targets
    from evaluator.workbook import read_workbook, write_template

    from .conftest import SEED_TARGETS

    targets = load_targets(SEED_TARGETS)
    path = tmp_path_factory.mktemp("wb") / "t.xlsx"
    write_template(targets, load_rules(), path)
    wb = load_workbook(path)
    ws = next(w for w in wb.worksheets if str(w["A2"].value or "").startswith("表编号"))  # the first table sheet
    for r, c, v in edits:
        if not any(r in range(rng.min_row, rng.max_row + 1) and c in range(rng.min_col, rng.max_col + 1)
                   for rng in ws.merged_cells.ranges):
            ws.cell(row=r, column=c, value=v)
    for r, c, dr in merges:
        try:
            ws.merge_cells(start_row=r, start_column=c, end_row=r + dr, end_column=c)
        except ValueError:
            pass
    wb.save(path)
    try:
        actuals = read_workbook(path, targets)
    except InputFileError as e:
        assert str(path) in str(e)
    else:
        evaluate(targets, actuals, load_rules())


# --------------------------------------------------------------------------- long texts, aliases, control characters, odd names
LONG_PIECES = PIECES + ["1", "12", "1.5", "每超过", "每低于", "扣", "分", "计", "满分", "个百分点", "=0", "0-10%", "±5%", "次/年",
                        "一", "二十", "年", "月", "底", "(", ")", "达到", "%计", "a", "—", "\t", "\x0b"]


@settings(parent=PROFILE, max_examples=min(PROFILE.max_examples, 60 if not FUZZ else 3000))
@given(st.lists(st.sampled_from(LONG_PIECES), min_size=1, max_size=12), st.text(max_size=3),
       st.sampled_from([20_000, 1_999, 500]))
def test_any_long_text_parses_in_linear_time(pieces, tail, size):
    """Any text up to 20,000 characters — built by repeating a random run of real pieces, which is what makes a regex
    backtrack — parses in under 50 ms (median of 3), in the value parser and the 评分标准 parser."""
    from evaluator.parse import parse_scoring_text

    unit = "".join(pieces)
    text = (unit * (size // len(unit) + 1))[: size - len(tail)] + tail
    assert _median_ms(parse_value.__wrapped__, text, repeats=3) < 50
    assert _median_ms(parse_scoring_text, text, repeats=3) < 50
    _check(parse_value.__wrapped__(text))


_SCALARS = st.one_of(st.sampled_from(["yes", "no", "on", "010", "1:30", "2023-12-20", "~", ".inf", ".nan", "1e999",
                                      "5次", "≥5次", "''", '"x"', "null", "0x1F", "-", "? x", "!!python/object:os.system"]),
                     st.text(st.characters(blacklist_categories=("Cs",)), max_size=6).map(lambda s: '"' + s.replace(
                         "\\", "\\\\").replace('"', '\\"') + '"'))


@st.composite
def _yaml_documents(draw):
    """Random YAML with anchors, aliases (nested, recursive), merge keys, duplicate keys and control characters."""
    lines, anchors = [], []
    for k in range(draw(st.integers(1, 8))):
        key = draw(st.sampled_from(["unit_name", "year", "tables", "note", f"k{k}", "<<", "year"]))
        kind = draw(st.integers(0, 4))
        if kind == 0 and anchors:
            value = "*" + draw(st.sampled_from(anchors))
        elif kind == 1:
            name = f"a{k}"
            refs = [("*" + a) for a in anchors] or ['"x"']
            value = f"&{name} [" + ", ".join(draw(st.lists(st.sampled_from(refs + [f"*{name}"]), min_size=1, max_size=5))) + "]"
            anchors.append(name)
        elif kind == 2:
            value = "[" * draw(st.integers(1, 60)) + "]" * draw(st.integers(1, 60))
        elif kind == 3:
            value = draw(st.sampled_from(["\x00", "\x0b", "\x1b", "\x7f", "\u200b", "\ufeff"])) + draw(_SCALARS)
        else:
            value = draw(_SCALARS)
        lines.append(f"{key}: {value}")
    return "\n".join(lines) + "\n"


@settings(parent=PROFILE, max_examples=min(PROFILE.max_examples, 300 if not FUZZ else 5000))
@given(_yaml_documents())
def test_yaml_with_aliases_and_control_characters_is_read_or_refused_quickly(text):
    """Random YAML — aliases, recursive anchors, merge keys, deep brackets, control characters — is read as plain data
    or refused with evaluator's own located error, at once; and the message quotes at most ~80 characters of input."""
    import time

    from evaluator.load import parse_data

    start = time.perf_counter()
    try:
        data = parse_data(text, "f.yaml")
    except EvaluatorError as e:
        assert str(e).startswith("f.yaml") and len(e.message) < 200
    else:
        assert _no_alias_used(text)  # what was read used no alias
        assert data is None or isinstance(data, (dict, list, str))
    assert time.perf_counter() - start < 2


def _no_alias_used(text: str) -> bool:
    """The text only looked like it used an alias (an asterisk inside quotes)."""
    import re

    return not re.search(r"(^|[\s\[,])\*[A-Za-z]", re.sub(r'"(?:[^"\\]|\\.)*"', "", text))


@settings(parent=PROFILE, max_examples=min(PROFILE.max_examples, 150 if not FUZZ else 2000))
@given(st.lists(st.one_of(st.sampled_from(["../../x", "/etc/passwd", "a/b", "CON", "NUL", "AUX", "x", "./x", "$x$",
                                           "$\\alpha$", "=1+1", "@SUM(A1)", "<script>", "名" * 300, "\x00", "\x0b",
                                           " ", "#", "## 标题", "- 列表", "[[cover]]", "🎉", "✓", "﹦", "≥"]),
                          st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=20)),
                min_size=3, max_size=3),
       st.sampled_from(REAL))
def test_odd_names_score_and_serialise(names, actual):
    """Unit names, table ids and indicator names with path parts, reserved names, mathtext, formulas, markup, emoji
    and control characters: scoring and the JSON output never fail, and the JSON holds no NaN or Infinity."""
    import json

    from evaluator.model import ActualSet, Actual, TableActuals, TargetSet, TargetTable, Indicator
    from evaluator.output import dumps, evaluation_json

    unit, table_id, name = names
    try:
        t = TargetSet(unit_name=unit, year=2023, tables=[TargetTable(
            id=table_id, kind="项目", title=name, unit_name=unit, year=2023,
            indicators=[Indicator(level1="产出指标", level2="数量指标", level3=name, target="≥5次")])])
        a = ActualSet(unit_name=unit, year=2023, tables=[TableActuals(table=table_id, indicators=[
            Actual(indicator=name, actual=actual)])])
    except Exception as e:  # a name the models refuse (blank after stripping) is a validation error, never more
        assert type(e).__name__ == "ValidationError"
        return
    ev = evaluate(t, a, __import__("evaluator").load_rules())
    text = dumps(evaluation_json(ev))
    json.loads(text, parse_constant=lambda c: pytest.fail(f"JSON holds {c}"))
