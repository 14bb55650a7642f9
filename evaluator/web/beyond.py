"""The pages beyond the platform's workflow: where the points went and what-if (a panel on the entry page),
目标审核 of the uploaded targets, in-year monitoring, and a unit's years for the bureau.

Each page is one context function over the engine's own functions (``losses``, ``whatif``, ``target_review``,
``monitor``, ``trend``) — the same ones the CLI prints — asked through the workflow's permission check; nothing
here stores anything, and nothing changes a saved entry. ``routes`` (the app's extension hook, ``EXTENSIONS``)
adds the pages.
"""
from __future__ import annotations

import base64
import tempfile
from pathlib import Path
from typing import Any, Callable
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, Response

from ..errors import EvaluatorError, check_file_size
from . import workflow as wf
from .pages import _actions, _filing_head, clean, user_info
from .permissions import User, allowed

__all__ = ["whatif_panel", "target_review", "monitoring", "unit_years", "routes", "register"]

MAX_SETTINGS = 20  # --set lines one what-if takes


def _scored(store, user: User, fid: int) -> wf.Scored:
    s = wf.scored(store, user, fid)
    if s.targets is None:
        raise wf.Conflict("请先导入目标表")
    return s


def _table(s: wf.Scored, table_id: str | None):
    tables = [t for t in s.targets.tables if t.indicators]
    t = next((x for x in tables if x.id == table_id), None) if table_id else tables[0]
    if t is None:
        raise wf.NotFound(f"表“{table_id}”不在目标表中")
    return t


def _head(user: User, s: wf.Scored) -> dict[str, Any]:
    return {"user": user_info(user), "filing": _filing_head(s.filing), "actions": _actions(user, s.filing)}


# --------------------------------------------------------------------------- what-if and where the points went
def whatif_panel(store, user: User, fid: int, table_id: str | None = None, settings: list[str] | tuple = ()
                 ) -> dict[str, Any]:
    """The entry page's panel: this table's losses (largest first, with the way to full marks) and, for the
    settings given ("政协主席会议=5次", "执行率=95%"), the new scores beside today's. The saved entries are not
    touched: the what-if scores a copy."""
    from ..losses import losses_context, table_losses
    from ..whatif import parse_settings, run_whatif, whatif_context

    s = _scored(store, user, fid)
    t = _table(s, table_id)
    lines = [x.strip() for x in settings if x and x.strip()][:MAX_SETTINGS]
    ctx: dict[str, Any] = {**_head(user, s), "table": {"id": t.id, "title": t.title},
                           "losses": losses_context([table_losses(t, s.actuals, s.rules)])[0],
                           "settings": "\n".join(lines), "result": None, "error": None}
    if lines:
        try:
            changes = parse_settings(s.targets, s.actuals, lines, table=t.id)
            ctx["result"] = whatif_context(run_whatif(s.targets, s.actuals, s.rules, changes, before=s.evaluation),
                                           s.rules.rounding.decimals)
        except EvaluatorError as e:
            ctx["error"] = e.render()
    return clean(ctx)


# --------------------------------------------------------------------------- 目标审核
def target_review(store, user: User, fid: int) -> dict[str, Any]:
    """The filing's targets reviewed the way a bureau reviews them when they are set; last year's actuals from
    the store when the unit submitted them."""
    from ..target_review import load_review_rules, previous_from_store, review_context, review_targets

    s = _scored(store, user, fid)
    previous = previous_from_store(store, s.filing["unit"], int(s.filing["year"]) - 1)
    rules = load_review_rules()
    findings = review_targets(s.targets, s.rules, rules, previous=previous)
    return clean({**_head(user, s), "review": review_context(s.targets, findings, rules),
                  "previous_year": previous.year if previous else None})


# --------------------------------------------------------------------------- monitoring
def monitoring(store, user: User, fid: int, upload: tuple[str, bytes] | None = None, month: int | None = None
               ) -> dict[str, Any]:
    """The 双监控 page: with a progress file (YAML/JSON), the 绩效运行监控表 as rows, lights and warnings."""
    from ..monitor import load_monitor_rules, load_progress, monitor, monitor_context

    s = _scored(store, user, fid)
    ctx: dict[str, Any] = {**_head(user, s), "monitor": None, "error": None, "month": month,
                           "tables": [{"id": t.id, "title": t.title} for t in s.targets.tables if t.indicators]}
    if upload is None:
        return clean(ctx)
    name, content = upload
    suffix = Path(name).suffix.lower()
    if suffix not in (".yaml", ".yml", ".json"):
        raise EvaluatorError(f"不支持的文件类型“{suffix or '（无扩展名）'}”", where=name, hint="进度文件为 YAML 或 JSON")
    with tempfile.TemporaryDirectory(prefix="evaluator-progress-") as folder:
        path = Path(folder) / f"progress{suffix}"  # a fixed name: the client's name never reaches the file system
        path.write_bytes(content)
        try:
            check_file_size(path, "上传的文件")
            progress = load_progress(path)
            targets = s.targets.model_copy(update={"unit_name": s.filing["unit"]})
            result = monitor(targets, progress.model_copy(update={"unit_name": s.filing["unit"]}), s.rules,
                             load_monitor_rules(), month)
        except EvaluatorError as e:
            ctx["error"] = e.render().replace(str(path), name)
            return clean(ctx)
    ctx["monitor"] = monitor_context(result)
    ctx["filename"] = name
    return clean(ctx)


def progress_template(store, user: User, fid: int, month: int) -> str:
    """A progress file to fill in: every indicator of the filing's targets, values empty."""
    from ..monitor import progress_template as template

    s = _scored(store, user, fid)
    return template(s.targets.model_copy(update={"unit_name": s.filing["unit"]}), month)


# --------------------------------------------------------------------------- a unit's years (the bureau)
def unit_years(store, user: User, unit: str) -> dict[str, Any]:
    """Year on year for one unit in the store: score trend, targets that never move, targets set too low."""
    from ..rules import load_rules
    from ..trend import load_trend_rules, trend_charts, trend_context, unit_trend

    if not allowed(user, "compare"):
        raise wf.Forbidden("只有财政局可以查看各单位的同比")
    key, state = (store.url, unit), store.state_key()
    cached = _TRENDS.get(key)
    if cached is None or cached[0] != state:  # drawing the charts takes a second or two: once per store state
        result = unit_trend(store, unit, load_rules(), load_trend_rules())
        charts = {name: "data:image/png;base64," + base64.b64encode(png).decode("ascii")
                  for name, png in trend_charts(result).items()}
        if len(_TRENDS) > 64:
            _TRENDS.clear()
        cached = _TRENDS[key] = (state, clean({"trend": trend_context(result), "charts": charts}))
    return {"user": user_info(user), **cached[1]}


_TRENDS: dict[tuple, tuple] = {}  # (store, unit) → (store state, context): a unit's years, drawn once per state


# --------------------------------------------------------------------------- routes
def routes(app, web) -> None:
    """The extension hook ``create_app`` calls (``app.EXTENSIONS``) with what a page module needs."""
    register(app, web.store, render=web.render, page_user=web.page_user, api_user=web.api_user,
             form_of=web.form_of, call=web.call)


def register(app, store, *, render: Callable, page_user: Callable, api_user: Callable, form_of: Callable,
             call: Callable) -> None:
    """Add these pages (HTML and the same context under /api/) to the app built by ``create_app``. (Route
    annotations are resolved from this module's globals: FastAPI's names are imported at the top.)"""
    def settings_of(request: Request) -> list[str]:
        """``set=…`` (repeated) and the panel's ``sets`` (one per line)."""
        q = request.query_params
        return [*q.getlist("set"), *(line for text in q.getlist("sets") for line in text.splitlines())]

    @app.get("/filings/{fid}/whatif", response_class=HTMLResponse, include_in_schema=False)
    def whatif_html(request: Request, fid: int, table: str | None = None, user: User = Depends(page_user)):
        ctx = whatif_panel(store, user, fid, table, settings_of(request))
        return render(request, "whatif_panel.html", ctx)

    @app.get("/api/filings/{fid}/whatif", tags=["自评"], summary="失分去向与假设分析（不改动已填内容）")
    def whatif_api(request: Request, fid: int, table: str | None = None, user: User = Depends(api_user)) -> dict:
        return whatif_panel(store, user, fid, table, settings_of(request))

    @app.get("/filings/{fid}/target-review", response_class=HTMLResponse, include_in_schema=False)
    def review_html(request: Request, fid: int, fragment: bool = False, user: User = Depends(page_user)):
        ctx = target_review(store, user, fid)
        return render(request, "target_review_section.html" if fragment else "target_review.html", ctx)

    @app.get("/api/filings/{fid}/target-review", tags=["自评"], summary="目标审核：目标表的完整性、量化、一致性等问题与建议")
    def review_api(fid: int, user: User = Depends(api_user)) -> dict:
        return target_review(store, user, fid)

    @app.get("/filings/{fid}/monitor", response_class=HTMLResponse, include_in_schema=False)
    def monitor_html(request: Request, fid: int, user: User = Depends(page_user)):
        return render(request, "monitor.html", monitoring(store, user, fid))

    @app.get("/filings/{fid}/progress.yaml", include_in_schema=False)
    def progress_get(fid: int, month: int = 7, user: User = Depends(page_user)):
        text = progress_template(store, user, fid, max(1, min(12, month)))
        return Response(text.encode("utf-8"), media_type="application/x-yaml; charset=utf-8",
                        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(f'进度-{month}月.yaml')}"})

    async def _monitor_upload(request: Request, fid: int, user: User) -> tuple[dict[str, Any], str]:
        await call(wf.filing, store, user, fid)  # before the body is read: others' uploads are not parsed
        form = await form_of(request, files=True)
        try:
            upload = form.get("file")
            if upload is None or not hasattr(upload, "read"):
                raise EvaluatorError("请选择进度文件")
            from .app import safe_filename

            name, content = safe_filename(upload.filename), await upload.read()
            month = form.get("month")
            fmt = str(form.get("format") or "html")
        finally:
            await form.close()
        m = int(month) if month and str(month).isdigit() else None
        return await call(monitoring, store, user, fid, (name, content), m), fmt

    @app.post("/filings/{fid}/monitor", include_in_schema=False)
    async def monitor_post(request: Request, fid: int, user: User = Depends(page_user)):
        ctx, fmt = await _monitor_upload(request, fid, user)
        if fmt in ("xlsx", "docx") and ctx["monitor"] is not None:
            return await call(_monitor_file, ctx["monitor"], fmt)
        return render(request, "monitor.html", ctx)

    @app.post("/api/filings/{fid}/monitor", tags=["自评"], summary="绩效运行监控（双监控）：上传进度文件，返回监控表与预警")
    async def monitor_api(request: Request, fid: int, user: User = Depends(api_user)) -> dict:
        ctx, _ = await _monitor_upload(request, fid, user)
        return ctx

    @app.get("/bureau/trend", response_class=HTMLResponse, include_in_schema=False)
    def trend_html(request: Request, unit: str, user: User = Depends(page_user)):
        return render(request, "trend.html", unit_years(store, user, unit))

    @app.get("/api/trend", tags=["财政局"], summary="一个单位多年的同比（得分走势、目标不变、目标偏低）")
    def trend_api(unit: str, user: User = Depends(api_user)) -> dict:
        return {k: v for k, v in unit_years(store, user, unit).items() if k != "charts"}


def _monitor_file(ctx: dict[str, Any], fmt: str):
    from ..monitor import write_monitor_docx, write_monitor_xlsx

    with tempfile.TemporaryDirectory(prefix="evaluator-monitor-") as folder:
        path = Path(folder) / f"monitor.{fmt}"
        (write_monitor_xlsx if fmt == "xlsx" else write_monitor_docx)(ctx, path)
        data = path.read_bytes()
    name = f"绩效运行监控表-{ctx['unit_name']}-{ctx['year']}-{ctx['month']:02d}.{fmt}"
    media = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
             "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}[fmt]
    return Response(data, media_type=media, headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"})
