"""The pages of issue 14 through the framework's test client: every HTML page escapes what users typed, the entry
sheet's in-place updates, 送审前检查 and its documents, tasks extended and closed (SQLite and PostgreSQL), the live
comparison's sorting, filters and pages, a unit's page, the 复核 desk's deviation analytics, the export, and the
Chinese flash an htmx request gets instead of an error page."""
from __future__ import annotations

import io
import re
import zipfile

import pytest
from fastapi.routing import APIRoute

from evaluator.web import auth
from evaluator.web import workflow as wf
from evaluator.web.app import create_app
from tests.conftest import ROOT
from tests.test_web import quick_hashes  # noqa: F401  (autouse fixture)
from tests.webkit import Client, build_world

SEED_FORMS = ROOT / "tests" / "fixtures" / "seed-forms.docx"
EVIL = "<script>alert('x')</script>\"'><img src=x onerror=alert(1)>"
HX = {"HX-Request": "true"}


@pytest.fixture()
def world(tmp_path):
    w = build_world(f"sqlite:///{tmp_path / 'e.db'}")
    yield w
    w.store.close()


SEED_DEPT = ["1次", "5次", "4次", "各项工作顺利开展", "2023年12月", "526.82万元", "形成调研报告6篇", "有所提升",
             "持续促进", "达成", "96%"]  # the seed's 部门整体 actuals, row by row


def _submitted(w) -> int:
    """甲单位 with the seed's targets, its 部门整体 table filled, approved and submitted; returns its filing id."""
    clerk, head = w.client("clerk-a"), w.client("head-a")
    fid = w.filings["甲单位"]
    assert clerk.form(f"/filings/{fid}/targets", files={"file": ("t.docx", SEED_FORMS.read_bytes())}).status_code == 200
    clerk.form(f"/filings/{fid}/entry?table=dept-2023-1", {f"f-{k}-actual": v for k, v in enumerate(SEED_DEPT)})
    clerk.form(f"/filings/{fid}/entry?table=dept-2023-1", {"f--1-budget": "541.37", "f--1-spent": "526.82"})
    assert head.form(f"/filings/{fid}/submit").status_code == 303
    clerk.close(), head.close()
    return fid


MAX_PAGE = 300 * 1024  # bytes of a page on first load: its HTML with the style sheet and scripts every page loads
STATIC = sum((ROOT / "evaluator" / "web" / "static" / f).stat().st_size for f in ("app.css", "app.js", "htmx.min.js"))


def _unlabelled(html: str) -> list[str]:
    """The form controls of a page a screen reader could not name: no <label for>, no enclosing <label>, no
    aria-label(ledby); buttons without text."""
    import lxml.html

    doc = lxml.html.fromstring(html)
    named = {lab.get("for") for lab in doc.iter("label")}
    bad = []
    for el in doc.iter("input", "select", "textarea", "button"):
        if el.get("type") == "hidden" or el.get("aria-label") or el.get("aria-labelledby"):
            continue
        if el.tag == "button":
            ok = bool(el.text_content().strip())
        else:
            ok = el.get("id") in named or any(a.tag == "label" for a in el.iterancestors())
        if not ok:
            bad.append(lxml.html.tostring(el, encoding="unicode")[:120])
    return bad


def test_every_page_escapes_what_users_typed(tmp_path):
    """Markup typed into every field a page shows — unit, 主管部门, task title, a person's name, an upload's file
    name, an entry, a 退回 comment, a 复核 note — comes back escaped on every HTML page, for every role; and every
    such page names each of its controls and weighs ≤ 300 KB with its style sheet and scripts."""
    from evaluator.store import Store

    store = Store(f"sqlite:///{tmp_path / 'e.db'}")
    unit = "甲" + EVIL
    wf.add_unit(store, unit, "主管" + EVIL)
    users = {name: auth.add_user(store, name, "pw-123456789", role, u, "名" + EVIL) for name, role, u in (
        ("bureau", "bureau", None), ("clerk", "clerk", unit), ("head", "head", unit), ("admin", "admin", None))}
    uid = next(u["id"] for u in wf.list_units(store) if u["name"] == unit)
    wf.create_task(store, users["bureau"], 2023, "任务" + EVIL, "mof-2020", "2024-03-31", [uid])
    fid = wf.filings_for(store, users["bureau"])[0]["id"]
    app = create_app(store=store)
    c = {name: Client(app).login(name, "pw-123456789") for name in users}
    assert c["clerk"].form(f"/filings/{fid}/targets", files={"file": (EVIL + ".docx", SEED_FORMS.read_bytes())}
                           ).status_code == 200
    c["clerk"].form(f"/filings/{fid}/entry?table=dept-2023-1",
                    {"f-0-actual": EVIL, "f-1-deviation_note": EVIL, "f-2-actual": "4次", "f--1-problems": EVIL,
                     "f--1-budget": "541.37", "f--1-spent": "526.82"})
    c["clerk"].form(f"/filings/{fid}/entry?table=dept-2023-1", {"f-0-actual": "1次"})
    assert c["head"].form(f"/filings/{fid}/submit").status_code == 303
    assert c["bureau"].form(f"/filings/{fid}/return", {"comment": EVIL}).status_code == 303
    c["clerk"].form(f"/filings/{fid}/entry?table=dept-2023-1", {"f-3-actual": EVIL})
    assert c["head"].form(f"/filings/{fid}/submit").status_code == 303
    c["bureau"].form("/bureau/sample", {"year": "2023", "share": "1", "seed": "1"})
    sid = wf.submitted_ids(store, fid)[0]
    assert c["bureau"].form(f"/filings/{fid}/review", {f"r-{sid}-2": "4", f"n-{sid}-2": EVIL}).status_code == 303
    task = wf.list_tasks(store)[0]["id"]
    fill = {"{fid}": str(fid), "{task_id}": str(task), "{upload_id}": "1", "{table_id}": "dept-2023-1"}
    query = {"/bureau/trend": "?unit=" + unit, "/bureau/unit": "?name=" + unit}
    seen = shown = 0
    for route in app.routes:
        if not isinstance(route, APIRoute) or "GET" not in route.methods or route.path.startswith("/api/") \
                or route.include_in_schema or route.path in ("/", "/login") or "{" in route.path.replace(
                    "{fid}", "").replace("{task_id}", "") or route.path.startswith("/bureau/charts"):
            continue
        path = route.path
        for k, v in fill.items():
            path = path.replace(k, v)
        for who, client in c.items():
            r = client.get(path + query.get(route.path, ""))
            if r.status_code != 200 or "text/html" not in r.headers.get("content-type", ""):
                continue
            seen += 1
            assert "<script>alert" not in r.text and "<img src=x" not in r.text, (who, path)
            shown += "&lt;script&gt;alert" in r.text
            assert _unlabelled(r.text) == [], (who, path)
            assert len(r.content) + STATIC <= MAX_PAGE, (who, path, len(r.content))
    assert seen >= 25 and shown >= 20  # every page, by each role that may open it; most show the markup, escaped
    # one indicator's history: its changes and the 退回 comment, escaped
    r = c["clerk"].get(f"/filings/{fid}/history?table=dept-2023-1&position=3")
    assert r.status_code == 200 and "<script>alert" not in r.text
    import lxml.html

    rows = [[td.text_content() for td in tr.iter("td")]
            for tr in lxml.html.fromstring(r.text).xpath("//table[contains(@class, 'history')]/tbody/tr")]
    assert [row[3:5] for row in rows if row[2].endswith("实际完成值")] == [["（空）", EVIL]]  # 第 4 项 as typed
    assert [row[5] for row in rows if row[2].startswith("退回")] == ["退回意见：" + EVIL]  # the text, shown as text
    for client in c.values():
        client.close()
    store.close()


def test_an_entry_save_swaps_the_row_and_the_totals_in_place(world):
    clerk = world.client("clerk-a")
    fid = world.filings["甲单位"]
    clerk.form(f"/filings/{fid}/targets", files={"file": ("t.docx", SEED_FORMS.read_bytes())})
    r = clerk.form(f"/filings/{fid}/entry?table=dept-2023-1", {"f-2-actual": "4次"}, headers=HX)
    assert r.status_code == 200 and "<form" not in r.text and "<input" not in r.text.replace('<input id="f-', "")
    assert '<div id="sc-2" class="score ok" hx-swap-oob="true">6.67</div>' in r.text
    assert "实际 4次 ÷ 目标 5次 × 分值 8.34 = 6.67" in r.text
    assert 'id="msg-2-deviation_note"' in r.text and "须填写偏差原因" in r.text
    assert 'id="totals"' in r.text and "待填 10 项" in r.text
    # a group with a row still to fill or unscorable says its subtotal is not final
    totals = re.search(r'<div id="totals".*?</div>', r.text, re.S).group(0)
    assert totals.count("（未完）") == 3 and re.search(r"产出指标</span> 6\.67<span class=\"of\">/50\.00</span><span", totals)
    r = clerk.form(f"/filings/{fid}/entry?table=dept-2023-1", {"f-0-actual": "很多"}, headers=HX)
    assert "无法识别的实际完成值“很多”" in re.search(r'<div id="msg-0-actual".*?</div>', r.text).group(0)
    # the full page: merged 一级/二级 cells, the unit beside the field, the untouched fields waiting calmly
    page = clerk.get(f"/filings/{fid}/entry?table=dept-2023-1").text
    assert '<td class="l1" rowspan="6">产出指标</td>' in page and '<span class="unit" aria-hidden="true">次</span>' in page
    assert 'placeholder="待填写"' in page and '<p class="msg todo">待填写</p>' in page
    assert 'aria-invalid="true"' in re.search(r'<input id="f-0-actual"[^>]*>', page).group(0)
    clerk.close()


def test_an_htmx_request_that_fails_gets_a_flash_not_a_page(world):
    clerk = world.client("clerk-a")
    fid = world.filings["甲单位"]
    r = clerk.form(f"/filings/{fid}/targets", files={"file": ("a.pdf", b"%PDF-1.4")}, headers=HX)
    assert r.status_code == 400 and r.headers["hx-reswap"] == "none"
    assert r.text.startswith('<div id="flash"') and "不支持的文件类型" in r.text and "<html" not in r.text
    r = clerk.get("/filings/9999/entry", headers=HX)
    assert r.status_code == 404 and "自评不存在" in r.text and "<html" not in r.text
    clerk.close()


def test_check_page_links_each_problem_to_its_cell_and_offers_each_document(world):
    clerk = world.client("clerk-a")
    fid = world.filings["甲单位"]
    clerk.form(f"/filings/{fid}/targets", files={"file": ("t.docx", SEED_FORMS.read_bytes())})
    clerk.form(f"/filings/{fid}/entry?table=dept-2023-1", {"f-2-actual": "4次", "f-3-judged_score": "很好"})
    ctx = clerk.get(f"/api/filings/{fid}/check").json()
    assert ctx["blocked"] == 1 and ctx["progress"]["todo"] == 35
    first = ctx["links"][0]
    assert (first["table"], first["position"], first["field"], first["message"]) == \
        ("dept-2023-1", 3, "judged_score", "“很好”不是 0–100 之间的数字")
    note = next(x for x in ctx["links"] if x["code"] == "missing-deviation-note")
    assert (note["position"], note["field"]) == (2, "deviation_note")
    page = clerk.get(f"/filings/{fid}/check").text
    assert f'href="/filings/{fid}/entry?table=dept-2023-1#f-2-deviation_note"' in page
    assert "部门整体支出绩效自评表" in page and "填报完成，提交单位负责人审核</button>" in page
    for name, magic in (("table.xlsx", b"PK"), ("table.docx", b"PK"), ("report.pdf", b"%PDF"), ("report.docx", b"PK")):
        r = clerk.get(f"/filings/{fid}/documents/dept-2023-1/{name}")
        assert r.status_code == 200 and r.content.startswith(magic), name
        assert "filename*=UTF-8''" in r.headers["content-disposition"]
    assert clerk.get(f"/filings/{fid}/documents/dept-2023-1/audit.xlsx").status_code == 404
    assert clerk.get(f"/filings/{fid}/documents/nope/table.xlsx").status_code == 404
    other = world.client("clerk-b")
    assert other.get(f"/filings/{fid}/documents/dept-2023-1/table.xlsx").status_code == 404
    assert other.get(f"/filings/{fid}/check").status_code == 404
    clerk.close(), other.close()


def test_home_says_what_is_left_on_each_filing(world):
    clerk = world.client("clerk-a")
    fid = world.filings["甲单位"]
    home = clerk.get("/api/home").json()["filings"][0]
    assert home["left"] == ["导入本单位的绩效目标表（Word、Excel 或沿用上年）"] and home["deadline_info"]["date"] == "2024-03-31"
    clerk.form(f"/filings/{fid}/targets", files={"file": ("t.docx", SEED_FORMS.read_bytes())})
    clerk.form(f"/filings/{fid}/entry?table=dept-2023-1", {"f-2-actual": "4次", "f-3-judged_score": "很好"})
    home = clerk.get("/api/home").json()["filings"][0]
    assert home["left"] == ["还有 35 项实际完成值未填", "3 张表未填全年预算数、全年执行数", "1 处填写有误，须改正",
                            "7 条提醒（如未得满分须写偏差原因）"]
    page = clerk.get("/home").text
    assert "还有 35 项实际完成值未填" in page and "继续填报" in page
    head = world.client("head-a")
    assert "审核并送审" in head.get("/home").text
    clerk.close(), head.close()


def test_tasks_are_extended_and_closed(db_url):
    w = build_world(db_url)
    try:
        bureau, clerk = w.client("bureau"), w.client("clerk-a")
        fid = w.filings["甲单位"]
        assert bureau.form(f"/tasks/{w.task}/close").status_code == 303
        assert bureau.get(f"/api/tasks/{w.task}").json()["task"]["state"] == "closed"
        r = clerk.form(f"/filings/{fid}/targets", files={"file": ("t.docx", SEED_FORMS.read_bytes())})
        assert r.status_code == 409 and "自评任务已关闭" in r.text
        assert bureau.form(f"/tasks/{w.task}/extend", {"deadline": "明天"}).status_code == 400
        assert clerk.form(f"/tasks/{w.task}/extend", {"deadline": "2099-01-01"}).status_code == 403
        assert bureau.form(f"/tasks/{w.task}/extend", {"deadline": "2099-01-01"}).status_code == 303
        t = bureau.get(f"/api/tasks/{w.task}").json()
        assert (t["task"]["state"], t["task"]["deadline"], t["tally"]["late"]) == ("open", "2099-01-01", 0)
        assert clerk.form(f"/filings/{fid}/targets", files={"file": ("t.docx", SEED_FORMS.read_bytes())}
                          ).status_code == 200
        events = [r["action"] for r in bureau.get(f"/api/filings/{fid}/history").json()["rows"] if r["kind"] == "event"]
        assert events[:3] == ["issue", "close", "extend"]
        # which units have not started, are late, were returned
        bureau.form(f"/tasks/{w.task}/extend", {"deadline": "2020-01-01"})
        head = w.client("head-a")
        assert head.form(f"/filings/{fid}/submit").status_code == 303
        assert bureau.form(f"/filings/{fid}/return", {"comment": "请补充偏差原因"}).status_code == 303
        t = bureau.get(f"/api/tasks/{w.task}?show=returned").json()
        assert [(f["unit"], f["comment"]) for f in t["filings"]] == [("甲单位", "请补充偏差原因")]
        assert (t["tally"]["not-started"], t["tally"]["late"], t["tally"]["returned"]) == (2, 3, 1)
        assert [f["unit"] for f in bureau.get(f"/api/tasks/{w.task}?show=late&supervisor=主管部门T").json()["filings"]] \
            == ["丙单位"]
        r = bureau.get(f"/tasks/{w.task}?show=not-started", headers={**HX, "HX-Target": "task-units"})
        assert r.text.startswith('<div id="task-units">') and "乙单位" in r.text and "甲单位" not in r.text
        for c in (bureau, clerk, head):
            c.close()
    finally:
        w.store.close()


def test_the_comparison_sorts_filters_and_pages(world, tmp_path):
    from evaluator.synth import synth_province

    _submitted(world)
    synth_province(tmp_path / "p", 12, 3, 2023, 2, 6, 1)
    from evaluator.bureau import batch
    from evaluator.rules import load_rules

    batch(tmp_path / "p", load_rules(), world.store)
    bureau = world.client("bureau")
    full = bureau.get("/api/compare?year=2023&per=1000").json()
    n = full["matched"]
    assert n == full["total_departments"] >= 10 and len(full["departments"]) == n
    by_score = bureau.get("/api/compare?year=2023&sort=score&order=desc&per=1000").json()["departments"]
    scores = [d["score"] for d in by_score if d["score"] is not None]
    assert scores == sorted(scores, reverse=True)
    page2 = bureau.get("/api/compare?year=2023&per=4&page=2").json()
    assert page2["query"]["pages"] == -(-n // 4) and [d["rank"] for d in page2["departments"]] == [5, 6, 7, 8]
    assert [d["department"] for d in bureau.get("/api/compare?year=2023&supervisor=主管部门S").json()["departments"]] \
        == ["甲单位"]
    graded = bureau.get("/api/compare?year=2023&grade=优&per=1000").json()["departments"]
    assert graded and all(d["grade"] == "优" for d in graded)
    flagged = [f["code"] for f in full["flag_rows"] if f["tables"]]
    if flagged:
        rows = bureau.get(f"/api/compare?year=2023&flag={flagged[0]}&per=1000").json()["departments"]
        assert rows and all(flagged[0] in d["flag_codes"] for d in rows)
    assert [r["label"] for r in full["rates"]] == ["产出指标", "效益指标", "满意度指标"]
    assert all(r["mean"] is None or 0 <= r["mean"] <= 1 for r in full["rates"])
    assert sum(b["tables"] for b in full["execution_bands"]) == full["tables"]
    severities = [f["severity"] for f in full["flags"]]
    assert severities == sorted(severities, key=["错误", "警告", "提示"].index)
    r = bureau.get("/bureau/compare?year=2023&sort=score&order=desc", headers={**HX, "HX-Target": "ranking"})
    assert r.text.startswith('<div id="ranking">') and 'aria-sort="descending"' in r.text
    png = bureau.get("/bureau/charts/execution.png?year=2023")
    assert png.status_code == 200 and png.content[:4] == b"\x89PNG"
    assert bureau.get("/bureau/charts/nothing.png?year=2023").status_code == 404
    assert world.client("clerk-a").get("/bureau/charts/execution.png").status_code == 403
    # a unit's page: its tables, marked indicators, 疑点 tied to indicators, last year
    unit = bureau.get("/api/unit?name=甲单位&year=2023").json()
    dept = next(t for t in unit["tables"] if t["table_id"] == "dept-2023-1")
    assert [t["table_id"] for t in unit["tables"]][0] == "dept-2023-1"  # 部门整体 first, then the projects
    assert [t["kind"] for t in unit["tables"]] == ["department", "project", "project"]
    chair = next(r for r in dept["rows"] if r["level3"] == "政协主席会议")
    assert chair["score"] == 6.67 and [m["code"] for m in chair["marks"]] == ["missing-deviation-note"]
    assert dept["filing_id"] == world.filings["甲单位"]
    assert bureau.get("/api/unit?name=没有的单位&year=2023").status_code == 404
    html = bureau.get("/bureau/unit?name=甲单位&year=2023").text
    assert 'id="i-%d-2"' % dept["id"] in html and "未得满分，缺偏差原因" in html
    # a web filing claims no per-indicator scores and nothing is reviewed yet: no empty 申报/复核 columns
    assert ">申报</th>" not in html and ">复核</th>" not in html and ">提示</th>" in html
    bureau.close()


def test_the_review_desk_shows_the_deviation(world):
    fid = _submitted(world)
    bureau = world.client("bureau")
    assert "还没有复核得分" in bureau.get("/bureau/review").text
    bureau.form("/bureau/sample", {"year": "2023", "share": "1", "seed": "3", "stratify": "1"})
    desk = bureau.get("/api/review").json()
    assert (desk["drawn"]["seed"], desk["drawn"]["stratified"], desk["drawn"]["tables"]) == (3, 1, len(desk["sample"]))
    sid = next(r["submission_id"] for r in desk["sample"] if r["table_id"] == "dept-2023-1")
    assert bureau.form(f"/filings/{fid}/review", {f"r-{sid}-1": "4", f"n-{sid}-1": "会议纪要只有 4 次"}
                       ).status_code == 303
    desk = bureau.get("/api/review").json()
    record = desk["deviation"]["records"][0]
    assert (record["submission_id"], record["deviation"]) == (sid, pytest.approx(8.33 - 4, abs=0.011))
    assert next(b for b in desk["deviation"]["bands"] if b["label"] == "高出 3–5 分")["tables"] == 1
    review = bureau.get(f"/api/filings/{fid}/review").json()
    row = next(r for t in review["tables"] if t["submission_id"] == sid for r in t["rows"] if r["position"] == 1)
    assert (row["review"], row["difference"], row["reviewer"]) == (4, pytest.approx(4.33), "bureau")
    page = bureau.get(f"/filings/{fid}/review").text
    assert "偏差 <strong" in page and "+4.33" in page and "退回单位修改" in page
    import lxml.html  # the unit's page now has a 复核 column, with the score on the reviewed row only

    unit = lxml.html.fromstring(bureau.get("/bureau/unit?name=甲单位&year=2023").text)
    section = unit.xpath("//section[.//h2[contains(., '部门整体')]]")[0]
    heads = [th.text_content() for th in section.xpath(".//thead//th")]
    assert "复核" in heads and "申报" not in heads
    col = heads.index("复核") + 1
    assert [tr.xpath(f"string(td[{col}])") for tr in section.xpath(".//tbody/tr")][:3] == ["", "4.00", ""]
    bureau.close()


def test_the_export_gives_every_units_submitted_documents(world):
    fid = _submitted(world)
    bureau = world.client("bureau")
    page = bureau.get("/bureau/export").text
    assert "2023 年度对比工作簿" in page and f'name="task" value="{world.task}"' in page
    # what the bureau received: a later draft of the unit does not change the exported version
    assert bureau.form(f"/filings/{fid}/return", {"comment": "请核实"}).status_code == 303
    world.client("clerk-a").form(f"/filings/{fid}/entry?table=dept-2023-1", {"f-2-actual": "5次"})
    r = bureau.get(f"/bureau/documents.zip?task={world.task}&formats=xlsx")
    assert r.status_code == 200
    names = zipfile.ZipFile(io.BytesIO(r.content)).namelist()
    assert names and all(n.startswith("甲单位（第1版）/") for n in names) and any(n.endswith("自评表.xlsx") for n in names)
    assert bureau.get(f"/bureau/documents.zip?task={world.task}&formats=exe").status_code == 400
    assert world.client("clerk-a").get(f"/bureau/documents.zip?task={world.task}").status_code == 403
    assert bureau.get("/bureau/compare.xlsx?year=2023").content[:2] == b"PK"
    bureau.close()


def test_login_and_error_pages_speak_chinese(world):
    """The login page, a wrong password, a page that is not there (404), one the user may not open (403) and the
    form sent without its token are whole Chinese pages with a way back — no English, no traceback."""
    anonymous = Client(create_app(store=world.store))
    r = anonymous.get("/login")
    assert r.status_code == 200 and '<html lang="zh-CN">' in r.text
    assert re.search(r'<label for="username">用户名</label>', r.text) and '<label for="password">密码</label>' in r.text
    assert "<button" in r.text and ">登录</button>" in r.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', r.text).group(1)
    r = anonymous.post("/login", data={"username": "clerk-a", "password": "wrong", "csrf_token": token})
    assert r.status_code == 401 and "用户名或密码不正确" in r.text and '<label for="username">' in r.text
    anonymous.close()
    clerk = world.client("clerk-a")
    for path, status, title in (("/no/such/page", 404, "找不到"), ("/bureau/compare", 403, "没有权限"),
                                ("/bureau/review", 403, "没有权限"), ("/filings/999999", 404, "找不到")):
        r = clerk.get(path)
        assert r.status_code == status and "text/html" in r.headers["content-type"], path
        assert f"<h1>{title}</h1>" in r.text and f"错误代码 {status}" in r.text and 'href="/home">回到首页' in r.text
        assert not re.search(r"Traceback|Not Found|Forbidden|Error", r.text), path
    r = clerk.post(f"/filings/{world.filings['甲单位']}/ready")  # a form without its CSRF token
    assert r.status_code == 403 and "<h1>请求已过期</h1>" in r.text and "请刷新页面后重试" in r.text
    assert not re.search(r"Traceback|Forbidden", r.text)
    clerk.close()


def test_the_upload_page_shows_what_could_not_be_placed_with_its_cell(world, tmp_path):
    """A Word 目标表 with a stray note in an empty cell: the page lists the tables and indicators read, and beside
    them the note with the table and cell it sits in, so the clerk can find it in the original."""
    import lxml.html
    from docx import Document

    doc = Document(SEED_FORMS)
    doc.tables[0].cell(8, 4).text = "请财政局审核<b>"
    path = tmp_path / "stray.docx"
    doc.save(path)
    clerk = world.client("clerk-a")
    r = clerk.form(f"/filings/{world.filings['甲单位']}/targets", files={"file": ("目标表.docx", path.read_bytes())})
    assert r.status_code == 200
    page = lxml.html.fromstring(r.text)
    assert page.xpath("string(//h1)") == "已读取 目标表.docx"
    read = page.xpath("//section[@aria-labelledby='read-h']")[0]
    assert "2023年部门整体支出绩效目标表" in read.text_content()
    assert [tr.xpath("string(td[3])") for tr in read.xpath(".//details[1]//tbody/tr")][:3] == [
        "政协全会", "政协常委会", "政协主席会议"]
    unplaced = page.xpath("//section[@aria-labelledby='unplaced-h']")[0]
    assert unplaced.xpath("string(h2)") == "未能导入的内容（1）"
    (row,) = unplaced.xpath(".//tbody/tr")
    assert row.xpath("string(td[1])") == "表 1 单元格 E9"
    assert "未导入：“请财政局审核<b>”" in row.xpath("string(td[2])") and "请财政局审核<b>" not in r.text
    assert "另有 1 处内容未能放入任何栏目" in r.text
    clerk.close()


def test_an_indicators_history_links_the_upload_a_value_came_from(world):
    """A value brought in by the fill-in workbook shows in the indicator's history as 上传文件 #N, a link to the
    original file kept in the store; a typed one as 录入."""
    from tests.test_web import _fill_workbook

    clerk = world.client("clerk-a")
    fid = world.filings["甲单位"]
    clerk.form(f"/filings/{fid}/targets", files={"file": ("t.docx", SEED_FORMS.read_bytes())})
    filled = _fill_workbook(clerk.get(f"/filings/{fid}/workbook.xlsx").content, {"政协主席会议": "4次"})
    assert clerk.form(f"/filings/{fid}/workbook", files={"file": ("自评填报.xlsx", filled)}).status_code == 303
    clerk.form(f"/filings/{fid}/entry?table=dept-2023-1", {"f-2-actual": "5次"})
    r = clerk.get(f"/filings/{fid}/history?table=dept-2023-1&position=2")
    links = re.findall(r'<td class="how"><a href="(/filings/\d+/uploads/(\d+))"[^>]*>上传文件 #(\d+)</a></td>', r.text)
    assert len(links) == 1 and links[0][1] == links[0][2], r.text
    assert '<td class="how">录入</td>' in r.text
    original = clerk.get(links[0][0])
    assert original.status_code == 200 and original.content == filled
    clerk.close()


def test_the_supervisors_home_says_what_is_next_for_each_unit(world):
    """A 主管部门 sees its own units only, each with its state and what comes next — the submitted ones linked for
    review (and 退回) — and a count per state."""
    import lxml.html

    fid = _submitted(world)
    clerk = world.client("clerk-b")
    clerk.form(f"/filings/{world.filings['乙单位']}/targets", files={"file": ("t.docx", SEED_FORMS.read_bytes())})
    clerk.close()
    sup = world.client("super-s")
    page = lxml.html.fromstring(sup.get("/home").text)
    rows = {tr.xpath("string(td[3])"): (tr.xpath("string(td[5])"), tr.xpath("string(td[6])"))
            for tr in page.xpath("//table[@class='list']/tbody/tr")}
    assert rows == {"甲单位": ("已送审", "已送审：请审阅，有问题可退回"), "乙单位": ("填报中", "单位填报中")}
    assert page.xpath("//table[@class='list']/tbody/tr[td[3]='甲单位']/td[6]/a/@href") == [f"/filings/{fid}"]
    assert " ".join(page.xpath("string(//h1/following-sibling::p[1])").split()) == "填报中 1 个 已送审 1 个"
    sup.close()


def test_a_filing_whose_targets_list_no_indicators_has_no_table_to_show():
    """Targets whose tables all lack indicators: the entry and 'beyond' pages answer 'not found' with what to do
    (an IndexError, a 500, before)."""
    from types import SimpleNamespace

    from evaluator.web import workflow as wf
    from evaluator.web.pages import filing_table

    scored = SimpleNamespace(targets=SimpleNamespace(tables=[SimpleNamespace(id="t", indicators=[])]))
    for table_id in (None, "t"):
        with pytest.raises(wf.NotFound, match="目标表中没有列出指标的表"):
            filing_table(scored, table_id)
