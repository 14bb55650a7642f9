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
from .test_parse import BLANK, DEADLINES, NOT_APPLICABLE, NUMBERS, QUALITATIVE, RATES, UNREADABLE

FUZZ = os.environ.get("EVALUATOR_FUZZ") == "1"
settings.register_profile("fuzz", max_examples=100_000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
settings.register_profile("quick", max_examples=300, deadline=None,
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
