"""What-if and where the points went: rescored by the engine, on the seed and on real published 自评表."""
from __future__ import annotations

import hashlib
import json

import pytest
import yaml
from typer.testing import CliRunner

from evaluator import evaluate, load_actuals, load_rules, read_flat_table
from evaluator.cli import app
from evaluator.errors import EvaluatorError
from evaluator.losses import losses_context, point_losses
from evaluator.whatif import Change, aligned_actuals, apply_changes, parse_settings, run_whatif, whatif_context

from .conftest import CASES, SEED_ACTUALS, SEED_TARGETS

runner = CliRunner()


def _case(name: str):
    meta = yaml.safe_load((CASES / f"{name}.meta.yaml").read_text(encoding="utf-8"))
    budget, spent = meta.get("budget_full_year"), meta.get("budget_executed")
    if meta.get("execution_counted_in_rows"):
        budget = spent = None
    return read_flat_table(CASES / f"{name}.csv", budget=float(budget) if budget else None,
                           spent=float(spent) if spent else None)


CASE_NAMES = sorted(p.name.removesuffix(".meta.yaml") for p in CASES.glob("*.meta.yaml")) if CASES.is_dir() else []
needs_cases = pytest.mark.skipif(not CASE_NAMES, reason="../shared/cases is not beside the repository")


def _scores(ev):
    return [(t.table, t.total, t.execution.score, [(i.position, i.score, i.status, i.explanation) for i in t.indicators])
            for t in ev.tables]


# --------------------------------------------------------------------------- the aligned copy scores the same
def test_aligned_copy_scores_exactly_as_the_entries(seed_targets, seed_actuals, mof, platform):
    for rules in (mof, platform):
        assert _scores(evaluate(seed_targets, aligned_actuals(seed_targets, seed_actuals), rules)) == \
            _scores(evaluate(seed_targets, seed_actuals, rules))


@needs_cases
@pytest.mark.parametrize("name", CASE_NAMES)
def test_aligned_copy_scores_exactly_as_the_entries_on_real_cases(name, mof):
    t, a = _case(name)
    assert _scores(evaluate(t, aligned_actuals(t, a), mof)) == _scores(evaluate(t, a, mof))


# --------------------------------------------------------------------------- --set names
@pytest.mark.parametrize("setting, expected", [
    ("政协常委会=5次", [("dept-2023", 1, "5次", None)]),  # exact name wins over the longer 政协常委会、主席会议
    ("政协主席=5次", [("dept-2023", 2, "5次", None)]),  # an unambiguous part of one name
    ("business-2023/政协全会=1次", [("business-2023", 0, "1次", None)]),
    ("专题调研 = 三个", [("business-2023", 3, "三个", None)]),
    ("为“一极三区”建设贡献政协力量=部分达成（6分）", None),  # several tables: ambiguous, see below
    ("界别活动＝44次", [("sectors-2023", 1, "44次", None)]),  # full-width =
])
def test_set_names_resolve_to_indicators(seed_targets, seed_actuals, setting, expected):
    if expected is None:
        with pytest.raises(EvaluatorError, match="对应多项指标"):
            parse_settings(seed_targets, seed_actuals, [setting])
        return
    changes = parse_settings(seed_targets, seed_actuals, [setting])
    assert [(c.table, c.position, c.actual, c.judged_score) for c in changes] == expected


def test_a_judged_score_and_a_table_restriction(seed_targets, seed_actuals):
    changes = parse_settings(seed_targets, seed_actuals, ["为“一极三区”建设贡献政协力量=部分达成（6分）"],
                             table="business-2023")
    assert [(c.table, c.position, c.actual, c.judged_score) for c in changes] == \
        [("business-2023", 12, "部分达成", 6.0)]


@pytest.mark.parametrize("setting, message", [
    ("政协全会=1次", "“政协全会”对应多项指标：dept-2023 / 政协全会；business-2023 / 政协全会"),
    ("主席会议=5次", "“主席会议”可能指多项指标：dept-2023 / 政协主席会议；business-2023 / 政协常委会、主席会议"),
    ("政协主席会=5次", None),  # unambiguous part
    ("政协秘书长会议=5次", "找不到指标“政协秘书长会议”（相近的指标：政协主席会议"),
    ("政协常委会", "无法理解“政协常委会”"),
    ("执行率=很高", "“很高”不是有效的数值"),
])
def test_unknown_or_ambiguous_names_are_chinese_messages_with_candidates(seed_targets, seed_actuals, setting,
                                                                         message):
    if message is None:
        assert parse_settings(seed_targets, seed_actuals, [setting])
        return
    with pytest.raises(EvaluatorError) as e:
        parse_settings(seed_targets, seed_actuals, [setting])
    assert message in e.value.render()


def test_budget_keywords_change_every_table_or_the_one_named(seed_targets, seed_actuals):
    changes = parse_settings(seed_targets, seed_actuals, ["执行率=95%"])
    assert {(c.table, c.spent) for c in changes} == {("dept-2023", round(541.37 * 0.95, 6)),
                                                     ("business-2023", round(31.5 * 0.95, 6)),
                                                     ("sectors-2023", round(53.1 * 0.95, 6))}
    one = parse_settings(seed_targets, seed_actuals, ["全年执行数=530万元"], table="dept-2023")
    assert [(c.table, c.spent) for c in one] == [("dept-2023", 530.0)]
    assert parse_settings(seed_targets, seed_actuals, ["执行率=0.9"], table="dept-2023")[0].spent == \
        round(541.37 * 0.9, 6)
    with pytest.raises(EvaluatorError, match="目标表中没有表“dept-2024”"):
        parse_settings(seed_targets, seed_actuals, ["执行率=95%"], table="dept-2024")


# --------------------------------------------------------------------------- rescoring
def test_whatif_rescores_with_the_engine_and_leaves_the_entries_alone(seed_targets, mof):
    actuals = load_actuals(SEED_ACTUALS)
    before_dump = actuals.model_dump()
    result = run_whatif(seed_targets, actuals, mof,
                        parse_settings(seed_targets, actuals, ["政协主席会议=5次", "执行率=95%"], table="dept-2023"))
    assert actuals.model_dump() == before_dump
    (t,) = result.tables
    assert (t.table, t.total_before, t.total_after, t.grade_before, t.grade_after) == \
        ("dept-2023", 97.66, 99.1, "优", "优")
    assert [(r.level3, r.actual_before, r.actual_after, r.score_before, r.score_after) for r in t.rows] == \
        [("政协主席会议", "4次", "5次", 6.67, 8.34)]
    assert (t.execution_before, t.execution_after) == (9.73, 9.5)
    # the same numbers as scoring an actuals file with those entries written in
    changed = apply_changes(seed_targets, actuals, parse_settings(seed_targets, actuals,
                                                                  ["政协主席会议=5次", "执行率=95%"], table="dept-2023"))
    direct = evaluate(seed_targets, changed, mof)
    assert direct.tables[0].total == 99.1
    ctx = whatif_context(result)
    assert ctx["tables"][0]["total_delta"] == "+1.44"
    assert ctx["tables"][0]["rows"][0]["delta"] == "+1.67"


def test_whatif_reports_a_value_the_engine_cannot_read(seed_targets, seed_actuals, mof):
    result = run_whatif(seed_targets, seed_actuals, mof, parse_settings(seed_targets, seed_actuals, ["政协主席会议=5米"]))
    (t,) = result.tables
    assert t.rows[0].status_after == "error" and t.total_after is None and t.grade_after is None
    assert any("政协主席会议" in p for p in result.problems)


def test_whatif_can_move_the_grade(seed_targets, seed_actuals, mof):
    result = run_whatif(seed_targets, seed_actuals, mof,
                        parse_settings(seed_targets, seed_actuals, ["执行率=20%", "提案和微建议办理=10%"], table="dept-2023"))
    t = result.tables[0]
    assert (t.grade_before, t.grade_after) == ("优", "良")
    assert t.total_after == pytest.approx(97.66 - (9.73 - 2.0) - (9.6 - 1.0))


def test_whatif_command_prints_side_by_side_and_writes_nothing(tmp_path):
    digest = hashlib.sha256(SEED_ACTUALS.read_bytes()).hexdigest()
    res = runner.invoke(app, ["whatif", str(SEED_TARGETS), str(SEED_ACTUALS), "--set", "政协主席会议=5次",
                              "--set", "执行率=95%", "--table", "dept-2023"])
    assert res.exit_code == 0, res.output
    assert "总分 97.66（优）→ 99.10（优），+1.44" in res.output
    assert "政协主席会议" in res.output and "没有改动任何文件" in res.output
    assert hashlib.sha256(SEED_ACTUALS.read_bytes()).hexdigest() == digest
    res = runner.invoke(app, ["whatif", str(SEED_TARGETS), str(SEED_ACTUALS), "--set", "政协主席会议=5次", "--json"])
    data = json.loads(res.output)
    assert data["tables"][0]["total_after"] == 99.33 and data["settings"] == ["政协主席会议=5次"]
    res = runner.invoke(app, ["whatif", str(SEED_TARGETS), str(SEED_ACTUALS), "--set", "政协全会=2次"])
    assert res.exit_code == 1 and "对应多项指标" in res.output and "Traceback" not in res.output
    res = runner.invoke(app, ["whatif", str(SEED_TARGETS), str(SEED_ACTUALS)])
    assert res.exit_code == 1 and "没有指定要假设的值" in res.output


@needs_cases
def test_whatif_on_a_published_table():
    t, a = _case("yunnan-yongde-nutrition-2022")
    rules = load_rules("mof-2020")
    result = run_whatif(t, a, rules, parse_settings(t, a, ["政策知晓率=100%"]))
    assert (result.tables[0].total_before, result.tables[0].total_after) == (99.8, 100.0)


# --------------------------------------------------------------------------- where the points went
def test_seed_losses_in_order_with_gaps_in_their_units(seed_targets, seed_actuals, mof):
    losses = {t.table: t for t in point_losses(seed_targets, seed_actuals, mof)}
    assert [x.text for x in losses["dept-2023"].losses] == [
        "政协主席会议：差 1次 → 少 1.67 分；实际达到 5次，可得满分 8.34",
        "提案和微建议办理：差 4% → 少 0.4 分；实际达到 100%，可得满分 10",
        "预算执行率：执行率 97.31%，未执行 14.55 万元 → 少 0.27 分；全年执行数达到 541.37 万元（执行率 100%），可得满分 10",
    ]
    assert [x.text for x in losses["business-2023"].losses] == [
        "为“一极三区”建设贡献政协力量：评为“部分达成年度指标并具有一定效果”，评判得分 5 → 少 2.5 分；评为“达成年度指标”，可得满分 7.5",
        "提案：超出 13个 → 少 1.45 分；控制在 50个 以内，可得满分 5.56",
        "专题调研：差 1个 → 少 1.39 分；实际达到 4个，可得满分 5.56",
        "预算执行率：执行率 94.79%，未执行 1.64 万元 → 少 0.52 分；全年执行数达到 31.5 万元（执行率 100%），可得满分 10",
    ]
    assert [x.text for x in losses["sectors-2023"].losses][0] == \
        "界别活动：差 0.36次/年/界别（按计量基数 11 折合共差 4次） → 少 0.65 分；实际达到 44次，可得满分 7.14"
    for t in losses.values():
        assert t.lost == pytest.approx(t.full_marks - t.total)
        assert sum(x.lost for x in t.losses) == pytest.approx(t.lost)
        assert [x.lost for x in t.losses] == sorted((x.lost for x in t.losses), reverse=True)


def _confirm_full_marks(targets, actuals, rules, tables):
    """Every full-marks value a loss proposes really scores full marks when entered (checked independently)."""
    checked = 0
    for t in tables:
        for x in t.losses:
            if x.kind != "indicator" or x.full_actual is None:
                continue
            judged = None
            if "评判得分" in (x.full or ""):
                judged = x.weight
            ev = evaluate(targets, apply_changes(targets, actuals, [
                Change(table=x.table, position=x.position, actual=x.full_actual, judged_score=judged)]), rules)
            row = next(i for te in ev.tables if te.table == x.table for i in te.indicators if i.position == x.position)
            assert row.score == pytest.approx(row.weight), x.text
            checked += 1
    return checked


def test_full_marks_values_are_confirmed_by_the_engine(seed_targets, seed_actuals, mof, platform):
    for rules in (mof, platform):
        assert _confirm_full_marks(seed_targets, seed_actuals, rules,
                                   point_losses(seed_targets, seed_actuals, rules)) == 7


@needs_cases
@pytest.mark.parametrize("name", CASE_NAMES)
def test_losses_on_real_cases_add_up_and_are_confirmed(name, mof):
    t, a = _case(name)
    tables = point_losses(t, a, mof)
    ev = evaluate(t, a, mof)
    for tl, te in zip(tables, ev.tables):
        assert tl.total == te.total
        if te.complete:
            assert sum(x.lost for x in tl.losses) == pytest.approx(tl.lost, abs=0.011)
        assert len(tl.unscored) == sum(1 for i in te.indicators if i.status == "error")
    _confirm_full_marks(t, a, mof, tables)


@needs_cases
def test_losses_of_a_published_health_table():
    t, a = _case("shanxi-jishan-health-2021")
    (tl,) = point_losses(t, a, load_rules("mof-2020"))
    assert tl.losses[0].text == "指标14:早孕建册数：差 51人 → 少 0.85 分；实际达到 120人，可得满分 2"


def test_over_achievement_deduction_and_total_cap_are_losses(seed_targets, seed_actuals, platform):
    # provincial platform: ≥130% of target −2 points; total capped at 79 when 执行率 < 70%
    changed = apply_changes(seed_targets, seed_actuals, parse_settings(
        seed_targets, seed_actuals, ["界别调研报告=13个", "执行率=65%"], table="sectors-2023"))
    (tl,) = [t for t in point_losses(seed_targets, changed, platform) if t.table == "sectors-2023"]
    texts = {x.level3: x for x in tl.losses}
    assert texts["界别调研报告"].gap == "实际 13个 达到目标 10个 的 130%，按规则扣分"
    assert texts["界别调研报告"].full_actual == "10个"
    cap = texts["总分封顶"]
    assert cap.kind == "cap" and cap.score == 79 and cap.full == "执行率达到 80% 以上不再封顶"
    assert tl.total == 79 and sum(x.lost for x in tl.losses) == pytest.approx(tl.lost)


def test_a_band_default_below_full_marks_is_reached_by_a_judged_score(tmp_path, seed_targets, seed_actuals):
    path = tmp_path / "strict.yaml"
    path.write_text("id: strict\nversion: '1'\ntitle: t\nextends: mof-2020\nsources: [{title: test}]\n"
                    "scoring: {qualitative: {method: qualitative, bands: {achieved: {range: [80, 100], default: 90},"
                    " partial: {range: [60, 80], default: 70}, not-achieved: {range: [0, 60], default: 30}}}}\n",
                    encoding="utf-8")
    rules = load_rules(path)
    tables = point_losses(seed_targets, seed_actuals, rules)
    dept = next(t for t in tables if t.table == "dept-2023")
    quality = next(x for x in dept.losses if x.level3 == "委员履职能力")
    assert quality.full == "评为“达成年度指标”（评判得分 7.5），可得满分 7.5"
    assert _confirm_full_marks(seed_targets, seed_actuals, rules, tables) > 7


def test_score_command_shows_the_losses_and_json_has_them():
    res = runner.invoke(app, ["score", str(SEED_TARGETS), str(SEED_ACTUALS)])
    assert res.exit_code == 0
    assert "失分去向（满分 100，共失 2.34 分）：" in res.output
    assert "1. 政协主席会议：差 1次 → 少 1.67 分；实际达到 5次，可得满分 8.34" in res.output
    data = json.loads(runner.invoke(app, ["score", str(SEED_TARGETS), str(SEED_ACTUALS), "--json"]).output)
    assert [x["level3"] for x in data["losses"][0]["losses"]] == ["政协主席会议", "提案和微建议办理", "预算执行率"]


def test_losses_context_keeps_the_largest(seed_targets, seed_actuals, mof):
    ctx = losses_context(point_losses(seed_targets, seed_actuals, mof), top=2)
    business = next(t for t in ctx if t["table"] == "business-2023")
    assert [x["level3"] for x in business["items"]] == ["为“一极三区”建设贡献政协力量", "提案"]
    assert business["rest"] == {"count": 2, "lost": "1.91"}


def test_the_report_lists_deviations_in_the_order_of_points_lost(seed_targets, seed_actuals, mof):
    from evaluator.report import build_context

    ev = evaluate(seed_targets, seed_actuals, mof)
    te = next(t for t in ev.tables if t.table == "business-2023")
    ctx = build_context(ev, te, seed_targets.tables[2], seed_actuals, mof)
    assert [(d["level3"], d["points"]) for d in ctx["deviations"]] == [
        ("为“一极三区”建设贡献政协力量", 2.5), ("提案", 1.45), ("专题调研", 1.39)]
    assert ctx["deviations"][2]["what"] == "得 4.17 分（分值 5.56 分），差 1个，少 1.39 分"
    assert [d["level3"] for d in ctx["deductions"]] == ["为“一极三区”建设贡献政协力量", "提案", "专题调研", "预算执行率"]
