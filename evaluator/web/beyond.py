"""The pages beyond the platform's workflow: where the points went and what-if (a panel on the entry page),
目标审核 of the uploaded targets, in-year monitoring, and a unit's years for the bureau.

Each page is one context function over the engine's own functions (``losses``, ``whatif``, ``target_review``,
``monitor``, ``trend``) — the same ones the CLI prints — asked through the workflow's permission check; nothing
here changes a saved entry. What it stores is the in-year monitoring: every progress report a unit uploads
(``progress_reports``, with the upload and an event in the audit trail), which the 预警清单 across units and the
year-end documents read. ``routes`` (the app's extension hook, ``EXTENSIONS``)
adds the pages.
"""
from __future__ import annotations

import base64
import json
import tempfile
from pathlib import Path
from typing import Any, Callable
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func, insert, select

from ..errors import EvaluatorError, check_file_size
from ..schema import events, filings, progress_reports, tasks, units, users
from ..store import now
from . import workflow as wf
from .pages import clean, filing_actions, filing_head, filing_table, scored_with_targets, user_info
from .permissions import Unit, User, allowed

__all__ = ["whatif_panel", "target_review", "monitoring", "save_progress", "latest_progress", "stored_look_back",
           "warning_list", "unit_years", "routes", "register"]

MAX_SETTINGS = 20  # --set lines one what-if takes
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _head(user: User, s: wf.Scored) -> dict[str, Any]:
    return {"user": user_info(user), "filing": filing_head(s.filing), "actions": filing_actions(user, s.filing)}


# --------------------------------------------------------------------------- what-if and where the points went
def whatif_panel(store, user: User, fid: int, table_id: str | None = None, settings: list[str] | tuple = ()
                 ) -> dict[str, Any]:
    """The entry page's panel: this table's losses (largest first, with the way to full marks) and, for the
    settings given ("政协主席会议=5次", "执行率=95%"), the new scores beside today's. The saved entries are not
    touched: the what-if scores a copy."""
    from ..losses import losses_context, table_losses
    from ..whatif import parse_settings, run_whatif, whatif_context

    s = scored_with_targets(store, user, fid)
    t = filing_table(s, table_id)
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

    s = scored_with_targets(store, user, fid)
    previous = previous_from_store(store, s.filing["unit"], int(s.filing["year"]) - 1)
    rules = load_review_rules()
    findings = review_targets(s.targets, s.rules, rules, previous=previous)
    return clean({**_head(user, s), "review": review_context(s.targets, findings, rules),
                  "previous_year": previous.year if previous else None})


# --------------------------------------------------------------------------- monitoring
PROGRESS_TYPES = (".yaml", ".yml", ".json", ".xlsx")


def _read_progress(targets, name: str, content: bytes):
    """An uploaded progress file (YAML/JSON, or the 进度填报表 .xlsx read against the targets) → ``ProgressSet``;
    a located Chinese message names the upload, never the temporary file."""
    from ..monitor import load_progress

    suffix = Path(name).suffix.lower()
    if suffix not in PROGRESS_TYPES:
        raise EvaluatorError(f"不支持的文件类型“{suffix or '（无扩展名）'}”", where=name,
                             hint="请上传进度填报表（.xlsx，在本页下载）或 YAML/JSON 进度文件")
    with tempfile.TemporaryDirectory(prefix="evaluator-progress-") as folder:
        path = Path(folder) / f"progress{suffix}"  # a fixed name: the client's name never reaches the file system
        path.write_bytes(content)
        try:
            check_file_size(path, "上传的文件")
            return load_progress(path, targets)
        except EvaluatorError as e:
            raise EvaluatorError(e.render().replace(str(path), name)) from None


def save_progress(store, user: User, fid: int, name: str, content: bytes, month: int | None = None
                  ) -> tuple[Any | None, str | None]:
    """The unit's clerk reports progress: the upload is kept (refused or not, like every upload), a readable one is
    monitored and stored as a new progress report, and the audit trail records both. Returns (result, error)."""
    from ..monitor import load_monitor_rules, monitor

    f = wf.filing(store, user, fid, "edit")  # only the unit's own clerk reports its progress
    s = scored_with_targets(store, user, fid)
    targets = s.targets.model_copy(update={"unit_name": f["unit"]})
    try:
        progress = _read_progress(targets, name, content)
        progress = progress.model_copy(update={"unit_name": f["unit"]})
        result = monitor(targets, progress, s.rules, load_monitor_rules(), month)
    except EvaluatorError as e:
        wf.add_upload(store, user, fid, "progress", name, content, "refused", e.render())
        return None, e.render()
    upload_id = wf.add_upload(store, user, fid, "progress", name, content, "ok", None)
    red = sum(w.light == "red" for w in result.warnings)
    yellow = sum(w.light == "yellow" for w in result.warnings)
    unstated = sum(w.needs_action for w in result.warnings)
    stamp = now()
    with store.writing() as conn:
        pid = conn.execute(insert(progress_reports).values(
            filing_id=fid, month=result.month, progress=progress.model_dump_json(exclude_none=True),
            result=result.model_dump_json(), red=red, yellow=yellow, unstated=unstated, upload_id=upload_id,
            user_id=user.id, created_at=stamp).returning(progress_reports.c.id)).scalar_one()
        conn.execute(insert(events).values(  # the audit trail: who reported which month, and what it showed
            filing_id=fid, user_id=user.id, at=stamp, action="progress", upload_id=upload_id,
            detail=json.dumps({"progress_report": pid, "month": result.month, "filename": name, "red": red,
                               "yellow": yellow, "unstated": unstated}, ensure_ascii=False)))
    return result, None


def progress_reports_of(store, fid: int) -> list[dict[str, Any]]:
    """Every progress report of a filing, newest first (without the JSON)."""
    cols = [c for c in progress_reports.c if c.name not in ("progress", "result")]
    with store.engine.connect() as conn:
        rows = conn.execute(select(*cols, users.c.username, users.c.name.label("user_name")).outerjoin(
            users, users.c.id == progress_reports.c.user_id).where(progress_reports.c.filing_id == fid)
            .order_by(progress_reports.c.month.desc(), progress_reports.c.id.desc())).all()
    return [dict(r._mapping) for r in rows]


def latest_progress(store, fid: int):
    """The filing's current monitoring result: the latest report of its latest month (None: none reported)."""
    from ..monitor import MonitorResult

    with store.engine.connect() as conn:
        row = conn.execute(select(progress_reports.c.result).where(progress_reports.c.filing_id == fid)
                           .order_by(progress_reports.c.month.desc(), progress_reports.c.id.desc()).limit(1)).first()
    return MonitorResult.model_validate_json(row.result) if row else None


def stored_look_back(store, s: wf.Scored) -> dict[str, Any] | None:
    """For the year-end documents: the stored monitoring's warnings beside the year-end result (None: none)."""
    from ..monitor import followup_context

    if s.evaluation is None:
        return None
    result = latest_progress(store, int(s.filing["id"]))
    return followup_context(result, s.evaluation) if result is not None else None


def monitoring(store, user: User, fid: int, upload: tuple[str, bytes] | None = None, month: int | None = None
               ) -> dict[str, Any]:
    """The 双监控 page: an uploaded progress file is stored (the clerk) and shown; without one, the latest stored
    report — the 绩效运行监控表 as rows, lights and warnings — and the list of reports so far."""
    from ..monitor import monitor_context

    s = scored_with_targets(store, user, fid)
    ctx: dict[str, Any] = {**_head(user, s), "monitor": None, "error": None, "month": month,
                           "tables": [{"id": t.id, "title": t.title} for t in s.targets.tables if t.indicators],
                           "can_report": allowed(user, "edit", s.filing["unit_obj"])}
    result = None
    if upload is not None:
        result, ctx["error"] = save_progress(store, user, fid, upload[0], upload[1], month)
        ctx["filename"] = upload[0]
    if result is None:
        result = latest_progress(store, fid)
    ctx["monitor"] = monitor_context(result) if result is not None else None
    ctx["reports"] = progress_reports_of(store, fid)
    ctx["look_back"] = None  # once year-end entries exist: each warning beside what became of it
    if result is not None and s.evaluation is not None and any(s.values):
        from ..monitor import followup_context

        back = followup_context(result, s.evaluation)
        titles = {t.table: t.title for t in result.tables}
        ctx["look_back"] = [{"title": titles.get(tid, tid), "rows": rows} for tid, rows in back["tables"].items()]
    return clean(ctx)


def progress_template(store, user: User, fid: int, month: int) -> str:
    """A progress file to fill in: every indicator of the filing's targets, values empty."""
    from ..monitor import progress_template as template

    s = scored_with_targets(store, user, fid)
    return template(s.targets.model_copy(update={"unit_name": s.filing["unit"]}), month)


def progress_workbook(store, user: User, fid: int, month: int) -> bytes:
    """The 进度填报表 (xlsx) for the filing's targets, pre-filled with the unit's latest report of that month."""
    from ..monitor import ProgressSet
    from ..monitor_workbook import write_progress_workbook

    s = scored_with_targets(store, user, fid)
    with store.engine.connect() as conn:
        row = conn.execute(select(progress_reports.c.progress).where(
            progress_reports.c.filing_id == fid, progress_reports.c.month == month)
            .order_by(progress_reports.c.id.desc()).limit(1)).first()
    prior = ProgressSet.model_validate_json(row.progress) if row else None
    with tempfile.TemporaryDirectory(prefix="evaluator-progress-") as folder:
        path = write_progress_workbook(s.targets.model_copy(update={"unit_name": s.filing["unit"]}), month,
                                       Path(folder) / "progress.xlsx", prior)
        return path.read_bytes()


def warning_list(store, user: User, year: int | None = None, light: str | None = None, page: int | None = None,
                 per: int | None = None) -> dict[str, Any]:
    """The 预警清单 across units: for every filing the user may see (the bureau all, a 主管部门 its units, a unit
    its own), the latest progress report's lights, deviations and missing 纠偏措施, red first.

    ``page`` cuts the list into pages of ``per`` units (the counts stay those of the whole list): only the units
    shown have their stored results read, so a page stays small for thousands of units. ``page=None``: all."""
    from ..monitor import LIGHT_LABEL, MonitorResult
    from .pages import PAGE_SIZE

    rows, years = _latest_reports(store, user, year, light)
    counts = {"units": len(rows), "red": sum(r["red"] for r in rows), "yellow": sum(r["yellow"] for r in rows),
              "unstated": sum(r["unstated"] for r in rows)}
    pager = None
    if page is not None:
        per = max(1, min(int(per or PAGE_SIZE), 5000))
        pages_n = max(1, -(-len(rows) // per))
        page = max(1, min(int(page), pages_n))
        rows = rows[(page - 1) * per: page * per]
        pager = {"page": page, "pages": pages_n, "per": per}
    out = []
    for r in rows:
        result = MonitorResult.model_validate_json(r["result"])
        deviations = [i.deviation for t in result.tables for i in t.indicators if i.deviation is not None]
        out.append({
            "filing_id": r["filing_id"], "unit": r["unit"], "year": r["year"], "task": r["task"], "month": r["month"],
            "reported_at": r["created_at"], "red": r["red"], "yellow": r["yellow"], "unstated": r["unstated"],
            "execution": [{"title": t.title, "label": _table_label(t.title), "light": t.light,
                           "light_label": LIGHT_LABEL[t.light],
                           "progress": None if t.progress is None else f"{t.progress * 100:.1f}%"} for t in result.tables],
            "largest_deviation": f"{max(deviations) * 100:.1f}" if deviations and max(deviations) > 0 else "",
            "warnings": [w.model_dump() | {"light_label": LIGHT_LABEL[w.light]}
                         for w in sorted(result.warnings, key=lambda w: w.light != "red")],
        })
    return clean({"user": user_info(user), "units": out, "year": year, "years": years, "light": light,
                  "counts": counts, "pager": pager})


def _latest_reports(store, user: User, year: int | None, light: str | None) -> tuple[list[dict[str, Any]], list[int]]:
    """Every filing's latest progress report the user may see, in the list's order (most red, most yellow, most
    missing 纠偏措施, then unit), with its stored result still as JSON; and the years there are tasks for."""
    latest = select(progress_reports.c.filing_id, func.max(progress_reports.c.id).label("id")).group_by(
        progress_reports.c.filing_id).subquery()
    q = (select(progress_reports.c.id, progress_reports.c.filing_id, progress_reports.c.month, progress_reports.c.red,
                progress_reports.c.yellow, progress_reports.c.unstated, progress_reports.c.result,
                progress_reports.c.created_at, filings.c.unit_id, units.c.name.label("unit"), units.c.parent_id,
                tasks.c.year, tasks.c.title.label("task"))
         .join(latest, latest.c.id == progress_reports.c.id)
         .join(filings, filings.c.id == progress_reports.c.filing_id)
         .join(units, units.c.id == filings.c.unit_id).join(tasks, tasks.c.id == filings.c.task_id))
    if year is not None:
        q = q.where(tasks.c.year == year)
    with store.engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(q).all()]
        years = sorted({r[0] for r in conn.execute(select(tasks.c.year).distinct())}, reverse=True)
    rows = [r for r in rows if allowed(user, "view", Unit(r["unit_id"], r["unit"], r["parent_id"]))
            and not (light == "red" and not r["red"] or light == "warned" and not (r["red"] or r["yellow"]))]
    rows.sort(key=lambda x: (-x["red"], -x["yellow"], -x["unstated"], x["unit"], x["filing_id"]))
    return rows, years


def _table_label(title: str) -> str:
    """A table's name short enough for a list cell: the project in the title's last （…）, 部门整体 for the
    department table, else the title cut to 10 characters."""
    import re

    from ..charts import short_label

    if m := re.search(r"（([^（）]+)）\s*$", title):
        return short_label(m.group(1), 10)
    return "部门整体" if "部门整体" in title else short_label(title, 10)


def warning_workbook(store, user: User, year: int | None = None) -> bytes:
    """The same list as the bureau's 预警清单.xlsx (what ``evaluator monitor DIR`` writes), every unit the user may
    see, each unit's latest report read once."""
    from ..monitor import MonitorResult, monitor_context, write_warning_list

    rows, _ = _latest_reports(store, user, year, None)
    contexts = []
    for r in rows:
        c = monitor_context(MonitorResult.model_validate_json(r["result"]))
        contexts.append(c | {"warnings": [w | {"unit_name": r["unit"]} for w in c["warnings"]]})
    when = year or (rows[0]["year"] if rows else 2000)
    with tempfile.TemporaryDirectory(prefix="evaluator-warnings-") as folder:
        path = write_warning_list(contexts, Path(folder) / "w.xlsx", f"{when}年", when)
        return path.read_bytes()


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

    @app.get("/filings/{fid}/progress.xlsx", include_in_schema=False)
    def progress_xlsx(fid: int, month: int = 7, user: User = Depends(page_user)):
        m = max(1, min(12, month))
        data = progress_workbook(store, user, fid, m)
        return Response(data, media_type=XLSX, headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(f'进度填报表-{m}月.xlsx')}"})

    @app.get("/filings/{fid}/monitor.{fmt}", include_in_schema=False)
    def monitor_file(fid: int, fmt: str, user: User = Depends(page_user)):
        if fmt not in ("xlsx", "docx"):
            raise wf.NotFound("文件不存在")
        ctx = monitoring(store, user, fid)
        if ctx["monitor"] is None:
            raise wf.Conflict("还没有上报进度", hint="请先上传进度填报表")
        return _monitor_file(ctx["monitor"], fmt)

    @app.get("/monitoring", response_class=HTMLResponse, include_in_schema=False)
    def warnings_html(request: Request, year: int | None = None, light: str | None = None, page: int = 1,
                      user: User = Depends(page_user)):
        return render(request, "monitoring_warnings.html", warning_list(store, user, year, light, page))

    @app.get("/api/monitoring", tags=["财政局"], summary="绩效运行监控预警清单：各单位最新一次上报的预警、偏差和未说明的纠偏措施")
    def warnings_api(year: int | None = None, light: str | None = None, page: int | None = None,
                     per: int | None = None, user: User = Depends(api_user)) -> dict:
        return warning_list(store, user, year, light, page, per)

    @app.get("/monitoring/warnings.xlsx", include_in_schema=False)
    def warnings_xlsx(year: int | None = None, user: User = Depends(page_user)):
        return Response(warning_workbook(store, user, year), media_type=XLSX, headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote('绩效监控预警清单.xlsx')}"})

    async def _monitor_upload(request: Request, fid: int, user: User) -> tuple[dict[str, Any], str]:
        await call(wf.filing, store, user, fid, "edit")  # before the body is read: only the unit's clerk reports
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
        if fmt in ("xlsx", "docx") and ctx["monitor"] is not None and not ctx["error"]:
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
    media = {"xlsx": XLSX,
             "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}[fmt]
    return Response(data, media_type=media, headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"})
