"""The 计算过程 of a whole scored frame (``explain.frame_texts``, what ``score --json`` and batch write) is
``explain.row_text`` of each row, byte for byte — for every method, status and edge case, under every rule set
and the variants that switch on what the shipped ones leave off (over-achievement, missing = 0, 不适用 = full,
stepped, banded, threshold, value bands, other decimals)."""
from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from evaluator import losses
from evaluator.columns import records
from evaluator.explain import TEXT_COLUMNS, frame_texts, row_text
from evaluator.frame import FRAME_COLUMNS, indicator_frame, rows_frame
from evaluator.intake import read_inputs
from evaluator.rules import METHODS, Rounding, load_rules, method_from_dict
from evaluator.score import score_frame
from evaluator.totals import table_totals
from evaluator.whatif import Change

from .conftest import CASES, ROOT

LEVEL1 = ["产出指标", "效益指标", "满意度指标", "其他指标", "", None]
LEVEL2 = ["数量指标", "质量指标", "时效指标", "成本指标", "社会效益指标", "服务对象满意度指标", "", None]
NAMES = ["会议次数", "投诉率", "结余控制率", "年度资金支付完成率100%", "指标1：满意度", "完成时限", "", None]
TARGETS = ["≥5次", "20个", "100%", "≤50万元", "2023年底", "12月底前", "有所提升", "", None, "abc", "≥90%", "不少于3人",
           "4次/界别", "≤10%", "≧735人次", "=100%", "≤2天", "0", "=0", "≤0", "528.244101万", "3亿元", "100±5%", "±2天",
           "≥95%，每低于5%扣2分", "≤100%，计5分；每超过一个百分点扣0.5分，扣完为止", "无", "不适用", "不详", "1e400",
           "-5", "0.5", "50%", "2023年6月30日前", "按期", "达成"]
ACTUALS = ["6次", "15", "98%", "45万元", "2023年11月", "2024年1月", "达成", "", None, "无", "部分达成", "abc", "-3", "120%",
           "4次/界别", "44次", "是", "531人次", "#DIV/0!", "3天", "0", "0.98", "1", "未达成", "已完成", "不详", "待统计",
           "达成预期指标", "2023年12月31日", "100", "5", "105%", "1.2亿", "528.244101万", "99.999999", "7人次"]
SCORING = [None, None, None, {"method": "step-deduction", "step": 5, "points": 2},
           {"method": "value-bands", "bands": [{"max": 0, "points": 5}, {"max": 10, "points": 3}]},
           {"method": "threshold"}, {"method": "banded", "bands": [{"min_ratio": 1, "fraction": 1},
                                                                  {"min_ratio": 0.8, "fraction": 0.6}]}]


def _variants() -> list:
    """Each shipped rule set, and mof-2020 with what the shipped ones leave off."""
    mof = load_rules("mof-2020")
    out = [mof, load_rules("provincial-platform-2022")]
    scoring = mof.scoring
    for higher in ("step-deduction", "banded", "threshold", "value-bands"):
        spec = next((s for s in SCORING if s and s["method"] == higher), None)
        out.append(mof.model_copy(update={"scoring": scoring.model_copy(update={"higher": method_from_dict(spec, "test")}),
                                          "missing_actual": "zero", "not_applicable": "full"}))
    out.append(mof.model_copy(update={
        "over_achievement": mof.over_achievement.model_copy(update={"enabled": True}),
        "rounding": Rounding(decimals=4, mode="floor"),
        "scoring": scoring.model_copy(update={"lower": method_from_dict({"method": "inverse-ratio"}, "test"),
                                              "qualitative": scoring.qualitative.model_copy(
                                                  update={"unknown_phrase": "error"})})}))
    return out


VARIANTS = _variants()


def _assert_texts(frame, rules) -> None:
    scored = score_frame(frame, rules)
    expected = [row_text(r, rules) for r in records(scored, TEXT_COLUMNS)]
    got = frame_texts(scored, rules)
    assert len(got) == len(expected)
    for i, (g, e) in enumerate(zip(got, expected)):
        assert g == e, (i, g, e)


row = st.fixed_dictionaries({
    "table": st.sampled_from(["t1", "t2"]), "year": st.sampled_from([2023, None]),
    "level1": st.sampled_from(LEVEL1), "level2": st.sampled_from(LEVEL2), "level3": st.sampled_from(NAMES),
    "target_raw": st.one_of(st.sampled_from(TARGETS), st.builds(lambda x, u: f"≥{x:g}{u}", st.floats(-10, 1e6),
                                                                 st.sampled_from(["", "次", "%", "万元", "人"]))),
    "unit_col": st.sampled_from([None, None, "次", "%", "万元"]),
    "weight_given": st.sampled_from([None, None, 0.0, 5.0, 8.34, 10.0, 33.333, -0.0]),
    "direction": st.sampled_from([None, None, "lower", "higher", "equal"]),
    "rate_base": st.sampled_from([None, None, 11.0, 3.0]), "scoring": st.sampled_from(SCORING),
    "actual_raw": st.one_of(st.sampled_from(ACTUALS), st.builds(lambda x, u: f"{x:g}{u}", st.floats(-10, 1e6),
                                                                 st.sampled_from(["", "次", "%", "万元", "人次"]))),
    "band": st.sampled_from([None, None, None, "achieved", "partial", "not-achieved"]),
    "judged_score": st.sampled_from([None, None, None, 0.0, 3.5, 8.0, 100.0]),
    "actual_rate_base": st.sampled_from([None, None, 11.0]),
    "budget": st.sampled_from([None, 100.0, 0.0]), "spent": st.sampled_from([None, 90.0, 120.0]),
})


def _frame(rows: list[dict]):
    tuples = []
    for k, r in enumerate(rows):
        values = {**r, "position": k, "row": k + 2, "deviation_note": None, "claimed": None, "has_actual_entry": True}
        tuples.append(tuple(values[c] for c in FRAME_COLUMNS))
    return rows_frame(tuples)


@st.composite
def near_duplicates(draw) -> list[dict]:
    """A few rows, then a table of them each with one value taken from another: rows that share all but one of
    the values a text reads (where a part rendered once per distinct value could go wrong)."""
    pool = draw(st.lists(row, min_size=1, max_size=6))
    picks = draw(st.lists(st.tuples(st.integers(0, len(pool) - 1), st.integers(0, len(pool) - 1),
                                    st.sampled_from(sorted(pool[0]))), min_size=1, max_size=40))
    return [{**pool[i], key: pool[j][key]} for i, j, key in picks]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(rows=st.one_of(st.lists(row, min_size=1, max_size=40), near_duplicates()), which=st.integers(0, len(VARIANTS) - 1))
def test_frame_texts_are_row_text_of_every_row(rows, which):
    _assert_texts(_frame(rows), VARIANTS[which])


def test_per_unit_targets_and_counts():
    """Totals divided by a count (计量基数) next to the same numbers entered per unit, in every unit and scale."""
    rows = []
    for target in ("4次/界别", "4次/年/界别", "3.5人/界别", "≥4次/界别", "528.244101万", "4次"):
        for actual in ("44次", "4次/界别", "4次/年/界别", "44", "4", "38.5人", "0"):
            for base, own in ((11.0, None), (None, 11.0), (None, None), (4.0, 11.0)):
                rows.append({"table": "t", "year": 2023, "level1": "产出指标", "level2": "数量指标", "level3": "x",
                             "target_raw": target, "unit_col": None, "weight_given": None, "direction": None,
                             "rate_base": base, "scoring": None, "actual_raw": actual, "band": None, "judged_score": None,
                             "actual_rate_base": own, "budget": None, "spent": None})
    for rules in VARIANTS:
        _assert_texts(_frame(rows), rules)


def _inputs() -> list[list[Path]]:
    fixtures = ROOT / "tests" / "fixtures"
    found = [[p] for p in sorted(CASES.glob("*.csv"))]
    found += [[p] for p in sorted((fixtures / "published").glob("*")) if p.suffix in (".csv", ".xlsx", ".docx")]
    found += [[fixtures / n] for n in ("self-evaluation.xlsx", "bad/weights.csv", "bad/negative-and-absurd.csv",
                                       "bad/duplicated.csv")]
    found = [[*f, None] for f in found]
    found += [[p, ROOT / "data" / "actuals" / p.name] for p in sorted((ROOT / "data" / "targets").glob("*.yaml"))]
    return found


@pytest.mark.parametrize("files", _inputs(), ids=lambda f: f[0].name)
def test_frame_texts_of_the_real_tables(files):
    got = read_inputs(*files)
    frame, _ = indicator_frame(got.targets, got.actuals)
    assert len(frame)
    for rules in VARIANTS:
        _assert_texts(frame, rules)


def test_every_method_renders_its_texts_from_templates():
    """Each registered method gives templates (or frame_texts would fall back to row_text for its rows)."""
    from evaluator.explain import _fields

    for name, cls in METHODS.items():
        spec = next((s for s in SCORING if s and s["method"] == name), {"method": name})
        method = method_from_dict(spec, "test") if name != "qualitative" else load_rules("mof-2020").scoring.qualitative
        assert all(_fields(t) is not None for t in method.texts()), name


def test_a_table_of_one_method_and_one_case():
    """The column-wise fill and the per-distinct parts on a large uniform table (one template, one case)."""
    rows = [{"table": "t", "year": 2023, "level1": "产出指标", "level2": "数量指标", "level3": f"指标{i}",
             "target_raw": "≥5次", "unit_col": None, "weight_given": None, "direction": None, "rate_base": None,
             "scoring": None, "actual_raw": f"{i % 7}次", "band": None, "judged_score": None, "actual_rate_base": None,
             "budget": 100.0, "spent": 90.0} for i in range(3000)]
    for rules in VARIANTS:
        _assert_texts(_frame(rows), rules)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(rows=st.lists(row, min_size=1, max_size=30), data=st.data())
def test_confirming_only_the_changed_rows_is_confirming_on_the_whole_frame(rows, data):
    """``losses._confirm`` scores only the proposals' rows (with their tables' weights) and each budget table's
    budget row: the same confirmed rows, execution and caps as the whole frame changed and scored — also when a
    proposal turns a row 不适用 (then it scores the whole frame itself)."""
    frame = _frame(rows)
    rules = VARIANTS[data.draw(st.integers(0, len(VARIANTS) - 1))]
    scored = score_frame(frame, rules)
    picked = data.draw(st.lists(st.integers(0, len(frame) - 1), unique=True))
    proposals, at = {}, {}
    for i in picked:
        key = (str(frame["table"].iat[i]), int(frame["position"].iat[i]))
        proposals[key] = Change(table=key[0], position=key[1], actual=data.draw(st.sampled_from(ACTUALS[:-1] + ["达成"])),
                                judged_score=data.draw(st.sampled_from([None, 5.0])))
        at[key] = i
    totals = table_totals(scored, rules)
    budgets = {tid: t for tid, t in totals.iterrows() if t["budget"] == t["budget"] and t["budget"] > 0
               and data.draw(st.booleans())}
    whole = losses._confirm(frame, rules, proposals, budgets)
    assert losses._confirm(frame, rules, proposals, budgets, scored, at) == whole


def test_point_losses_are_those_of_the_whole_frame_confirmation(monkeypatch):
    """The losses of real and generated tables, confirmed on the changed rows, equal those confirmed on the whole
    frame (the path taken when (table, position) does not name one row)."""
    from evaluator.evaluation import evaluate_scored

    for files in _inputs():
        got = read_inputs(*files)
        for rules in VARIANTS[:2]:
            _, scored = evaluate_scored(got.targets, got.actuals, rules)
            fast = losses.point_losses(got.targets, got.actuals, rules, scored=scored)
            with monkeypatch.context() as m:
                m.setattr(losses, "_unique_keys", lambda s: False)
                whole = losses.point_losses(got.targets, got.actuals, rules, scored=scored)
            assert [t.model_dump() for t in fast] == [t.model_dump() for t in whole], files


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(rows=st.one_of(st.lists(row, min_size=1, max_size=40), near_duplicates()), which=st.integers(0, len(VARIANTS) - 1))
def test_group_sums_are_the_sums_over_the_rows(rows, which):
    """A table's groups from its columns (``evaluation._GroupSums``) are those summed row by row: each weight
    group, then each 一级指标 outside the groups in order of appearance (a missing one too), Python's sum —
    whether it factorises the names itself or is given their codes; and the unknown names the table checks are
    given from those codes are the distinct 一级指标 outside the groups, in order."""
    from evaluator.columns import NameCodes
    from evaluator.evaluation import _GroupSums, _outside_names

    rules = VARIANTS[which]
    frame = _frame(rows)
    level1 = NameCodes(frame["level1"])
    scored = score_frame(frame, rules, level1)
    sums, coded = _GroupSums(scored, rules), _GroupSums(scored, rules, level1)
    for table, at in scored.groupby("table", sort=False, observed=True).indices.items():
        by_group: dict = {}
        by_level1: dict = {}
        for r in records(scored.iloc[at], ["level1", "group", "weight", "score", "status"]):
            (by_level1.setdefault(r["level1"], []) if r["group"] is None else by_group.setdefault(r["group"], [])).append(r)
        expected = {}
        for label, members in [*[(g.label, by_group[g.key]) for g in rules.weights.groups if g.key in by_group],
                               *by_level1.items()]:
            expected[label] = {"weight": round(sum(r["weight"] for r in members), rules.rounding.decimals),
                               "score": round(sum(r["score"] for r in members if r["status"] == "ok"),
                                              rules.rounding.decimals)}
        got = sums.groups(at)
        assert list(got) == list(expected) and got == expected
        got = coded.groups(at)  # (the names' codes given, as ``score_frame`` made them)
        assert list(got) == list(expected) and got == expected
        # the unknown 一级指标 the table checks are given: those of the rows outside the groups, in order
        outside = [r["level1"] for r in records(scored.iloc[at], ["level1", "group"]) if r["group"] is None]
        assert _outside_names(level1, at[scored["group"].isna().to_numpy()[at]]) == list(dict.fromkeys(outside))


FLOATS = st.one_of(st.sampled_from([0.0, -0.0, 0.1, 0.2, 0.3, 1e16, -1e16, 2.675, 1.005, float("nan"), float("inf"),
                                    -float("inf")]), st.floats(-1e6, 1e6), st.floats(allow_nan=True, allow_infinity=True))


@settings(max_examples=300, deadline=None)
@given(runs=st.lists(st.lists(FLOATS, min_size=1, max_size=5), min_size=1, max_size=30),
       decimals=st.sampled_from([0, 2, 4]))
def test_group_sums_and_rounding_are_pythons_to_the_bit(runs, decimals):
    """``_sums`` (runs of one or two values added column-wise) is Python's ``sum`` of each run, and ``_pairs``
    (rounded once per distinct value, a dict per distinct pair) is ``round`` of each, bit for bit: −0.0 stays
    apart from 0.0, NaN and infinities included."""
    import struct

    import numpy as np

    from evaluator.evaluation import _pairs, _sums

    values = np.array([x for run in runs for x in run], dtype=np.float64)
    sizes = np.array([len(run) for run in runs])
    ends = np.cumsum(sizes)
    starts = ends - sizes
    got = _sums(values, starts, ends)
    expected = [sum(run) for run in runs]

    def bits(xs):
        return [struct.pack("<d", x) for x in xs]

    assert bits(got.tolist()) == bits(expected)
    other = values[::-1].copy()
    pairs = _pairs(values, other, decimals)
    assert bits([p["weight"] for p in pairs]) == bits([round(x, decimals) for x in values.tolist()])
    assert bits([p["score"] for p in pairs]) == bits([round(x, decimals) for x in other.tolist()])
    assert all(list(p) == ["weight", "score"] for p in pairs)
