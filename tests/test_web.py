"""The web application on SQLite and PostgreSQL: permissions as a table, the whole workflow from issuing a task
to a reviewed, compared submission, the audit trail, the API, and the CLI on the same database."""
from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook

from evaluator.web import auth
from evaluator.web import workflow as wf
from evaluator.web.permissions import ACTIONS, Role, Unit, User, allowed
from tests.conftest import ROOT
from tests.webkit import build_world

SEED_FORMS = ROOT / "tests" / "fixtures" / "seed-forms.docx"


@pytest.fixture(autouse=True)
def quick_hashes(monkeypatch):
    """argon2 with small costs: the same code path, a fraction of the time (tests make many accounts)."""
    from pwdlib import PasswordHash
    from pwdlib.hashers.argon2 import Argon2Hasher

    monkeypatch.setattr(auth, "_hasher", PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),)))


@pytest.fixture()
def world(db_url):
    w = build_world(db_url)
    yield w
    w.store.close()


# --------------------------------------------------------------------------- allowed(), as a table
OWN, CHILD, OTHER = Unit(1, "甲单位", 10), Unit(2, "乙单位", 10), Unit(3, "丙单位", 20)
SUPERVISOR_UNIT = Unit(10, "主管部门S")
USERS = {
    "clerk": User(1, "c", Role.CLERK, 1), "head": User(2, "h", Role.HEAD, 1),
    "supervisor": User(3, "s", Role.SUPERVISOR, 10), "bureau": User(4, "b", Role.BUREAU),
    "admin": User(5, "a", Role.ADMIN),
}
# role → action → the units (of OWN, CHILD, OTHER, SUPERVISOR_UNIT, None) it may act on
EXPECTED = {
    "clerk": {"view": {"own"}, "edit": {"own"}, "ready": {"own"}},
    "head": {"view": {"own"}, "submit": {"own"}, "send-back": {"own"}},
    "supervisor": {"view": {"own", "child", "self"}, "return": {"own", "child", "self"}},
    "bureau": {"view": {"own", "child", "other", "self"}, "return": {"own", "child", "other", "self"},
               "review": {"own", "child", "other", "self"}, "sample": {"none"}, "issue": {"none"},
               "compare": {"none"}, "audit": {"none"}},
    "admin": {"manage": {"none"}},
}


@pytest.mark.parametrize("role", list(USERS))
@pytest.mark.parametrize("action", list(ACTIONS))
def test_allowed_is_the_table(role, action):
    units = {"own": OWN, "child": CHILD, "other": OTHER, "self": SUPERVISOR_UNIT, "none": None}
    if role == "supervisor":  # the supervisor's "own" units are those under it
        units["own"] = Unit(1, "甲单位", 10)
    got = {name for name, unit in units.items() if allowed(USERS[role], action, unit)}
    assert got == EXPECTED[role].get(action, set())


def test_allowed_refuses_nobody_and_unknown_actions():
    assert not allowed(None, "view", OWN) and not allowed(USERS["bureau"], "delete", OWN)
    assert not allowed(User(9, "x", Role.CLERK, None), "view", OWN)  # a clerk without a unit sees nothing


# --------------------------------------------------------------------------- the whole workflow
def _fill_workbook(data: bytes, actuals: dict[str, str]) -> bytes:
    """Type actuals into the downloaded fill-in workbook, as a clerk would in Excel."""
    wb = load_workbook(io.BytesIO(data))
    for ws in wb.worksheets:
        head = None
        for row in ws.iter_rows():
            texts = [str(c.value or "") for c in row]
            if "三级指标" in texts and "实际完成值" in texts:
                head = {t: k for k, t in enumerate(texts)}
                continue
            if head and row[head["三级指标"]].value in actuals:
                row[head["实际完成值"]].value = actuals[row[head["三级指标"]].value]
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def run_workflow(w) -> dict:
    """Issue → upload forms → workbook round trip and typing → approve and submit → return → correct →
    resubmit → compare → sample → review → reviewed. Returns what the users saw (ids and times left out)."""
    seen = {}
    bureau, clerk, head = w.client("bureau"), w.client("clerk-a"), w.client("head-a")
    # the bureau issues a second task over 甲 only
    r = bureau.form("/tasks", {"year": "2024", "title": "2024 年度", "rule_set": "mof-2020", "deadline": "2025-03-31",
                               "unit_ids": [str(w.units["甲单位"])]})
    assert r.status_code == 303 and r.headers["location"].startswith("/tasks/")
    fid = w.filings["甲单位"]
    # the clerk uploads the unit's Word forms and sees what was read
    r = clerk.form(f"/filings/{fid}/targets", files={"file": ("绩效目标表.docx", SEED_FORMS.read_bytes())})
    assert r.status_code == 200, r.text
    assert "已读取 绩效目标表.docx" in r.text and "2023年部门整体支出绩效目标表" in r.text
    seen["imported"] = sorted(re.findall(r"<td>(dept-2023-1|funds-2023-2|project-2023-3|project-2023-4)</td>", r.text))
    # … downloads the fill-in workbook, types in Excel, uploads it back
    wb = clerk.get(f"/filings/{fid}/workbook.xlsx")
    assert wb.status_code == 200 and wb.content[:2] == b"PK"
    filled = _fill_workbook(wb.content, {"政协全会": "1次", "政协常委会": "5次", "政协主席会议": "4次"})
    r = clerk.form(f"/filings/{fid}/workbook", files={"file": ("自评填报.xlsx", filled)})
    assert r.status_code == 303, r.text
    # … and types more in the browser, one field at a time (htmx), a bad 评判得分 included
    for field, value in (("f-3-judged_score", "很好"), ("f-3-band", "achieved"), ("f--1-budget", "541.37"),
                         ("f--1-spent", "526.82")):
        r = clerk.form(f"/filings/{fid}/entry?table=dept-2023-1", {field: value}, headers={"HX-Request": "true"})
        assert r.status_code == 200 and 'id="totals" class="totals-figures" hx-swap-oob="true"' in r.text  # swapped in place
    assert "“很好”不是 0–100 之间的数字" in r.text
    scores = clerk.get(f"/api/filings/{fid}/scores").json()
    row = next(i for i in scores["evaluation"]["indicators"] if i["level3"] == "政协主席会议")
    assert (row["score"], row["explanation"]) == (6.67, "实际 4次 ÷ 目标 5次 × 分值 8.34 = 6.67")
    assert [p["message"] for p in scores["problems"]] == ["“很好”不是 0–100 之间的数字"]
    seen["scores"] = [(i["level3"], i["score"], i["status"]) for i in scores["evaluation"]["indicators"]]
    # the head cannot submit while a field is wrong; the clerk fixes it
    assert head.form(f"/filings/{fid}/submit").status_code == 409
    clerk.form(f"/filings/{fid}/entry?table=dept-2023-1", {"f-3-judged_score": "8"})
    assert clerk.form(f"/filings/{fid}/ready").status_code == 303
    assert clerk.get(f"/api/filings/{fid}").json()["filing"]["state"] == "pending"
    assert head.form(f"/filings/{fid}/submit").status_code == 303
    assert clerk.get(f"/api/filings/{fid}").json()["filing"]["state"] == "submitted"
    # locked: no typing, no uploads
    assert clerk.form(f"/filings/{fid}/entry?table=dept-2023-1", {"f-0-actual": "2次"}).status_code == 409
    # the bureau returns it with a comment; the clerk corrects; the head resubmits: version 2
    assert bureau.form(f"/filings/{fid}/return", {"comment": ""}).status_code == 400  # a comment is required
    assert bureau.form(f"/filings/{fid}/return", {"comment": "主席会议次数与纪要不符"}).status_code == 303
    page = clerk.get(f"/filings/{fid}")
    assert "主席会议次数与纪要不符" in page.text and "被退回" in page.text
    clerk.form(f"/filings/{fid}/entry?table=dept-2023-1", {"f-2-actual": "5次"})
    assert head.form(f"/filings/{fid}/submit").status_code == 303
    overview = bureau.get(f"/api/filings/{fid}").json()
    assert overview["filing"]["version"] == 2 and [v["version"] for v in overview["versions"]] == [1, 2]
    # the comparison, from the database (today's compare), includes the submitted unit's tables
    compare = bureau.get("/api/compare?year=2023").json()
    seen["compare"] = [(d["department"], d["score"], d["grade"]) for d in compare["departments"]]
    assert [d for d, *_ in seen["compare"]] == ["甲单位"]
    # 复核: sample everything, assign a reviewer, enter scores beside the claimed and rule scores
    assert bureau.form("/bureau/sample", {"year": "2023", "share": "1", "seed": "1"}).status_code == 303
    desk = bureau.get("/api/review").json()
    assert {r["filing_id"] for r in desk["sample"]} == {fid} and len(desk["sample"]) == 3
    assert bureau.form("/bureau/assign", {"filing_id": str(fid), "reviewer_id": str(w.users["bureau2"].id)}
                       ).status_code == 303
    review = bureau.get(f"/api/filings/{fid}/review").json()
    assert review["reviewers"] == ["bureau2"]
    table = next(t for t in review["tables"] if "部门整体" in t["title"])
    chair = next(r for r in table["rows"] if r["level3"] == "政协主席会议")
    assert (chair["score"], chair["weight"]) == (8.34, 8.34)
    too_much = {f"r-{table['submission_id']}-{chair['position']}": "9"}
    r = bureau.form(f"/filings/{fid}/review", too_much)
    assert r.status_code == 400 and "9 超过该指标的分值 8.34" in r.text
    r = bureau.form(f"/filings/{fid}/review", {f"r-{table['submission_id']}-{chair['position']}": "4.17",
                                               f"n-{table['submission_id']}-{chair['position']}": "纪要只有 4 次"})
    assert r.status_code == 303
    compare = bureau.get("/api/compare?year=2023").json()
    reviewed = next(x for x in compare["review"] if x["submission_id"] == table["submission_id"])
    assert reviewed["partial"] and reviewed["items"] == 1
    seen["review"] = (reviewed["self_total"], reviewed["review_total"], reviewed["deviation"])
    assert bureau.form(f"/filings/{fid}/reviewed").status_code == 303
    assert bureau.get(f"/api/filings/{fid}").json()["filing"]["state"] == "reviewed"
    # the audit trail: every change (typed or uploaded), every upload and state change
    history = bureau.get(f"/api/filings/{fid}/history").json()["rows"]
    seen["events"] = [r["action"] for r in history if r["kind"] == "event"]
    assert seen["events"] == ["issue", "upload", "targets", "upload", "ready", "submit", "return", "submit",
                              "assign", "review", "reviewed"]
    chair_history = bureau.get(f"/api/filings/{fid}/history?table=dept-2023-1&position=2").json()["rows"]
    seen["chair"] = [(r["old"], r["new"], r["source"].split(" ")[0]) for r in chair_history if r["kind"] == "change"]
    assert seen["chair"] == [(None, "4次", "上传文件"), ("4次", "5次", "录入")]
    # with the 退回 it answers (times are to the second: within one second events come first)
    kinds = [(r["kind"], r.get("action"), r.get("comment")) for r in chair_history]
    assert kinds.count(("event", "return", "主席会议次数与纪要不符")) == 1 and len(kinds) == 3
    assert kinds.index(("event", "return", "主席会议次数与纪要不符")) < [r.get("new") for r in chair_history].index("5次")
    csv = bureau.get("/bureau/audit.csv")
    assert csv.status_code == 200 and "主席会议次数与纪要不符" in csv.content.decode("utf-8-sig")
    for c in (bureau, clerk, head):
        c.close()
    return seen


def test_the_whole_workflow(world):
    run_workflow(world)


def test_the_same_workflow_gives_identical_results_on_sqlite_and_postgresql(tmp_path, pg_server):
    results = []
    for url in (f"sqlite:///{tmp_path / 'e.db'}", pg_server.create_database("identical")):
        w = build_world(url)
        try:
            results.append(run_workflow(w))
        finally:
            w.store.close()
    assert results[0] == results[1]


def test_documents_download(world):
    clerk = world.client("clerk-a")
    fid = world.filings["甲单位"]
    clerk.form(f"/filings/{fid}/targets", files={"file": ("t.docx", SEED_FORMS.read_bytes())})
    r = clerk.get(f"/filings/{fid}/documents.zip?formats=xlsx,html")
    assert r.status_code == 200
    import zipfile

    names = zipfile.ZipFile(io.BytesIO(r.content)).namelist()  # what report.write_reports writes, one set a table
    assert sum(n.endswith("自评表.xlsx") for n in names) == sum(n.endswith("自评报告.html") for n in names) == 3
    assert not any(n.endswith((".pdf", ".docx")) for n in names)
    assert "filename*=UTF-8''" in r.headers["content-disposition"]


def test_reuse_last_years_targets(world):
    bureau, clerk = world.client("bureau"), world.client("clerk-a")
    fid = world.filings["甲单位"]
    clerk.form(f"/filings/{fid}/targets", files={"file": ("t.docx", SEED_FORMS.read_bytes())})
    tid = wf.create_task(world.store, world.users["bureau"], 2024, "2024", "mof-2020", None, [world.units["甲单位"]])
    new = wf.task_filings(world.store, tid)[0]["id"]
    assert clerk.form(f"/filings/{new}/reuse").status_code == 303
    f = clerk.get(f"/api/filings/{new}").json()
    assert f["filing"]["state"] == "draft" and len(f["tables"]) == 3
    other = world.client("clerk-b")  # 乙 has no earlier targets
    r = other.form(f"/filings/{world.filings['乙单位']}/reuse")
    assert r.status_code == 404 and "找不到本单位往年的目标表" in r.text
    bureau.close(), clerk.close(), other.close()


def test_a_filled_self_evaluation_form_brings_its_actuals(world):
    """Uploading a filled-in 自评表 as the targets file imports its actuals as entries too (audited as upload)."""
    clerk = world.client("clerk-a")
    fid = world.filings["甲单位"]
    r = clerk.form(f"/filings/{fid}/targets", files={"file": ("自评表.xlsx", (ROOT / "tests/fixtures/self-evaluation.xlsx")
                                                                  .read_bytes())})
    assert r.status_code == 200 and "已填好的自评表" in r.text
    history = clerk.get(f"/api/filings/{fid}/history").json()["rows"]
    assert any(h["kind"] == "change" and h["source"].startswith("上传文件") for h in history)


def test_api_with_a_token_and_openapi(world):
    from evaluator.web.app import create_app
    from tests.webkit import Client

    token = auth.new_api_token(world.store, "bureau", "省平台")
    api = Client(create_app(store=world.store))
    assert api.get("/api/home").status_code == 401
    h = {"Authorization": f"Bearer {token}"}
    home = api.get("/api/home", headers=h).json()
    assert home["user"]["username"] == "bureau" and len(home["filings"]) == 3
    r = api.post("/api/tasks", json={"year": 2024, "title": "省平台", "unit_ids": [world.units["乙单位"]]}, headers=h)
    assert r.status_code == 200 and r.json()["task"]["year"] == 2024
    assert api.get("/api/home", headers={"Authorization": "Bearer ev_wrong"}).status_code == 401
    spec = api.get("/api/openapi.json").json()
    assert {"/api/filings/{fid}/scores", "/api/compare", "/api/filings/{fid}/submit"} <= set(spec["paths"])
    docs = api.get("/api/docs")
    assert docs.status_code == 200 and "cdn." not in docs.text  # an intranet server has no internet
    for asset in re.findall(r'(?:src|href)="(/api/docs/assets/[^"]+)"', docs.text) or ["missing"]:
        assert api.get(asset).status_code == 200, asset
    assert "/api/docs/assets/swagger-ui-bundle.js" in docs.text
    clerk_token = auth.new_api_token(world.store, "clerk-b")
    assert api.get(f"/api/filings/{world.filings['甲单位']}", headers={"Authorization": f"Bearer {clerk_token}"}
                   ).status_code == 404
    api.close()


def test_cli_batch_and_compare_on_the_web_database(world, tmp_path):
    """The CLI keeps working on the same database: batch stores beside the web's submissions; compare reads both."""
    from typer.testing import CliRunner

    from evaluator.cli import app
    from evaluator.synth import synth_province

    clerk, head = world.client("clerk-a"), world.client("head-a")
    fid = world.filings["甲单位"]
    clerk.form(f"/filings/{fid}/targets", files={"file": ("t.docx", SEED_FORMS.read_bytes())})
    assert head.form(f"/filings/{fid}/submit").status_code == 303
    synth_province(tmp_path / "p", departments=3, seed=2, tables=2, indicators=5)
    url = world.store.url
    out = CliRunner().invoke(app, ["batch", str(tmp_path / "p"), "--db", url])
    assert out.exit_code in (0, 1), out.output  # synth breaks a file on purpose
    out = CliRunner().invoke(app, ["compare", "--db", url, "--year", "2023", "-o", str(tmp_path / "o")])
    assert out.exit_code == 0, out.output
    compare = world.client("bureau").get("/api/compare?year=2023").json()
    assert "甲单位" in {d["department"] for d in compare["departments"]} and len(compare["departments"]) >= 3
    clerk.close(), head.close()


def test_users_and_units_commands(tmp_path):
    from typer.testing import CliRunner

    from evaluator.cli import app

    url = f"sqlite:///{tmp_path / 'e.db'}"
    units = tmp_path / "单位名单.csv"
    units.write_text("单位名称,主管部门,单位编码\n甲单位,主管部门S,001\n乙单位,主管部门S,002\n丙单位,,003\n", encoding="utf-8")
    run = lambda *a, input=None: CliRunner().invoke(app, [*a, "--db", url], input=input)  # noqa: E731
    r = run("units", "import", str(units))
    assert r.exit_code == 0 and "读取 3 行，新增 4 个单位（含主管部门）" in r.output
    assert run("units", "list").output.splitlines()[0].startswith("丙单位")
    assert run("users", "add", "zhang", "--role", "clerk", "--unit", "甲单位", "--password", "长长的密码123").exit_code == 0
    r = run("users", "add", "li", "--role", "clerk", "--password", "12345678")
    assert r.exit_code == 1 and "须指定单位" in r.output
    r = run("users", "add", "wang", "--role", "boss", "--password", "12345678")
    assert r.exit_code == 1 and "未知的角色“boss”" in r.output
    r = run("users", "add", "zhang", "--role", "bureau", "--password", "12345678")
    assert r.exit_code == 1 and "用户名“zhang”已存在" in r.output
    assert run("users", "add", "fin", "--role", "bureau", input="秘密口令12345\n").exit_code == 0
    listed = run("users", "list").output
    assert "zhang\t单位填报人\t甲单位" in listed and "fin\t财政局\t—" in listed
    assert run("users", "passwd", "zhang", "--password", "新的密码要足够长").exit_code == 0
    assert run("users", "disable", "zhang").exit_code == 0 and "已停用" in run("users", "list").output
    token = run("users", "token", "fin").output.strip()
    assert token.startswith("ev_")
    xlsx = tmp_path / "units.xlsx"
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(["单位名称", "主管部门"])
    wb.active.append(["丁单位", "主管部门T"])
    wb.save(xlsx)
    assert "新增 2 个单位" in run("units", "import", str(xlsx)).output


def test_serve_starts_the_app_on_the_demo(tmp_path):
    """`evaluator serve --demo` (what `make serve` runs): the demo accounts log in, the task is there."""
    import subprocess
    import sys

    import httpx

    from tests.webkit import free_port, wait_for

    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "evaluator", "serve", "--demo", "--port", str(port), "--db",
                             f"sqlite:///{tmp_path / 'demo.db'}"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            cwd=tmp_path)
    try:
        wait_for(port)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as c:
            token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").text).group(1)
            r = c.post("/login", data={"username": "shifeng-clerk", "password": "demo-2023", "csrf_token": token})
            assert r.status_code == 303
            home = c.get("/home")
            assert "石峰区政协" in home.text and "填报中" in home.text
            fid = re.search(r'href="/filings/(\d+)"', home.text).group(1)
            scores = c.get(f"/api/filings/{fid}/scores").json()
            assert [t["total"] for t in scores["evaluation"]["tables"]] == [97.66, 94.14, 98.62]
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=30)
    assert "已装入演示数据" in out.decode() and "Traceback" not in err.decode()


def test_demo_data_compares(tmp_path):
    from evaluator.store import Store
    from evaluator.web.demo import seed_demo
    from tests.webkit import World

    store = Store(f"sqlite:///{tmp_path / 'd.db'}")
    assert seed_demo(store)["units"] == 4
    c = World(store).client()
    c.login("bureau", "demo-2023")
    compare = c.get("/api/compare").json()
    assert len(compare["departments"]) == 2  # the two synthetic units already submitted
    c.close()
    store.close()



def test_page_modules_plug_in(world, monkeypatch):
    """A module listed in EXTENSIONS adds its pages with the app's session, rendering and permission checks."""
    import evaluator.web.app as web_app

    monkeypatch.setattr(web_app, "EXTENSIONS", ("tests.web_extension_example",))
    own, other = world.client("clerk-a"), world.client("clerk-b")
    fid = world.filings["甲单位"]
    assert own.get(f"/api/filings/{fid}/example").json()["title"] == "甲单位 的示例页"
    assert "甲单位 的示例页" in own.get(f"/filings/{fid}/example").text
    assert other.get(f"/api/filings/{fid}/example").status_code == 404
    own.close(), other.close()
