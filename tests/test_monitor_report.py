"""The year-end 自评报告 with the in-year monitoring's look back (report --monitor): each warning, the corrective
action stated then and the year-end result, in the PDF, the Word and the HTML report."""
from __future__ import annotations

import io
import re
import subprocess
import zipfile

import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from evaluator import evaluate, read_flat_table
from evaluator.cli import app
from evaluator.linebreak import unglue
from evaluator.monitor import ProgressSet, followup_context, load_progress, monitor
from evaluator.report import build_context, render_blocks, render_documents, write_reports

from .conftest import CASES, ROOT, SEED_ACTUALS, SEED_TARGETS

PROGRESS = ROOT / "data" / "progress" / "shifeng-cppcc-2023-07.yaml"
runner = CliRunner()


@pytest.fixture(scope="module")
def seed(seed_targets, seed_actuals, mof):
    ev = evaluate(seed_targets, seed_actuals, mof)
    return ev, followup_context(monitor(seed_targets, load_progress(PROGRESS), mof), ev)


def _docx_text(data: bytes) -> str:
    xml = zipfile.ZipFile(io.BytesIO(data)).read("word/document.xml").decode("utf-8")
    return "".join(re.findall(r"<w:t[^>]*>([^<]*)</w:t>", xml))


def _html_text(data: bytes) -> str:
    """The words of an HTML report (its glue characters between CJK characters taken out)."""
    return unglue(re.sub(r"<[^>]+>", "", data.decode("utf-8")))


def _pdf_text(data: bytes) -> str:
    return re.sub(r"\s+", "", "".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages))


def test_the_context_counts_the_warnings_and_what_became_of_them(seed, seed_targets, seed_actuals, mof):
    ev, back = seed
    te = next(t for t in ev.tables if t.table == "dept-2023")
    ctx = build_context(ev, te, seed_targets.tables[0], seed_actuals, mof, monitoring=back)
    m = ctx["monitoring"]
    assert m["period"] == "2023年1–7月"
    assert [r["indicator"] for r in m["rows"]] == ["预算执行", "政协常委会", "政协主席会议",
                                                   "参与区中心工作，助推石峰高质量发展", "提案和微建议办理"]
    assert (m["count"], m["red"], m["yellow"], m["unstated"], m["met"], m["unmet"]) == (5, 1, 4, 2, 2, 3)
    rows = {r["indicator"]: r for r in m["rows"]}
    assert rows["政协常委会"] == {
        "indicator": "政协常委会",
        "warning": "黄色预警：目标实现程度 40.0%，时间进度 58.3%，按当前进度预计全年 3.43次（目标 5次）；偏差 18.3 个百分点，超过 15%",
        "action": "8月、10月、12月各召开1次常委会", "year_end": "实际“5次”，得 8.33 分（分值 8.33 分），已达成"}
    assert rows["政协主席会议"]["action"] == "未说明"
    assert rows["预算执行"]["year_end"] == "全年执行率 97.3%，得 9.73 分（分值 10 分），仍未达成"
    # the narrative: a second part under 偏差分析, with the counts
    blocks = render_blocks(ctx, ev, mof)
    heads = [b.text for b in blocks if b.kind == "h2"]
    assert "（一）年末偏差情况" in heads and "（二）绩效运行监控预警及整改情况" in heads
    text = next(b.text for b in blocks if b.kind == "p" and b.text.startswith("2023年1–7月绩效运行监控中"))
    assert text == ("2023年1–7月绩效运行监控中，共有 5 项预警（红色预警 1 项、黄色预警 4 项），其中 2 项当时未说明纠偏措施；"
                    "截至年末，2 项已达成，3 项仍未达成。逐项情况见下表。")
    assert [b.kind for b in blocks].index("monitoring") > [b.kind for b in blocks].index("indicators")


def test_no_monitoring_no_section(seed_targets, seed_actuals, mof):
    ev = evaluate(seed_targets, seed_actuals, mof)
    ctx = build_context(ev, ev.tables[0], seed_targets.tables[0], seed_actuals, mof)
    assert ctx["monitoring"] is None
    blocks = render_blocks(ctx, ev, mof)
    assert "monitoring" not in [b.kind for b in blocks]
    assert not any("年末偏差情况" in b.text or "绩效运行监控" in b.text for b in blocks)


def test_every_report_format_shows_the_look_back(tmp_path, seed, seed_targets, seed_actuals, mof):
    ev, back = seed
    # forked workers (jobs=2) and one process give the same files, with the look back in each
    forked = write_reports(seed_targets, seed_actuals, ev, mof, tmp_path / "a", ("pdf", "docx", "html"), jobs=2,
                           monitoring=back)
    single = render_documents(seed_targets, seed_actuals, ev, mof, ("pdf", "docx", "html"), monitoring=back)
    assert {p.name: p.read_bytes() for p in forked} == single
    name = "石峰区政协2023年业务性专项经费项目支出绩效自评报告"
    texts = {"pdf": _pdf_text(single[f"{name}.pdf"]), "docx": _docx_text(single[f"{name}.docx"]),
             "html": _html_text(single[f"{name}.html"])}
    for kind, text in texts.items():
        flat = re.sub(r"\s+", "", unglue(text))
        assert "（二）绩效运行监控预警及整改情况" in flat, kind
        for words in ("专题调研", "8月前确定剩余3个调研课题和牵头单位", "已使用上限的126.0%", "实际“63个”，得4.11分"):
            assert words.replace(" ", "") in flat, (kind, words)
    # and without it, none
    plain = render_documents(seed_targets, seed_actuals, ev, mof, ("html",))
    assert "绩效运行监控" not in plain[f"{name}.html"].decode("utf-8")


def test_the_report_page_renders(tmp_path, seed, seed_targets, seed_actuals, mof, soffice, pdftoppm):
    """The PDF page with the table, and the Word report through LibreOffice, as pictures."""
    ev, back = seed
    docs = render_documents(seed_targets, seed_actuals, ev, mof, ("pdf", "docx"), tables=["dept-2023"],
                            monitoring=back)
    pdf = next(v for k, v in docs.items() if k.endswith("报告.pdf"))
    page = next(k for k, p in enumerate(PdfReader(io.BytesIO(pdf)).pages, 1) if "绩效运行监控预警" in p.extract_text())
    (tmp_path / "r.pdf").write_bytes(pdf)
    subprocess.run([pdftoppm, "-r", "40", "-png", "-f", str(page), "-l", str(page), str(tmp_path / "r.pdf"),
                    str(tmp_path / "p")], check=True, timeout=120)
    assert next(tmp_path.glob("p-*.png")).stat().st_size > 10_000
    (tmp_path / "r.docx").write_bytes(next(v for k, v in docs.items() if k.endswith("报告.docx")))
    subprocess.run([soffice, "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path / "w"), str(tmp_path / "r.docx")],
                   check=True, capture_output=True, timeout=300)
    assert "绩效运行监控预警及整改情况" in _pdf_text((tmp_path / "w" / "r.pdf").read_bytes())


def test_report_command_with_monitor(tmp_path):
    res = runner.invoke(app, ["report", str(SEED_TARGETS), str(SEED_ACTUALS), "--monitor", str(PROGRESS), "-f", "html",
                              "-o", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    html = (tmp_path / "o" / "石峰区政协2023年政协委员界别活动经费项目支出绩效自评报告.html").read_text(encoding="utf-8")
    assert "绩效运行监控预警及整改情况" in html and "界别活动" in html
    bad = tmp_path / "bad.yaml"
    bad.write_text("unit_name: 石峰区政协\nyear: 2023\nmonth: 13\ntables: []\n", encoding="utf-8")
    res = runner.invoke(app, ["report", str(SEED_TARGETS), str(SEED_ACTUALS), "--monitor", str(bad), "-f", "html",
                              "-o", str(tmp_path / "p")])
    assert res.exit_code == 1 and "错误" in res.output and "bad.yaml" in res.output and "Traceback" not in res.output
    assert not (tmp_path / "p").exists()  # nothing written on a bad progress file


@pytest.mark.skipif(not CASES.is_dir(), reason="../shared/cases is not beside the repository")
def test_the_look_back_on_a_published_table(mof):
    """永德县营养改善计划 (a published 自评表: targets and year-end actuals), with July progress written for the test."""
    targets, actuals = read_flat_table(CASES / "yunnan-yongde-nutrition-2022.csv")
    table = targets.tables[0].id
    progress = ProgressSet.model_validate({
        "unit_name": targets.unit_name, "year": targets.year, "month": 7, "tables": [{
            "table": table, "budget": {"budget": 38.766462, "spent": 9.0}, "action": "秋季学期开学后集中拨付",
            "indicators": [{"indicator": "学生受资助人数", "progress": "300人次"},
                           {"indicator": "营养改善计划覆盖率", "progress": "80%", "action": "9月开学后补录"}]}]})
    ev = evaluate(targets, actuals, mof)
    back = followup_context(monitor(targets, progress, mof), ev)
    docs = render_documents(targets, actuals, ev, mof, ("html",), monitoring=back)
    html = _html_text(next(v for k, v in docs.items() if k.endswith(".html")))
    rows = {r["indicator"]: r for r in back["tables"][table]}
    assert rows["预算执行"]["tone"] == "red" and rows["预算执行"]["stated"]
    assert rows["营养改善计划覆盖率"]["action"] == "9月开学后补录"
    assert rows["资金到位及时率"]["warning"] == "未填报完成进度" and not rows["资金到位及时率"]["stated"]
    for r in rows.values():
        assert r["indicator"] in html and (r["action"] if r["stated"] else "未说明") in html
    te = ev.tables[0]
    cover = next(i for i in te.indicators if i.level3 == "营养改善计划覆盖率")
    assert f"实际“{cover.actual}”" in html
