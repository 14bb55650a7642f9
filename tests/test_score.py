"""Scoring: the seed department end to end, each rule, findings, and invariants (hypothesis)."""
from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from evaluator import evaluate
from evaluator.frame import indicator_frame
from evaluator.score import score_frame
from evaluator.totals import table_totals

from .conftest import one_table

# Weights without 分值: 产出 50 over 6 indicators → 8.34, 8.34, 8.33 ×4 (largest remainder, ties by name);
# 效益 30 over 4 → 7.5; 满意度 (a 二级 under 效益 in the seed) → its own group of 10.
SEED_EXPECTED = [
    ("dept-2023", "政协全会", 8.33, 8.33, "ok"),
    ("dept-2023", "政协常委会", 8.33, 8.33, "ok"),
    ("dept-2023", "政协主席会议", 8.34, 6.67, "ok"),  # 4 ÷ 5 × 8.34 = 6.672
    ("dept-2023", "保障区政协机关和政协委员各项工作顺利开展", 8.33, 8.33, "ok"),
    ("dept-2023", "完成工作时限", 8.33, 8.33, "ok"),
    ("dept-2023", "控制在预算数内", 8.34, 8.34, "ok"),  # 526.82万 ≤ 528.244101万
    ("dept-2023", "运用调研成果，积极助力石峰经济社会发展", 7.5, 7.5, "ok"),
    ("dept-2023", "委员履职能力", 7.5, 7.5, "ok"),
    ("dept-2023", "参与区中心工作，助推石峰高质量发展", 7.5, 7.5, "ok"),
    ("dept-2023", "为“一极三区”建设贡献政协力量", 7.5, 7.5, "ok"),
    ("dept-2023", "提案和微建议办理", 10.0, 9.6, "ok"),  # 96 ÷ 100 × 10
    ("business-2023", "政协全会", 5.56, 5.56, "ok"),
    ("business-2023", "政协常委会、主席会议", 5.55, 5.55, "ok"),
    ("business-2023", "双月协商", 5.56, 5.56, "ok"),
    ("business-2023", "专题调研", 5.56, 4.17, "ok"),  # 3 ÷ 4 × 5.56 = 4.17
    ("business-2023", "提案", 5.56, 4.11, "ok"),  # ≤50 with 63: (1 − 13/50) × 5.56 = 4.1144
    ("business-2023", "部门民主监督", 5.55, 5.55, "ok"),
    ("business-2023", "保障区政协机关和政协委员各项工作顺利开展", 5.55, 5.55, "ok"),
    ("business-2023", "完成工作时限", 5.55, 5.55, "ok"),
    ("business-2023", "成本控制数", 5.56, 5.56, "ok"),
    ("business-2023", "运用调研成果，积极助力石峰经济社会发展", 7.5, 7.5, "ok"),
    ("business-2023", "委员履职能力", 7.5, 7.5, "ok"),
    ("business-2023", "参与区中心工作，助推石峰高质量发展", 7.5, 7.5, "ok"),
    ("business-2023", "为“一极三区”建设贡献政协力量", 7.5, 5.0, "ok"),  # judged 5 within 部分达成 60–80%
    ("business-2023", "提案和微建议办理", 10.0, 10.0, "ok"),
    ("sectors-2023", "委员培训", 7.15, 7.15, "ok"),
    ("sectors-2023", "界别活动", 7.14, 6.49, "ok"),  # 40次 ÷ 11 界别 = 3.636 ÷ 4 × 7.14 = 6.49
    ("sectors-2023", "界别调研报告", 7.14, 7.14, "ok"),
    ("sectors-2023", "委员工作室", 7.14, 7.14, "ok"),
    ("sectors-2023", "提升委员整体素质，保障界别活动顺利开展", 7.14, 7.14, "ok"),
    ("sectors-2023", "完成工作时限", 7.14, 7.14, "ok"),
    ("sectors-2023", "成本控制数", 7.15, 7.15, "ok"),  # blank actual → 全年执行数 50.3万 ≤ 53.1万
    ("sectors-2023", "提升委员参政议政水平，为地方经济发展建言献策。", 0.0, None, "na"),  # 无
    ("sectors-2023", "通过学习培训，提升委员整体素质", 10.0, 10.0, "ok"),  # 效益 30 over 3 applicable
    ("sectors-2023", "营造良好的政治生态，促进社会和谐进步。", 10.0, 10.0, "ok"),
    ("sectors-2023", "凝心聚力，推动委员履职，为“一极三区”建设贡献政协力量", 10.0, 10.0, "ok"),
    ("sectors-2023", "收集社情民意，切实为群众排忧解难", 10.0, 9.8, "ok"),
]


def test_seed_department_scores(seed_targets, seed_actuals, mof):
    ev = evaluate(seed_targets, seed_actuals, mof)
    got = [(i.table, i.level3, i.weight, i.score, i.status) for t in ev.tables for i in t.indicators]
    assert got == SEED_EXPECTED
    totals = [(t.table, t.execution.score, t.total, t.grade) for t in ev.tables]
    # dept: 48.33 + 30 + 9.6 + 526.82/541.37×10 (9.73) = 97.66
    assert totals == [("dept-2023", 9.73, 97.66, "优"), ("business-2023", 9.48, 94.14, "优"),
                      ("sectors-2023", 9.47, 98.62, "优")]
    assert ev.unscored_tables == ["2023年区级专项资金绩效目标汇总表"]
    assert ev.example


def test_seed_department_findings(seed_targets, seed_actuals, mof):
    ev = evaluate(seed_targets, seed_actuals, mof)
    got = sorted((f.code, f.severity.value, f.location.table, f.location.indicator) for f in ev.findings)
    assert got == sorted([
        ("blank-target", "warning", "dept-2023", "保障区政协机关和政协委员各项工作顺利开展"),
        ("blank-target", "warning", "dept-2023", "为“一极三区”建设贡献政协力量"),
        ("blank-target", "warning", "business-2023", "保障区政协机关和政协委员各项工作顺利开展"),
        ("blank-target", "warning", "business-2023", "为“一极三区”建设贡献政协力量"),
        ("blank-target", "warning", "sectors-2023", "提升委员整体素质，保障界别活动顺利开展"),
        ("target-contradicts-notes", "warning", "business-2023", "提案"),
        ("cost-from-spent", "info", "sectors-2023", "成本控制数"),
        ("missing-deviation-note", "warning", "sectors-2023", "收集社情民意，切实为群众排忧解难"),
        ("qualitative-assumed", "info", "dept-2023", "运用调研成果，积极助力石峰经济社会发展"),
    ])
    contradiction = next(f for f in ev.findings if f.code == "target-contradicts-notes")
    assert "≤50个" in contradiction.message and "不少于50个" in contradiction.message


def test_trace_reads_like_a_clerk_would_write_it(seed_targets, seed_actuals, mof):
    ev = evaluate(seed_targets, seed_actuals, mof)
    by_name = {(i.table, i.level3): i for t in ev.tables for i in t.indicators}
    assert by_name[("dept-2023", "政协主席会议")].explanation == "实际 4次 ÷ 目标 5次 × 分值 8.34 = 6.67"
    assert by_name[("business-2023", "提案")].explanation == \
        "(1 − (实际 63个 − 目标 50个) ÷ 目标 50个) × 分值 5.56 = 4.11"
    assert by_name[("dept-2023", "政协全会")].rule == "mof-2020@2020.1"
    assert by_name[("dept-2023", "政协全会")].method == "ratio"
    assert "计量基数 11" in by_name[("sectors-2023", "界别活动")].explanation
    assert ev.tables[0].execution.explanation.startswith("执行率 = 全年执行数 526.82 ÷ 全年预算数 541.37 = 97.31%")


def _score(rows, rules, **kw):
    t, a = one_table(rows, **kw)
    return evaluate(t, a, rules)


def _row(ev, i=0):
    return ev.tables[0].indicators[i]


@pytest.mark.parametrize("target,actual,score", [
    ("≥5次", "4次", 8.0), ("≥5次", "6次", 10.0), ("5次", "4", 8.0), ("≥95%", "0.9", 9.47),
    ("≤50个", "50个", 10.0), ("≤50个", "75个", 5.0), ("≤50个", "100个", 0.0), ("=100%", "98%", 9.8),
    ("=0", "0", 10.0), ("=0", "1", 0.0), ("100±5%", "104%", 10.0), ("100±5%", "94%", 0.0),
    ("2023年底", "2023年12月", 10.0), ("2023年底", "2024年1月", 0.0), ("12月底前", "按期完成", 10.0),
    ("有所提升", "有所提升", 10.0), ("有所提升", "部分达成", 7.0), ("有所提升", "未达成", 3.0),
    ("≥100个", "完成", 10.0), ("≤90万元", "90", 10.0), ("≥266米", "≥266米", 10.0), ("≥5次", "-2次", 0.0),
])
def test_rules_of_the_national_default(mof, target, actual, score):
    ev = _score([("产出指标", "数量指标", "x", target, actual, 10), ("产出指标", "数量指标", "y", "1次", "1次", 80)], mof)
    assert _row(ev).score == score


def test_missing_actual_is_an_error_not_zero(mof):
    ev = _score([("产出指标", "数量指标", "x", "≥5次", None, 10), ("产出指标", "数量指标", "y", "1次", "1次", 80)], mof)
    assert (_row(ev).status, _row(ev).score) == ("error", None)
    assert ev.tables[0].total is None and not ev.tables[0].complete
    f = next(f for f in ev.findings if f.code == "missing-actual")
    assert f.location.indicator == "x" and f.location.column == "实际完成值" and f.severity.value == "error"


def test_missing_actual_zero_when_the_rule_set_says_so(mof):
    rules = mof.model_copy(update={"missing_actual": "zero"})
    ev = _score([("产出指标", "数量指标", "x", "≥5次", None, 10), ("产出指标", "数量指标", "y", "1次", "1次", 80)], rules)
    assert (_row(ev).status, _row(ev).score) == ("ok", 0.0)
    assert ev.tables[0].total == 90.0


def test_not_applicable_rescales_the_rest(mof):
    rows = [("产出指标", "数量指标", "a", "≥5次", "5次", 45), ("产出指标", "数量指标", "b", "无", "无", 45)]
    a, b = _score(rows, mof).tables[0].indicators
    assert (b.status, b.weight, b.score) == ("na", 0.0, None)
    assert (a.weight, a.score) == (90.0, 90.0)  # 45 scaled by 90 / 45


def test_a_missing_weight_group_is_shared_by_the_others(mof):
    # no 满意度 indicator: 产出 50 and 效益 30 share its 10 → 56.25 and 33.75, still 90 in all
    ev = _score([("产出指标", "数量指标", "a", "1次", "1次"), ("效益指标", "社会效益指标", "b", "有效", "有效")], mof)
    assert [i.weight for i in ev.tables[0].indicators] == [56.25, 33.75]
    assert ev.tables[0].total == 100.0
    assert [f.code for f in ev.findings] == ["group-rescaled"]


def test_not_applicable_full_when_the_rule_set_says_so(mof):
    rules = mof.model_copy(update={"not_applicable": "full"})
    ev = _score([("产出指标", "数量指标", "a", "≥5次", "4次", 45), ("产出指标", "数量指标", "b", "无", "无", 45)], rules)
    assert ev.tables[0].indicators[0].weight == 45.0


def test_unit_mismatch_is_an_error(mof):
    ev = _score([("产出指标", "数量指标", "x", "≥5次", "5个月", 90)], mof)
    assert (_row(ev).status, ev.findings[0].code) == ("error", "unit-mismatch")


def test_word_actual_for_a_number_is_scored_by_band_with_a_warning(mof):
    ev = _score([("产出指标", "数量指标", "x", "≥5次", "完成", 90)], mof)
    assert _row(ev).score == 90
    assert "word-actual" in {f.code for f in ev.findings}


def test_rate_without_base_asks_for_it(mof):
    ev = _score([("产出指标", "数量指标", "界别活动", "4次/年/界别", "40次", 90)], mof)
    assert _row(ev).status == "error"
    assert {f.code for f in ev.findings} >= {"rate-needs-base"}
    ev = _score([("产出指标", "数量指标", "界别活动", "4次/年/界别", "3次/年/界别", 90)], mof)
    assert _row(ev).score == 67.5


def test_cost_direction_comes_from_level2(mof):
    ev = _score([("产出指标", "成本指标", "成本控制数", "31.5万", "34.65万元", 90)], mof)
    # 10% over the ceiling: (1 − 0.1) × 90
    assert _row(ev).score == 81.0
    assert ev.findings == [] or all(f.code != "cost-without-ceiling" for f in ev.findings)


def test_lower_names_are_lower_is_better(mof):
    ev = _score([("效益指标", "社会效益指标", "投诉率", "2%", "3%", 90)], mof)
    assert _row(ev).score == 45.0


def test_direction_override(mof):
    ev = _score([("产出指标", "数量指标", "x", "50个", "60个", 90, {"direction": "lower"})], mof)
    assert _row(ev).score == 72.0


def test_per_indicator_scoring_override(mof):
    spec = {"method": "step-deduction", "step": 5, "points": 2}
    ev = _score([("过程", "预算执行", "预算完成率", "100%", "92%", 5, {"scoring": spec}),
                 ("产出指标", "数量指标", "y", "1次", "1次", 85)], mof)
    assert (_row(ev).score, _row(ev).method) == (1.0, "step-deduction")


def test_judged_score_outside_its_band_is_clamped_and_reported(mof):
    ev = _score([("效益指标", "社会效益指标", "x", "有所提升", "部分达成", 90, {"judged_score": 20})], mof)
    assert _row(ev).score == 54.0  # 60% of 90: the band's floor
    assert "judged-out-of-band" in {f.code for f in ev.findings}


def test_claimed_score_mismatch(mof):
    ev = _score([("产出指标", "数量指标", "x", "≥5次", "5次", 90, {"claimed_score": 85})], mof)
    f = next(f for f in ev.findings if f.code == "claimed-score-mismatch")
    assert "85" in f.message and "90" in f.message


def test_weights_not_adding_up(mof):
    ev = _score([("产出指标", "数量指标", "x", "≥5次", "5次", 50)], mof)
    assert "weights-not-100" in {f.code for f in ev.findings}


def test_missing_deviation_note(mof):
    ev = _score([("产出指标", "数量指标", "x", "≥5次", "4次", 90)], mof)
    assert [f.code for f in ev.findings] == ["missing-deviation-note"]
    ev = _score([("产出指标", "数量指标", "x", "≥5次", "4次", 90, {"deviation_note": "原因"})], mof)
    assert ev.findings == []


@pytest.mark.parametrize("rule,actual,weight,score", [
    # 长沙雨花区 2022 部门整体 评价标准 (shared/cases/hunan-yuhua-dev-2022), with actuals supplied here
    ("以100%为标准。在职人员控制率≤100%，计5分；每超过一个百分点扣0.5分，扣完为止。", "103%", 5, 3.5),
    ("以100%为标准。在职人员控制率≤100%，计5分；每超过一个百分点扣0.5分，扣完为止。", "98%", 5, 5.0),
    ("“三公经费”变动率≤0，计8分；“三公经费”>0，每超过一个百分点扣0.8分，扣完为止。", "2.5%", 8, 5.6),
    ("100%计满分，每低于5%扣2分，扣完为止。", "92%", 5, 1.0),
    ("预算控制率=0，计5分；0-10%(含)，计4分；10-20%(含)，计3分；20-30%(含)，计2分；大于30%不得分", "0", 5, 5.0),
    ("预算控制率=0，计5分；0-10%(含)，计4分；10-20%(含)，计3分；20-30%(含)，计2分；大于30%不得分", "15%", 5, 3.0),
    ("预算控制率=0，计5分；0-10%(含)，计4分；10-20%(含)，计3分；20-30%(含)，计2分；大于30%不得分", "35%", 5, 0.0),
])
def test_scoring_rules_written_as_the_target(mof, rule, actual, weight, score):
    ev = _score([("过程", "预算执行", "x", rule, actual, weight), ("产出指标", "数量指标", "y", "1次", "1次", 90 - weight)],
                mof)
    assert (_row(ev).status, _row(ev).score) == ("ok", score)
    assert "target-from-rule" in {f.code for f in ev.findings}


def test_cost_without_ceiling_and_quantity_ceiling(mof):
    ev = _score([("产出指标", "成本指标", "成本", "≥30万元", "30万元", 45), ("产出指标", "数量指标", "n", "≤5个", "5个", 45)], mof)
    assert {f.code for f in ev.findings} == {"cost-without-ceiling", "quantity-ceiling"}


def test_target_from_name(mof):
    ev = _score([("产出指标", "时效指标", "年度资金支付完成率100%", "", "95%", 90)], mof)
    assert _row(ev).score == 85.5
    assert "target-from-name" in {f.code for f in ev.findings}


def test_execution_is_capped_at_100_percent(mof):
    ev = _score([("产出指标", "数量指标", "x", "≥5次", "5次", 90)], mof, budget=100, spent=120)
    assert ev.tables[0].execution.score == 10.0 and ev.tables[0].total == 100.0


def test_missing_budget_is_reported(mof):
    ev = _score([("产出指标", "数量指标", "x", "≥5次", "5次", 90)], mof, budget=None)
    assert ev.tables[0].total is None
    assert "missing-budget" in {f.code for f in ev.findings}


def test_provincial_over_achievement_and_total_caps(platform):
    ev = _score([("产出指标", "数量指标", "x", "≥10个", "13个", 45), ("产出指标", "数量指标", "y", "≥10个", "12个", 45)],
                platform, budget=100, spent=75)
    x, y = ev.tables[0].indicators
    assert (x.score, y.score) == (43.0, 45.0)  # 130% → −2; 120% → full
    t = ev.tables[0]
    assert t.execution.score == 7.5 and t.raw_total == 95.5 and t.cap == 89 and t.total == 89
    assert t.grade == "良"
    assert {"over-achievement", "total-capped", "low-execution"} <= {f.code for f in ev.findings}


def test_stepped_execution(mof):
    rules = mof.model_copy(update={"execution": mof.execution.model_copy(update={"method": "stepped"})})
    ev = _score([("产出指标", "数量指标", "x", "≥5次", "5次", 90)], rules, budget=100, spent=93)
    assert ev.tables[0].execution.score == 6.0  # 7% below → two steps of 5% → −4


def test_flat_frame_api_scores_many_tables_at_once(seed_targets, seed_actuals, mof):
    frame, _ = indicator_frame(seed_targets, seed_actuals)
    scored = score_frame(frame, mof)
    totals = table_totals(scored, mof)
    assert list(totals.index) == ["dept-2023", "business-2023", "sectors-2023"]
    assert totals["total"].round(2).tolist() == [97.66, 94.14, 98.62]


def test_table_totals_of_a_filtered_scored_frame(seed_targets, seed_actuals, mof):
    """Scored table ids are categorical; a filtered frame must total only the tables it still has, in row order."""
    frame, _ = indicator_frame(seed_targets, seed_actuals)
    scored = score_frame(frame, mof)
    whole = table_totals(scored, mof)
    part = scored[scored["table"] != "business-2023"].iloc[::-1]
    totals = table_totals(part, mof)
    assert list(totals.index) == ["sectors-2023", "dept-2023"]
    assert totals["total"].tolist() == whole.loc[["sectors-2023", "dept-2023"], "total"].tolist()
    # and a frame whose table column is plain text totals the same
    plain = table_totals(scored.assign(table=scored["table"].astype(object)), mof)
    pd.testing.assert_frame_equal(plain, whole)


def test_score_frame_takes_any_pandas_text_dtype(seed_targets, seed_actuals, mof):
    """A caller's frame may hold text as object, pandas' "str" (NaN) or "string" (pd.NA) dtype: same scores."""
    frame, _ = indicator_frame(seed_targets, seed_actuals)
    frame.loc[3, "level2"] = None  # a missing name: pd.NA in a "string" column
    text = ["table", "level1", "level2", "level3", "target_raw", "actual_raw", "deviation_note"]
    base = score_frame(frame, mof)
    for dtype in ("str", "string"):
        other = score_frame(frame.astype({c: dtype for c in text}), mof)
        assert other["score"].equals(base["score"]) and other["status"].tolist() == base["status"].tolist()
        pd.testing.assert_frame_equal(table_totals(other, mof), table_totals(base, mof))


# --------------------------------------------------------------------------- invariants
TARGETS = st.sampled_from(["≥5次", "≤50个", "=100%", "100%", "≥95%", "2023年底", "有所提升", "成本≤31.5万", "10个"])
actual_numbers = st.floats(min_value=-10, max_value=500, allow_nan=False, allow_infinity=False)


def _frame_for(targets, actuals, weights, rules):
    rows = [("产出指标", "数量指标", f"i{k}", t, a, w) for k, (t, a, w) in enumerate(zip(targets, actuals, weights))]
    t, a = one_table(rows)
    frame, _ = indicator_frame(t, a)
    return score_frame(frame, rules)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(target=st.floats(min_value=0.1, max_value=1000), actual=actual_numbers, weight=st.floats(min_value=0.5, max_value=50),
       op=st.sampled_from(["≥", "≤", "=", ""]), unit=st.sampled_from(["次", "%", "万元", "个"]))
def test_score_between_zero_and_weight(mof, target, actual, weight, op, unit):
    s = _frame_for([f"{op}{target:.3f}{unit}"], [f"{actual:.3f}"], [round(weight, 2)], mof)
    score, w = s["score"].iat[0], s["weight"].iat[0]
    assert 0 <= score <= w + 1e-9


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(target=st.floats(min_value=1, max_value=1000), a1=actual_numbers, a2=actual_numbers,
       op=st.sampled_from(["≥", "≤", ""]))
def test_monotone_in_the_actual(mof, target, a1, a2, op):
    lo, hi = sorted((a1, a2))
    s = _frame_for([f"{op}{target:.2f}个"] * 2, [f"{lo:.3f}个", f"{hi:.3f}个"], [45, 45], mof)
    s_lo, s_hi = s["score"].to_numpy()
    if op == "≤":
        assert s_lo >= s_hi - 1e-9  # 反向: more is worse
    else:
        assert s_hi >= s_lo - 1e-9  # 正向: more is better


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_total_at_most_100_and_independent_of_row_order(mof, data):
    n = data.draw(st.integers(min_value=1, max_value=12))
    targets = data.draw(st.lists(TARGETS, min_size=n, max_size=n))
    actuals = [data.draw(st.sampled_from(["5次", "3次", "60个", "40个", "98%", "100%", "2024年1月", "2023年12月", "有所提升",
                                          "部分达成", "完成", "无", "", "30万元"])) for _ in range(n)]
    level1 = data.draw(st.lists(st.sampled_from(["产出指标", "效益指标", "满意度指标"]), min_size=n, max_size=n))
    rows = [(l1, "数量指标", f"指标{k}", t, a) for k, (l1, t, a) in enumerate(zip(level1, targets, actuals))]
    spent = data.draw(st.floats(min_value=0, max_value=150))
    t1, a1 = one_table(rows, spent=spent)
    shuffled = rows[:]
    random.Random(data.draw(st.integers(0, 10**6))).shuffle(shuffled)
    t2, a2 = one_table(shuffled, spent=spent)
    e1, e2 = evaluate(t1, a1, mof), evaluate(t2, a2, mof)
    r1, r2 = e1.tables[0], e2.tables[0]
    assert r1.raw_total is None or r1.raw_total <= 100 + 1e-9
    key = lambda i: i.level3  # noqa: E731
    assert sorted(((i.level3, i.weight, i.score, i.status) for i in r1.indicators), key=lambda x: x[0]) == \
        sorted(((i.level3, i.weight, i.score, i.status) for i in r2.indicators), key=lambda x: x[0])
    assert (r1.total, r1.grade, r1.raw_total) == (r2.total, r2.grade, r2.raw_total)
    assert sorted(i.level3 for i in r1.indicators) == sorted(map(key, r2.indicators))


def test_deterministic_across_runs(seed_targets, seed_actuals, mof):
    a = evaluate(seed_targets, seed_actuals, mof).model_dump_json()
    b = evaluate(seed_targets, seed_actuals, mof).model_dump_json()
    assert a == b
    assert np.isfinite([i.score for t in evaluate(seed_targets, seed_actuals, mof).tables for i in t.indicators
                        if i.score is not None]).all()


def test_tiny_budget_does_not_overflow(mof):
    """Found by `make fuzz`: 全年预算数 2.2e-308 made 执行数 ÷ 预算数 overflow (a warning, an error under pytest)."""
    ev = _score([("产出指标", "数量指标", "x", "1次", "1次", 90)], mof, budget=2.2250738585072014e-308, spent=4.0)
    assert ev.tables[0].execution.score == 10.0


@pytest.mark.parametrize("rows", [
    [("产出指标", "数量指标", "x", "1次", "1次", 5e-324), ("产出指标", "数量指标", "y", "1次", "无", 1.0)],
    [("产出指标", "数量指标", "x", "1次", "1次", 1.73828125)],
])
def test_extreme_weights_found_by_fuzzing(mof, rows):
    """A vanishing weight beside a 不适用 one, and a weight with more decimals than the rounding."""
    ev = _score(rows, mof, budget=None)
    for i in ev.tables[0].indicators:
        assert i.score is None or 0 <= i.score <= i.weight + 1e-9


# --------------------------------------------------------------------------- no score from a non-answer (issue 10 §4)
NON_ANSWERS = ["不详", "待统计", "未统计", "无法统计", "待定", "TBD", "abc", "nan", "inf", "？", "#DIV/0!", "#N/A", "#REF!",
               "#VALUE!", "#NAME?", "#NULL!", "#NUM!", "#SPILL!", "Infinity", "……", "待核实", "数据待补充"]


@pytest.mark.parametrize("actual", NON_ANSWERS)
def test_a_non_answer_to_a_quantitative_target_is_an_error_never_full_marks(mof, actual):
    t, a = one_table([("产出指标", "数量指标", "专题调研", "4个", actual, 90)])
    ev = evaluate(t, a, mof)
    i = ev.tables[0].indicators[0]
    assert (i.status, i.score) == ("error", None) and ev.tables[0].total is None and ev.tables[0].grade is None
    found = [f for f in ev.findings if f.code == "unreadable-actual"]
    assert len(found) == 1 and found[0].location.column == "实际完成值"
    assert found[0].message.startswith("无法识别的实际完成值")


@pytest.mark.parametrize("actual", ["不详", "待统计", "TBD", "？", "#N/A", "nan"])
def test_a_non_answer_to_a_qualitative_target_is_an_error_too(mof, actual):
    t, a = one_table([("效益指标", "社会效益指标", "委员履职能力", "有所提升", actual, 90)])
    i = evaluate(t, a, mof).tables[0].indicators[0]
    assert (i.status, i.score) == ("error", None) and "无法识别的实际完成值" in i.explanation


@pytest.mark.parametrize("actual", ["-", "—", "--", ""])
def test_a_dash_is_a_missing_actual(mof, actual):
    t, a = one_table([("产出指标", "数量指标", "专题调研", "4个", actual, 90)])
    i = evaluate(t, a, mof).tables[0].indicators[0]
    assert (i.status, i.score) == ("error", None) and "缺少实际完成值" in i.explanation


@pytest.mark.parametrize("actual,band,score", [
    ("达成年度指标", "achieved", 90), ("已完成", "achieved", 90), ("完成", "achieved", 90), ("达到", "achieved", 90),
    ("已完成。", "achieved", 90), ("部分完成", "partial", 63), ("未完成", "not-achieved", 27),
])
def test_achievement_words_the_rule_set_lists_keep_the_band_with_a_warning(mof, actual, band, score):
    t, a = one_table([("产出指标", "数量指标", "专题调研", "4个", actual, 90)])
    ev = evaluate(t, a, mof)
    i = ev.tables[0].indicators[0]
    assert (i.status, i.score, i.inputs["band"]) == ("ok", score, band)
    assert [f.code for f in ev.findings if f.code == "word-actual"] == ["word-actual"]


def test_the_achievement_words_are_a_rule_set_setting(tmp_path, mof):
    import yaml

    from evaluator import load_rules

    t, a = one_table([("产出指标", "数量指标", "专题调研", "4个", "已完成", 90)])
    data = mof.model_dump(mode="json", exclude={"extends"})
    data["word_actuals"] = ["达成年度指标"]
    path = tmp_path / "strict.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    i = evaluate(t, a, load_rules(path)).tables[0].indicators[0]
    assert (i.status, i.score) == ("error", None) and "无法识别的实际完成值“已完成”" in i.explanation


def test_a_non_answer_target_is_an_unreadable_target(mof):
    t, a = one_table([("产出指标", "数量指标", "专题调研", "待定", "4个", 90)])
    i = evaluate(t, a, mof).tables[0].indicators[0]
    assert (i.status, i.score) == ("error", None) and "无法识别的年度指标值" in i.explanation


@pytest.mark.parametrize("name,target,actual,score", [
    ("森林火灾受害率", "0.9%", "0%", 10),  # 梁平区林业局 2022: a reverse indicator, full marks
    ("主要林业有害生物成灾率", "0.4%", "0.1%", 10),
    ("主要林业有害生物成灾率", "0.4%", "0.6%", 5),  # linear to zero at twice the target: (1 − 0.5) × 10
    ("传染病发病率", "1‰", "0.5‰", 10),
    ("安全生产事故率", "0%", "0%", 10),
    ("群众投诉率", "5%", "2%", 10),
    ("贷款逾期率", "3%", "1%", 10),
    ("公租房空置率", "5%", "4%", 10),
    ("工程返工率", "2%", "1%", 10),
    ("合同违约率", "1%", "0%", 10),
    ("产品漏检率", "1%", "0.5%", 10),
    ("测量误差率", "2%", "1%", 10),
    ("项目超支率", "5%", "0%", 10),
    ("“三公经费”变动率", "0%", "-3%", 10),
    ("在职人员控制率", "100%", "98%", 10),
    ("预算调整率", "10%", "5%", 10),
    ("结转结余率", "5%", "3%", 10),
    ("业务差错率", "1%", "0%", 10),
    # the same words where higher is better
    ("投诉办结率", "95%", "76%", 8),
    ("安全事故处理率", "100%", "90%", 9),
    ("管理人群血压控制率", "60%", "30%", 5),
    ("林业有害生物防治率", "90%", "90%", 10),
    ("预算执行率", "100%", "90%", 9),
])
def test_reverse_indicators_are_recognised_from_their_names(mof, name, target, actual, score):
    t, a = one_table([("效益指标", "生态效益指标", name, target, actual, 10)])
    i = evaluate(t, a, mof).tables[0].indicators[0]
    assert (i.status, i.score) == ("ok", score), i.explanation


def test_an_operator_wins_over_the_name(mof):
    t, a = one_table([("效益指标", "生态效益指标", "森林火灾受害率", "≥0.9%", "0%", 10)])
    assert evaluate(t, a, mof).tables[0].indicators[0].score == 0


def test_direction_words_are_validated_on_load(tmp_path, mof):
    import yaml

    from evaluator import RuleSetError, load_rules

    data = mof.model_dump(mode="json", exclude={"extends"})
    data["direction"]["higher_names"] = ["受害率"]
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(RuleSetError, match="“受害率”同时列在 lower_names 和 higher_names 中"):
        load_rules(path)


@pytest.mark.parametrize("unit,year,expected", [
    ("测试单位", 2023, []),
    ("株洲市测试单位", 2023, []),  # the same unit, written in full
    ("测试单位（本级）", 2019, [("actuals-other-year", "error")]),
    ("完全不同的单位", 2023, [("actuals-other-unit", "error")]),
    ("测试单元", 2023, [("actuals-other-unit", "warning")]),  # alike: a spelling difference
])
def test_actuals_of_another_unit_or_year_give_a_finding(mof, unit, year, expected):
    t, a = one_table([("产出指标", "数量指标", "专题调研", "4个", "4个", 90)])
    a = a.model_copy(update={"unit_name": unit, "year": year})
    ev = evaluate(t, a, mof)
    got = [(f.code, f.severity.value) for f in ev.findings if f.code.startswith("actuals-other")]
    assert got == expected
    assert all(f.location.table == "t" for f in ev.findings)


def test_excel_error_values_are_unreadable_in_every_reader(tmp_path, mof, seed_targets):
    """A stored Excel error value (a failed formula) in the flat 自评表, the fill-in workbook and a form is never 0 and
    never full marks: an unscorable actual, or the cell named when it is a number column."""
    from openpyxl import Workbook, load_workbook

    from evaluator import InputFileError, read_flat_table
    from evaluator.workbook import read_workbook, write_template

    wb = Workbook()
    ws = wb.active
    ws.append(["一级指标", "二级指标", "三级指标", "年度指标值", "实际完成值", "分值"])
    ws.append(["产出指标", "数量指标", "会议", "≥5次", "#DIV/0!", 45])
    ws.append(["产出指标", "质量指标", "合格率", "≥95%", "#N/A", 45])
    flat = tmp_path / "flat.xlsx"
    wb.save(flat)
    assert load_workbook(flat)["Sheet"]["E2"].data_type == "e"  # stored as an error value, as Excel stores it
    t, a = read_flat_table(flat, budget=1, spent=1)
    ev = evaluate(t, a, mof)
    assert [(i.status, i.score) for i in ev.tables[0].indicators] == [("error", None), ("error", None)]
    assert "“#DIV/0!”是 Excel 的错误值" in ev.tables[0].indicators[0].explanation
    ws["F2"] = "#REF!"
    wb.save(flat)
    with pytest.raises(InputFileError, match="第 2 行，指标“会议”：“分值”是 Excel 的错误值“#REF!”"):
        read_flat_table(flat, budget=1, spent=1)

    book = tmp_path / "book.xlsx"
    write_template(seed_targets, mof, book)
    wb = load_workbook(book)
    ws = next(w for w in wb.worksheets if str(w["A2"].value or "").startswith("表编号"))  # the first table sheet
    ws["G4"], ws["J5"] = "#VALUE!", "#DIV/0!"
    wb.save(book)
    with pytest.raises(InputFileError, match="“#DIV/0!”是 Excel 的错误值"):
        read_workbook(book, seed_targets)
    ws["J5"] = None
    wb.save(book)
    i = evaluate(seed_targets, read_workbook(book, seed_targets), mof).tables[0].indicators[0]
    assert (i.status, i.score) == ("error", None) and "Excel 的错误值" in i.explanation


def test_an_error_value_in_an_xls_is_unreadable_not_blank(mof):
    """calamine reads a BIFF error value (.xls/.et) as blank; evaluator finds it (xlrd) and keeps it as written,
    as in an .xlsx: 无法计分 with the error named, not 未填 — and the numbers beside it still read."""
    from evaluator import read_flat_table

    from .conftest import ROOT

    t, a = read_flat_table(ROOT / "tests" / "fixtures" / "bad" / "xls-error-values.xls", budget=1, spent=1)
    assert [i.actual for i in a.tables[0].indicators] == ["#DIV/0!", "96%"]
    ev = evaluate(t, a, mof)
    assert [(i.status, i.score) for i in ev.tables[0].indicators] == [("error", None), ("ok", 45.0)]


# --------------------------------------------------------------------------- totals that are no grade (issue 11 §3)
@pytest.mark.parametrize("weights,reason", [
    ((300, 264), "分值合计 574（含预算执行率 10），不等于 100"),
    ((90, None), "1 项指标未填分值"),  # the given weights add up, but one is blank (counted as 0)
    ((30, 30), "分值合计 70（含预算执行率 10），不等于 100"),
])
def test_a_total_over_incomplete_or_inconsistent_weights_is_not_a_grade(mof, weights, reason):
    from evaluator.model import Indicator

    rows = [("产出指标", "数量指标", "会议", "≥5次", "5次", weights[0]), ("效益指标", "社会效益指标", "覆盖", "≥90%", "95%", weights[1])]
    if weights[0] > 100:  # above the 100-point scale: refused at load; built here as a reader that did not check would
        t, a = one_table([(*r[:5], 50) for r in rows])
        table = t.tables[0]
        table.indicators = [Indicator.model_construct(**{**i.model_dump(), "weight": w}) for i, w in zip(table.indicators, weights)]
    else:
        t, a = one_table(rows)
    ev = evaluate(t, a, mof)
    table = ev.tables[0]
    assert (table.complete, table.total, table.grade) == (False, None, None)
    assert table.undetermined == reason
    from evaluator.output import evaluation_json

    assert evaluation_json(ev)["tables"][0]["undetermined"] == reason


def test_a_consistent_table_has_no_undetermined_reason(mof):
    t, a = one_table([("产出指标", "数量指标", "会议", "≥5次", "5次", 45), ("效益指标", "社会效益指标", "覆盖", "≥90%", "95%", 45)])
    table = evaluate(t, a, mof).tables[0]
    assert (table.complete, table.total, table.grade, table.undetermined) == (True, 100, "优", None)
