"""whatif / monitor / monitor-template / review-targets read every input the way ``score`` does (intake): Word and
Excel forms, legacy .xls/.doc, published 自评表 — and refuse the rest with the same Chinese message."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from evaluator.cli import app

from .conftest import CASES, ROOT, SEED_ACTUALS, SEED_TARGETS

runner = CliRunner()
FIXTURES = ROOT / "tests" / "fixtures"
PROGRESS = ROOT / "data" / "progress" / "shifeng-cppcc-2023-07.yaml"


def _run(*args: str):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture
def pdf(tmp_path):
    p = tmp_path / "目标表.pdf"
    p.write_bytes(b"%PDF-1.4\n%\xe2\xe3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")
    return p


def test_a_file_no_command_can_read_gets_the_same_message(pdf, tmp_path):
    score = _run("score", pdf)
    assert score.exit_code == 1
    message = score.output.strip()
    assert message.startswith("错误：") and "PDF" in message
    for args in (("whatif", pdf, "--set", "执行率=90%"), ("monitor", pdf, PROGRESS),
                 ("monitor-template", pdf, "--month", "7", "-o", tmp_path / "p.xlsx"), ("review-targets", pdf)):
        res = _run(*args)
        assert res.exit_code == 1 and res.output.strip() == message, (args, res.output)
        assert "Traceback" not in res.output
    assert not (tmp_path / "p.xlsx").exists()


def test_monitor_from_a_legacy_excel_form(tmp_path):
    """The seed's 目标表 as an .xls form: the template and the monitoring read it like score reads it."""
    form = FIXTURES / "seed-forms.xls"
    out = tmp_path / "进度.xlsx"
    res = _run("monitor-template", form, "--month", "7", "-o", out)
    assert res.exit_code == 0, res.output
    res = _run("monitor", form, out, "--json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["month"] == 7 and len(data["tables"]) == 3
    assert all(i["message"] == "未填报完成进度；须说明偏差原因和纠偏措施" for t in data["tables"] for i in t["indicators"]
               if i["light"] == "yellow" and not i["progress"])


def test_monitor_and_whatif_from_a_legacy_word_form(tmp_path, soffice):
    form = FIXTURES / "county-project.doc"
    out = tmp_path / "进度.xlsx"
    res = _run("monitor-template", form, "--month", "6", "-o", out)
    assert res.exit_code == 0, res.output
    assert _run("monitor", form, out, "--json").exit_code == 0
    # whatif on a form without actuals: the same message as score
    score, whatif = _run("score", form), _run("whatif", form, "--set", "执行率=90%")
    assert score.exit_code == whatif.exit_code == 1 and whatif.output == score.output and "缺少实际完成值文件" in score.output


@pytest.mark.skipif(not CASES.is_dir(), reason="../shared/cases is not beside the repository")
@pytest.mark.parametrize("name", ["anhui-tianchang-water-2022.docx", "anhui-tianchang-water-2022.xlsx"])
def test_whatif_and_review_on_a_published_table_as_offices_send_it(name):
    """A real county 自评表 in Word and in Excel (targets and actuals in one file): what-if and 目标审核 read it."""
    path = FIXTURES / "published" / name
    res = _run("whatif", path, "--set", "执行率=80%", "--json")
    assert res.exit_code == 0, res.output
    (t,) = json.loads(res.stdout)["tables"]
    assert (t["rate_before"], t["rate_after"]) == (1.0, 0.8)
    assert (t["execution_before"], t["execution_after"]) == (10.0, 8.0)  # less spent, fewer points
    assert t["total_before"] is None  # 6 of its indicators cannot be scored as published: no total either way
    review = _run("review-targets", path, "--json")
    assert review.exit_code in (0, 1) and json.loads(review.stdout)["tables"]


def test_review_with_last_years_self_evaluation_table(tmp_path):
    """--previous takes last year's filled 自评表 (here the one evaluator wrote for 2023) as well as a data file."""
    res = _run("report", SEED_TARGETS, SEED_ACTUALS, "-f", "xlsx", "-o", tmp_path / "r")
    assert res.exit_code == 0, res.output
    table = tmp_path / "r" / "石峰区政协2023年部门整体支出绩效自评表.xlsx"
    targets = tmp_path / "t2024.yaml"
    targets.write_text(SEED_TARGETS.read_text(encoding="utf-8").replace("2023", "2024"), encoding="utf-8")

    def low(previous) -> set[tuple[str, str]]:
        out = _run("review-targets", targets, "--previous", previous, "--json")
        return {(f["location"]["table"], f["location"]["indicator"]) for f in json.loads(out.stdout)["findings"]
                if f["code"] == "not-ambitious"}

    from_table, from_data = low(table), low(SEED_ACTUALS)
    dept = {x for x in from_data if x[0] == "dept-2024"}
    assert dept and {x for x in from_table if x[0] == "dept-2024"} == dept
    res = _run("review-targets", targets, "--previous", FIXTURES / "seed-forms.docx")
    assert res.exit_code == 1 and "这份上年文件中没有实际完成值" in res.output
