"""In-year monitoring (双监控): execution against time, indicator progress, warnings, the 监控表 and the look back."""
from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from evaluator import evaluate, load_rules, read_flat_table
from evaluator.cli import app
from evaluator.errors import InputFileError, RuleSetError
from evaluator.monitor import (
    ProgressSet, followup, load_monitor_rules, load_progress, monitor, monitor_context, write_monitor_docx,
    write_monitor_xlsx,
)

from .conftest import CASES, ROOT, SEED_ACTUALS, SEED_TARGETS

PROGRESS = ROOT / "data" / "progress" / "shifeng-cppcc-2023-07.yaml"
runner = CliRunner()


@pytest.fixture(scope="module")
def seed_progress():
    return load_progress(PROGRESS)


@pytest.fixture(scope="module")
def result(seed_targets, seed_progress, mof):
    return monitor(seed_targets, seed_progress, mof)


def _indicator(result, table, name):
    t = next(t for t in result.tables if t.table == table)
    return next(i for i in t.indicators if i.level3 == name)


def test_execution_against_time_elapsed(result):
    assert result.time_share == pytest.approx(7 / 12)
    lights = {t.table: (t.light, round(t.rate, 4), round(t.progress, 4)) for t in result.tables}
    assert lights == {
        "dept-2023": ("yellow", round(250 / 541.37, 4), round(250 / 541.37 / (7 / 12), 4)),  # 79.2%: 60–80 → yellow
        "business-2023": ("green", round(20.5 / 31.5, 4), round(20.5 / 31.5 / (7 / 12), 4)),
        "sectors-2023": ("red", round(15 / 53.1, 4), round(15 / 53.1 / (7 / 12), 4)),  # 48.4% → red
    }
    dept = result.tables[0]
    assert dept.message == "执行率 46.2%，时间进度 58.3%，执行进度 79.2%（执行率 ÷ 时间进度）"
    assert not dept.needs_action  # the unit stated its 纠偏措施


def test_indicator_progress_projection_and_deviation(result):
    meetings = _indicator(result, "dept-2023", "政协常委会")
    assert (meetings.light, meetings.achieved, meetings.projection) == ("yellow", 0.4, "3.43次")
    assert meetings.deviation == pytest.approx(7 / 12 - 0.4)
    assert meetings.action == "8月、10月、12月各召开1次常委会" and not meetings.needs_action
    chair = _indicator(result, "dept-2023", "政协主席会议")
    assert chair.needs_action and chair.message.endswith("须说明偏差原因和纠偏措施")
    assert _indicator(result, "dept-2023", "政协全会").projection == "已完成（1次）"
    # a % target is a level: projected as it stands, deviation from the target itself
    handling = _indicator(result, "dept-2023", "提案和微建议办理")
    assert (handling.light, handling.projection, handling.deviation) == ("red", "60%", pytest.approx(0.4))
    # a per-unit rate: 12 activities over 11 界别 so far
    sectors = _indicator(result, "sectors-2023", "界别活动")
    assert sectors.achieved == pytest.approx(12 / 11 / 4) and sectors.light == "red"
    assert sectors.projection == "1.87次/年/界别"
    # a ceiling: the cost so far comes from the table's 累计执行数 (the engine's cost_from_spent)
    cost = _indicator(result, "dept-2023", "控制在预算数内")
    assert cost.light == "green" and cost.projection == "428.57万"
    proposals = _indicator(result, "business-2023", "提案")  # ≤50个, 63 already
    assert proposals.light == "red" and "超过上限 50个" in proposals.message
    # 定性: the unit's own judgement of 完成目标可能性
    assert _indicator(result, "dept-2023", "参与区中心工作，助推石峰高质量发展").light == "yellow"
    assert _indicator(result, "dept-2023", "委员履职能力").light == "none"
    assert _indicator(result, "sectors-2023", "提升委员参政议政水平，为地方经济发展建言献策。").message == "不适用"


def test_the_warning_list(result):
    assert {(w.table, w.indicator, w.light) for w in result.warnings} == {
        ("dept-2023", "预算执行", "yellow"), ("dept-2023", "政协常委会", "yellow"), ("dept-2023", "政协主席会议", "yellow"),
        ("dept-2023", "参与区中心工作，助推石峰高质量发展", "yellow"), ("dept-2023", "提案和微建议办理", "red"),
        ("business-2023", "专题调研", "red"), ("business-2023", "提案", "red"),
        ("business-2023", "为“一极三区”建设贡献政协力量", "yellow"), ("business-2023", "提案和微建议办理", "red"),
        ("sectors-2023", "预算执行", "red"), ("sectors-2023", "界别活动", "red"),
    }
    assert monitor_context(result)["counts"] == {"red": 6, "yellow": 5}


def test_thresholds_are_data(tmp_path, seed_targets, seed_progress, mof):
    text = (ROOT / "rules" / "checks" / "monitor.yaml").read_text(encoding="utf-8")
    path = tmp_path / "loose.yaml"
    path.write_text(text.replace("yellow_below: 0.8", "yellow_below: 0.7").replace("threshold: 0.15", "threshold: 0.2"),
                    encoding="utf-8")
    loose = monitor(seed_targets, seed_progress, mof, load_monitor_rules(path))
    assert loose.tables[0].light == "green"  # 79.2% ≥ 70%
    assert _indicator(loose, "dept-2023", "政协常委会").light == "green"  # 18.3 points ≤ 20
    off = tmp_path / "off.yaml"
    off.write_text(text.replace("  source: deviation\n", "  source: deviation\n  enabled: false\n"), encoding="utf-8")
    quiet = monitor(seed_targets, seed_progress, mof, load_monitor_rules(off))
    assert {w.indicator for w in quiet.warnings} == {"预算执行"}  # indicator warnings switched off
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("red_below: 0.6", "red_below: 0.9"), encoding="utf-8")
    with pytest.raises(RuleSetError, match="red_below 应不大于 yellow_below"):
        load_monitor_rules(bad)


def test_milestone_rules(seed_targets, seed_progress, mof):
    result = monitor(seed_targets, seed_progress, mof, load_monitor_rules("monitor-milestones"))
    dept, business, sectors = result.tables
    # 46.2% is above the June milestone (40%), but the indicators average 57.5% done: a gap of more than 10 points
    assert (dept.light, dept.message) == ("yellow", "累计执行率 46.2%，6 月末应不低于 40.0%；指标平均完成进度与执行率相差 "
                                                    "11.3 个百分点")
    assert sectors.light == "red"  # 28.2% < 40%
    assert business.light == "green"


def test_month_and_year_must_match(seed_targets, seed_progress, mof):
    with pytest.raises(InputFileError, match="进度文件是 7 月的，命令指定 --month 8"):
        monitor(seed_targets, seed_progress, mof, month=8)
    with pytest.raises(InputFileError, match="年度 2024 与目标表的年度 2023 不一致"):
        monitor(seed_targets, seed_progress.model_copy(update={"year": 2024}), mof)


def test_the_progress_file_is_strict_and_takes_chinese_keys(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("单位名称: 某单位\nyear: 2023\n监控月份: 6\ntables:\n  - table: t\n    budget: {全年预算数: 10, 累计执行数: 4}\n"
                    "    indicators:\n      - {三级指标: 培训, 截至本月完成值: 3次, 纠偏措施: 加快}\n", encoding="utf-8")
    p = load_progress(path)
    assert (p.month, p.tables[0].budget.spent, p.tables[0].indicators[0].action) == (6, 4, "加快")
    path.write_text("unit_name: x\nyear: 2023\nmonth: 13\ntables: []\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="month"):
        load_progress(path)
    path.write_text("unit_name: x\nyear: 2023\nmonth: 7\ntables: [{table: t, progres: 1}]\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="未知的键“progres”"):
        load_progress(path)


def test_an_unmatched_or_unreadable_progress_entry(seed_targets, seed_progress, mof):
    tables = list(seed_progress.tables)
    entries = list(tables[0].indicators) + [tables[0].indicators[0].model_copy(update={"indicator": "不存在的指标"})]
    entries[2] = entries[2].model_copy(update={"progress": "2米"})
    tables[0] = tables[0].model_copy(update={"indicators": entries})
    result = monitor(seed_targets, seed_progress.model_copy(update={"tables": tables}), mof)
    assert result.unmatched == ["dept-2023 / 不存在的指标"]
    chair = _indicator(result, "dept-2023", "政协主席会议")
    assert chair.light == "yellow" and "无法与指标值比较" in chair.message


def test_the_year_end_look_back(seed_targets, seed_actuals, result, mof):
    ev = evaluate(seed_targets, seed_actuals, mof)
    back = followup(result, ev)
    chair = next(x for x in back["dept-2023"] if x["indicator"] == "政协主席会议")
    assert chair["action"] == "（未说明纠偏措施）"
    assert chair["result"].startswith("年末实际 4次，得 6.67 / 8.34，仍未达成：第四季度因防汛")
    assert "须说明" not in chair["warning"]
    meetings = next(x for x in back["dept-2023"] if x["indicator"] == "政协常委会")
    assert meetings["result"] == "年末实际 5次，得 8.33 / 8.33，已达成"
    execution = back["sectors-2023"][0]
    assert execution["indicator"] == "预算执行" and execution["result"] == "全年执行率 94.7%，得分 9.47 / 10"


def test_score_with_monitor_shows_the_look_back():
    res = runner.invoke(app, ["score", str(SEED_TARGETS), str(SEED_ACTUALS), "--monitor", str(PROGRESS)])
    assert res.exit_code == 0, res.output
    assert "绩效监控回顾（1–7月的预警及处理）：" in res.output
    data = json.loads(runner.invoke(app, ["score", str(SEED_TARGETS), str(SEED_ACTUALS), "--monitor", str(PROGRESS),
                                          "--json"]).output)
    assert data["monitor_followup"]["period"] == "1–7月"
    assert any(x["indicator"] == "专题调研" for x in data["monitor_followup"]["tables"]["business-2023"])


def test_the_monitoring_table_files(tmp_path, result):
    ctx = monitor_context(result)
    x1 = write_monitor_xlsx(ctx, tmp_path / "a.xlsx")
    x2 = write_monitor_xlsx(ctx, tmp_path / "b.xlsx")
    assert x1.read_bytes() == x2.read_bytes()  # reproducible
    d1, d2 = write_monitor_docx(ctx, tmp_path / "a.docx"), write_monitor_docx(ctx, tmp_path / "b.docx")
    assert d1.read_bytes() == d2.read_bytes()
    wb = load_workbook(x1)
    assert wb.sheetnames[-1] == "预警清单" and len(wb.sheetnames) == 4
    ws = wb[wb.sheetnames[0]]
    assert ws["A1"].value == "绩效运行监控表（2023年1–7月）"
    assert [ws.cell(row=6, column=j).value for j in range(1, 13)][:6] == \
        ["一级指标", "二级指标", "三级指标", "年度指标值", "截至本月完成值", "目标实现程度"]
    rows = {ws.cell(row=r, column=3).value: [ws.cell(row=r, column=j).value for j in range(4, 13)] for r in range(7, 18)}
    assert rows["政协常委会"][:7] == ["≥5次", "2次", "40.0%", "3.43次", "5次", "18.3", "黄色预警"]
    assert rows["政协主席会议"][-1] == "（须填写）"
    warnings = wb["预警清单"]
    assert warnings.cell(row=3, column=4).value == "红色预警"  # red first


def test_the_monitoring_table_renders(tmp_path, result, soffice, pdftoppm):
    ctx = monitor_context(result)
    for path in (write_monitor_xlsx(ctx, tmp_path / "m.xlsx"), write_monitor_docx(ctx, tmp_path / "m.docx")):
        out = tmp_path / path.suffix[1:]
        subprocess.run([soffice, "--headless", "--convert-to", "pdf", "--outdir", str(out), str(path)], check=True,
                       capture_output=True, timeout=300)
        subprocess.run([pdftoppm, "-r", "40", "-png", "-f", "1", "-l", "1", str(out / "m.pdf"), str(out / "p")],
                       check=True, timeout=120)
        assert (out / "p-1.png").stat().st_size > 10_000


def test_monitor_command_single_unit_and_bureau_folder(tmp_path):
    res = runner.invoke(app, ["monitor", str(SEED_TARGETS), str(PROGRESS), "--month", "7", "-o", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    assert "红色预警 6 项，黄色预警 5 项" in res.output
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == \
        ["shifeng-cppcc-2023-07-绩效运行监控表.docx", "shifeng-cppcc-2023-07-绩效运行监控表.xlsx"]
    # the bureau: a folder of units, one of them with a broken progress file
    for name in ("a", "b", "c"):
        (tmp_path / "units" / name).mkdir(parents=True)
        shutil.copy(SEED_TARGETS, tmp_path / "units" / name / "targets.yaml")
    shutil.copy(PROGRESS, tmp_path / "units" / "a" / "progress.yaml")
    (tmp_path / "units" / "b" / "progress.yaml").write_text(
        PROGRESS.read_text(encoding="utf-8").replace("spent: 15.0", "spent: 40.0"), encoding="utf-8")
    (tmp_path / "units" / "c" / "progress.yaml").write_text("unit_name: [", encoding="utf-8")
    res = runner.invoke(app, ["monitor", str(tmp_path / "units"), "--month", "7", "-o", str(tmp_path / "bureau")])
    assert res.exit_code == 0, res.output
    assert "2 个单位：红色预警 11 项，黄色预警 11 项" in res.output and "无法读取" in res.output
    wb = load_workbook(tmp_path / "bureau" / "绩效监控预警清单-2023-07.xlsx")
    assert wb.sheetnames == ["预警清单"] and wb["预警清单"].max_row == 2 + 22
    res = runner.invoke(app, ["monitor", str(SEED_TARGETS)])
    assert res.exit_code == 1 and "缺少进度文件" in res.output


@pytest.mark.skipif(not CASES.is_dir(), reason="../shared/cases is not beside the repository")
def test_monitoring_a_published_table(mof):
    """The targets of a real 项目 (永德县营养改善计划), with July progress written for the test."""
    targets, _ = read_flat_table(CASES / "yunnan-yongde-nutrition-2022.csv")
    table = targets.tables[0].id
    targets = targets.model_copy(update={"year": 2022})
    progress = ProgressSet.model_validate({
        "unit_name": targets.unit_name, "year": 2022, "month": 7, "tables": [{
            "table": table, "budget": {"budget": 38.766462, "spent": 19.0},
            "indicators": [{"indicator": "学生受资助人数", "progress": "735人次"},
                           {"indicator": "营养改善计划覆盖率", "progress": "80%", "action": "9月开学后补录"},
                           {"indicator": "学生满意度", "progress": "96%"}]}]})
    result = monitor(targets, progress, mof)
    (t,) = result.tables
    assert (t.light, round(t.progress, 3)) == ("green", round(19 / 38.766462 / (7 / 12), 3))  # 84.0% → green
    lights = {i.level3: (i.light, i.message) for i in t.indicators}
    assert lights["学生受资助人数"] == ("green", "已达到目标 735人次")
    assert lights["营养改善计划覆盖率"][0] == "yellow"  # a level 20 points below 100%
    assert lights["学生满意度"][0] == "green"
    assert lights["资金到位及时率"] == ("yellow", "未填报完成进度；须说明偏差原因和纠偏措施")
