"""Year on year from the bureau's store: the seed department over three years, and a synthetic province."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from evaluator import load_rules
from evaluator.bureau import batch
from evaluator.cli import app
from evaluator.errors import EvaluatorError, RuleSetError
from evaluator.store import Store
from evaluator.synth import synth_province
from evaluator.trend import find_unit, load_trend_rules, trend_charts, trend_context, unit_trend

from .conftest import ROOT, SEED_ACTUALS, SEED_TARGETS

runner = CliRunner()
REPORTS = {2021: "13个", 2022: "14个", 2023: "11个"}  # 界别调研报告 against 10个: 130%+, 140%, then 110%
MEETINGS = {2021: "≥4次", 2022: "≥5次", 2023: "≥5次"}  # 政协主席会议's target moved once


@pytest.fixture(scope="module")
def seed_store(tmp_path_factory):
    """The seed department in 2021–2023: the same targets (one moved), the actuals of the seed year."""
    root = tmp_path_factory.mktemp("years")
    for year in (2021, 2022, 2023):
        folder = root / "石峰区政协" / str(year)
        folder.mkdir(parents=True)
        targets = SEED_TARGETS.read_text(encoding="utf-8").replace("2023", str(year)).replace(
            "{level1: 产出指标, level2: 数量指标, level3: 政协主席会议, target: ≥5次}",
            f"{{level1: 产出指标, level2: 数量指标, level3: 政协主席会议, target: {MEETINGS[year]}}}")
        actuals = SEED_ACTUALS.read_text(encoding="utf-8").replace("2023", str(year)).replace(
            "{indicator: 界别调研报告, actual: 11个}", f"{{indicator: 界别调研报告, actual: {REPORTS[year]}}}")
        (folder / "targets.yaml").write_text(targets, encoding="utf-8")
        (folder / "actuals.yaml").write_text(actuals, encoding="utf-8")
    store = Store(f"sqlite:///{root / 'e.db'}")
    batch(root, load_rules("mof-2020"), store)
    yield store
    store.close()


def _indicator(result, key, name):
    table = next(t for t in result.tables if t.key == key)
    return next(i for i in table.indicators if i.level3 == name)


def test_tables_and_indicators_are_matched_across_years(seed_store, mof):
    result = unit_trend(seed_store, "石峰区政协", mof)
    assert result.years == [2021, 2022, 2023]
    assert {t.key for t in result.tables} == {"dept", "business", "sectors"}
    dept = next(t for t in result.tables if t.key == "dept")
    assert dept.title == "部门整体支出绩效目标表" and set(dept.totals) == {2021, 2022, 2023}
    meetings = _indicator(result, "dept", "政协常委会")
    assert [(p.year, p.target, p.actual, p.target_value, p.actual_value) for p in meetings.points] == [
        (2021, "≥5次", "5次", 5.0, 5.0), (2022, "≥5次", "5次", 5.0, 5.0), (2023, "≥5次", "5次", 5.0, 5.0)]


def test_targets_that_never_move(seed_store, mof):
    result = unit_trend(seed_store, "石峰区政协", mof)
    meetings = _indicator(result, "dept", "政协常委会")
    assert meetings.never_moves and meetings.note == "连续 3 年目标均为“≥5次”，未随实际情况调整"
    assert not _indicator(result, "dept", "政协主席会议").never_moves  # moved from ≥4次 to ≥5次
    assert not _indicator(result, "dept", "提案和微建议办理").never_moves  # a rate at 100%: left to the room check
    assert not _indicator(result, "dept", "完成工作时限").never_moves  # a deadline moves with the year
    assert not _indicator(result, "dept", "委员履职能力").never_moves  # qualitative (target review's job)


def test_met_with_room_to_spare(seed_store, mof, tmp_path):
    result = unit_trend(seed_store, "石峰区政协", mof)
    reports = _indicator(result, "sectors", "界别调研报告")
    assert not reports.room  # 2023: 110% only
    text = (ROOT / "rules" / "checks" / "trend.yaml").read_text(encoding="utf-8").replace("ratio: 1.3", "ratio: 1.1")
    path = tmp_path / "t.yaml"
    path.write_text(text, encoding="utf-8")
    loose = unit_trend(seed_store, "石峰区政协", mof, load_trend_rules(path))
    reports = _indicator(loose, "sectors", "界别调研报告")
    assert reports.room and reports.note.startswith("连续 3 年目标均为“10个”")
    assert "连续 3 年大幅超额完成（实际达到目标的 110% 以上：2021 年实际 13个，目标 10个；" in reports.note
    path.write_text(text.replace("ratio: 1.1", "ratio: 0.9"), encoding="utf-8")
    with pytest.raises(RuleSetError, match="room.ratio"):
        load_trend_rules(path)


def test_score_trend(seed_store, mof):
    result = unit_trend(seed_store, "石峰区政协", mof)
    # 2021's 政协主席会议 target was ≥4次, met by 4次: 1.67 points more than in the later years
    assert result.score == {2021: 99.33, 2022: 97.66, 2023: 97.66}
    dept = next(t for t in result.tables if t.key == "dept")
    assert result.score == dept.totals  # the department's score is its 部门整体 table's total
    ctx = trend_context(result)
    assert [x["year"] for x in ctx["score"]] == [2021, 2022, 2023] and ctx["score"][0]["change"] == ""
    assert ctx["flagged"] == sum(1 for t in result.tables for i in t.indicators if i.note)


def test_unit_names_are_matched_or_refused_with_candidates(seed_store):
    assert find_unit(seed_store, "石峰") == "石峰区政协"
    with pytest.raises(EvaluatorError, match="数据库中没有单位“天元区政协”"):
        find_unit(seed_store, "天元区政协")


def test_a_synthetic_province_over_three_years(tmp_path, mof):
    synth_province(tmp_path / "p", departments=12, seed=3, tables=3, indicators=12, years=3)
    store = Store(f"sqlite:///{tmp_path / 'e.db'}")
    batch(tmp_path / "p", mof, store)
    units = sorted({s["department"] for s in store.current()})
    results = [unit_trend(store, u, mof) for u in units]
    assert all(r.years == [2021, 2022, 2023] for r in results)
    never = [r.unit_name for r in results if any(i.never_moves for t in r.tables for i in t.indicators)]
    room = [r.unit_name for r in results if any(i.room for t in r.tables for i in t.indicators)]
    assert never and room  # units that copy their targets, and some that set them too low
    charts = trend_charts(results[0])
    assert set(charts) >= {"score", "table-1"} and all(png[:8] == b"\x89PNG\r\n\x1a\n" for png in charts.values())
    assert trend_charts(results[0]) == charts  # the same bytes every time
    store.close()


def test_trend_command(seed_store, tmp_path):
    db = str(seed_store.url)
    res = runner.invoke(app, ["trend", "石峰", "--db", db, "-o", str(tmp_path / "c")])
    assert res.exit_code == 0, res.output
    assert "石峰区政协 2021–2023 年同比" in res.output
    assert "政协常委会：连续 3 年目标均为“≥5次”" in res.output
    assert sorted(p.name for p in (tmp_path / "c").iterdir()) == ["score.png", "table-1.png", "table-2.png",
                                                                  "table-3.png"]
    data = json.loads(runner.invoke(app, ["trend", "石峰区政协", "--db", db, "--json"]).output)
    assert data["years"] == [2021, 2022, 2023] and data["result"]["unit_name"] == "石峰区政协"
    res = runner.invoke(app, ["trend", "不存在", "--db", db])
    assert res.exit_code == 1 and "数据库中没有单位“不存在”" in res.output
