"""The server under attack, route by route, on SQLite and PostgreSQL: no session, another unit's session (IDOR,
guessed ids), missing or wrong CSRF tokens, oversized and disguised uploads, path traversal in upload names,
session fixation, expiry and logout, throttled logins, error pages without tracebacks."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from sqlalchemy import select, update

from evaluator.schema import entries, filings, sessions, uploads
from evaluator.web import auth
from evaluator.web.app import COOKIE, create_app
from tests.conftest import ROOT
from tests.test_web import quick_hashes  # noqa: F401  (autouse fixture)
from tests.webkit import Client, build_world

SEED_FORMS = ROOT / "tests" / "fixtures" / "seed-forms.docx"
PUBLIC = {"/", "/login", "/api/docs", "/api/docs/oauth2-redirect", "/api/openapi.json"}


@pytest.fixture()
def world(db_url):
    """甲单位's filing with targets, one upload and an entry; the other units untouched."""
    w = build_world(db_url)
    clerk = w.client("clerk-a")
    fid = w.filings["甲单位"]
    assert clerk.form(f"/filings/{fid}/targets", files={"file": ("t.docx", SEED_FORMS.read_bytes())}).status_code == 200
    clerk.form(f"/filings/{fid}/entry?table=dept-2023-1", {"f-0-actual": "1次"})
    clerk.close()
    with w.store.engine.connect() as conn:
        w.upload = conn.execute(select(uploads.c.id).where(uploads.c.filing_id == fid)).scalar()
    yield w
    w.store.close()


def routes(app) -> list[tuple[str, str]]:
    return sorted((m, r.path) for r in app.routes if isinstance(r, APIRoute) and r.path not in PUBLIC
                  for m in r.methods if m in ("GET", "POST"))


def fill(path: str, w, fid: int) -> str:
    return (path.replace("{fid}", str(fid)).replace("{task_id}", str(w.task))
            .replace("{upload_id}", str(w.upload)))


def snapshot(w) -> tuple:
    """What an attack must not change: 甲's filing row and entries."""
    with w.store.engine.connect() as conn:
        f = conn.execute(select(filings).where(filings.c.id == w.filings["甲单位"])).first()
        e = conn.execute(select(entries.c.table_id, entries.c.position, entries.c.field, entries.c.value)
                         .where(entries.c.filing_id == w.filings["甲单位"]).order_by(entries.c.id)).all()
    return tuple(f), tuple(map(tuple, e))


def test_every_route_needs_a_session(world):
    anon = Client(create_app(store=world.store))
    before = snapshot(world)
    seen = []
    for method, path in routes(anon.app):
        url = fill(path, world, world.filings["甲单位"]) + ("?table=dept-2023-1" if path.endswith("/entry") else "")
        r = anon.request(method, url, follow_redirects=False, data={"f-0-actual": "x"} if method == "POST" else None)
        seen.append(path)
        if path.startswith("/api/") or path.endswith((".xlsx", ".zip", ".csv")) or "/uploads/" in path:
            assert r.status_code in (401, 303), (method, path, r.status_code)
        else:
            assert r.status_code == 303 and r.headers["location"].startswith("/login"), (method, path)
        assert "甲单位" not in r.text
    assert len(seen) >= 40 and snapshot(world) == before
    anon.close()


def test_no_route_opens_another_units_filing(world):
    """乙单位's clerk, head and 丙's 主管部门 against every filing route of 甲单位: not found (or forbidden),
    nothing read, nothing changed — and the same for ids guessed around it."""
    before = snapshot(world)
    fid = world.filings["甲单位"]
    for username in ("clerk-b", "head-b", "super-t"):
        c = world.client(username)
        for method, path in routes(c.app):
            if "{fid}" not in path:
                continue
            url = fill(path, world, fid) + ("?table=dept-2023-1" if path.endswith("/entry") else "")
            if method == "GET":
                r = c.get(url, follow_redirects=False)
            elif path.startswith("/api/"):
                body = [] if path.endswith(("/entries", "/review")) else {"comment": "x"}
                r = c.post(url, json=body, headers={"X-CSRF-Token": c.csrf}, follow_redirects=False)
            else:
                r = c.form(url, {"f-0-actual": "被改了", "comment": "x"},
                           files={"file": ("t.docx", SEED_FORMS.read_bytes())} if path.endswith(("/targets",
                                                                                                   "/workbook"))
                           else None)
            assert r.status_code in (403, 404), (username, method, path, r.status_code)
            assert "政协全会" not in r.text and "1次" not in r.text
        for guess in range(1, 30):
            if guess in (world.filings["乙单位"], world.filings["丙单位"]):
                continue
            assert c.get(f"/filings/{guess}").status_code == 404
            assert c.get(f"/api/filings/{guess}/scores").status_code == 404
        own = world.filings["乙单位"]
        if username != "super-t":  # another unit's upload through one's own filing
            assert c.get(f"/filings/{own}/uploads/{world.upload}").status_code == 404
        for bureau_page in ("/tasks", "/bureau/compare", "/bureau/review", "/bureau/audit.csv", "/api/compare"):
            assert c.get(bureau_page).status_code == 403, bureau_page
        c.close()
    assert snapshot(world) == before


def test_the_supervisor_sees_its_units_only(world):
    s = world.client("super-s")
    assert {f["unit"] for f in s.get("/api/home").json()["filings"]} == {"甲单位", "乙单位"}
    assert s.get(f"/filings/{world.filings['丙单位']}").status_code == 404
    assert s.form(f"/filings/{world.filings['甲单位']}/entry?table=dept-2023-1", {"f-0-actual": "9次"}
                  ).status_code == 403
    s.close()


def test_every_form_needs_the_csrf_token(world):
    before = snapshot(world)
    c = world.client("clerk-a")
    fid = world.filings["甲单位"]
    for method, path in routes(c.app):
        if method != "POST":
            continue
        url = fill(path, world, fid) + ("?table=dept-2023-1" if path.endswith("/entry") else "")
        if path.startswith("/api/"):
            body = [] if path.endswith(("/entries", "/review")) else {"comment": "x", "year": 2024, "unit_ids": [1]}
            r = c.post(url, json=body, follow_redirects=False)  # a session cookie but no X-CSRF-Token
            assert r.status_code == 403, path
            continue
        for token in (None, "wrong", c.csrf[:-1]):
            data = {"f-0-actual": "被改了", "comment": "x", "year": "2024", "title": "t", "unit_ids": ["1"]}
            if token:
                data["csrf_token"] = token
            r = c.post(url, data=data, follow_redirects=False)
            assert r.status_code == 403 and "CSRF" in r.text, (path, token)
    assert snapshot(world) == before
    # the login form too: a post without the login page's token is refused
    anon = Client(create_app(store=world.store))
    r = anon.post("/login", data={"username": "clerk-a", "password": "test-password-1", "csrf_token": "x"},
                  follow_redirects=False)
    assert r.status_code == 403 and COOKIE not in r.cookies
    c.close(), anon.close()


def test_uploads_pass_the_input_gate(world, monkeypatch, tmp_path):
    c = world.client("clerk-b")
    fid = world.filings["乙单位"]
    r = c.form(f"/filings/{fid}/targets", files={"file": ("报告.pdf", b"%PDF-1.4 ...")})
    assert r.status_code == 400 and "不支持的文件类型“.pdf”" in r.text
    r = c.form(f"/filings/{fid}/targets", files={"file": ("目标表.docx", b"%PDF-1.4 not a word file")})
    assert r.status_code == 400 and "扩展名是 .docx，但实际是 PDF 文件" in r.text and str(tmp_path) not in r.text
    assert "/tmp/" not in r.text and "upload.docx" not in r.text  # the staging path never shows
    monkeypatch.setenv("EVALUATOR_MAX_FILE_MB", "0.01")
    r = c.form(f"/filings/{fid}/targets", files={"file": ("目标表.docx", SEED_FORMS.read_bytes())})
    assert r.status_code == 400 and "过大" in r.text
    monkeypatch.delenv("EVALUATOR_MAX_FILE_MB")
    # every upload is kept, refused ones too, with the reason
    with world.store.engine.connect() as conn:
        kept = conn.execute(select(uploads.c.filename, uploads.c.outcome).where(uploads.c.filing_id == fid)
                            .order_by(uploads.c.id)).all()
    assert [tuple(k) for k in kept] == [("目标表.docx", "refused"), ("目标表.docx", "refused")]
    c.close()


@pytest.mark.parametrize("name, shown", [("../../../../tmp/evaluator-evil.docx", "evaluator-evil.docx"),
                                         ("..\\..\\evaluator-evil.docx", "evaluator-evil.docx"),
                                         ("/etc/passwd.docx", "passwd.docx"),
                                         ("a\x00b\n.docx", "a%00b%0A.docx")])  # the client escapes them
def test_upload_names_never_reach_the_file_system(world, name, shown):
    c = world.client("clerk-b")
    fid = world.filings["乙单位"]
    target = Path("/tmp/evaluator-evil.docx")
    target.unlink(missing_ok=True)
    r = c.form(f"/filings/{fid}/targets", files={"file": (name, SEED_FORMS.read_bytes())})
    assert r.status_code == 200 and f"已读取 {shown}" in r.text
    assert not target.exists() and not (ROOT / "evaluator-evil.docx").exists()
    c.close()


def test_sessions_are_new_at_login_and_end_at_logout_and_expiry(world):
    anon = Client(create_app(store=world.store))
    anon.cookies.set(COOKIE, "attacker-chosen")
    r = anon.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', r.text).group(1)
    r = anon.post("/login", data={"username": "clerk-a", "password": "test-password-1", "csrf_token": token},
                  follow_redirects=False)
    issued = r.cookies[COOKIE]
    assert issued != "attacker-chosen" and r.status_code == 303
    # the attacker's planted cookie gives nothing; a tampered one neither
    other = Client(create_app(store=world.store))
    for value in ("attacker-chosen", issued[:-2] + ("AA" if not issued.endswith("AA") else "BB")):
        other.cookies.set(COOKIE, value)
        assert other.get("/home", follow_redirects=False).status_code == 303
    # logging in twice gives two different sessions
    again = world.client("clerk-a")
    assert again.cookies[COOKIE] != issued
    # logout ends the session in the store: the old cookie no longer works anywhere
    anon.cookies.set(COOKIE, issued)
    home = anon.get("/home")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', home.text).group(1)
    assert anon.post("/logout", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    other.cookies.set(COOKIE, issued)
    assert other.get("/home", follow_redirects=False).status_code == 303
    # a session unused for longer than the idle limit has expired
    old = (auth._now() - auth.SESSION_IDLE - auth.dt.timedelta(minutes=1)).isoformat(timespec="seconds")
    with world.store.writing() as conn:
        conn.execute(update(sessions).values(last_seen=old))
    assert again.get("/home", follow_redirects=False).status_code == 303
    anon.close(), other.close(), again.close()


def test_logins_are_throttled(world):
    c = Client(create_app(store=world.store))

    def attempt(username: str, password: str):
        token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").text).group(1)
        return c.post("/login", data={"username": username, "password": password, "csrf_token": token},
                      follow_redirects=False)

    for _ in range(auth.MAX_FAILURES):
        r = attempt("clerk-a", "wrong-password")
        assert r.status_code == 401 and "用户名或密码不正确" in r.text
    r = attempt("clerk-a", "test-password-1")  # even the right password now waits
    assert r.status_code == 429 and "登录失败次数过多，已暂时锁定" in r.text and COOKIE not in r.cookies
    assert attempt("clerk-b", "test-password-1").status_code == 303  # other accounts are not locked
    assert attempt("nobody-such", "x").status_code == 401  # an unknown name gets the same answer
    c.close()


def test_error_pages_are_chinese_without_tracebacks(world, monkeypatch):
    from evaluator.web import pages

    c = world.client("clerk-a")
    r = c.get("/no/such/page")
    assert r.status_code == 404 and "页面不存在" in r.text and "<html" in r.text
    assert c.get("/filings/abc").status_code == 404
    assert c.get("/api/filings/999").json() == {"error": "自评不存在", "status": 404}

    def broken(*a, **k):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(pages, "home", broken)
    quiet = Client(create_app(store=world.store), raise_server_exceptions=False)
    quiet.login("clerk-a")
    for url in ("/home", "/api/home"):
        r = quiet.get(url)
        assert r.status_code == 500 and "系统内部出错" in r.text
        assert "Traceback" not in r.text and "secret internals" not in r.text and "RuntimeError" not in r.text
    c.close(), quiet.close()


def test_pages_escape_what_users_typed_and_send_security_headers(world):
    c = world.client("clerk-a")
    fid = world.filings["甲单位"]
    c.form(f"/filings/{fid}/entry?table=dept-2023-1", {"f-0-deviation_note": "<script>alert(1)</script>"})
    page = c.get(f"/filings/{fid}/entry?table=dept-2023-1")
    assert "<script>alert(1)</script>" not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    history = c.get(f"/filings/{fid}/history")
    assert "<script>alert(1)</script>" not in history.text
    h = page.headers
    assert h["x-frame-options"] == "DENY" and "script-src 'self'" in h["content-security-policy"]
    assert h["x-content-type-options"] == "nosniff" and h["cache-control"] == "no-store"
    r = c.get("/login?next=//evil.example/x")
    assert 'value="/home"' in r.text  # no open redirect after login
    c.close()


@pytest.mark.parametrize("raw, shown", [("../../x.docx", "x.docx"), ("C:\\Users\\a\\目标表.docx", "目标表.docx"),
                                        ("a\x00\x1fb.docx", "ab.docx"), ("..", "文件"), ("", "文件"),
                                        ("名" * 300 + ".docx", "名" * 120)])
def test_safe_filename(raw, shown):
    from evaluator.web.app import safe_filename

    assert safe_filename(raw) == shown
