"""The pages in a real browser: the system's Chromium driven by Playwright against the app under uvicorn.

One browser for the session, one context (cookie jar) per person. The scenario: the bureau issues a task → the
clerk logs in with the keyboard, drops the seed's Word forms on the page, types and pastes actuals, sees the scores
change, fixes what the page flags, downloads the documents and hands over → the head submits with a confirmation →
the bureau returns it with a comment → the clerk corrects, the head resubmits → the bureau draws the 复核 sample,
enters a review and sees the deviation. Every page visited is checked for labelled controls and its weight; a
clerk who types another unit's address gets the Chinese "not found" page.
"""
from __future__ import annotations

import base64
import io
import re
import zipfile
from pathlib import Path

import pytest

from evaluator import load_actuals
from evaluator.store import Store
from evaluator.web import auth
from evaluator.web import workflow as wf
from tests.conftest import ROOT, need
from tests.webkit import PASSWORD, free_port, serve, wait_for

SEED_FORMS = ROOT / "tests" / "fixtures" / "seed-forms.docx"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-quic"]
MAX_PAGE = 300 * 1024  # bytes a page may load on first view (HTML, CSS, scripts, images)
TIMEOUT = 30_000  # ms: a loaded machine


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """Units 甲 and 乙 under 主管部门S, their clerks and heads, two bureau users — no task yet — and the app under
    uvicorn on a free port of 127.0.0.1."""
    folder = tmp_path_factory.mktemp("browser")
    url = f"sqlite:///{folder / 'evaluator.db'}"
    from pwdlib import PasswordHash
    from pwdlib.hashers.argon2 import Argon2Hasher

    cheap = PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),))  # same path, less time
    kept, auth._hasher = auth._hasher, cheap
    store = Store(url)
    units = {name: wf.add_unit(store, name, "主管部门S") for name in ("甲单位", "乙单位")}
    accounts = [("bureau", "bureau", None, "绩效科张三"), ("bureau2", "bureau", None, "绩效科李四"),
                ("clerk-a", "clerk", "甲单位", "甲单位填报人"), ("head-a", "head", "甲单位", "甲单位负责人"),
                ("clerk-b", "clerk", "乙单位", "乙单位填报人")]
    users = {username: auth.add_user(store, username, PASSWORD, role, unit, name)
             for username, role, unit, name in accounts}
    store.close()
    auth._hasher = kept
    port = free_port()
    proc = serve(url, port, ROOT)
    try:
        wait_for(port)
        yield {"base": f"http://127.0.0.1:{port}", "url": url, "units": units, "users": users}
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
        assert b"Traceback" not in err, err.decode("utf-8", "replace")[-2000:]


@pytest.fixture(scope="module")
def browser(chromium):
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        need(False, "Playwright for Python", "pip install playwright")
    with sync_playwright() as p:
        # launch() gives every browser a fresh temporary profile (its own --user-data-dir)
        b = p.chromium.launch(executable_path=chromium, args=FLAGS, headless=True)
        yield b
        b.close()


class Person:
    """One user's browser context: logs in with the keyboard; every page loaded is weighed and its controls
    checked for labels."""

    def __init__(self, browser, base: str, username: str):
        self.base, self.username = base, username
        self.context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN",
                                           accept_downloads=True)
        self.context.set_default_timeout(TIMEOUT)
        self.page = self.context.new_page()
        self.loaded: list[int] = []
        self.errors: list[str] = []
        self.page.on("response", self._weigh)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        # a page answered 404/403 on purpose logs "Failed to load resource"; any other console error is a bug
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error"
                     and not m.text.startswith("Failed to load resource") else None)
        self.weights: dict[str, int] = {}

    def _weigh(self, response) -> None:
        try:
            self.loaded.append(len(response.body()))
        except Exception:  # noqa: BLE001 - a redirect or an aborted request has no body
            pass

    def open(self, path: str):
        self.loaded = []
        self.page.goto(self.base + path)
        self.page.wait_for_load_state("networkidle")
        self.check_page(path)
        return self.page

    def check_page(self, path: str) -> None:
        weight = sum(self.loaded)
        self.weights[path] = weight
        assert weight <= MAX_PAGE, f"{path} loads {weight} bytes"
        unlabelled = self.page.evaluate("""() => [...document.querySelectorAll('input, select, textarea, button')]
            .filter(el => el.type !== 'hidden' && !el.closest('dialog:not([open])') && el.offsetParent !== null)
            .filter(el => el.tagName === 'BUTTON' ? !el.textContent.trim() && !el.getAttribute('aria-label')
                    : !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby'))
            .map(el => el.outerHTML.slice(0, 120))""")
        assert unlabelled == [], (path, unlabelled)
        assert self.page.locator("html").get_attribute("lang") == "zh-CN"

    def login(self) -> None:
        page = self.open("/login")
        page.locator("#username").focus()
        page.keyboard.type(self.username)
        page.keyboard.press("Tab")
        page.keyboard.type(PASSWORD)
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"/home$"))

    def close(self) -> None:
        assert self.errors == [], self.errors
        self.context.close()


def _expect():
    from playwright.sync_api import expect

    return expect


def _drop(page, selector: str, path, name: str) -> None:
    """Drag a file from the desktop onto the drop zone: a DataTransfer with the file, dispatched as a drop."""
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    transfer = page.evaluate_handle("""([data, name]) => {
        const bytes = Uint8Array.from(atob(data), c => c.charCodeAt(0));
        const dt = new DataTransfer();
        dt.items.add(new File([bytes], name, {type: 'application/octet-stream'}));
        return dt; }""", [data, name])
    page.dispatch_event(selector, "dragenter", {"dataTransfer": transfer})
    page.dispatch_event(selector, "drop", {"dataTransfer": transfer})


def _paste(page, selector: str, text: str) -> None:
    """Paste what Excel puts on the clipboard when a block of cells is copied (tab-separated lines)."""
    page.locator(selector).focus()
    page.evaluate("""([sel, text]) => { const dt = new DataTransfer(); dt.setData('text/plain', text);
        document.querySelector(sel).dispatchEvent(new ClipboardEvent('paste', {clipboardData: dt, bubbles: true,
        cancelable: true})); }""", [selector, text])


def _printed(page, kept: list[str]) -> None:
    """Print media: menus, tabs, footer and every button gone, the page's content (``kept``) still there, and
    Chromium lays it out on A4 landscape."""
    page.emulate_media(media="print")
    gone = ["header.top", "nav.tabs", "footer", "main button"]
    shown = page.evaluate("""sels => Object.fromEntries(sels.map(s => [s, [...document.querySelectorAll(s)]
        .some(el => getComputedStyle(el).display !== 'none')]))""", gone + kept)
    assert shown == {**dict.fromkeys(gone, False), **dict.fromkeys(kept, True)}, shown
    assert len(page.pdf(format="A4", landscape=True)) > 10_000
    page.emulate_media(media="screen")


def _download(page, click) -> bytes:
    with page.expect_download() as info:
        click()
    return Path(info.value.path()).read_bytes()


def test_the_workflow_in_a_browser(site, browser):
    expect = _expect()
    base = site["base"]
    seed = load_actuals(ROOT / "data" / "actuals" / "shifeng-cppcc-2023.yaml").tables[0]

    # ------------------------------------------------------------- the bureau issues the task
    bureau = Person(browser, base, "bureau")
    bureau.login()
    page = bureau.open("/tasks")
    page.fill("#year", "2023")
    page.fill("#title", "2023 年度部门整体支出绩效自评")
    page.fill("#deadline", "2099-03-31")
    page.get_by_role("button", name="发布任务").click()
    page.wait_for_url(re.compile(r"/tasks/\d+$"))
    bureau.check_page("/tasks/N")
    expect(page.locator("#task-units")).to_contain_text("甲单位")
    expect(page.locator("#task-units")).to_contain_text("未开始")
    task_url = page.url.removeprefix(base)

    # ------------------------------------------------------------- the clerk: home, upload by drag and drop
    clerk = Person(browser, base, "clerk-a")
    clerk.login()
    page = clerk.page
    expect(page.locator(".card")).to_contain_text("未开始")
    expect(page.locator(".card")).to_contain_text("导入本单位的绩效目标表")
    page.get_by_role("link", name="导入目标表").click()
    fid = int(re.search(r"/filings/(\d+)", page.url).group(1))
    clerk.check_page(f"/filings/{fid}")
    page.evaluate("""() => { window.__progress = []; document.querySelector('#upload-targets')
        .addEventListener('htmx:xhr:progress', e => window.__progress.push(e.detail.loaded)); }""")
    clerk.loaded = []
    _drop(page, "#upload-targets .drop-zone", SEED_FORMS, "绩效目标表.docx")
    expect(page.locator("h1")).to_have_text("已读取 绩效目标表.docx")
    assert page.evaluate("window.__progress.length") > 0  # the progress bar was fed (and the page not reloaded)
    expect(page.locator("#read-h + details")).to_contain_text("2023年部门整体支出绩效目标表")
    expect(page.locator("section[aria-labelledby=unplaced-h]")).to_contain_text("都已读取")
    clerk.check_page("imported")

    # ------------------------------------------------------------- typing, pasting, the scores update in place
    page.get_by_role("link", name="开始填报").click()
    clerk.check_page("entry")
    expect(page.locator("#totals")).to_contain_text("待填 11 项")
    actuals = {i.indicator: i.actual for i in seed.indicators}
    column = [actuals["政协全会"], actuals["政协常委会"], "很多"]
    _paste(page, "#f-0-actual", "\n".join(column) + "\n")  # three cells copied from one Excel column
    expect(page.locator("#msg-2-actual")).to_contain_text("无法识别的实际完成值“很多”")
    expect(page.locator("#f-2-actual")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#sc-0")).to_have_text("8.33")
    assert [page.input_value(f"#f-{k}-actual") for k in range(3)] == column
    # fix it by typing; Enter moves down like a spreadsheet
    page.locator("#f-2-actual").fill("")
    page.locator("#f-2-actual").type("4次")
    page.keyboard.press("Enter")
    expect(page.locator("#sc-2")).to_have_text("6.67")
    expect(page.locator("#why-2")).to_contain_text("实际 4次 ÷ 目标 5次 × 分值 8.34 = 6.67")
    assert page.evaluate("document.activeElement.id") == "f-3-actual"
    expect(page.locator("#f-2-actual")).not_to_have_attribute("aria-invalid", "true")
    expect(page.locator("#msg-2-deviation_note")).to_contain_text("须填写偏差原因")
    # arrow keys: up from row 3 is row 2, right goes on to the next cell of the row
    page.keyboard.press("ArrowUp")
    assert page.evaluate("document.activeElement.id") == "f-2-actual"
    page.keyboard.press("End")
    page.keyboard.press("ArrowRight")
    assert page.evaluate("document.activeElement.id") == "f-2-deviation_note"
    page.keyboard.type("第四季度因防汛任务，主席会议与常委会合并召开 1 次")
    page.keyboard.press("Tab")
    expect(page.locator("#msg-2-deviation_note")).to_be_empty()
    # the rest of the column, pasted from row 3 down (qualitative answers included)
    rest = [actuals[name] or "" for name in list(actuals)[3:11]]
    _paste(page, "#f-3-actual", "\r\n".join(rest) + "\r\n")
    expect(page.locator("#totals")).to_contain_text("本表已填完")
    # a 评判得分 that is no number is flagged on its field, in Chinese; then fixed
    judged = page.locator("#f-3-judged_score")
    judged.fill("很好")
    judged.press("Tab")
    expect(page.locator("#msg-3-judged_score")).to_contain_text("“很好”不是 0–100 之间的数字")
    expect(judged).to_have_attribute("aria-invalid", "true")
    judged.fill("8")
    judged.press("Tab")
    expect(page.locator("#msg-3-judged_score")).to_be_empty()
    # the budget figures: the execution score follows
    page.locator("#f--1-budget").fill("541.37")
    page.locator("#f--1-budget").press("Enter")
    assert page.evaluate("document.activeElement.id") == "f--1-spent"
    page.keyboard.type("526.82")
    page.keyboard.press("Tab")
    expect(page.locator("#execution")).to_contain_text("526.82 ÷ 全年预算数 541.37 = 97.31%")
    expect(page.locator("#totals")).to_contain_text("9.73")
    expect(page.locator("#totals")).not_to_contain_text("（未完）")  # every group scored
    expect(page.locator("#save-state")).to_contain_text("已保存草稿")
    # nothing typed was lost: a fresh load shows it all
    page = clerk.open(f"/filings/{fid}/entry")
    assert page.input_value("#f-2-actual") == "4次" and page.input_value("#f--1-spent") == "526.82"
    expect(page.locator("#sc-2")).to_have_text("6.67")
    _printed(page, ["table.sheet", "#totals", "section.budget"])

    # ------------------------------------------------------------- review before handing over: links, documents
    page = clerk.open(f"/filings/{fid}/check")
    link = page.locator("section[aria-labelledby=links-h] a[href*='#f-']").first
    href = link.get_attribute("href")
    link.click()
    page.wait_for_load_state("networkidle")
    assert page.evaluate("document.activeElement.id") == href.split("#")[1]  # the cell of the finding
    page = clerk.open(f"/filings/{fid}/check")
    expect(page.locator(".preview").first).to_contain_text("部门整体支出绩效自评表")
    xlsx = _download(page, lambda: page.locator("a[href$='/dept-2023-1/table.xlsx']").click())
    assert xlsx[:2] == b"PK"
    pdf = _download(page, lambda: page.locator("a[href$='/dept-2023-1/report.pdf']").click())
    assert pdf[:5] == b"%PDF-"
    bundle = _download(page, lambda: page.get_by_role("link", name="只要自评表（xlsx、docx）").click())
    names = zipfile.ZipFile(io.BytesIO(bundle)).namelist()
    assert any(n.endswith("自评表.xlsx") for n in names) and any(n.endswith("自评表.docx") for n in names)
    everything = _download(page, lambda: page.get_by_role("link", name="全部文件打包下载（zip）").click())
    names = zipfile.ZipFile(io.BytesIO(everything)).namelist()
    for ending in ("自评表.xlsx", "自评表.docx", "自评报告.pdf", "自评报告.docx"):
        assert sum(n.endswith(ending) for n in names) == 3, (ending, names)  # one per table of the seed
    # printed, the page is the findings, documents and 自评表 preview: no menus, buttons or forms
    _printed(page, [".preview", "section[aria-labelledby=links-h]"])
    page.get_by_role("button", name="填报完成，提交单位负责人审核").click()
    expect(page.locator(".crumbs .state")).to_have_text("待审核")

    # ------------------------------------------------------------- the head submits, with a confirmation
    head = Person(browser, base, "head-a")
    head.login()
    page = head.page
    expect(page.locator(".card")).to_contain_text("请审核并送审")
    page.get_by_role("link", name="审核并送审").click()
    head.check_page("check (head)")
    page.get_by_role("button", name="审核通过并送审…").click()
    dialog = page.locator("#confirm-submit")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("确定送审吗")
    dialog.get_by_role("button", name="取消").click()
    expect(dialog).to_be_hidden()
    page.get_by_role("button", name="审核通过并送审…").click()
    dialog.get_by_role("button", name="确认送审").click()
    expect(page.locator(".crumbs .state")).to_have_text("已送审")

    # ------------------------------------------------------------- the bureau returns it with a comment
    page = bureau.open(task_url)
    page.get_by_label("已送审（1）").check()
    expect(page.locator("#task-units tbody tr")).to_have_count(1)
    assert "show=submitted" in page.url  # filtered in place, the address kept for a reload
    page.locator("#task-units a", has_text="甲单位").click()
    page.fill("#comment-return", "主席会议次数与会议纪要不符，请核实")
    page.get_by_role("button", name="退回", exact=True).click()
    expect(page.locator(".crumbs .state")).to_have_text("被退回")

    # ------------------------------------------------------------- the clerk corrects and hands over again
    page = clerk.open("/home")
    expect(page.locator(".card")).to_contain_text("按退回意见修改：主席会议次数与会议纪要不符，请核实")
    page = clerk.open(f"/filings/{fid}")
    expect(page.locator(".returned-box")).to_contain_text("主席会议次数与会议纪要不符")
    page = clerk.open(f"/filings/{fid}/entry")
    page.locator("#f-2-actual").fill("5次")
    page.locator("#f-2-actual").press("Enter")
    expect(page.locator("#sc-2")).to_have_text("8.34")
    # the indicator's history: every change, who made it and when, and the 退回 it answers
    page.get_by_label("修改记录：政协主席会议").click()
    page.wait_for_load_state("networkidle")
    clerk.check_page("history of one indicator")
    expect(page.locator("h1")).to_have_text("修改记录：政协主席会议")
    rows = page.locator("table.history tbody tr")
    texts = [t.split("\t") for t in rows.evaluate_all("rs => rs.map(r => [...r.cells].map(c => c.innerText).join('\t'))")]
    changes = [(t[1], t[2], t[3], t[4], t[5]) for t in texts if "退回" not in t[2]]
    assert changes == [("甲单位填报人", "政协主席会议 实际完成值", "（空）", "很多", "录入"),
                       ("甲单位填报人", "政协主席会议 实际完成值", "很多", "4次", "录入"),
                       ("甲单位填报人", "政协主席会议 偏差原因分析及改进措施", "（空）",
                        "第四季度因防汛任务，主席会议与常委会合并召开 1 次", "录入"),
                       ("甲单位填报人", "政协主席会议 实际完成值", "4次", "5次", "录入")], texts
    returned = [t for t in texts if t[2] == "退回（第 1 版）"]
    assert returned and returned[0][1] == "绩效科张三" and returned[0][5] == "退回意见：主席会议次数与会议纪要不符，请核实"
    assert texts.index(returned[0]) == 3  # in time order: after the first round, before the correction
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", t[0]) for t in texts)
    page = clerk.open(f"/filings/{fid}/check")
    page.get_by_role("button", name="填报完成，提交单位负责人审核").click()
    expect(page.locator(".crumbs .state")).to_have_text("待审核")
    # the head resubmits with the keyboard alone: Enter opens the confirmation, Escape leaves it, Enter confirms
    page = head.open(f"/filings/{fid}/check")
    page.get_by_role("button", name="审核通过并送审…").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#confirm-submit")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#confirm-submit")).to_be_hidden()
    page.get_by_role("button", name="审核通过并送审…").focus()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.textContent") == "确认送审"  # focus goes into the dialog
    page.keyboard.press("Enter")
    expect(page.locator(".crumbs")).to_contain_text("第 2 版")

    # ------------------------------------------------------------- the comparison, live
    page = bureau.open("/bureau/compare")
    expect(page.locator("#ranking")).to_contain_text("甲单位")
    page.locator("#ranking th a", has_text="总分").click()
    expect(page.locator("#ranking th[aria-sort]")).to_contain_text("总分")
    page.select_option("#fgrade", "差")
    expect(page.locator("#ranking")).to_contain_text("没有符合条件的单位")
    page.select_option("#fgrade", "")
    _printed(page, ["#ranking table"])
    page.locator("#ranking a", has_text="甲单位").first.click()
    page.wait_for_url(re.compile(r"/bureau/unit\?"))
    bureau.check_page("unit")
    expect(page.locator("h1")).to_contain_text("甲单位")
    _printed(page, ["main table"])

    # ------------------------------------------------------------- 复核: sample, assign, review, deviation
    page = bureau.open("/bureau/review")
    page.fill("#share", "1")
    page.fill("#seed", "7")
    page.get_by_role("button", name="抽样").click()
    page.wait_for_load_state("networkidle")
    expect(page.locator("section[aria-labelledby=sample-h]")).to_contain_text("随机种子 7")
    row = page.locator("section[aria-labelledby=sample-h] tbody tr", has_text="部门整体")
    row.locator("select").select_option(label="绩效科李四")
    row.get_by_role("button", name="分配").click()
    expect(page.locator("section[aria-labelledby=sample-h] tbody tr", has_text="部门整体")).to_contain_text("bureau2")
    page.locator("section[aria-labelledby=sample-h] a", has_text="部门整体").click()
    page.wait_for_load_state("networkidle")
    bureau.check_page("filing review")
    section = page.locator("section", has_text="2023年部门整体支出绩效目标表").first
    chair = section.locator("tr", has_text="政协主席会议")
    expect(chair).to_contain_text("8.34")
    chair.get_by_label("复核得分：政协主席会议").fill("6.67")
    chair.get_by_label("复核意见：政协主席会议").fill("纪要只有 4 次")
    page.get_by_role("button", name="保存复核得分").click()
    expect(page.locator("#review-form")).to_contain_text("偏差 +1.67")
    chair = page.locator("section", has_text="2023年部门整体支出绩效目标表").first.locator("tr", has_text="政协主席会议")
    expect(chair).to_contain_text("+1.67")
    page = bureau.open("/bureau/review")
    expect(page.locator("#deviation")).to_contain_text("+1.67")
    for person in (bureau, clerk, head):
        person.close()


def test_a_clerk_cannot_open_another_units_pages_by_changing_the_address(site, browser):
    expect = _expect()
    store = Store(site["url"])
    try:
        bureau = site["users"]["bureau"]
        mine = {r["unit"]: r["id"] for r in wf.filings_for(store, bureau)}
        if "甲单位" not in mine:  # run alone: issue a task here
            wf.create_task(store, bureau, 2023, "2023 年度", "mof-2020", None, list(site["units"].values()))
            mine = {r["unit"]: r["id"] for r in wf.filings_for(store, bureau)}
    finally:
        store.close()
    other = Person(browser, site["base"], "clerk-b")
    other.login()
    fid = mine["甲单位"]
    for path in (f"/filings/{fid}", f"/filings/{fid}/entry", f"/filings/{fid}/check", f"/filings/{fid}/history",
                 f"/filings/{fid}/documents/dept-2023-1/table.xlsx"):
        response = other.page.goto(site["base"] + path)
        assert response.status == 404, path
        expect(other.page.locator("h1")).to_have_text("找不到")
        expect(other.page.locator("main")).to_contain_text("自评不存在")
        assert "甲单位" not in other.page.content()
    # the clerk's own filing: the form chosen and uploaded with the keyboard alone
    page = other.open(f"/filings/{mine['乙单位']}")
    chosen = []  # listening before any key is pressed turns Playwright's chooser interception on in time
    page.on("filechooser", lambda chooser: chosen.append(chooser))
    page.keyboard.press("Tab")
    for _ in range(40):  # Tab through the page until the file field has the focus
        if page.evaluate("document.activeElement.id") == "targets-file":
            break
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "targets-file"
    assert page.evaluate("getComputedStyle(document.querySelector('#upload-targets label.choose')).outlineStyle") == "solid"
    expect(page.locator("#upload-targets .file-name")).to_have_text("尚未选择文件")
    page.keyboard.press("Space")
    for _ in range(TIMEOUT // 100):
        if chosen:
            break
        page.wait_for_timeout(100)
    assert chosen, "Space on the focused file field opened no file chooser"
    chosen[0].set_files(str(SEED_FORMS))
    expect(page.locator("#upload-targets .file-name")).to_have_text("已选择：seed-forms.docx")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "上传"
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("已读取 seed-forms.docx")
    response = other.page.goto(site["base"] + "/bureau/compare")
    assert response.status == 403
    expect(other.page.locator("h1")).to_have_text("没有权限")
    response = other.page.goto(site["base"] + f"/api/filings/{fid}")
    assert response.status == 404 and response.json() == {"error": "自评不存在", "status": 404}
    other.close()
