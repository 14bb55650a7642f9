"""The web pages beyond the workflow: the what-if panel (saves nothing), 目标审核 on upload, monitoring, a unit's
years — the same context as the CLI, the same permission check as every page."""
from __future__ import annotations

import pytest

pytest.importorskip("fastapi")

from evaluator import load_rules
from evaluator.bureau import batch

from .conftest import ROOT, SEED_ACTUALS, SEED_TARGETS
from .webkit import build_world

SEED_FORMS = ROOT / "tests" / "fixtures" / "seed-forms.docx"
PROGRESS = ROOT / "data" / "progress" / "shifeng-cppcc-2023-07.yaml"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """One store for the module (accounts take a while to hash): tests that store last years use their own unit."""
    w = build_world(f"sqlite:///{tmp_path_factory.mktemp('web') / 'web.db'}")
    yield w
    w.store.close()


def _with_targets(w, clerk, unit="甲单位"):
    fid = w.filings[unit]
    r = clerk.form(f"/filings/{fid}/targets", files={"file": ("目标.yaml", SEED_TARGETS.read_bytes())})
    assert r.status_code == 200, r.text
    return fid


def _enter(w, clerk, fid, table, values: dict[str, str]):
    r = clerk.form(f"/filings/{fid}/entry?table={table}", values)
    assert r.status_code == 303, r.text


def test_the_upload_page_shows_the_target_review(world):
    clerk = world.client("clerk-a")
    fid = world.filings["甲单位"]
    r = clerk.form(f"/filings/{fid}/targets", files={"file": ("绩效目标表.docx", SEED_FORMS.read_bytes())})
    assert r.status_code == 200 and f'hx-get="/filings/{fid}/target-review?fragment=true"' in r.text
    part = clerk.get(f"/filings/{fid}/target-review?fragment=true")
    assert part.status_code == 200 and part.text.startswith("<section><h2>目标审核</h2>")
    assert "指标值为空：年底无法据此评价" in part.text and "改为量化目标" in part.text
    assert "数据库中没有本单位上一年度的实际完成值" in part.text
    page = clerk.get(f"/filings/{fid}/target-review")
    assert page.status_code == 200 and 'aria-current="page">目标审核</a>' in page.text
    data = clerk.get(f"/api/filings/{fid}/target-review").json()
    codes = {x["code"] for t in data["review"]["tables"] for x in t["items"]}
    assert {"empty-target", "vague-target", "target-contradicts-notes"} <= codes


def test_the_target_review_uses_last_year_from_the_store(world, mof, tmp_path):
    # 乙单位 submitted 2022 through the bureau's batch: its actuals are last year's
    folder = tmp_path / "p" / "乙单位"
    folder.mkdir(parents=True)
    (folder / "targets.yaml").write_text(SEED_TARGETS.read_text(encoding="utf-8").replace("2023", "2022")
                                         .replace("unit_name: 石峰区政协", "unit_name: 乙单位"), encoding="utf-8")
    (folder / "actuals.yaml").write_text(SEED_ACTUALS.read_text(encoding="utf-8").replace("2023", "2022")
                                         .replace("unit_name: 石峰区政协", "unit_name: 乙单位"), encoding="utf-8")
    batch(tmp_path / "p", mof, world.store)
    clerk = world.client("clerk-b")
    fid = _with_targets(world, clerk, "乙单位")
    data = clerk.get(f"/api/filings/{fid}/target-review").json()
    assert data["previous_year"] == 2022
    low = [x for t in data["review"]["tables"] for x in t["items"] if x["code"] == "not-ambitious"]
    assert any(x["indicator"] == "界别调研报告" and x["severity"] == "warning" for x in low)


def test_the_whatif_panel_scores_a_copy_and_saves_nothing(world):
    clerk = world.client("clerk-a")
    fid = _with_targets(world, clerk)
    _enter(world, clerk, fid, "dept-2023", {"f-2-actual": "4次", "f--1-budget": "541.37", "f--1-spent": "526.82"})
    entry = clerk.get(f"/filings/{fid}/entry?table=dept-2023")
    assert f'hx-get="/filings/{fid}/whatif?table=dept-2023"' in entry.text
    before = clerk.get(f"/api/filings/{fid}/history").json()["rows"]
    panel = clerk.get(f"/filings/{fid}/whatif", params={"table": "dept-2023", "sets": "政协主席会议=5次\n执行率=100%"})
    assert panel.status_code == 200 and panel.text.startswith('<section id="whatif"')
    assert "政协主席会议" in panel.text and "差 1次" in panel.text  # the losses of the saved entries
    assert "总分 —（无法确定）→ —（无法确定）" in panel.text  # the other indicators are not entered yet
    assert "另有 9 项指标尚无法计分" in panel.text
    data = clerk.get(f"/api/filings/{fid}/whatif", params={"table": "dept-2023", "set": ["政协主席会议=5次"]}).json()
    (t,) = data["result"]["tables"]
    assert [(r["level3"], r["before"], r["after"], r["score_before"], r["score_after"]) for r in t["rows"]] == \
        [("政协主席会议", "4次", "5次", "6.67", "8.34")]
    # nothing was saved: the entries and the audit trail are as they were
    assert clerk.get(f"/api/filings/{fid}/history").json()["rows"] == before
    assert clerk.get(f"/api/filings/{fid}/entry?table=dept-2023").json()["rows"][2]["entered"]["actual"] == "4次"
    bad = clerk.get(f"/api/filings/{fid}/whatif", params={"table": "dept-2023", "set": "不存在的指标=1"}).json()
    assert bad["result"] is None and "找不到指标“不存在的指标”" in bad["error"]


def test_monitoring_page_and_files(world):
    clerk = world.client("clerk-a")
    fid = _with_targets(world, clerk)
    page = clerk.get(f"/filings/{fid}/monitor")
    assert page.status_code == 200 and "下载进度填报表" in page.text
    template = clerk.get(f"/filings/{fid}/progress.yaml?month=7")
    assert template.status_code == 200 and "unit_name: 甲单位" in template.text and "month: 7" in template.text
    progress = PROGRESS.read_bytes()
    r = clerk.form(f"/filings/{fid}/monitor", {"format": "html"}, files={"file": ("进度.yaml", progress)})
    assert r.status_code == 200, r.text
    assert "红色预警 6 项，黄色预警 5 项" in r.text and "须填写" in r.text
    x = clerk.form(f"/filings/{fid}/monitor", {"format": "xlsx"}, files={"file": ("进度.yaml", progress)})
    assert x.status_code == 200 and x.content[:2] == b"PK" and "attachment" in x.headers["content-disposition"]
    d = clerk.form(f"/filings/{fid}/monitor", {"format": "docx"}, files={"file": ("进度.yaml", progress)})
    assert d.status_code == 200 and d.content[:2] == b"PK"
    wrong = clerk.form(f"/filings/{fid}/monitor", {"month": "8"}, files={"file": ("进度.yaml", progress)})
    assert wrong.status_code == 200 and "进度文件是 7 月的" in wrong.text
    refused = clerk.form(f"/filings/{fid}/monitor", files={"file": ("进度.exe", b"MZ")})
    assert refused.status_code == 200 and "不支持的文件类型" in refused.text  # kept as a refused upload, shown
    api = clerk.post(f"/api/filings/{fid}/monitor", files={"file": ("进度.yaml", progress)},
                     headers={"X-CSRF-Token": clerk.csrf})
    assert api.status_code == 200 and api.json()["monitor"]["counts"] == {"red": 6, "yellow": 5}


def test_another_units_pages_are_not_found(world):
    fid = _with_targets(world, world.client("clerk-a"))
    other = world.client("clerk-b")
    for url in (f"/filings/{fid}/whatif", f"/filings/{fid}/target-review", f"/filings/{fid}/monitor",
                f"/filings/{fid}/progress.yaml", f"/api/filings/{fid}/whatif", f"/api/filings/{fid}/target-review"):
        assert other.get(url).status_code == 404, url
    r = other.form(f"/filings/{fid}/monitor", files={"file": ("进度.yaml", PROGRESS.read_bytes())})
    assert r.status_code == 404
    assert world.client().get(f"/api/filings/{fid}/whatif").status_code == 401  # not logged in
    # a POST without the CSRF token is refused
    clerk = world.client("clerk-a")
    r = clerk.post(f"/filings/{fid}/monitor", files={"file": ("进度.yaml", PROGRESS.read_bytes())})
    assert r.status_code == 403


def test_the_bureau_sees_a_units_years(world, mof, tmp_path):
    for year in (2021, 2022, 2023):
        folder = tmp_path / "p" / "石峰区政协" / str(year)
        folder.mkdir(parents=True)
        (folder / "targets.yaml").write_text(SEED_TARGETS.read_text(encoding="utf-8").replace("2023", str(year)),
                                             encoding="utf-8")
        (folder / "actuals.yaml").write_text(SEED_ACTUALS.read_text(encoding="utf-8").replace("2023", str(year)),
                                             encoding="utf-8")
    batch(tmp_path / "p", load_rules("mof-2020"), world.store)
    bureau = world.client("bureau")
    r = bureau.get("/bureau/trend", params={"unit": "石峰区政协"})
    assert r.status_code == 200 and "石峰区政协 2021–2023 年同比" in r.text
    assert 'src="data:image/png;base64,' in r.text and "政协常委会" in r.text
    assert bureau.get("/api/trend", params={"unit": "石峰"}).json()["trend"]["years"] == [2021, 2022, 2023]
    assert world.client("clerk-a").get("/bureau/trend", params={"unit": "石峰区政协"}).status_code == 403
