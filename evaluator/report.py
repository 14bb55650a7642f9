"""Reports: Evaluation → context → the signed documents (自评表 in xlsx/docx, 自评报告 in PDF/docx/HTML) and the
clerk's 审核清单 (findings and the calculation of every score).

Compute, then structure, then render: ``build_context`` turns one scored table into plain, already formatted
values; the narrative wording lives in ``templates/report.md.j2`` and renders to a small block list that each
writer lays out in its own format (``pdf``, ``office``, the HTML template). Nothing of the tool goes into a signed
document — no table ids, rule-set codes, warnings or input hashes: those are in the 审核清单. Every writer pins
timestamps and document metadata, so the same inputs and rule set give byte-identical files.
"""
from __future__ import annotations

import base64
import datetime as dt
import gc
import hashlib
import io
import json
import multiprocessing
import os
import re
import warnings
import zipfile
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PackageLoader, StrictUndefined, select_autoescape
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup, escape

from .linebreak import fmt_date, fmt_money, fmt_percent, glue
from .model import ActualSet, Evaluation, Severity, TableEvaluation, TableKind, TargetSet, TargetTable
from .output import no_formulas, safe_name, write_atomic
from .rules import RuleSet, fmt

__all__ = ["FORMATS", "build_context", "render_blocks", "write_reports", "render_documents", "document_names",
           "PENDING", "official_basis", "pin_zip", "workbook_bytes", "document_bytes", "doc_time", "plain_docx", "a4_page",
           "pin_properties", "save_docx", "template_env"]

PENDING = "【待填写】"
FORMATS = ("xlsx", "docx", "pdf", "html")
SEVERITY_LABEL = {Severity.ERROR: "错误", Severity.WARNING: "警告", Severity.INFO: "提示"}
STANDARD_SOURCES = ("其中：当年财政拨款", "上年结转资金", "其他资金")
MONEY_DECIMALS = 2  # 万元 decimals: one setting per document ($EVALUATOR_MONEY_DECIMALS, or the money_decimals argument)
MANIFEST = ".evaluator-written.json"  # what evaluator wrote into a folder, so an edited document is never overwritten


# --------------------------------------------------------------------------- names
def project_name(target: TargetTable) -> str:
    """The project's own name: its 项目名称 when the form gives one, else "业务性专项经费" from
    "2023年区级专项资金支出方向绩效目标表（业务性专项经费）"."""
    if target.project:
        return target.project
    title = target.title.strip()
    if m := re.search(r"（([^（）]+)）\s*$", title):
        return m.group(1).strip()
    name = re.sub(r"^\d{4}\s*年(度)?", "", title)
    name = re.sub(r"(项目支出|部门整体支出)?绩效(目标|自评)表$", "", name).strip()
    return name or title


def subject(target: TargetTable) -> str:
    """What a document is about: 部门整体支出, or the project's name with 项目支出."""
    if target.kind == TableKind.DEPARTMENT:
        return "部门整体支出"
    name = project_name(target)
    return name if name.endswith(("项目", "资金", "经费", "支出")) and "项目支出" in name else f"{name}项目支出"


def document_names(ev: Evaluation, targets: TargetSet) -> dict[str, str]:
    """Table id → the stem of its documents' file names, as a clerk names them
    ("石峰区政协2023年部门整体支出绩效", then 自评表.xlsx, 自评报告.pdf …), made safe and distinct."""
    from .output import unique_names

    by_id = {t.id: t for t in targets.tables}
    stems = []
    for te in ev.tables:
        target = by_id[te.table]
        year = ev.year or target.year
        stems.append(safe_name(f"{ev.unit_name}{year or ''}{'年' if year else ''}{subject(target)}绩效", limit=150))
    return dict(zip((te.table for te in ev.tables), unique_names(stems)))


def official_basis(rules: RuleSet) -> str:
    """The rule set named as a signed document names it: by its official source ("《项目支出绩效评价管理办法》（财预
    〔2020〕10号）"), never by its code."""
    title = rules.sources[0].title if rules.sources else rules.title
    book = re.search(r"《[^》]+》", title)
    number = re.search(r"[\u4e00-\u9fff]{0,6}〔\d{4}〕\d+号", title)
    if book:
        doc = number
        return book.group(0) + (f"（{doc.group(0).strip('（）()')}）" if doc else "")
    if number:
        return number.group(0)
    return f"《{re.sub(r'^[^：:]*[：:]', '', title).strip()}》"


# --------------------------------------------------------------------------- context
def _fixed(x: float | None, decimals: int = 2) -> str:
    """Scores and weights as the forms print them: a fixed number of decimals (7.50, 10.00)."""
    return "" if x is None else f"{x:.{decimals}f}"


def _spans(values: list[tuple]) -> list[int]:
    """Row spans for merged cells: the first row of each run of equal keys gets the run length, others 0."""
    spans = [0] * len(values)
    i = 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and values[j + 1] == values[i]:
            j += 1
        spans[i] = j - i + 1
        i = j + 1
    return spans


def _completion(i) -> float | None:
    """Completion ratio in % for the chart: actual/target (target/actual for 反向), else score/weight."""
    inp = i.inputs
    t, a = inp.get("target"), inp.get("actual")
    if i.status != "ok":
        return None
    if i.method in ("ratio", "equal", "inverse-ratio", "linear-to-zero", "threshold", "step-deduction", "banded") \
            and t and a is not None:
        if inp.get("direction") == "lower":
            return 100.0 * t / a if a > 0 else 100.0
        return 100.0 * a / t
    return 100.0 * (i.score or 0) / i.weight if i.weight else None


_SIGNS = str.maketrans({"≧": "≥", "≦": "≤", "═": "=", "＝": "=", "﹦": "="})


def _display(text: str | None) -> str:
    """A 指标值 as a typed form prints it: the look-alike signs some forms carry (≧, ═) as ≥ and =."""
    return (text or "").translate(_SIGNS)


def _short(r) -> bool:
    return r.status == "ok" and r.score is not None and bool(r.weight) and r.score < r.weight - 1e-9


def _bureau(unit: str, given: str | None) -> str:
    """The finance bureau that issues the form ("石峰区财政局"): given, else the unit's own 区/县/市 + 财政局."""
    if given:
        return given
    m = re.match(r"^(.*?(?:自治县|自治州|地区|特区|新区|[省市区县旗盟州]))", unit)
    return f"{m.group(1)}财政局" if m and len(m.group(1)) < len(unit) else "财政局"


def build_context(ev: Evaluation, te: TableEvaluation, target: TargetTable, actuals: ActualSet | None,
                  rules: RuleSet, money_decimals: int | None = None, monitoring: dict[str, Any] | None = None
                  ) -> dict[str, Any]:
    """Everything the documents show for one table, formatted once. ``monitoring`` is the in-year monitoring's
    look back (``monitor.followup_context``): the 自评报告 then shows each warning and what was done about it."""
    d = rules.rounding.decimals
    md = money_decimals if money_decimals is not None else int(os.environ.get("EVALUATOR_MONEY_DECIMALS") or MONEY_DECIMALS)
    money = lambda x: fmt_money(x, md)  # noqa: E731
    ta = next((t for t in (actuals.tables if actuals else []) if t.table == te.table), None)
    is_dept = te.kind == TableKind.DEPARTMENT
    year = ev.year or target.year
    rows = te.indicators
    l1_spans = _spans([(r.level1,) for r in rows])
    l2_spans = _spans([(r.level1, r.level2) for r in rows])
    indicators = []
    for r, s1, s2 in zip(rows, l1_spans, l2_spans):
        indicators.append({
            "level1": r.level1, "level2": r.level2, "level3": r.level3, "target": _display(r.target),
            "actual": _display(r.actual), "weight": _fixed(r.weight, d), "weight_value": r.weight,
            "score": {"ok": _fixed(r.score, d), "na": "不适用", "error": "无法计分"}[r.status],
            "score_value": r.score, "note": r.deviation_note or "", "explanation": r.explanation,
            "short": _short(r), "l1_span": s1, "l2_span": s2, "status": r.status, "method": r.method or "",
            "claimed": _fixed(r.claimed_score, d) if r.claimed_score is not None else "",
        })
    ex = te.execution
    budget = ta.budget if ta else None
    budget_rows = [{
        "label": "年度资金总额", "initial": money(budget.initial if budget else None),
        "budget": money(ex.budget), "spent": money(ex.spent), "weight": _fixed(ex.weight, d),
        "rate": fmt_percent(ex.rate), "score": _fixed(ex.score, d),
        "values": (budget.initial if budget else None, ex.budget, ex.spent, ex.weight, ex.rate, ex.score),
    }]
    sources = list(budget.by_source.items()) if budget and budget.by_source else [(s, None) for s in STANDARD_SOURCES]
    for k, (name, line) in enumerate(sources):
        label = name if name.startswith("其中") or k else f"其中：{name}"
        budget_rows.append({"label": label, "initial": money(line.initial) if line else "",
                            "budget": money(line.budget) if line else "", "spent": money(line.spent) if line else "",
                            "weight": "—", "rate": "—", "score": "—",
                            "values": (line.initial, line.budget, line.spent, None, None, None) if line else (None,) * 6})
    threshold = rules.over_achievement.threshold
    deviations, deductions = [], []
    from .losses import table_losses  # 偏差分析 and 扣分情况 in the order of points lost, with each gap (losses.py)

    lost = {x.position: x for x in table_losses(target, actuals, rules, confirm=False).losses if x.kind == "indicator"}
    for r in rows:
        if r.status == "error":
            continue
        over = r.status == "ok" and r.inputs.get("direction") == "higher" and r.inputs.get("target") \
            and r.inputs.get("actual") is not None and r.inputs["actual"] >= threshold * r.inputs["target"]
        short = _short(r)
        if short:
            deductions.append({"level3": r.level3, "lost": _fixed(r.weight - r.score, d), "weight": _fixed(r.weight, d),
                               "score": _fixed(r.score, d), "points": r.weight - r.score})
        if short or over:
            what = (f"得 {_fixed(r.score, d)} 分（分值 {_fixed(r.weight, d)} 分）" if short else
                    f"实际完成值达到指标值的 {fmt(threshold * 100)}% 以上，指标值设定可能偏低")
            loss = lost.get(r.position)
            if short and loss is not None:
                what += f"，{loss.gap}，少 {fmt(loss.lost)} 分"
            deviations.append({"level3": r.level3, "target": _display(r.target), "actual": _display(r.actual),
                               "what": what, "reason": r.deviation_note,
                               "points": loss.lost if short and loss else 0.0})
    if ex.score is not None and ex.weight and ex.score < ex.weight - 1e-9:
        deductions.append({"level3": "预算执行率", "lost": _fixed(ex.weight - ex.score, d), "weight": _fixed(ex.weight, d),
                           "score": _fixed(ex.score, d), "points": ex.weight - ex.score})
    # the largest loss first; ties (and the over-achievers, which lost nothing) keep the table's order
    deviations.sort(key=lambda x: -x["points"])
    deductions.sort(key=lambda x: -x["points"])
    counts = {"total": len(rows), "full": sum(1 for r in rows if r.status == "ok" and not _short(r)),
              "short": sum(1 for r in rows if _short(r)), "na": sum(1 for r in rows if r.status == "na"),
              "error": sum(1 for r in rows if r.status == "error")}
    groups = [{"label": k, "weight": _fixed(v["weight"], d), "score": _fixed(v["score"], d),
               "weight_value": v["weight"], "score_value": v["score"]} for k, v in te.groups.items()]
    findings = [{"severity": SEVERITY_LABEL[f.severity], "code": f.code, "where": _where(f.location, target, actuals),
                 "message": f.message} for f in ev.findings if f.location.table in (te.table, None)]
    plan = target.budget
    contacts = (actuals.contacts if actuals and actuals.contacts else None) or target.contacts
    cost_notes = [line.strip() for c in target.cost_notes for line in (c.basis or c.detail or c.summary or "").splitlines()
                  if line.strip()]
    annual_goal = target.annual_goal or "；".join(f"{w.item}：{w.goal}" for w in target.work_plan if w.goal) or None
    subj = subject(target)
    a = actuals
    return {
        "title": te.title, "kind": te.kind.value, "is_department": is_dept, "year": year,
        "form_title": f"{'部门整体支出' if is_dept else '项目支出'}绩效自评表",
        "form_year": f"（{year}年度）" if year else "",
        "report_title": f"{ev.unit_name}{year}年度{subj}绩效自评报告" if year else f"{ev.unit_name}{subj}绩效自评报告",
        "subject": subj, "project": project_name(target),
        "unit_name": ev.unit_name, "supervisor": target.supervisor, "fund": target.fund,
        "amount": money(target.amount), "period": target.period,
        "long_term_goal": target.long_term_goal, "annual_goal": annual_goal,
        "achieved_goal": ta.achieved_goal if ta else None, "problems": ta.problems if ta else None,
        "improvements": ta.improvements if ta else None,
        "duties_lines": [line.strip() for line in (target.duties or "").splitlines() if line.strip()],
        "work_plan": [w.model_dump() for w in target.work_plan], "cost_notes": cost_notes,
        "plan": {"total": money(plan.total), "by_source": [(k, money(v)) for k, v in plan.by_source.items()],
                 "by_nature": [(k, money(v)) for k, v in plan.by_nature.items()]} if plan else
        {"total": money(target.amount) if target.amount is not None else None, "by_source": [], "by_nature": []},
        "indicators": indicators, "budget_rows": budget_rows, "groups": groups, "counts": counts,
        "deviations": deviations, "deductions": deductions, "findings": findings,
        "execution": {"budget": money(ex.budget), "spent": money(ex.spent),
                      "initial": money(budget.initial) if budget and budget.initial is not None else None,
                      "rate": ex.rate, "rate_text": fmt_percent(ex.rate),
                      "score": _fixed(ex.score, d), "weight": _fixed(ex.weight, d), "weight_value": ex.weight,
                      "score_value": ex.score,
                      "unspent": money(ex.budget - ex.spent) if ex.rate is not None and ex.budget > ex.spent else None,
                      "values": (ex.budget, ex.spent, ex.rate), "explanation": ex.explanation},
        "total": _fixed(te.total, d) if te.total is not None else None, "raw_total": _fixed(te.raw_total, d),
        "capped": te.cap is not None and te.raw_total is not None and te.raw_total > te.cap,
        "grade": te.grade, "total_value": te.total, "total_weight": "100",
        "total_text": _fixed(te.total, d) if te.total is not None else "无法确定",
        "grade_text": te.grade or "无法确定",
        "contacts": {"head": contacts.head if contacts else None, "filler": contacts.filler if contacts else None,
                     "phone": contacts.phone if contacts else None},
        "budget_code": a.budget_code if a else None, "report_date": fmt_date(a.report_date) if a else None,
        "organization": a.organization if a else None, "evaluation_work": a.evaluation_work if a else None,
        "results_use": a.results_use if a else None, "other_notes": a.other_notes if a else None,
        "bureau": _bureau(ev.unit_name, a.bureau if a else None), "basis": official_basis(rules),
        "evaluator_org": (a.evaluator_org if a and a.evaluator_org else None) or ev.unit_name,
        "money_decimals": md, "example": ev.example,
        "monitoring": _monitoring(monitoring, te.table, year),
        # for the 审核清单 only, never in a signed document
        "audit": {"table_id": te.table, "rule_label": rules.label, "rule_title": rules.title,
                  "inputs_hash": ev.inputs_hash or "", "explanations": [r.explanation for r in rows]},
    }


def _monitoring(look_back: dict[str, Any] | None, table_id: str, year: int | None) -> dict[str, Any] | None:
    """One table's rows of the monitoring look back, as the 自评报告's table shows them (None: no monitoring, or
    nothing was warned in this table)."""
    rows = (look_back or {}).get("tables", {}).get(table_id)
    if not rows:
        return None
    out = [{"indicator": r["indicator"], "warning": f"{r['light']}：{r['warning']}",
            "action": r["action"] if r["stated"] else "未说明",
            "year_end": r["year_end"] + {True: "，已达成", False: "，仍未达成", None: ""}[r["met"]]} for r in rows]
    when = look_back.get("year") or year
    return {"period": f"{when}年{look_back['period']}" if when else look_back["period"], "rows": out,
            "count": len(rows), "red": sum(r["tone"] == "red" for r in rows),
            "yellow": sum(r["tone"] == "yellow" for r in rows), "unstated": sum(not r["stated"] for r in rows),
            "met": sum(r["met"] is True for r in rows), "unmet": sum(r["met"] is False for r in rows)}


MONITORING_HEADER = ("指标", "监控预警", "纠偏措施", "年末完成情况")


def _where(loc, target: TargetTable, actuals: ActualSet | None) -> str:
    """Where a finding points, in the clerk's words: the workbook sheet and cell when the entries came from one,
    else the file and the indicator (never an internal table id)."""
    ta = next((t for t in actuals.tables if t.table == loc.table), None) if actuals is not None and loc.table else None
    place = ta.place if ta else None
    parts = []
    if place and loc.item is not None and 0 < loc.item <= len(place.rows):
        letter = place.columns.get(loc.column or "") or place.columns.get("实际完成值", "")
        parts.append(f"工作表“{place.sheet}” {letter}{place.rows[loc.item - 1]}")
    elif place:
        parts.append(f"工作表“{place.sheet}”")
    else:
        loc = loc.model_copy(update={"table": None})
        text = loc.describe()
        if text:
            parts.append(text)
    if loc.indicator and not any(loc.indicator in p for p in parts):
        parts.append(f"指标“{loc.indicator}”")
    return "，".join(parts) or target.title


# --------------------------------------------------------------------------- narrative → blocks
@dataclass
class Block:
    kind: str  # title h1 h2 p ul cover indicators budget chart write signature
    text: str = ""
    items: list[str] = field(default_factory=list)
    name: str = ""


_ENV: Environment | None = None
_DATA_OPEN, _DATA_CLOSE, _DATA_NL = "\x02", "\x03", "\x1f"


def _data(value: Any) -> Markup:
    """Text from the inputs, marked so that the block reader never takes it for markup: a reason starting a line
    with "#", "- " or "[[cover]]" stays a sentence."""
    text = re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", "", "" if value is None else str(value))
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip("\n")
    # a space between two Chinese characters (a folded YAML line, a stray key) is no word space in Chinese
    text = re.sub(r"(?<=[\u3000-\u9fff\uff00-\uffef]) +(?=[\u3000-\u9fff\uff00-\uffef])", "", text)
    return Markup(_DATA_OPEN + str(escape(text)).replace("\n", _DATA_NL) + _DATA_CLOSE)


def template_env() -> Environment:
    """One sandboxed jinja2 environment. Templates in $EVALUATOR_TEMPLATES (a folder) override the bundled ones by
    name; whoever wrote them, they run in jinja2's sandbox with autoescaping on."""
    global _ENV
    user = os.environ.get("EVALUATOR_TEMPLATES")
    if _ENV is None or getattr(_ENV, "_user_dir", None) != user:
        loaders = [FileSystemLoader(user)] if user else []
        _ENV = SandboxedEnvironment(loader=ChoiceLoader([*loaders, PackageLoader("evaluator", "templates")]),
                                    autoescape=select_autoescape(["html", "j2"]), undefined=StrictUndefined,
                                    trim_blocks=False, lstrip_blocks=False, keep_trailing_newline=True)
        _ENV._user_dir = user
        _ENV.filters["pending"] = lambda s: Markup(str(escape(s)).replace(PENDING, f'<span class="pending">{PENDING}</span>'))
        _ENV.filters["data"] = _data
        _ENV.filters["glue"] = lambda s: Markup(glue(str(escape(s))))  # escaped first: entities hold no CJK
    return _ENV


_BLOCKS: dict[int, tuple[dict[str, Any], list[Block]]] = {}  # one run's blocks per context (inherited by workers)


def _blocks(ctx: dict[str, Any], ev: Evaluation, rules: RuleSet) -> list[Block]:
    """``render_blocks`` once per table and run: the fonts, the PDF, the Word and the HTML report share them."""
    hit = _BLOCKS.get(id(ctx))
    if hit is None or hit[0] is not ctx:
        hit = _BLOCKS[id(ctx)] = (ctx, render_blocks(ctx, ev, rules))
    return hit[1]


def render_blocks(ctx: dict[str, Any], ev: Evaluation, rules: RuleSet) -> list[Block]:
    """Render the narrative template and read it back as blocks; text from the inputs is never markup."""
    text = template_env().get_template("report.md.j2").render(t=ctx, unit=ev.unit_name, example=ev.example)
    # the markdown template is rendered with autoescape on (".j2"): undo the HTML escaping, the block writers escape
    text = _unescape(text)
    blocks: list[Block] = []
    para: list[str] = []

    def flush() -> None:
        if para:
            for part in _plain("".join(para)).split("\n"):
                if part.strip():
                    blocks.append(Block("p", part.strip()))
            para.clear()

    for line in text.splitlines():
        s = line.rstrip()
        if not s.strip():
            flush()
        elif s.startswith(_DATA_OPEN):  # a line that starts with input text is a paragraph, whatever it says
            para.append(s.strip())
        elif m := re.fullmatch(r"\[\[(\w+)(?::([^\]]+))?\]\]", s.strip()):
            flush()
            blocks.append(Block(m.group(1), name=m.group(2) or ""))
        elif s.startswith("### "):
            flush()
            blocks.append(Block("h2", _plain(s[4:].strip())))
        elif s.startswith("## "):
            flush()
            blocks.append(Block("h1", _plain(s[3:].strip())))
        elif s.startswith("# "):
            flush()
            blocks.append(Block("title", _plain(s[2:].strip())))
        elif s.startswith("- "):
            flush()
            item = _plain(s[2:].strip()).replace("\n", " ")
            if blocks and blocks[-1].kind == "ul":
                blocks[-1].items.append(item)
            else:
                blocks.append(Block("ul", items=[item]))
        else:
            para.append(s.strip())
    flush()
    return blocks


def _plain(text: str) -> str:
    """Input text back as it was written (its line breaks become paragraph breaks)."""
    return text.replace(_DATA_OPEN, "").replace(_DATA_CLOSE, "").replace(_DATA_NL, "\n")


def _unescape(text: str) -> str:
    return (text.replace("&lt;", "<").replace("&gt;", ">").replace("&#34;", '"').replace("&#39;", "'")
            .replace("&amp;", "&"))


def write_label(block: Block, ctx: dict[str, Any]) -> str:
    """The prompt of a place to write: fixed wording, or the indicator whose 偏差原因 is missing."""
    if m := re.fullmatch(r"deviation-(\d+)", block.name):
        return f"请填写：{ctx['deviations'][int(m.group(1))]['level3']}的偏差原因及改进措施"
    return f"请填写：{block.name}"


def cover_fields(ctx: dict[str, Any]) -> list[tuple[str, str | None]]:
    """The cover page as the provinces print it (None: a blank line to write on)."""
    return [("单位名称", ctx["unit_name"]), ("预算编码", ctx["budget_code"]), ("评价方式", "部门（单位）绩效自评"),
            ("评价机构", ctx["evaluator_org"]), ("报告日期", ctx["report_date"])]


def signature_fields(ctx: dict[str, Any]) -> list[tuple[str, str | None]]:
    """The signature block (None: a line to sign or write on)."""
    c = ctx["contacts"]
    return [("单位负责人（签字）", None), ("填表人", c["filler"]), ("联系电话", c["phone"]),
            ("填报日期", ctx["report_date"]), ("单位（盖章）", None)]


# --------------------------------------------------------------------------- charts
def _charts(ctx: dict[str, Any], fmt_: str) -> dict[str, bytes]:
    from . import charts

    groups = [(g["label"], g["weight_value"], g["score_value"]) for g in ctx["groups"]]
    b, s, rate = ctx["execution"]["values"]
    if rate is not None:
        groups.append(("预算执行率", ctx["execution"]["weight_value"], ctx["execution"]["score_value"]))
    out = {"groups": charts.chart_groups(groups, fmt_)}
    rows = ctx["_completion"]
    out["completion"] = charts.chart_completion(rows, fmt_) if rows else b""
    out["execution"] = charts.chart_execution(b, s, rate, fmt_) if rate is not None else b""
    return out


# --------------------------------------------------------------------------- reproducible files
FIXED_TIME = (2000, 1, 1, 0, 0, 0)


def pin_zip(data: bytes, when: dt.datetime) -> bytes:
    """Rewrite an OOXML zip with fixed entry times and fixed core.xml timestamps: same content → same bytes."""
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    src = zipfile.ZipFile(io.BytesIO(data))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)",
                                 rb"\g<1>" + stamp.encode() + rb"\g<2>", content)
                content = re.sub(rb"<cp:lastPrinted>[^<]*</cp:lastPrinted>", b"", content)
            zi = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            dst.writestr(zi, content)
    return buf.getvalue()


def workbook_bytes(wb, when: dt.datetime, creator: str = "evaluator") -> bytes:
    """An openpyxl workbook's bytes, reproducible: its times pinned to ``when`` (and no formula made of input
    text: ``output.no_formulas``)."""
    wb.properties.creator = creator
    wb.properties.created = wb.properties.modified = when.replace(tzinfo=None)
    buf = io.BytesIO()
    no_formulas(wb)
    wb.save(buf)
    return pin_zip(buf.getvalue(), when)


def doc_time(year: int | None) -> dt.datetime:
    """Document metadata time: pinned to the start of the year after the evaluated year (reproducible)."""
    return dt.datetime((year or 2000) + 1, 1, 1, tzinfo=dt.timezone.utc)


# --------------------------------------------------------------------------- HTML
def write_report_html(ctx: dict[str, Any], blocks: list[Block], charts: dict[str, bytes], font: str | None = None,
                      heading_font: str | None = None) -> bytes:
    from .fonts import web_font

    images = {k: "data:image/png;base64," + base64.b64encode(v).decode("ascii") for k, v in charts.items() if v}
    template = template_env().get_template("report.html.j2")
    args = dict(title=ctx["report_title"], blocks=blocks, cover=cover_fields(ctx), signature=signature_fields(ctx), t=ctx,
                charts=images, write_label=write_label)
    if font is None:  # render once to learn the characters, then embed a font with exactly those glyphs
        text = template.render(**args, font="", heading_font="")
        font, heading_font = web_font(text), web_font(text, "sans")
    return template.render(**args, font=font, heading_font=heading_font or "").encode("utf-8")


# --------------------------------------------------------------------------- all documents
KINDS = (("table", "xlsx", "自评表.xlsx"), ("table", "docx", "自评表.docx"), ("report", "pdf", "自评报告.pdf"),
         ("report", "docx", "自评报告.docx"), ("report", "html", "自评报告.html"), ("audit", "xlsx", "自评审核清单.xlsx"))


def render_documents(targets: TargetSet, actuals: ActualSet | None, ev: Evaluation, rules: RuleSet,
                     formats: Iterable[str] = FORMATS, tables: Iterable[str] | None = None,
                     money_decimals: int | None = None, fonts: dict[str, Any] | None = None,
                     monitoring: dict[str, Any] | None = None) -> dict[str, bytes]:
    """Every document of the unit (or of the ``tables`` given) as file name → bytes, in memory (for the web);
    ``monitoring`` as in ``write_reports``."""
    formats = tuple(formats)
    _CONTEXTS.clear()
    _LOOK_BACK[0] = monitoring
    _RUN[0] = (targets, actuals, ev, rules, money_decimals)
    try:
        names = document_names(ev, targets)
        fonts = fonts if fonts is not None else _run_fonts(targets, actuals, ev, rules, formats, money_decimals)
        charts = _charts_of(ev, targets, actuals, rules, formats, money_decimals)
        out: dict[str, bytes] = {}
        for te in ev.tables:
            if tables is not None and te.table not in set(tables):
                continue
            for task in _tasks(formats):
                out.update(_render_part((te.table, task, names[te.table], fonts, charts.get(te.table, {}))))
        return out
    finally:
        _RUN[0] = None
        _CONTEXTS.clear()
        _BLOCKS.clear()


def write_reports(targets: TargetSet, actuals: ActualSet | None, ev: Evaluation, rules: RuleSet, out_dir: str | Path,
                  formats: Iterable[str] = FORMATS, jobs: int | None = None, force: bool = False,
                  money_decimals: int | None = None, monitoring: dict[str, Any] | None = None) -> list[Path]:
    """Write the 自评表 (xlsx/docx), the 自评报告 (pdf/docx/html) and the 审核清单 (xlsx) of every scored table.
    With ``monitoring`` (``monitor.followup_context``) the 自评报告's 偏差分析 shows the in-year warnings, the
    corrective actions stated then and the year-end result.

    A document the user edited after evaluator wrote it is kept: the new one goes beside it as ``name.v2.ext``
    (``force`` replaces it). Tables are independent, so with several tables and cores they are rendered in forked
    worker processes (``jobs``; $EVALUATOR_JOBS; default one per core). The files are the same either way.
    """
    formats = tuple(formats)
    out = Path(out_dir)
    names = document_names(ev, targets)
    _CONTEXTS.clear()
    _LOOK_BACK[0] = monitoring
    _RUN[0] = (targets, actuals, ev, rules, money_decimals)
    try:
        rendered = _render_all(targets, actuals, ev, rules, formats, jobs, money_decimals, names)
    finally:
        _RUN[0] = None
        _CONTEXTS.clear()
        _BLOCKS.clear()
    order = {f"{names[te.table]}{suffix}": (k, j) for k, te in enumerate(ev.tables) for j, (_, _, suffix) in
             enumerate(KINDS)}
    return _write_files(out, sorted(rendered.items(), key=lambda kv: order.get(kv[0], (len(order), 0))), force)


def _render_all(targets: TargetSet, actuals: ActualSet | None, ev: Evaluation, rules: RuleSet,
                formats: tuple[str, ...], jobs: int | None, money_decimals: int | None,
                names: dict[str, str]) -> dict[str, bytes]:
    """Every document of the run as file name → bytes (``names``: each table's document name), in forked workers
    when there are cores for them."""
    for te in ev.tables:  # built before any worker starts: the workers inherit them
        _context(targets, actuals, ev, rules, te.table, money_decimals)
    tasks = _tasks(formats)
    table_tasks = [t for t in tasks if t in TABLE_TASKS]  # these need neither the run's fonts nor its charts
    report_tasks = [t for t in tasks if t not in TABLE_TASKS]

    def args(task_list, fonts, charts):  # the models stay in _RUN: a task names its table and its document
        return [(te.table, task, names[te.table], fonts, charts.get(te.table, {}))
                for task in task_list for te in ev.tables]

    jobs = jobs or int(os.environ.get("EVALUATOR_JOBS", "0") or 0) or (os.cpu_count() or 1)
    jobs = min(jobs, len(tasks) * len(ev.tables))
    rendered: dict[str, bytes] | None = None
    if jobs > 1 and "fork" in multiprocessing.get_all_start_methods():
        if len(ev.tables) > 1:
            _prepare_workers(formats)  # every worker will run every writer: import them once, here
        # (one table: each writer runs once, so it is imported where it runs, after the fork — imported here first,
        # this process paid for writers it never runs before it could draw the charts)
        gc.freeze()  # what exists now is inherited, never collected in the workers (nor copied by collecting it)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)  # 3.12+: fork with threads; workers only render
                with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork")) as pool:
                    # the workers write the 自评表 and 审核清单 while this process cuts the fonts and draws the
                    # charts (matplotlib's import alone is a second): no core waits for the other
                    first = [pool.submit(_render_part, a) for a in args(table_tasks, {}, {})]
                    fonts = _run_fonts(targets, actuals, ev, rules, formats, money_decimals)
                    charts = _charts_of(ev, targets, actuals, rules, formats, money_decimals)
                    parts = [f.result() for f in first] + list(pool.map(_render_part, args(report_tasks, fonts, charts)))
                    rendered = {k: v for part in parts for k, v in part.items()}
        except BrokenProcessPool:  # pragma: no cover - a worker killed from outside: redo in this process
            rendered = None
        finally:
            gc.unfreeze()
    if rendered is None:
        fonts = _run_fonts(targets, actuals, ev, rules, formats, money_decimals)
        charts = _charts_of(ev, targets, actuals, rules, formats, money_decimals)
        rendered = {k: v for a in args(tasks, fonts, charts) for k, v in _render_part(a).items()}
    return rendered


def _write_files(out: Path, files: list[tuple[str, bytes]], force: bool) -> list[Path]:
    """Write the documents, never over one the user changed since evaluator wrote it (that one is kept and the
    new one is written as ``name.v2.ext``), and remember what was written."""
    from .workbook import free_path

    manifest_path = out / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path.is_file() else {}
    except (OSError, ValueError):
        manifest = {}
    written = []
    for name, data in files:
        path = out / name
        if path.exists() and not force:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            if manifest.get(name) != digest:  # edited (or not ours): keep it
                path = free_path(path)
        write_atomic(path, data)
        manifest[path.name] = hashlib.sha256(data).hexdigest()
        written.append(path)
    write_atomic(manifest_path, json.dumps(dict(sorted(manifest.items())), ensure_ascii=False, indent=0) + "\n")
    return written


def _prepare_workers(formats: tuple[str, ...]) -> None:
    """Import the writers' libraries once, so forked workers inherit them."""
    import docx  # noqa: F401
    import openpyxl  # noqa: F401

    if "pdf" in formats:
        import fpdf  # noqa: F401


# the run's monitoring look back (report --monitor), set before the workers fork so they see it too
_LOOK_BACK: list[dict[str, Any] | None] = [None]
# the run's (targets, actuals, evaluation, rules, money decimals), likewise: a worker's task names only its table
# and document — pickling the models for every task cost more than some documents, and the unpickled copies missed
# the contexts the workers inherit (each task built its table's context again)
_RUN: list[tuple | None] = [None]
_CONTEXTS: dict[tuple[int, str, int | None], dict[str, Any]] = {}  # one run's contexts (the parent's, inherited by workers)


def _context(targets: TargetSet, actuals: ActualSet | None, ev: Evaluation, rules: RuleSet, table_id: str,
             money_decimals: int | None) -> dict[str, Any]:
    """A table's context, built once per run: fonts, charts and every document of the table share it."""
    key = (id(ev), table_id, money_decimals)
    if key not in _CONTEXTS:
        te = next(t for t in ev.tables if t.table == table_id)
        _CONTEXTS[key] = build_context(ev, te, next(t for t in targets.tables if t.id == table_id), actuals, rules,
                                       money_decimals, _LOOK_BACK[0])
    return _CONTEXTS[key]


def _run_fonts(targets: TargetSet, actuals: ActualSet | None, ev: Evaluation, rules: RuleSet,
               formats: tuple[str, ...], money_decimals: int | None) -> dict[str, Any]:
    """The characters of every report of the run → the web fonts and the PDF fonts, cut once for all tables."""
    from .fonts import pdf_font, run_font, web_font

    if not {"html", "pdf"} & set(formats):
        return {}
    text = []
    for te in ev.tables:
        ctx = _context(targets, actuals, ev, rules, te.table, money_decimals)
        blocks = _blocks(ctx, ev, rules)
        text += [b.text for b in blocks] + [i for b in blocks for i in b.items]
        text += [write_label(b, ctx) for b in blocks if b.kind == "write"]
        text += [str(v) for i in ctx["indicators"] for v in i.values()]
        text += [str(v) for r in ctx["budget_rows"] for v in r.values()]
        text += [v for r in (ctx["monitoring"] or {}).get("rows", ()) for v in r.values()] + list(MONITORING_HEADER)
        text += [f"{k}{v or ''}" for k, v in cover_fields(ctx) + signature_fields(ctx)]
        text += [ctx["report_title"], ctx["form_title"], ctx["form_year"], ctx["bureau"], ctx["subject"]]
    fixed = ("一级指标二级指标三级指标年度指标值实际完成值分值得分偏差原因分析及改进措施项目资金（万元）预算资金年初预算数全年"
             "执行数执行率总分评价等级：—0123456789.%（）制盖章签字示例数据本报告的实际完成值仅用于演示不代表单位真实情况"
             "请填写部门名称项目名称主管部门实施单位年度总体目标预期目标实际完成情况绩效指标第页")
    chars = "".join(sorted(set("".join(text) + fixed + "".join(map(chr, range(32, 127))))))
    out: dict[str, Any] = {}
    if "pdf" in formats:
        for kind in ("serif", "sans", "title"):
            pdf_font(chars, kind)  # a rarer character extends the cached face first
        out["pdf"] = {"body": run_font(chars, "serif"), "head": run_font(chars, "sans"), "title": run_font(chars, "title")}
    if "html" in formats:
        out["web"] = web_font(chars)
        out["web_head"] = web_font(chars, "sans")
    return out


TASKS = ("pdf", "docx", "html", "table-xlsx", "table-docx", "audit")  # one task per document: cores stay busy
TABLE_TASKS = ("table-xlsx", "table-docx", "audit")


def _tasks(formats: tuple[str, ...]) -> list[str]:
    want = {"pdf": "pdf", "docx": "docx", "html": "html", "table-xlsx": "xlsx", "table-docx": "docx"}
    return [t for t in TASKS if t == "audit" or want[t] in formats]


def _charts_of(ev: Evaluation, targets: TargetSet, actuals: ActualSet | None, rules: RuleSet,
               formats: tuple[str, ...], money_decimals: int | None) -> dict[str, dict[str, bytes]]:
    """The charts of every table, drawn once (three documents show them), from the run's own contexts."""
    if not {"pdf", "docx", "html"} & set(formats):
        return {}
    from . import charts
    from .fonts import chart_font

    text = "".join(i.level3 for te in ev.tables for i in te.indicators) + "".join(k for te in ev.tables for k in te.groups)
    charts.use_font(chart_font(text + CHART_WORDS + "".join(map(chr, range(32, 127)))))
    out = {}
    for te in ev.tables:
        ctx = dict(_context(targets, actuals, ev, rules, te.table, money_decimals))  # charts show no money text
        ctx["_completion"] = [(i.level3, v) for i in te.indicators if (v := _completion(i)) is not None]
        out[te.table] = _charts(ctx, "png")
    charts.use_font(None)
    return out


CHART_WORDS = "各一级指标得分与分值完成率最低的项（共）预算执行情况全年预算数执行数万元目标线…%，：／"


def _render_part(args: tuple) -> dict[str, bytes]:
    """One document of one table of the run (``_RUN``), as file name → bytes."""
    table_id, task, stem, fonts, png = args
    targets, actuals, ev, rules, money_decimals = _RUN[0]
    ctx = _context(targets, actuals, ev, rules, table_id, money_decimals)
    fonts = fonts or {}
    from . import office

    if task == "table-xlsx":
        return {f"{stem}自评表.xlsx": office.table_xlsx(ctx)}
    if task == "table-docx":
        return {f"{stem}自评表.docx": office.table_docx(ctx)}
    if task == "audit":
        return {f"{stem}自评审核清单.xlsx": office.audit_xlsx(ctx)}
    blocks = _blocks(ctx, ev, rules)
    if task == "pdf":
        from .pdf import report_pdf

        return {f"{stem}自评报告.pdf": report_pdf(ctx, blocks, png, fonts.get("pdf"))}
    if task == "docx":
        return {f"{stem}自评报告.docx": office.report_docx(ctx, blocks, png)}
    return {f"{stem}自评报告.html": write_report_html(ctx, blocks, png, fonts.get("web"), fonts.get("web_head"))}


# --------------------------------------------------------------------------- plain Word documents for other stages
def plain_docx(ctx: dict[str, Any], title: str, landscape: bool):
    """A plain A4 Word document in 宋体 (East Asian font set, black) with pinned metadata, for documents other than
    the 自评 ones (the 监控表): those use ``office``'s 公文 layout."""
    from docx import Document
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt

    document = Document()
    for style_name in ("Normal", "Heading 1", "Heading 2", "Title", "Table Grid"):
        try:
            style = document.styles[style_name]
        except KeyError:
            continue
        style.font.name = "宋体"
        rpr = style.element.get_or_add_rPr()
        rfonts = rpr.find(qn("w:rFonts"))
        if rfonts is None:
            rfonts = rpr.makeelement(qn("w:rFonts"), {})
            rpr.append(rfonts)
        for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
            rfonts.set(qn(attr), "宋体")
        if style_name == "Normal":
            style.font.size = Pt(10.5)
    section = a4_page(document, landscape)
    for side in ("left_margin", "right_margin"):
        setattr(section, side, Cm(1.8))
    pin_properties(document, title, "evaluator", doc_time(ctx["year"]))
    return document


def a4_page(document, landscape: bool):
    """The document's (first) section on an A4 page, portrait or landscape; returned for its margins."""
    from docx.enum.section import WD_ORIENT
    from docx.shared import Cm

    section = document.sections[0]
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    if landscape:
        section.orientation = WD_ORIENT.LANDSCAPE
        section.page_width, section.page_height = section.page_height, section.page_width
    return section


def pin_properties(document, title: str, author: str, when: dt.datetime) -> None:
    """The document's title and author, its times pinned to ``when`` and revision 1: the same bytes on every run."""
    props = document.core_properties
    props.title, props.author, props.last_modified_by = title, author, author
    props.created = props.modified = when.replace(tzinfo=None)
    props.revision = 1


def save_docx(document, path: Path, year: int | None) -> Path:
    """Save a ``plain_docx`` document atomically with pinned zip times and metadata (reproducible bytes)."""
    return write_atomic(path, document_bytes(document, doc_time(year)))


def document_bytes(document, when: dt.datetime) -> bytes:
    """A python-docx document's bytes with its zip times and core.xml times pinned to ``when``."""
    buf = io.BytesIO()
    document.save(buf)
    return pin_zip(buf.getvalue(), when)
