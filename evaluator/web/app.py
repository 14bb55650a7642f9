"""The web application: FastAPI routes over the page contexts, server-rendered Jinja2 pages with htmx, and the
same contexts as JSON under /api/ (documented at /api/docs).

Routes are thin: parse the request, check the session (and CSRF on every form), let the context function or the
workflow ask ``allowed`` and do the work, render. Errors become Chinese pages (JSON under /api/), never a
traceback.
"""
from __future__ import annotations

import datetime as dt
import importlib
import io
import logging
import os
import re
import secrets
import tempfile
import zipfile
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from itsdangerous import BadSignature, URLSafeTimedSerializer
from jinja2 import Environment, PackageLoader, select_autoescape
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import __version__
from ..errors import EvaluatorError, check_file_size, limit
from ..rules import fmt
from ..store import Store
from . import auth, pages
from . import workflow as wf
from .permissions import ROLE_LABEL, User, allowed

__all__ = ["create_app", "HTMX_VERSION", "Web", "EXTENSIONS"]

HTMX_VERSION = "2.0.11"  # static/htmx.min.js, from the npm package htmx.org
COOKIE = "evaluator_session"
LOGIN_COOKIE = "evaluator_login"  # the login form's CSRF token, before there is a session
TARGET_SUFFIXES = (".docx", ".xlsx", ".xlsm", ".xls", ".doc", ".et", ".wps", ".yaml", ".yml", ".json")
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")
log = logging.getLogger("evaluator.web")


# Modules that add pages: each defines ``routes(app, web)`` and is imported by ``create_app`` (e.g. what-if,
# 目标审核, monitoring). A page there follows the same pattern: a context function, a template in templates/,
# an HTML route rendering it and an /api/ route returning it, ``allowed`` asked by the context function.
EXTENSIONS: tuple[str, ...] = ("evaluator.web.beyond",)  # what-if, 目标审核, monitoring, a unit's years


@dataclass
class Web:
    """What a page module needs from the app: the store, rendering, the session dependencies, form checks."""

    store: Store
    render: Callable[..., HTMLResponse]
    page_user: Callable[..., User]
    api_user: Callable[..., User]
    form_of: Callable[..., Any]
    check_csrf: Callable[..., None]
    call: Callable[..., Any]


class LoginRequired(Exception):
    pass


class CsrfFailed(Exception):
    pass


# --------------------------------------------------------------------------- request bodies of the API

class TaskIn(BaseModel):
    year: int = Field(ge=2000, le=2100)
    title: str = ""
    rule_set: str = "mof-2020"
    deadline: str | None = None
    unit_ids: list[int]


class EntryIn(BaseModel):
    table: str
    position: int = Field(description="指标序号（从 0 开始）；本表栏目（预算、完成情况）为 -1")
    field: str = Field(description="actual, deviation_note, band, judged_score, rate_base；或 initial, budget, "
                                   "spent, achieved_goal, problems, improvements")
    value: str | None = None


class ReviewIn(BaseModel):
    submission_id: int
    position: int
    score: str
    note: str | None = None


class TaskChangeIn(BaseModel):
    deadline: str | None = Field(None, description="新的截止日期（延期时），如 2024-04-30")


class CommentIn(BaseModel):
    comment: str | None = None


# --------------------------------------------------------------------------- templates
BEIJING = dt.timezone(dt.timedelta(hours=8), "北京时间")  # the store keeps UTC; people read China's time (no DST)


def when(stamp: str | None) -> str:
    """A stored UTC time as the clerk reads it: 北京时间, to the second."""
    if not stamp:
        return ""
    try:
        moment = dt.datetime.fromisoformat(stamp)
    except ValueError:
        return stamp
    if moment.tzinfo is not None:
        moment = moment.astimezone(BEIJING)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _env() -> Environment:
    env = Environment(loader=PackageLoader("evaluator.web", "templates"), autoescape=select_autoescape(default=True),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["num"] = lambda x, d=2: "" if x is None else fmt(x, d)
    env.filters["fixed"] = lambda x, d=2: "" if x is None else f"{x:.{d}f}"  # scores as the 自评表 prints them
    env.filters["pct"] = lambda x: "" if x is None else f"{x * 100:.2f}%"
    env.filters["when"] = when
    env.globals["ROLE_LABEL"] = {r.value: label for r, label in ROLE_LABEL.items()}
    env.globals["htmx_version"] = HTMX_VERSION
    env.globals["version"] = __version__
    return env


def safe_filename(name: str | None, default: str = "文件") -> str:
    """An uploaded file's name as shown and stored: the last path part only, no control characters, ≤ 120
    characters. It never names a file on disk (uploads are written under a fixed name in a private folder)."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = "".join(c for c in base if c.isprintable() and c not in '<>:"|?*').strip().strip(".")
    return base[:120] or default


def _content_disposition(name: str) -> str:
    return f"attachment; filename*=UTF-8''{quote(name)}"


# --------------------------------------------------------------------------- the app
def create_app(db: str | None = None, *, store: Store | None = None) -> FastAPI:
    """The application on a database URL (default: evaluator.db in the current folder), or on an open store."""
    own = store is None
    store = store or Store(db)

    @asynccontextmanager
    async def lifespan(_app):
        yield
        if own:
            store.close()

    # Swagger UI served by the app itself (fastapi-offline), not a CDN: an intranet server has no internet
    app = FastAPIOffline(title="evaluator 预算绩效自评", version=__version__, docs_url="/api/docs",
                         static_url="/api/docs/assets", swagger_ui_oauth2_redirect_url="/api/docs/oauth2-redirect",
                         openapi_url="/api/openapi.json", redoc_url=None, lifespan=lifespan,
                         description="与网页相同的操作与权限：每个页面的数据（上下文）以 JSON 返回。程序访问请用 "
                                     "`Authorization: Bearer <令牌>`（evaluator users token 用户名 生成）。")
    app.state.store = store
    env = _env()
    signer = URLSafeTimedSerializer(auth.secret_key(store), salt="evaluator-session")
    secure = os.environ.get("EVALUATOR_SECURE_COOKIES") == "1"
    app.mount("/static", StaticFiles(packages=[("evaluator.web", "static")]), name="static")

    def render(request: Request, template: str, ctx: dict[str, Any], status: int = 200) -> HTMLResponse:
        session = getattr(request.state, "session", None)
        html = env.get_template(template).render(**ctx, request=request, csrf=session.csrf if session else "",
                                                  path=request.url.path)
        return HTMLResponse(html, status_code=status)

    def fragment(request: Request, template: str, ctx: dict[str, Any]) -> HTMLResponse:
        return render(request, template, ctx)

    # ---------------------------------------------------------------- sessions, users, CSRF
    def _session(request: Request) -> auth.Session | None:
        raw = request.cookies.get(COOKIE)
        if not raw:
            return None
        try:
            token = signer.loads(raw, max_age=int(auth.SESSION_MAX.total_seconds()))
        except BadSignature:
            return None
        return auth.session_user(store, token)

    def page_user(request: Request) -> User:
        session = _session(request)
        if session is None:
            raise LoginRequired()
        request.state.session = session
        return session.user

    def api_user(request: Request) -> User:
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            user = auth.token_user(store, header[7:].strip())
            if user is None:
                raise LoginRequired()
            request.state.bearer = True
            return user
        return page_user(request)

    def check_csrf(request: Request, form: Any | None) -> None:
        """Every state-changing request from a browser carries the session's CSRF token (a form field or the
        X-CSRF-Token header htmx sends); programs using a bearer token need none."""
        if getattr(request.state, "bearer", False):
            return
        session = getattr(request.state, "session", None)
        sent = (form.get("csrf_token") if form is not None else None) or request.headers.get("x-csrf-token") or ""
        if session is None or not secrets.compare_digest(str(sent), session.csrf):
            raise CsrfFailed()

    async def form_of(request: Request, files: bool = False) -> Any:
        most = int(limit("MAX_FILE_MB", 50) * 1024 * 1024)
        length = int(request.headers.get("content-length") or 0)
        if length > most + 1024 * 1024:
            raise EvaluatorError(f"上传的内容过大（{length / 1024 / 1024:.1f} MB，上限 {most / 1024 / 1024:g} MB）",
                                 hint="请确认选对了文件")
        form = await request.form(max_files=1 if files else 0, max_fields=5000, max_part_size=1024 * 1024)
        try:
            check_csrf(request, form)
        except CsrfFailed:
            await form.close()
            raise
        return form

    async def call(fn, *args, **kwargs):
        return await run_in_threadpool(fn, *args, **kwargs)

    # ---------------------------------------------------------------- errors: Chinese pages, JSON under /api/
    def _error(request: Request, status: int, title: str, message: str) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": message, "status": status}, status_code=status)
        session = getattr(request.state, "session", None)
        if request.headers.get("hx-request"):  # an htmx request: the message in the page's flash, nothing else swapped
            response = render(request, "_flash.html", {"title": title + "：", "message": message}, status)
            response.headers["HX-Reswap"] = "none"
            return response
        ctx = {"status": status, "title": title, "message": message,
               "user": pages.user_info(session.user) if session else None}
        return render(request, "error.html", ctx, status)

    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, exc: LoginRequired):
        if request.url.path.startswith("/api/") or request.headers.get("hx-request"):
            return JSONResponse({"error": "请先登录", "status": 401}, status_code=401)
        nxt = request.url.path if request.method == "GET" else "/"
        return RedirectResponse(f"/login?next={quote(nxt)}", status_code=303)

    @app.exception_handler(CsrfFailed)
    async def _csrf(request: Request, exc: CsrfFailed):
        return _error(request, 403, "请求已过期", "表单已过期或来源不明（CSRF 校验未通过），请刷新页面后重试")

    @app.exception_handler(wf.NotFound)
    async def _not_found(request: Request, exc: wf.NotFound):
        return _error(request, 404, "找不到", exc.render())

    @app.exception_handler(wf.Forbidden)
    async def _forbidden(request: Request, exc: wf.Forbidden):
        return _error(request, 403, "没有权限", exc.render())

    @app.exception_handler(wf.Conflict)
    async def _conflict(request: Request, exc: wf.Conflict):
        return _error(request, 409, "现在不能这样做", exc.render())

    @app.exception_handler(auth.Throttled)
    async def _throttled(request: Request, exc: auth.Throttled):
        return _error(request, 429, "请稍后再试", exc.render())

    @app.exception_handler(EvaluatorError)
    async def _evaluator_error(request: Request, exc: EvaluatorError):
        return _error(request, 400, "无法完成", exc.render())

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        if request.method == "GET":
            return _error(request, 404, "找不到", "页面不存在（地址有误）")
        return _error(request, 400, "请求有误", "提交的内容不完整或格式有误")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        titles = {404: ("找不到", "页面不存在"), 405: ("请求有误", "不支持这种请求方式"), 413: ("文件过大", "上传的内容过大")}
        title, message = titles.get(exc.status_code, ("出错了", "请求无法完成"))
        return _error(request, exc.status_code, title, message)

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception):
        log.exception("internal error on %s %s", request.method, request.url.path)
        return _error(request, 500, "系统出错", "系统内部出错，已记录。请稍后重试；如仍出错，请联系管理员。")

    @app.middleware("http")
    async def _headers(request: Request, call_next):
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        # Swagger UI's page starts itself with an inline script; everything it loads is served from here
        script = "'self' 'unsafe-inline'" if request.url.path == "/api/docs" else "'self'"
        response.headers.setdefault("Content-Security-Policy",
                                    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
                                    f"script-src {script}; frame-ancestors 'none'; form-action 'self'")
        if request.url.path not in ("/login",) and not request.url.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    # ---------------------------------------------------------------- logging in and out
    @app.get("/", include_in_schema=False)
    def root(request: Request):
        return RedirectResponse("/home" if _session(request) else "/login", status_code=303)

    @app.get("/login", response_class=HTMLResponse, include_in_schema=False)
    def login_page(request: Request, next: str = "/home"):
        token = secrets.token_urlsafe(24)
        response = render(request, "login.html", {"user": None, "next": _local(next), "error": None,
                                                   "login_csrf": token})
        response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict", secure=secure, max_age=3600)
        return response

    @app.post("/login", include_in_schema=False)
    async def login_post(request: Request):
        form = await request.form(max_files=0, max_fields=10)
        sent, kept = str(form.get("csrf_token") or ""), request.cookies.get(LOGIN_COOKIE) or ""
        if not kept or not secrets.compare_digest(sent, kept):
            raise CsrfFailed()
        ip = request.client.host if request.client else None
        try:
            session = await call(auth.login, store, str(form.get("username") or ""), str(form.get("password") or ""),
                                 ip)
        except auth.Throttled as e:
            return _login_again(request, e.render(), str(form.get("next") or "/home"), 429)
        if session is None:
            return _login_again(request, "用户名或密码不正确", str(form.get("next") or "/home"), 401)
        response = RedirectResponse(_local(str(form.get("next") or "/home")), status_code=303)
        response.set_cookie(COOKIE, signer.dumps(session.token), httponly=True, samesite="lax", secure=secure,
                            max_age=int(auth.SESSION_MAX.total_seconds()))
        response.delete_cookie(LOGIN_COOKIE)
        return response

    def _login_again(request: Request, error: str, nxt: str, status: int) -> HTMLResponse:
        token = secrets.token_urlsafe(24)
        response = render(request, "login.html", {"user": None, "next": _local(nxt), "error": error,
                                                   "login_csrf": token}, status)
        response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict", secure=secure, max_age=3600)
        return response

    @app.post("/logout", include_in_schema=False)
    async def logout(request: Request, user: User = Depends(page_user)):
        await form_of(request)
        await call(auth.end_session, store, request.state.session.token)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE)
        return response

    # ---------------------------------------------------------------- pages and their JSON
    @app.get("/home", response_class=HTMLResponse, include_in_schema=False)
    def home_html(request: Request, user: User = Depends(page_user)):
        return render(request, "home.html", pages.home(store, user))

    @app.get("/api/home", tags=["首页"], summary="我的自评任务（按角色）")
    def home_api(user: User = Depends(api_user)) -> dict:
        return pages.home(store, user)

    @app.get("/tasks", response_class=HTMLResponse, include_in_schema=False)
    def tasks_html(request: Request, user: User = Depends(page_user)):
        return render(request, "tasks.html", pages.tasks(store, user))

    @app.get("/api/tasks", tags=["任务"], summary="自评任务列表、可选单位和规则集（财政局）")
    def tasks_api(user: User = Depends(api_user)) -> dict:
        return pages.tasks(store, user)

    @app.post("/tasks", include_in_schema=False)
    async def tasks_post(request: Request, user: User = Depends(page_user)):
        form = await form_of(request)
        tid = await call(wf.create_task, store, user, _int(form.get("year")), str(form.get("title") or ""),
                         str(form.get("rule_set") or "mof-2020"), str(form.get("deadline") or "") or None,
                         [_int(u) for u in form.getlist("unit_ids")])
        return RedirectResponse(f"/tasks/{tid}", status_code=303)


    @app.post("/api/tasks", tags=["任务"], summary="发布自评任务（财政局）")
    def tasks_api_post(request: Request, body: TaskIn, user: User = Depends(api_user)) -> dict:
        check_csrf(request, None)
        tid = wf.create_task(store, user, body.year, body.title, body.rule_set, body.deadline, body.unit_ids)
        return pages.task(store, user, tid)

    @app.get("/tasks/{task_id}", response_class=HTMLResponse, include_in_schema=False)
    def task_html(request: Request, task_id: int, show: str = "all", supervisor: str | None = None,
                  user: User = Depends(page_user)):
        ctx = pages.task(store, user, task_id, show, supervisor)
        if request.headers.get("hx-request") and request.headers.get("hx-target") == "task-units":
            return render(request, "task_units.html", ctx)
        return render(request, "task.html", ctx)

    @app.get("/api/tasks/{task_id}", tags=["任务"], summary="任务下各单位的进度（show=not-started/late/returned… 筛选）")
    def task_api(task_id: int, show: str = "all", supervisor: str | None = None, user: User = Depends(api_user)) -> dict:
        return pages.task(store, user, task_id, show, supervisor)

    @app.post("/tasks/{task_id}/{action}", include_in_schema=False)
    async def task_change(request: Request, task_id: int, action: str, user: User = Depends(page_user)):
        form = await form_of(request)
        await call(wf.change_task, store, user, task_id, action, str(form.get("deadline") or "") or None)
        return RedirectResponse(f"/tasks/{task_id}", status_code=303)

    @app.post("/api/tasks/{task_id}/{action}", tags=["任务"], summary="延期（extend，带 deadline）或关闭（close）任务")
    def task_change_api(request: Request, task_id: int, action: str, body: TaskChangeIn | None = None,
                        user: User = Depends(api_user)) -> dict:
        check_csrf(request, None)
        wf.change_task(store, user, task_id, action, body.deadline if body else None)
        return pages.task(store, user, task_id)

    @app.get("/filings/{fid}", response_class=HTMLResponse, include_in_schema=False)
    def filing_html(request: Request, fid: int, user: User = Depends(page_user)):
        return render(request, "filing.html", pages.filing(store, user, fid))

    @app.get("/api/filings/{fid}", tags=["自评"], summary="一个单位的自评：状态、各表总分、问题、可做的操作")
    def filing_api(fid: int, user: User = Depends(api_user)) -> dict:
        return pages.filing(store, user, fid)

    @app.get("/filings/{fid}/entry", response_class=HTMLResponse, include_in_schema=False)
    def entry_html(request: Request, fid: int, table: str | None = None, user: User = Depends(page_user)):
        return render(request, "entry.html", pages.entry(store, user, fid, table))

    @app.get("/api/filings/{fid}/entry", tags=["自评"], summary="一张表的填报：目标、已填内容、每行得分与计算过程")
    def entry_api(fid: int, table: str | None = None, user: User = Depends(api_user)) -> dict:
        return pages.entry(store, user, fid, table)

    @app.post("/filings/{fid}/entry", include_in_schema=False)
    async def entry_post(request: Request, fid: int, table: str, user: User = Depends(page_user)):
        """Save typed fields: one (htmx, on change) or the whole form. Field names: f-<position>-<field>."""
        form = await form_of(request)
        changes = []
        for key, value in form.multi_items():
            m = re.fullmatch(r"f-(-?\d+)-([a-z_]+|source:[^:]+:[a-z]+)", key)
            if m:
                changes.append((table, int(m.group(1)), m.group(2), str(value)))
        saved = await call(wf.save_entries, store, user, fid, changes)
        ctx = await call(pages.entry, store, user, fid, table)
        if request.headers.get("hx-request"):  # the row scores, messages and totals, swapped in place
            return fragment(request, "entry_update.html", {**ctx, "saved": saved})
        return RedirectResponse(f"/filings/{fid}/entry?table={quote(table)}", status_code=303)


    @app.post("/api/filings/{fid}/entries", tags=["自评"], summary="保存填报内容（可多项）")
    def entries_api(request: Request, fid: int, body: list[EntryIn], user: User = Depends(api_user)) -> dict:
        check_csrf(request, None)
        wf.save_entries(store, user, fid, [(e.table, e.position, e.field, e.value) for e in body])
        return pages.scores(store, user, fid)

    @app.get("/filings/{fid}/check", response_class=HTMLResponse, include_in_schema=False)
    def check_html(request: Request, fid: int, user: User = Depends(page_user)):
        return render(request, "check.html", pages.check(store, user, fid))

    @app.get("/api/filings/{fid}/check", tags=["自评"], summary="送审前检查：每个问题及其所在栏目、自评表预览、可下载的文件")
    def check_api(fid: int, user: User = Depends(api_user)) -> dict:
        return pages.check(store, user, fid)

    @app.get("/filings/{fid}/scores", response_class=HTMLResponse, include_in_schema=False)
    def scores_html(request: Request, fid: int, user: User = Depends(page_user)):
        return render(request, "scores.html", pages.scores(store, user, fid))

    @app.get("/api/filings/{fid}/scores", tags=["自评"], summary="得分、计算过程和问题（与 evaluator score --json 相同）")
    def scores_api(fid: int, user: User = Depends(api_user)) -> dict:
        return pages.scores(store, user, fid)

    @app.get("/filings/{fid}/history", response_class=HTMLResponse, include_in_schema=False)
    def history_html(request: Request, fid: int, table: str | None = None, position: int | None = None,
                     user: User = Depends(page_user)):
        return render(request, "history.html", pages.history(store, user, fid, table, position))

    @app.get("/api/filings/{fid}/history", tags=["自评"], summary="审计记录：每次修改、上传、送审、退回、复核")
    def history_api(fid: int, table: str | None = None, position: int | None = None,
                    user: User = Depends(api_user)) -> dict:
        return pages.history(store, user, fid, table, position)

    @app.get("/filings/{fid}/history.csv", include_in_schema=False)
    def history_csv(fid: int, user: User = Depends(page_user)):
        wf.filing(store, user, fid)
        return _csv(wf.audit_rows(store, [fid]), f"审计记录-{fid}.csv")

    # ---------------------------------------------------------------- uploads and downloads
    async def _upload(request: Request, fid: int, user: User, kind: str, suffixes: tuple[str, ...]):
        await call(wf.filing, store, user, fid, "edit")  # before the body is read: others' uploads are not parsed
        form = await form_of(request, files=True)
        try:
            await call(wf.ensure_editable, store, fid)  # a locked filing or a closed task: nothing is read
            upload = form.get("file")
            if upload is None or not hasattr(upload, "read"):
                raise EvaluatorError("请选择要上传的文件")
            name = safe_filename(upload.filename)
            suffix = Path(name).suffix.lower()
            if suffix not in suffixes:
                raise EvaluatorError(f"不支持的文件类型“{suffix or '（无扩展名）'}”", where=name,
                                     hint="可上传：" + "、".join(suffixes))
            content = await upload.read()
        finally:
            await form.close()
        return name, suffix, content

    def _staged(content: bytes, suffix: str, folder: str) -> Path:
        path = Path(folder) / f"upload{suffix}"  # a fixed name: the client's name never reaches the file system
        path.write_bytes(content)
        return path

    def _read_targets(user: User, fid: int, name: str, suffix: str, content: bytes) -> dict[str, Any]:
        f = wf.filing(store, user, fid, "edit")
        with tempfile.TemporaryDirectory(prefix="evaluator-upload-") as folder:
            path = _staged(content, suffix, folder)
            try:
                check_file_size(path, "上传的文件")
                if suffix in (".yaml", ".yml", ".json"):
                    from ..load import load_targets

                    targets, actuals, found = load_targets(path), None, []
                else:
                    from ..forms import import_form

                    result = import_form(path, unit_name=f["unit"])
                    targets, actuals, found = result.targets, result.actuals, result.findings
            except EvaluatorError as e:
                message = e.render().replace(str(path), name)
                wf.add_upload(store, user, fid, "targets", name, content, "refused", message)
                raise EvaluatorError(message.removeprefix(f"{name}：")) from None
        uid = wf.add_upload(store, user, fid, "targets", name, content, "ok", None)
        wf.set_targets(store, user, fid, targets, uid, detail=name)
        read = 0
        if actuals is not None:  # a filled-in 自评表: its actuals become entries too
            fresh = wf.filing(store, user, fid, "edit")["targets_set"]
            read = wf.save_entries(store, user, fid, wf.entries_from_actuals(fresh, actuals), "upload", uid)
        return {"upload_id": uid, "filename": name, "entries": read,
                "tables": [{"id": t.id, "title": t.title, "form": t.form, "kind": t.kind.value,
                            "indicators": len(t.indicators), "funds": len(t.fund_items),
                            "weight": sum(i.weight or 0 for i in t.indicators),
                            "rows": [{"level1": i.level1, "level2": i.level2, "level3": i.level3, "target": i.target,
                                      "weight": i.weight} for i in t.indicators],
                            "budget": {"total": t.budget.total, "by_source": t.budget.by_source} if t.budget else None,
                            "fund_items": [f.model_dump(exclude_none=True) for f in t.fund_items]}
                           for t in targets.tables],
                "unplaced": [{"where": x.location.describe().replace(str(path), name), "message": x.message,
                              "sheet": x.location.sheet, "severity": x.severity.value,
                              "cell": f"{x.location.column or ''}{x.location.row or ''}" or None}
                             for x in found]}

    @app.post("/filings/{fid}/targets", response_class=HTMLResponse, include_in_schema=False)
    async def targets_post(request: Request, fid: int, user: User = Depends(page_user)):
        name, suffix, content = await _upload(request, fid, user, "targets", TARGET_SUFFIXES)
        result = await call(_read_targets, user, fid, name, suffix, content)
        ctx = await call(pages.filing, store, user, fid)
        return render(request, "imported.html", {**ctx, "imported": pages.clean(result)})

    @app.post("/api/filings/{fid}/targets", tags=["自评"], summary="上传绩效目标表（Word/Excel/.xls/.doc/数据文件）")
    async def targets_api(request: Request, fid: int, user: User = Depends(api_user)) -> dict:
        name, suffix, content = await _upload(request, fid, user, "targets", TARGET_SUFFIXES)
        return pages.clean(await call(_read_targets, user, fid, name, suffix, content))

    @app.post("/filings/{fid}/reuse", include_in_schema=False)
    async def reuse_post(request: Request, fid: int, user: User = Depends(page_user)):
        await form_of(request)
        await call(wf.reuse_targets, store, user, fid)
        return RedirectResponse(f"/filings/{fid}", status_code=303)

    def _read_workbook(user: User, fid: int, name: str, suffix: str, content: bytes) -> dict[str, Any]:
        from ..workbook import read_workbook

        f = wf.filing(store, user, fid, "edit")
        if f["targets_set"] is None:
            raise wf.Conflict("请先导入目标表")
        with tempfile.TemporaryDirectory(prefix="evaluator-upload-") as folder:
            path = _staged(content, suffix, folder)
            try:
                aset = read_workbook(path, f["targets_set"])
            except EvaluatorError as e:
                message = e.render().replace(str(path), name)
                wf.add_upload(store, user, fid, "workbook", name, content, "refused", message)
                raise EvaluatorError(message.removeprefix(f"{name}：")) from None
        uid = wf.add_upload(store, user, fid, "workbook", name, content, "ok", None)
        n = wf.save_entries(store, user, fid, wf.entries_from_actuals(f["targets_set"], aset), "upload", uid)
        return {"upload_id": uid, "filename": name, "entries": n}

    @app.post("/filings/{fid}/workbook", include_in_schema=False)
    async def workbook_post(request: Request, fid: int, user: User = Depends(page_user)):
        name, suffix, content = await _upload(request, fid, user, "workbook", WORKBOOK_SUFFIXES)
        await call(_read_workbook, user, fid, name, suffix, content)
        return RedirectResponse(f"/filings/{fid}/scores", status_code=303)

    @app.post("/api/filings/{fid}/workbook", tags=["自评"], summary="上传填好的填报表（.xlsx）")
    async def workbook_api(request: Request, fid: int, user: User = Depends(api_user)) -> dict:
        name, suffix, content = await _upload(request, fid, user, "workbook", WORKBOOK_SUFFIXES)
        return await call(_read_workbook, user, fid, name, suffix, content)

    @app.get("/filings/{fid}/workbook.xlsx", tags=["自评"], summary="下载填报表（已填内容带入）")
    def workbook_get(request: Request, fid: int, user: User = Depends(api_user)):
        from ..workbook import write_template

        s = wf.scored(store, user, fid)
        if s.targets is None:
            raise wf.Conflict("请先导入目标表")
        with tempfile.TemporaryDirectory(prefix="evaluator-dl-") as folder:
            path = write_template(s.targets, s.rules, Path(folder) / "填报表.xlsx", s.actuals)
            data = path.read_bytes()
        return Response(data, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"Content-Disposition": _content_disposition(f"{s.filing['unit']}-{s.filing['year']}"
                                                                             "-自评填报.xlsx")})

    @app.get("/filings/{fid}/documents.zip", tags=["自评"], summary="下载自评表和自评报告（zip）")
    def documents(request: Request, fid: int, formats: str = "xlsx,docx,pdf,html", user: User = Depends(api_user)):
        from ..report import FORMATS, write_reports

        s = wf.scored(store, user, fid)
        if s.targets is None:
            raise wf.Conflict("请先导入目标表")
        wanted = [x for x in (p.strip().lower() for p in formats.split(",")) if x]
        if not wanted or any(x not in FORMATS for x in wanted):
            raise EvaluatorError("不支持的文件格式", hint=f"可选：{','.join(FORMATS)}")
        buf = io.BytesIO()
        with tempfile.TemporaryDirectory(prefix="evaluator-dl-") as folder:
            from .beyond import stored_look_back  # the in-year monitoring's warnings, when the unit reported

            files = write_reports(s.targets, s.actuals, s.evaluation, s.rules, Path(folder), wanted, jobs=1,
                                  monitoring=stored_look_back(store, s))
            with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
                for p in files:
                    z.write(p, p.name)
        name = f"{s.filing['unit']}-{s.filing['year']}-自评文件.zip"
        return Response(buf.getvalue(), media_type="application/zip",
                        headers={"Content-Disposition": _content_disposition(name)})

    @app.get("/filings/{fid}/documents/{table_id}/{name}", tags=["自评"],
             summary="下载一张表的一份文件：table.xlsx / table.docx（自评表）、report.pdf / report.docx（自评报告）")
    def document_get(fid: int, table_id: str, name: str, user: User = Depends(api_user)):
        from ..report import KINDS, render_documents

        kind, _, ext = name.partition(".")
        suffix = next((sfx for k, e, sfx in KINDS if (k, e) == (kind, ext) and kind in ("table", "report")), None)
        if suffix is None:
            raise wf.NotFound("没有这种文件", hint="可选：table.xlsx、table.docx、report.pdf、report.docx")
        s = wf.scored(store, user, fid)
        if s.targets is None:
            raise wf.Conflict("请先导入目标表")
        if table_id not in {t.table for t in s.evaluation.tables}:
            raise wf.NotFound(f"表“{table_id}”不在目标表中")
        files = render_documents(s.targets, s.actuals, s.evaluation, s.rules, [ext], tables=[table_id])
        filename, data = next((n, b) for n, b in files.items() if n.endswith(suffix))
        media = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "pdf": "application/pdf",
                 "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}[ext]
        return Response(data, media_type=media, headers={"Content-Disposition": _content_disposition(filename)})

    @app.get("/filings/{fid}/uploads/{upload_id}", tags=["自评"], summary="下载当初上传的原件")
    def upload_get(fid: int, upload_id: int, user: User = Depends(api_user)):
        u = wf.upload(store, user, fid, upload_id)
        return Response(u["content"] or b"", media_type="application/octet-stream",
                        headers={"Content-Disposition": _content_disposition(u["filename"] or "upload")})

    # ---------------------------------------------------------------- the workflow's state changes
    async def _act(request: Request, fid: int, user: User, action: str) -> None:
        form = await form_of(request) if not getattr(request.state, "bearer", False) else None
        if action == "submit":
            await call(wf.submit, store, user, fid)
        else:
            await call(wf.transition, store, user, fid, action, str(form.get("comment") or "") if form else None)

    for action in ("ready", "send-back", "submit", "return", "reviewed"):
        def _make(action: str):
            async def html(request: Request, fid: int, user: User = Depends(page_user)):
                await _act(request, fid, user, action)
                return RedirectResponse(f"/filings/{fid}", status_code=303)


            async def api(request: Request, fid: int, body: CommentIn | None = None, user: User = Depends(api_user)
                          ) -> dict:
                check_csrf(request, None)
                if action == "submit":
                    await call(wf.submit, store, user, fid)
                else:
                    await call(wf.transition, store, user, fid, action, body.comment if body else None)
                return await call(pages.filing, store, user, fid)

            app.post(f"/filings/{{fid}}/{action}", include_in_schema=False)(html)
            app.post(f"/api/filings/{{fid}}/{action}", tags=["流程"],
                     summary={"ready": "提交单位负责人审核（填报人）", "send-back": "退给填报人（单位负责人，须填意见）",
                              "submit": "审核通过并送审（单位负责人）", "return": "退回（主管部门、财政局，须填意见）",
                              "reviewed": "复核完成（财政局）"}[action])(api)
        _make(action)

    # ---------------------------------------------------------------- the bureau
    @app.get("/bureau/compare", response_class=HTMLResponse, include_in_schema=False)
    def compare_html(request: Request, year: int | None = None, sort: str = "rank", order: str = "asc",
                     supervisor: str | None = None, grade: str | None = None, flag: str | None = None,
                     q: str | None = None, page: int = 1, user: User = Depends(page_user)):
        ctx = pages.compare(store, user, year, sort, order, supervisor, grade, flag, q, page)
        if request.headers.get("hx-target") == "ranking":
            return render(request, "compare_ranking.html", ctx)
        return render(request, "compare.html", ctx)

    @app.get("/api/compare", tags=["财政局"], summary="各单位对比（排名可排序、筛选、分页；等级、一级指标得分率、执行与得分、疑点、复核）")
    def compare_api(year: int | None = None, sort: str = "rank", order: str = "asc", supervisor: str | None = None,
                    grade: str | None = None, flag: str | None = None, q: str | None = None, page: int = 1,
                    per: int = pages.PAGE_SIZE, user: User = Depends(api_user)) -> dict:
        return pages.compare(store, user, year, sort, order, supervisor, grade, flag, q, page, per)

    @app.get("/bureau/charts/{name}.png", include_in_schema=False)
    def compare_chart(name: str, year: int | None = None, user: User = Depends(page_user)):
        png = pages.compare_chart(store, user, year, name)
        return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=300"})

    @app.get("/bureau/unit", response_class=HTMLResponse, include_in_schema=False)
    def unit_html(request: Request, name: str, year: int | None = None, user: User = Depends(page_user)):
        return render(request, "unit.html", pages.unit_page(store, user, name, year))

    @app.get("/api/unit", tags=["财政局"], summary="一个单位：排名、各表得分与指标、疑点（对应到指标）、复核、同比")
    def unit_api(name: str, year: int | None = None, user: User = Depends(api_user)) -> dict:
        return pages.unit_page(store, user, name, year)

    @app.get("/bureau/compare.xlsx", tags=["财政局"], summary="下载对比工作簿")
    def compare_xlsx(year: int | None = None, user: User = Depends(api_user)):
        from ..bureau import build_view, write_view

        if not allowed(user, "compare"):
            raise wf.Forbidden("只有财政局可以查看各单位对比")
        view = build_view(store, year)
        with tempfile.TemporaryDirectory(prefix="evaluator-dl-") as folder:
            files = write_view(view, Path(folder))
            xlsx = next(p for p in files if p.suffix == ".xlsx")
            data, name = xlsx.read_bytes(), xlsx.name
        return Response(data, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"Content-Disposition": _content_disposition(name)})

    @app.get("/bureau/export", response_class=HTMLResponse, include_in_schema=False)
    def export_html(request: Request, user: User = Depends(page_user)):
        return render(request, "export.html", pages.export(store, user))

    @app.get("/api/export", tags=["财政局"], summary="可导出的内容：各年度对比工作簿、各任务的单位文件")
    def export_api(user: User = Depends(api_user)) -> dict:
        return pages.export(store, user)

    @app.get("/bureau/documents.zip", tags=["财政局"], summary="一个任务下各单位最后送审版本的自评表和自评报告（zip，每单位一个文件夹）")
    def task_documents_zip(task: int, formats: str = "xlsx,docx", user: User = Depends(api_user)):
        from ..report import FORMATS

        wanted = [x for x in (p.strip().lower() for p in formats.split(",")) if x]
        if not wanted or any(x not in FORMATS for x in wanted):
            raise EvaluatorError("不支持的文件格式", hint=f"可选：{','.join(FORMATS)}")
        files = pages.task_documents(store, user, task, wanted)
        if not files:
            raise wf.Conflict("这个任务下还没有单位送审")
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for name, data in files:
                z.writestr(name, data)
        t = wf.task(store, task)
        return Response(buf.getvalue(), media_type="application/zip",
                        headers={"Content-Disposition": _content_disposition(f"{t['title']}-各单位文件.zip")})

    @app.get("/bureau/review", response_class=HTMLResponse, include_in_schema=False)
    def review_html(request: Request, user: User = Depends(page_user)):
        return render(request, "review.html", pages.review(store, user))

    @app.get("/api/review", tags=["财政局"], summary="复核样本与复核人")
    def review_api(user: User = Depends(api_user)) -> dict:
        return pages.review(store, user)

    def _draw(user: User, year: int | None, share: float, seed: int, stratify: bool) -> int:
        from ..bureau import draw_sample

        if not allowed(user, "sample"):
            raise wf.Forbidden("只有财政局可以抽取复核样本")
        return len(draw_sample(store, year, share, seed, stratify))

    @app.post("/bureau/sample", include_in_schema=False)
    async def sample_post(request: Request, user: User = Depends(page_user)):
        form = await form_of(request)
        await call(_draw, user, _int(form.get("year")) if form.get("year") else None, _float(form.get("share")),
                   _int(form.get("seed") or 1), bool(form.get("stratify")))
        return RedirectResponse("/bureau/review", status_code=303)

    @app.post("/bureau/assign", include_in_schema=False)
    async def assign_post(request: Request, user: User = Depends(page_user)):
        form = await form_of(request)
        await call(wf.assign, store, user, _int(form.get("filing_id")), _int(form.get("reviewer_id")))
        return RedirectResponse("/bureau/review", status_code=303)

    @app.get("/filings/{fid}/review", response_class=HTMLResponse, include_in_schema=False)
    def filing_review_html(request: Request, fid: int, user: User = Depends(page_user)):
        return render(request, "filing_review.html", pages.filing_review(store, user, fid))

    @app.get("/api/filings/{fid}/review", tags=["财政局"], summary="一个单位的复核：申报得分、规则得分、计算过程、复核得分")
    def filing_review_api(fid: int, user: User = Depends(api_user)) -> dict:
        return pages.filing_review(store, user, fid)

    def _save_review(user: User, fid: int, scores: dict[tuple[int, int], tuple[str, str | None]]) -> int:
        from ..bureau import review_score

        wf.filing(store, user, fid, "review")
        ids = wf.submitted_ids(store, fid)
        weights = {(r["submission_id"], r["position"]): r["weight"]
                   for r in store.indicators_of(ids, ("submission_id", "position", "weight"))}
        rows, problems = [], []
        for (sid, pos), (raw, note) in sorted(scores.items()):
            if (sid, pos) not in weights:
                raise wf.NotFound("指标不在这次送审中")
            if raw is None or not str(raw).strip():
                continue
            value, problem = review_score(raw, weights[(sid, pos)])
            if problem:
                problems.append(f"第 {pos + 1} 项：{problem}")
                continue
            rows.append({"submission_id": sid, "position": pos, "score": value, "reviewer": user.username,
                         "note": (note or "").strip() or None})
        if problems:
            raise EvaluatorError("复核得分有误，未保存：" + "；".join(problems[:20]))
        store.save_reviews(rows)
        wf.record_event(store, user, fid, "review", {"rows": len(rows)})
        return len(rows)

    @app.post("/filings/{fid}/review", include_in_schema=False)
    async def filing_review_post(request: Request, fid: int, user: User = Depends(page_user)):
        form = await form_of(request)
        scores: dict[tuple[int, int], tuple[str, str | None]] = {}
        for key, value in form.multi_items():
            m = re.fullmatch(r"r-(\d+)-(\d+)", key)
            if m:
                sid, pos = int(m.group(1)), int(m.group(2))
                scores[(sid, pos)] = (str(value), str(form.get(f"n-{sid}-{pos}") or "") or None)
        await call(_save_review, user, fid, scores)
        return RedirectResponse(f"/filings/{fid}/review", status_code=303)


    @app.post("/api/filings/{fid}/review", tags=["财政局"], summary="录入复核得分")
    def filing_review_api_post(request: Request, fid: int, body: list[ReviewIn], user: User = Depends(api_user)
                               ) -> dict:
        check_csrf(request, None)
        _save_review(user, fid, {(r.submission_id, r.position): (r.score, r.note) for r in body})
        return pages.filing_review(store, user, fid)

    @app.get("/bureau/audit.csv", tags=["财政局"], summary="导出全部审计记录（CSV）")
    def audit_csv(user: User = Depends(api_user)):
        if not allowed(user, "audit"):
            raise wf.Forbidden("只有财政局可以导出全部审计记录")
        return _csv(wf.audit_rows(store), "审计记录.csv")

    app.state.web = web = Web(store, render, page_user, api_user, form_of, check_csrf, call)
    for name in EXTENSIONS:
        importlib.import_module(name).routes(app, web)

    @app.get("/admin/users", response_class=HTMLResponse, include_in_schema=False)
    def users_html(request: Request, user: User = Depends(page_user)):
        return render(request, "users.html", pages.users_page(store, user))

    @app.get("/api/users", tags=["管理"], summary="账号列表（管理员）")
    def users_api(user: User = Depends(api_user)) -> dict:
        return pages.users_page(store, user)

    return app


def _local(url: str) -> str:
    """Only paths on this site are followed after logging in (no open redirect)."""
    return url if url.startswith("/") and not url.startswith("//") and "\\" not in url else "/home"


def _int(v: Any) -> int:
    try:
        return int(str(v).strip())
    except (TypeError, ValueError):
        raise EvaluatorError(f"“{v}”不是整数") from None


def _float(v: Any) -> float:
    try:
        return float(str(v).strip())
    except (TypeError, ValueError):
        raise EvaluatorError(f"“{v}”不是数字") from None


def _csv(rows: list[dict[str, Any]], name: str) -> Response:
    import csv

    buf = io.StringIO()
    fields = list(rows[0]) if rows else ["filing_id"]
    writer = csv.DictWriter(buf, fieldnames=fields)
    writer.writeheader()
    for r in rows:
        writer.writerow({k: ("'" + v if isinstance(v, str) and v[:1] in "=+-@" else v) for k, v in r.items()})
    return Response(("\ufeff" + buf.getvalue()).encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": _content_disposition(name)})

