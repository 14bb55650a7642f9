"""In-year monitoring stored in the web workflow (SQLite and PostgreSQL): progress uploads kept with their result,
the audit trail, the 预警清单 across units seen through each role's permissions, and the year-end documents."""
from __future__ import annotations

import io
import re
import zipfile

import pytest

pytest.importorskip("fastapi")

from openpyxl import load_workbook
from sqlalchemy import func, select

from evaluator.linebreak import unglue
from evaluator.schema import progress_reports

from .conftest import ROOT, SEED_ACTUALS, SEED_TARGETS
from .webkit import build_world

PROGRESS = ROOT / "data" / "progress" / "shifeng-cppcc-2023-07.yaml"


@pytest.fixture
def world(db_url):
    w = build_world(db_url)
    yield w
    w.store.close()


def _targets(w, clerk, unit):
    fid = w.filings[unit]
    r = clerk.form(f"/filings/{fid}/targets", files={"file": ("目标.yaml", SEED_TARGETS.read_bytes())})
    assert r.status_code == 200, r.text
    return fid


def _reports(w, fid) -> int:
    with w.store.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(progress_reports)
                            .where(progress_reports.c.filing_id == fid)).scalar_one()


def test_progress_is_stored_audited_and_listed_by_permission(world):
    clerk_a, clerk_b = world.client("clerk-a"), world.client("clerk-b")
    fa, fb = _targets(world, clerk_a, "甲单位"), _targets(world, clerk_b, "乙单位")
    # 甲 reports July from the YAML file
    r = clerk_a.form(f"/filings/{fa}/monitor", files={"file": ("进度.yaml", PROGRESS.read_bytes())})
    assert r.status_code == 200 and "红色预警 6 项，黄色预警 5 项" in r.text and "上报记录" in r.text
    assert "年末回顾" not in r.text  # nothing entered for the year end yet
    assert _reports(world, fa) == 1
    # a refused upload is kept in the trail, no report stored
    bad = clerk_a.form(f"/filings/{fa}/monitor", files={"file": ("进度.yaml", b"unit_name: [")})
    assert bad.status_code == 200 and '<p class="problem" role="alert">' in bad.text and "进度.yaml" in bad.text
    assert _reports(world, fa) == 1
    assert "红色预警 6 项" in bad.text  # the page still shows the stored report
    history = clerk_a.get(f"/api/filings/{fa}/history").json()["rows"]
    progress_events = [h for h in history if h.get("action") == "progress"]
    assert len(progress_events) == 1 and '"month": 7' in progress_events[0]["detail"]
    assert sum(1 for h in history if h.get("action") == "upload" and "progress" in (h.get("detail") or "")) == 2
    assert "上报监控进度" in clerk_a.get(f"/filings/{fa}/history").text
    # 乙 reports through the 进度填报表 downloaded from its page, filled in
    book = clerk_b.get(f"/filings/{fb}/progress.xlsx?month=7")
    assert book.status_code == 200 and book.content[:2] == b"PK"
    wb = load_workbook(io.BytesIO(book.content))
    wb["预算执行进度"]["D3"] = 500.0  # dept-2023: 92.4% by July → green
    ws = next(x for x in wb.worksheets if str(x["A2"].value).endswith("dept-2023"))
    rows = {ws.cell(row=r, column=4).value: r for r in range(4, ws.max_row + 1)}
    ws.cell(row=rows["政协常委会"], column=6).value = "1次"
    ws.cell(row=rows["政协常委会"], column=10).value = "下半年集中召开"
    buf = io.BytesIO()
    wb.save(buf)
    r = clerk_b.form(f"/filings/{fb}/monitor", files={"file": ("进度.xlsx", buf.getvalue())})
    assert r.status_code == 200 and '<p class="problem" role="alert">' not in r.text, r.text
    assert _reports(world, fb) == 1
    # the head of 甲 sees 甲's report but cannot report; 乙's clerk cannot see 甲's
    head = world.client("head-a")
    assert "红色预警 6 项" in head.get(f"/filings/{fa}/monitor").text
    assert head.form(f"/filings/{fa}/monitor", files={"file": ("进度.yaml", PROGRESS.read_bytes())}).status_code == 403
    assert clerk_b.get(f"/filings/{fa}/monitor").status_code == 404
    assert clerk_b.get(f"/filings/{fa}/monitor.xlsx").status_code == 404
    assert clerk_b.form(f"/filings/{fa}/monitor", files={"file": ("进度.yaml", PROGRESS.read_bytes())}).status_code == 404
    assert _reports(world, fa) == 1
    # the 预警清单: the bureau sees both units, red first; each clerk only its own; 主管部门T (丙) none
    bureau = world.client("bureau").get("/api/monitoring").json()
    assert [u["unit"] for u in bureau["units"]] == ["甲单位", "乙单位"]
    a = bureau["units"][0]
    assert (a["red"], a["yellow"], a["month"]) == (6, 5, 7) and a["unstated"] > 0
    assert a["execution"][0] == {"title": "2023年部门整体支出绩效目标表", "label": "部门整体", "light": "yellow",
                                 "light_label": "黄色预警", "progress": "79.2%"}
    assert [e["label"] for e in a["execution"][1:]] == ["业务性专项经费", "政协委员界别活动经费"]
    b = bureau["units"][1]
    assert b["execution"][0]["light"] == "green"
    meeting = next(w for w in b["warnings"] if w["indicator"] == "政协常委会")
    assert meeting["action"] == "下半年集中召开" and not meeting["needs_action"]
    assert [u["unit"] for u in clerk_a.get("/api/monitoring").json()["units"]] == ["甲单位"]
    assert [u["unit"] for u in clerk_b.get("/api/monitoring").json()["units"]] == ["乙单位"]
    assert world.client("super-t").get("/api/monitoring").json()["units"] == []
    assert len(world.client("super-s").get("/api/monitoring").json()["units"]) == 2
    reds = world.client("bureau").get("/api/monitoring?light=red").json()["units"]
    assert len(reds) == 2 and all(u["red"] for u in reds)  # 乙's 常委会: 1 of 5 by July is red too
    assert world.client("bureau").get("/api/monitoring?year=2022").json()["units"] == []
    page = world.client("bureau").get("/monitoring")
    assert page.status_code == 200 and f'href="/filings/{fa}/monitor"' in page.text and "未说明" in page.text
    xlsx = world.client("bureau").get("/monitoring/warnings.xlsx")
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.content))["预警清单"]
    assert {sheet.cell(row=r, column=1).value for r in range(3, sheet.max_row + 1)} == {"甲单位", "乙单位"}
    # in pages: the counts are the whole list's, the units those of the page, in the list's order
    first, second = (world.client("bureau").get(f"/api/monitoring?page={p}&per=1").json() for p in (1, 2))
    assert [u["unit"] for u in first["units"]] == ["甲单位"] and [u["unit"] for u in second["units"]] == ["乙单位"]
    assert first["counts"] == second["counts"] == bureau["counts"] and first["pager"] == {"page": 1, "pages": 2, "per": 1}
    assert world.client("bureau").get("/api/monitoring?page=9&per=1").json()["pager"]["page"] == 2
    assert world.client().get("/api/monitoring").status_code == 401


def test_the_year_end_documents_show_the_stored_warnings(world):
    clerk = world.client("clerk-a")
    fid = _targets(world, clerk, "甲单位")
    from evaluator.load import load_actuals
    from evaluator.web import workflow as wf

    entries = wf.entries_from_actuals(wf.filing(world.store, world.users["clerk-a"], fid)["targets_set"],
                                      load_actuals(SEED_ACTUALS))
    wf.save_entries(world.store, world.users["clerk-a"], fid, entries)

    def report_text() -> str:
        z = zipfile.ZipFile(io.BytesIO(clerk.get(f"/filings/{fid}/documents.zip?formats=html").content))
        name = next(n for n in z.namelist() if n.endswith("部门整体支出绩效自评报告.html"))
        return unglue(re.sub(r"<[^>]+>", "", z.read(name).decode("utf-8")))

    assert "绩效运行监控" not in report_text()
    page = clerk.form(f"/filings/{fid}/monitor", files={"file": ("进度.yaml", PROGRESS.read_bytes())})
    assert "年末回顾：监控预警的整改情况" in page.text  # the year-end entries are in: what became of each warning
    look = world.client("bureau").get(f"/filings/{fid}/monitor").text
    assert "年末回顾" in look and "实际“5次”，得 8.33 分（分值 8.33 分），<strong>已达成</strong>" in look
    text = report_text()
    assert "（二）绩效运行监控预警及整改情况" in text and "8月、10月、12月各召开1次常委会" in text


def test_the_warning_list_page_is_cut_into_pages(world, monkeypatch):
    """Thousands of reporting units: the 预警清单 page shows one page of units with a pager that keeps the filters."""
    from evaluator.web import pages

    for unit in ("甲单位", "乙单位"):
        clerk = world.client("clerk-a" if unit == "甲单位" else "clerk-b")
        fid = _targets(world, clerk, unit)
        assert clerk.form(f"/filings/{fid}/monitor", files={"file": ("进度.yaml", PROGRESS.read_bytes())}).status_code == 200
    monkeypatch.setattr(pages, "PAGE_SIZE", 1)
    bureau = world.client("bureau")
    one = bureau.get("/monitoring?year=2023").text
    assert "2 个单位已上报" in one and "第 1 / 2 页" in one and 'href="/monitoring?year=2023&amp;page=2"' in one
    two = bureau.get("/monitoring?year=2023&page=2").text
    assert "第 2 / 2 页" in two and "上一页" in two and "下一页" not in two
    assert ("甲单位" in one) != ("甲单位" in two)

