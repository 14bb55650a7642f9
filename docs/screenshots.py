"""Screenshots of every main page of the web application, as the clerk, the head and the bureau see them
(`make screenshots`): the bundled demo in a fresh database, the app under uvicorn on 127.0.0.1, the system's
Chromium driven by Playwright at 1366×768. The PNGs go to docs/screenshots/ (README shows them), reduced to a
small palette so the repository stays small.

    python docs/screenshots.py [-o docs/screenshots] [--chromium /usr/bin/chromium]
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-quic",
         "--lang=zh-CN"]  # the browser's own words (file pickers) in Chinese, as on a clerk's machine
MAX_HEIGHT = 1600  # px of a long page kept in its picture
COLOURS = 64  # palette size: text and tables stay crisp, the pictures stay small


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(url: str) -> dict:
    """The demo, with the task's deadline a month ahead (the demo's 2024 date has passed)."""
    from evaluator.store import Store
    from evaluator.web import auth
    from evaluator.web import workflow as wf
    from evaluator.web.demo import seed_demo

    store = Store(url)
    try:
        seed_demo(store)
        users = {u["username"]: u for u in auth.list_users(store)}
        bureau = next(auth.find_user(store, u["id"]) for u in users.values() if u["username"] == "bureau")
        task = wf.list_tasks(store)[0]["id"]
        wf.change_task(store, bureau, task, "extend", (dt.date.today() + dt.timedelta(days=30)).isoformat())
        filings = {r["unit"]: r for r in wf.task_filings(store, task)}
        fresh = next(name for name, r in filings.items() if r["state"] == "not-started")
        fresh_clerk = next(u["username"] for u in users.values() if u["role"] == "clerk" and u.get("unit") == fresh)
        return {"task": task, "seed": filings["石峰区政协"]["id"], "fresh": filings[fresh]["id"],
                "fresh_clerk": fresh_clerk}
    finally:
        store.close()


def _palette(path: Path) -> Path:
    from PIL import Image

    Image.open(path).convert("RGB").quantize(COLOURS, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
    print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    return path


def shoot(page, out: Path, name: str, full: bool = True) -> Path:
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(300)
    path = out / f"{name}.png"
    height = page.evaluate("document.documentElement.scrollHeight") if full else 768
    page.screenshot(path=str(path), clip={"x": 0, "y": 0, "width": 1366, "height": min(height, MAX_HEIGHT)},
                    full_page=full)
    return _palette(path)


def shoot_element(page, out: Path, name: str, selector: str) -> Path:
    path = out / f"{name}.png"
    page.locator(selector).screenshot(path=str(path))
    return _palette(path)


def login(browser, base: str, username: str):
    from evaluator.web.demo import DEMO_PASSWORD

    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN", accept_downloads=True)
    page = context.new_page()
    page.goto(base + "/login")
    page.fill("#username", username)
    page.fill("#password", DEMO_PASSWORD)
    page.press("#password", "Enter")
    page.wait_for_url("**/home")
    return page


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    args = parser.parse_args()
    if not Path(args.chromium).is_file():
        sys.exit(f"错误：找不到 Chromium（{args.chromium}）（请安装：apt-get install chromium fonts-noto-cjk，"
                 "或用 --chromium 指定浏览器程序）")
    from playwright.sync_api import sync_playwright

    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="evaluator-shots-") as folder:
        url = f"sqlite:///{Path(folder) / 'demo.db'}"
        ids = prepare(url)
        port = _port()
        server = subprocess.Popen([sys.executable, "-m", "uvicorn", "evaluator.web.asgi:app", "--host", "127.0.0.1",
                                   "--port", str(port), "--log-level", "warning"], cwd=ROOT,
                                  env={**os.environ, "EVALUATOR_DB": url})
        base = f"http://127.0.0.1:{port}"
        try:
            import httpx

            for _ in range(300):
                try:
                    if httpx.get(base + "/login", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=args.chromium, args=FLAGS, headless=True)
                run(browser, base, ids, out)
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=30)


def hand_over(page, base: str, filing: int) -> None:
    """The clerk hands the filing to the head (提交审核) and leaves."""
    page.goto(base + f"/filings/{filing}/check")
    page.click("text=填报完成，提交单位负责人审核")
    page.wait_for_load_state("networkidle")
    page.context.close()


def submit(browser, base: str, filing: int, out: Path | None = None) -> None:
    """The head opens the confirmation and submits (送审); with ``out``, its home and the confirmation photographed."""
    page = login(browser, base, "shifeng-head")
    if out:
        shoot(page, out, "10-head-home", full=False)
    page.goto(base + f"/filings/{filing}/check")
    page.click("text=审核通过并送审…")
    if out:
        shoot(page, out, "11-head-submit", full=False)
    page.click("#confirm-submit button[type=submit]")
    page.wait_for_load_state("networkidle")
    page.context.close()


def run(browser, base: str, ids: dict, out: Path) -> None:
    seed, fresh = ids["seed"], ids["fresh"]
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    page = context.new_page()
    page.goto(base + "/login")
    shoot(page, out, "01-login", full=False)
    context.close()

    # the clerk of a unit that has not started: home, then the Word forms dropped on the page
    page = login(browser, base, ids["fresh_clerk"])
    page.goto(base + f"/filings/{fresh}")
    shoot(page, out, "02-upload")
    page.set_input_files("#targets-file", str(ROOT / "tests" / "fixtures" / "seed-forms.docx"))
    page.click("#upload-targets button[type=submit]")
    page.wait_for_selector("text=已读取")
    shoot(page, out, "03-imported")
    page.context.close()

    # the seed unit's clerk: home, the entry sheet (a value typed, one pasted wrong), budget, 送审前检查
    page = login(browser, base, "shifeng-clerk")
    shoot(page, out, "04-clerk-home", full=False)
    page.goto(base + f"/filings/{seed}")
    shoot(page, out, "05-filing")
    page.goto(base + f"/filings/{seed}/entry")
    page.fill("#f-2-actual", "4")
    page.press("#f-2-actual", "Enter")
    page.fill("#f-10-actual", "九成")
    page.press("#f-10-actual", "Tab")
    page.wait_for_selector("#msg-10-actual .msg.error")
    page.locator("#f-2-actual").focus()
    shoot(page, out, "06-entry", full=False)
    page.add_style_tag(content=".totals-bar { position: static !important; }")  # one picture of the whole sheet
    shoot(page, out, "07-entry-full")
    page.fill("#f-10-actual", "96%")
    page.press("#f-10-actual", "Tab")
    page.wait_for_timeout(500)
    page.fill("#f--1-spent", "520.5")
    page.press("#f--1-spent", "Tab")
    page.wait_for_selector("#execution:has-text('520.5')")
    page.locator("section.budget").scroll_into_view_if_needed()
    shoot_element(page, out, "08-budget", "div.below")
    page.fill("#f--1-spent", "526.82")
    page.press("#f--1-spent", "Tab")
    page.wait_for_selector("#execution:has-text('526.82')")
    page.goto(base + f"/filings/{seed}/check")
    shoot(page, out, "09-check")
    hand_over(page, base, seed)
    # the head: the confirmation before 送审
    submit(browser, base, seed, out)

    # the bureau returns it with a comment; the clerk corrects it and sees the indicator's history
    page = login(browser, base, "bureau")
    page.goto(base + f"/filings/{seed}")
    page.fill("#comment-return", "政协主席会议次数与会议纪要不符，请核实后重新填报")
    page.get_by_role("button", name="退回", exact=True).click()
    page.wait_for_load_state("networkidle")
    page.context.close()
    page = login(browser, base, "shifeng-clerk")
    page.goto(base + f"/filings/{seed}/entry")
    page.fill("#f-2-actual", "4次")
    page.press("#f-2-actual", "Tab")
    page.wait_for_timeout(500)
    page.locator("a.rec[aria-label='修改记录：政协主席会议']").click()
    shoot(page, out, "12-history", full=False)
    hand_over(page, base, seed)
    submit(browser, base, seed)

    # the bureau: 工作台, a task, the comparison, a unit, 复核, export, a page that is not there
    page = login(browser, base, "bureau")
    shoot(page, out, "13-bureau-home", full=False)
    page.goto(base + f"/tasks/{ids['task']}")
    shoot(page, out, "14-task")
    page.goto(base + "/bureau/compare")
    shoot(page, out, "15-compare")
    page.goto(base + "/bureau/unit?name=" + "石峰区政协")
    shoot(page, out, "16-unit")
    page.goto(base + "/bureau/review")
    page.fill("#share", "1")
    page.click("text=抽样")
    page.wait_for_load_state("networkidle")
    page.goto(base + f"/filings/{seed}/review")
    row = page.locator("section").filter(has_text="部门整体").first.locator("tr", has_text="政协主席会议")
    row.locator("input").first.fill("5.00")
    row.locator("input").nth(1).fill("会议纪要只有 3 次")
    page.click("text=保存复核得分")
    page.wait_for_timeout(800)
    shoot(page, out, "17-review-filing")
    page.goto(base + "/bureau/review")
    shoot(page, out, "18-review-desk")
    page.goto(base + "/bureau/export")
    shoot(page, out, "19-export", full=False)
    page.goto(base + "/filings/99999")
    shoot(page, out, "21-not-found", full=False)
    page.context.close()

    # the 主管部门: its units' filings
    page = login(browser, base, "supervisor")
    shoot(page, out, "20-supervisor-home", full=False)
    page.context.close()


if __name__ == "__main__":
    main()
