"""目标审核: each rule on the seed, on real published tables and on a made-up table that breaks it."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evaluator import load_actuals, load_rules, load_targets
from evaluator.cli import app
from evaluator.errors import InputFileError, RuleSetError
from evaluator.model import Indicator, TargetSet, TargetTable
from evaluator.target_review import (
    REVIEW_CODES, PreviousYear, load_any_targets, load_review_rules, previous_from_actuals, previous_from_store,
    review_context, review_targets, table_key,
)

from .conftest import CASES, ROOT, SEED_ACTUALS, SEED_TARGETS

runner = CliRunner()
needs_cases = pytest.mark.skipif(not CASES.is_dir(), reason="../shared/cases is not beside the repository")


@pytest.fixture(scope="module")
def review():
    return load_review_rules()


def _codes(findings) -> list[tuple[str, int | None, str]]:
    return [(f.location.table, f.location.item, f.code) for f in findings]


def _table(indicators, **kw) -> TargetSet:
    table = TargetTable(id=kw.pop("id", "p-2024"), kind="项目", title="测试项目", unit_name="测试单位", year=2024,
                        indicators=[Indicator(**i) for i in indicators], **kw)
    return TargetSet(unit_name="测试单位", year=2024, tables=[table])


FULL = [  # a complete, quantified table: the background the single-rule tests add to
    {"level1": "产出指标", "level2": "数量指标", "level3": "培训人次", "target": "≥500人次"},
    {"level1": "产出指标", "level2": "质量指标", "level3": "培训合格率", "target": "≥95%"},
    {"level1": "产出指标", "level2": "时效指标", "level3": "完成时间", "target": "2024年11月底前"},
    {"level1": "产出指标", "level2": "成本指标", "level3": "项目成本", "target": "≤50万元"},
    {"level1": "效益指标", "level2": "社会效益指标", "level3": "政策知晓率", "target": "≥90%"},
    {"level1": "满意度指标", "level2": "服务对象满意度指标", "level3": "学员满意度", "target": "≥90%"},
]


def test_the_rules_load_and_every_check_names_a_known_source(review):
    assert review.label == "target-review@2023.1"
    for section in ("categories", "vague", "empty", "cost", "goal", "operators", "ambition", "weights"):
        assert getattr(review, section).source in review.sources


@pytest.mark.parametrize("edit, message", [
    (("tolerance: 0.005", "tolerence: 0.005"), "未知的键“cost.tolerence”，是否应为“tolerance”？"),
    (("  source: seed", "  source: nowhere"), "“cost.source”引用的依据“nowhere”不在 sources 中"),
    (("    - {group: output, label: 数量指标", "    - {group: outputs, label: 数量指标"), "未定义的一级指标分组：outputs"),
])
def test_a_bad_rule_file_fails_on_load_with_a_chinese_message(tmp_path, edit, message):
    text = (ROOT / "rules" / "checks" / "target-review.yaml").read_text(encoding="utf-8")
    assert edit[0] in text
    path = tmp_path / "bad.yaml"
    path.write_text(text.replace(edit[0], edit[1], 1), encoding="utf-8")
    with pytest.raises(RuleSetError) as e:
        load_review_rules(path)
    assert message in e.value.render()


def test_a_clean_table_has_no_findings(mof, review):
    assert review_targets(_table(FULL, amount=50), mof, review) == []


def test_the_seed(seed_targets, mof, review):
    findings = review_targets(seed_targets, mof, review)
    assert _codes(findings) == [
        ("dept-2023", 4, "empty-target"), ("dept-2023", 4, "no-quantitative"), ("dept-2023", 7, "vague-target"),
        ("dept-2023", 8, "vague-target"), ("dept-2023", 9, "vague-target"), ("dept-2023", 10, "empty-target"),
        ("business-2023", 5, "target-contradicts-notes"), ("business-2023", 7, "empty-target"),
        ("business-2023", 7, "no-quantitative"), ("business-2023", 10, "vague-target"),
        ("business-2023", 11, "vague-target"), ("business-2023", 12, "vague-target"),
        ("business-2023", 13, "empty-target"),
        ("sectors-2023", 5, "empty-target"), ("sectors-2023", 5, "no-quantitative"),
        ("sectors-2023", 8, "not-applicable-target"), ("sectors-2023", 9, "vague-target"),
        ("sectors-2023", 10, "vague-target"), ("sectors-2023", 11, "vague-target"),
    ]
    first = findings[2]
    assert first.message == "指标值“持续促进”是模糊的定性表述，年底难以判断是否完成"
    assert first.suggestion.startswith("改为量化目标，如“带动社会投资 ≥ 200 万元")
    # the 满意度 二级 under 效益 (seed layout) still counts as the 满意度 category; the cost ceilings equal the budget
    assert not {"missing-category", "cost-budget-mismatch", "cost-above-budget"} & {f.code for f in findings}
    assert all(f.source for f in findings)


# --------------------------------------------------------------------------- one rule at a time
def test_missing_categories_and_no_quantitative(mof, review):
    rows = [r for r in FULL if r["level2"] not in ("时效指标", "服务对象满意度指标")]
    rows[1] = {**rows[1], "target": "良好"}  # 质量 only qualitative
    findings = review_targets(_table(rows, amount=50), mof, review)
    assert [(f.code, f.message) for f in findings if f.code != "vague-target"] == [
        ("missing-category", "缺少“满意度指标”：绩效目标表应包括产出、效益和满意度指标"),
        ("missing-subcategory", "“产出指标”下缺少“时效指标”"),
        ("no-quantitative", "“质量指标”下没有定量指标：指标应尽量细化、量化"),
    ]
    assert findings[0].suggestion == "增加“满意度指标”，如“服务对象满意度 ≥ 90%（以问卷调查为准）”"


def test_an_old_framework_table_is_not_held_to_the_categories(mof, review):
    rows = [{"level1": "投入", "level2": "预算配置", "level3": "在职人员控制率", "target": "≤100%"},
            {"level1": "过程", "level2": "预算执行", "level3": "预算完成率", "target": "100%"}]
    assert "missing-category" not in {f.code for f in review_targets(_table(rows), mof, review)}


def test_empty_and_not_applicable_targets(mof, review):
    rows = FULL + [{"level1": "效益指标", "level2": "可持续影响指标", "level3": "长效机制", "target": ""},
                   {"level1": "效益指标", "level2": "经济效益指标", "level3": "经济效益", "target": "无"}]
    findings = {f.code: f for f in review_targets(_table(rows, amount=50), mof, review)}
    assert findings["empty-target"].severity == "error"
    assert findings["empty-target"].suggestion == "填写可衡量的指标值，如“建立并运行长效管理制度 ≥ 2 项”"
    assert findings["not-applicable-target"].severity == "info"


@pytest.mark.parametrize("target, amount, code", [
    ("528.244101万", 528.244101, None),  # the seed: the ceiling is the budget
    ("≤528.24万元", 528.244101, None),
    ("520万", 528.244101, "cost-budget-mismatch"),
    ("600万元", 528.244101, "cost-above-budget"),
    ("5282441.01元", 528.244101, None),
    ("≤0.2万元/次", 528.244101, None),  # a unit cost is not compared with the budget
])
def test_cost_against_the_budget(mof, review, target, amount, code):
    rows = [r for r in FULL if r["level2"] != "成本指标"] + [
        {"level1": "产出指标", "level2": "成本指标", "level3": "控制在预算数内", "target": target}]
    codes = {f.code for f in review_targets(_table(rows, amount=amount), mof, review)}
    assert codes & {"cost-budget-mismatch", "cost-above-budget"} == ({code} if code else set())


def test_cost_notes_that_do_not_add_up_to_the_budget(seed_targets, mof, review):
    table = seed_targets.tables[2].model_copy(update={"cost_notes": [
        c.model_copy(update={"amount": 30.0}) for c in seed_targets.tables[2].cost_notes]})
    tset = seed_targets.model_copy(update={"tables": [table]})
    (f,) = [f for f in review_targets(tset, mof, review) if f.code == "notes-budget-mismatch"]
    assert f.message == "支出明细及测算说明的金额合计 30 万元与本表资金 31.5 万元不一致"


def test_annual_goal_against_a_completion_indicator(mof, review):
    rows = FULL + [{"level1": "产出指标", "level2": "质量指标", "level3": "工程完成率", "target": "≥100%"}]
    findings = review_targets(_table(rows, amount=50, annual_goal="年内完成主体工程70%，2025年竣工"), mof, review)
    (f,) = [f for f in findings if f.code == "goal-indicator-mismatch"]
    assert f.message == "年度目标写“完成主体工程70%”，而“工程完成率”的指标值为“≥100%”：两者不一致"
    assert f.suggestion == "按年度目标改为“≥70%”，或修改年度目标的表述"
    clean = review_targets(_table(rows, amount=50, annual_goal="完成主体工程"), mof, review)
    assert "goal-indicator-mismatch" not in {f.code for f in clean}


@pytest.mark.parametrize("row, code", [
    ({"level2": "质量指标", "level3": "验收合格率", "target": "≥105%"}, "rate-above-100"),
    ({"level2": "质量指标", "level3": "验收合格率", "target": "＞100%"}, "rate-above-100"),
    ({"level2": "质量指标", "level3": "覆盖率", "target": "≥100%"}, "ge-on-capped-rate"),
    ({"level2": "质量指标", "level3": "覆盖率", "target": "=100%"}, None),
    ({"level2": "时效指标", "level3": "资金拨付及时率", "target": "≥100%"}, "timeliness-as-rate"),
    ({"level2": "时效指标", "level3": "资金拨付及时率", "target": "=100%"}, None),
    ({"level2": "成本指标", "level3": "生活补助标准", "target": "3000元/人"}, "standard-without-operator"),
    ({"level2": "成本指标", "level3": "生活补助标准", "target": "=3000元/人"}, None),
])
def test_operators_and_units(mof, review, row, code):
    rows = FULL + [{"level1": "产出指标", **row}]
    codes = {f.code for f in review_targets(_table(rows, amount=50), mof, review)}
    found = codes & {"rate-above-100", "ge-on-capped-rate", "timeliness-as-rate", "standard-without-operator"}
    assert found == ({code} if code else set())


def test_a_standard_under_cost_says_it_is_scored_as_a_ceiling(mof, review):
    rows = FULL + [{"level1": "产出指标", "level2": "成本指标", "level3": "生活补助标准", "target": "3000元/人"}]
    (f,) = [f for f in review_targets(_table(rows, amount=50), mof, review) if f.code == "standard-without-operator"]
    assert "在成本指标下将按上限（≤）计分" in f.message
    assert f.suggestion == "写明指标性质，如“=3000元/人”（按标准发放）或“≤3000元/人”（不超过标准）"


def test_given_weights_follow_the_rule_set(mof, review):
    weights = [10, 10, 10, 10, 30, 20]  # 产出 40 / 效益 30 / 满意度 20 (a variant form), + 10 execution
    rows = [{**r, "weight": w} for r, w in zip(FULL, weights)]
    findings = review_targets(_table(rows, amount=50), mof, review)
    assert [(f.code, f.message) for f in findings] == [
        ("group-weight-mismatch", "“产出指标”的三级指标分值合计 40，规则集 mof-2020@2020.1 规定为 50"),
        ("group-weight-mismatch", "“满意度指标”的三级指标分值合计 20，规则集 mof-2020@2020.1 规定为 10"),
    ]
    rows[0]["weight"] = 25  # and now they no longer add up to 90: the engine's own check
    assert "weights-not-100" in {f.code for f in review_targets(_table(rows, amount=50), mof, review)}


# --------------------------------------------------------------------------- last year's actuals
def test_targets_not_above_last_years_actual(tmp_path, seed_targets, mof, review):
    last = load_actuals(SEED_ACTUALS).model_copy(update={"year": 2022})
    previous = previous_from_actuals(last)
    findings = [f for f in review_targets(seed_targets, mof, review, previous=previous) if f.code == "not-ambitious"]
    by = {(f.location.table, f.location.indicator): f for f in findings}
    low = by[("sectors-2023", "界别调研报告")]
    assert (low.severity, low.message) == ("warning", "指标值“10个”低于2022 年实际完成值“11个”：目标偏低，缺乏挑战性")
    assert by[("dept-2023", "政协常委会")].severity == "info"  # ≥5次 after 5次: level with last year
    # never for a budget ceiling, a rate already at 100%, or an indicator last year fell short on
    assert not {("dept-2023", "控制在预算数内"), ("business-2023", "提案和微建议办理"), ("dept-2023", "政协主席会议"),
                ("business-2023", "专题调研")} & set(by)


def test_last_years_tables_are_found_when_the_form_was_imported_again(seed_targets, mof, review):
    forms, _ = load_any_targets(ROOT / "tests" / "fixtures" / "seed-forms.docx")  # ids dept-2023-1 …
    previous = previous_from_actuals(load_actuals(SEED_ACTUALS).model_copy(update={"year": 2022}))
    assert table_key("dept-2023-1") == "dept--1" and "dept--1" not in previous.tables
    findings = [f for f in review_targets(forms, mof, review, previous=previous) if f.code == "not-ambitious"]
    assert {f.location.indicator for f in findings} >= {"界别调研报告", "政协常委会"}


def test_last_year_must_be_earlier(seed_targets, mof, review):
    with pytest.raises(InputFileError, match="不早于目标表的年度 2023"):
        review_targets(seed_targets, mof, review, previous=PreviousYear(year=2023))


def test_last_year_from_the_store(tmp_path, mof, review):
    from evaluator.bureau import batch
    from evaluator.store import Store
    from evaluator.synth import synth_province

    synth_province(tmp_path / "p", departments=3, seed=2, tables=2, indicators=12, years=2)
    store = Store(f"sqlite:///{tmp_path / 'e.db'}")
    batch(tmp_path / "p", mof, store)
    folder = sorted((tmp_path / "p").iterdir())[0]
    targets = load_targets(folder / "2023" / "targets.json")
    previous = previous_from_store(store, targets.unit_name, 2022)
    assert previous is not None and previous.year == 2022
    assert set(previous.tables) == {table_key(t.id) for t in targets.tables}
    review_targets(targets, mof, review, previous=previous)  # runs on what the store holds
    assert previous_from_store(store, targets.unit_name, 2019) is None


# --------------------------------------------------------------------------- real tables
@needs_cases
def test_real_published_tables(mof, review):
    found = {}
    for path in sorted(CASES.glob("*.csv")):
        targets, _ = load_any_targets(path)
        found[path.stem] = {f.code for f in review_targets(targets, mof, review)}
    yongde = found["yunnan-yongde-nutrition-2022"]
    assert {"ge-on-capped-rate", "timeliness-as-rate", "vague-target", "group-weight-mismatch"} <= yongde
    assert {"missing-category", "missing-subcategory", "group-weight-mismatch"} <= found["shanxi-jishan-health-2021"]
    assert "unreadable-target" in found["ningxia-yinchuan-school-2021"]  # the OCR-damaged "M.8万元"
    assert "missing-category" not in found["hunan-yuhua-dev-2022"]  # 投入/过程 framework
    assert "empty-target" in found["anhui-tianchang-water-2022"]


def test_every_code_is_documented_with_its_source():
    doc = (ROOT / "docs" / "target-review.md").read_text(encoding="utf-8")
    for code in REVIEW_CODES:
        assert f"`{code}`" in doc, code
    assert "domain.md" in doc


# --------------------------------------------------------------------------- the command
def test_review_targets_command(tmp_path):
    res = runner.invoke(app, ["review-targets", str(SEED_TARGETS)])
    assert res.exit_code == 1  # empty 指标值 are errors
    assert "[错误] 第 4 项 保障区政协机关和政协委员各项工作顺利开展：指标值为空" in res.output
    assert "建议：改为量化目标" in res.output and "未提供上年数据" in res.output
    last = tmp_path / "2022.yaml"
    last.write_text(SEED_ACTUALS.read_text(encoding="utf-8").replace("year: 2023", "year: 2022"), encoding="utf-8")
    res = runner.invoke(app, ["review-targets", str(SEED_TARGETS), "--previous", str(last), "--json"])
    data = json.loads(res.output)
    assert data["errors"] == 5 and any(f["code"] == "not-ambitious" for f in data["findings"])
    assert data["tables"][0]["items"][0]["what"] == REVIEW_CODES[data["tables"][0]["items"][0]["code"]]


@needs_cases
@pytest.mark.parametrize("path", ["tests/fixtures/seed-forms.docx", "tests/fixtures/variant-three-columns.xlsx",
                                  "../shared/cases/yunnan-yongde-nutrition-2022.csv"])
def test_review_targets_reads_every_targets_input(path):
    file = ROOT / path if not path.startswith("..") else CASES / Path(path).name
    res = runner.invoke(app, ["review-targets", str(file)])
    assert res.exit_code in (0, 1) and "Traceback" not in res.output
    assert re.search(r"错误 \d+，警告 \d+，提示 \d+", res.output)
