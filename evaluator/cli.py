"""Command line: a thin typer layer over the public API; every message in Chinese."""
from __future__ import annotations

import json
import re
import sys
import traceback
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, NoReturn, Optional

import typer

from . import __version__
from .errors import EvaluatorError, InputFileError, quote

if TYPE_CHECKING:  # heavy modules are imported inside the commands: `evaluator --help` starts in well under 0.15 s
    from rich.console import Console

    from .model import ActualSet, Evaluation, Finding, TargetSet
    from .rules import RuleSet

app = typer.Typer(
    help="evaluator：预算绩效自评评分引擎。读取绩效目标表和实际完成值，按评分规则计算每项指标得分，给出计算过程、总分和等级。",
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,
)
_state = {"debug": False}


def _console() -> Console:
    from rich.console import Console
    probe = Console()
    return Console(highlight=False, soft_wrap=False, width=probe.width if probe.is_terminal else 160)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"evaluator {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="出错时显示完整的调试信息（traceback）"),
    version: bool = typer.Option(False, "--version", help="显示版本号并退出", is_eager=True, callback=_show_version),
) -> None:
    _state["debug"] = debug
    _console_safe_streams()


def _console_safe_streams() -> None:
    """A console or redirect in GBK (Chinese Windows) cannot encode every character (✓, emoji): print what it lacks
    as "?" instead of failing; JSON output escapes them instead (``_write_json``), so it stays exact."""
    for stream in (sys.stdout, sys.stderr):
        encoding = (getattr(stream, "encoding", None) or "utf-8").lower().replace("-", "").replace("_", "")
        if not encoding.startswith("utf") and hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")


def _write_json(text: str) -> None:
    """JSON on stdout; characters the output's encoding lacks become JSON escapes (\\u2713), which read back exactly."""
    encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        lacking = {c for c in set(text) if not c.encode(encoding, errors="ignore")}
        text = text.translate({ord(c): json.dumps(c)[1:-1] for c in lacking})
    except LookupError:
        pass
    sys.stdout.write(text)


def _write_json_pieces(pieces) -> None:
    """``_write_json`` of JSON given as UTF-8 pieces (``output.json_chunks``): to a UTF-8 stdout as bytes, as
    they come; to another encoding through ``_write_json``, piece by piece (pieces end between characters)."""
    import codecs

    buffer = getattr(sys.stdout, "buffer", None)
    try:
        utf8 = codecs.lookup(getattr(sys.stdout, "encoding", None) or "utf-8").name == "utf-8"
    except LookupError:
        utf8 = False
    if buffer is None or not utf8:
        for piece in pieces:
            _write_json(bytes(piece).decode("utf-8"))
        return
    sys.stdout.flush()
    for piece in pieces:
        buffer.write(piece)
    buffer.flush()


def _load(targets: Path, actuals: Optional[Path], budget: Optional[float], spent: Optional[float],
          rules_ref: str) -> tuple[Evaluation, RuleSet]:
    ev, rules, _, _ = _load_all(targets, actuals, budget, spent, rules_ref)
    return ev, rules


def _load_all(targets: Path, actuals: Optional[Path], budget: Optional[float], spent: Optional[float],
              rules_ref: str) -> tuple[Evaluation, RuleSet, TargetSet, Optional[ActualSet]]:
    return _load_scored(targets, actuals, budget, spent, rules_ref)[:4]


def _load_scored(targets: Path, actuals: Optional[Path], budget: Optional[float], spent: Optional[float],
                 rules_ref: str, indicators: bool = True, models: bool = True) -> tuple:
    """``_load_all`` and the engine's frames (``evaluation.Scored``), for a later step on the same inputs.
    ``indicators=False``: no ``IndicatorScore`` models (the JSON writes them from the frames); ``models=False``:
    a 自评表's indicator rows go to the frame as columns (its targets then list no indicators)."""
    from .load import inputs_hash, paused_gc
    from .evaluation import evaluate_scored

    files = (targets,) if actuals is None else (targets, actuals)
    with paused_gc():  # (see _load_findings)
        got, rules = _read(targets, actuals, budget, spent, rules_ref, models=models)
        ev, scored = evaluate_scored(got.targets, got.actuals, rules, targets_file=str(targets),
                                     actuals_file=str(actuals) if actuals is not None else None,
                                     inputs_hash=inputs_hash(*files), indicators=indicators,
                                     built=_built(got, targets, actuals))
    ev = ev.model_copy(update={"findings": _input_findings(got, ev.findings)})
    return ev, rules, got.targets, got.actuals, scored


def _load_findings(targets: Path, actuals: Optional[Path], budget: Optional[float], spent: Optional[float],
                   rules_ref: str) -> list[Finding]:
    """The findings of ``_load_all`` alone (``check``: no scored indicators, no 计算过程 built)."""
    from .evaluation import check_findings
    from .load import paused_gc

    # the cycle collector paused: reading and scoring a large table build millions of objects (row lists, a
    # group per 一级指标, findings), none in a cycle, and each collection walked them all again (−0.3 s of
    # check's 2.5 s CPU at 200,000 rows; −1 s of score's with a 一级指标 per row); peak memory unchanged
    with paused_gc():
        got, rules = _read(targets, actuals, budget, spent, rules_ref, models=False)
        return _input_findings(got, check_findings(got.targets, got.actuals, rules, targets_file=str(targets),
                                                   actuals_file=str(actuals) if actuals is not None else None,
                                                   built=_built(got, targets, actuals)))


def _built(got, targets: Path, actuals: Optional[Path]):
    """The indicator frame and its findings of a 自评表 read as columns (``intake.Inputs.blocks``), else None."""
    if not got.blocks:
        return None
    from .frame import Files, block_frame

    built = block_frame(got.targets, got.actuals, got.blocks, Files(str(targets), str(actuals or targets)))
    got.blocks.clear()  # (the frame holds the rows now: the columns are not kept beside it while scoring)
    return built


def _read(targets: Path, actuals: Optional[Path], budget: Optional[float], spent: Optional[float], rules_ref: str,
          models: bool = True):
    """Rules and inputs; ``models=False``: a 自评表's indicator rows as columns (no model per row)."""
    from .rules import load_rules
    from .intake import read_inputs

    rules = load_rules(rules_ref)
    got = read_inputs(targets, actuals, budget, spent, models=models)
    for note in got.notes:
        typer.echo(note, err=True)
    return got, rules


def _input_findings(got, findings: list[Finding]) -> list[Finding]:
    """The reading's findings, then the evaluation's; for a 自评表 the budget message says where to fill it."""
    findings = got.findings + findings
    if got.one_file:  # the budget is read from the 自评表 itself: say so, not "the budget key of an actuals file"
        findings = [f.model_copy(update={"message": "缺少全年预算数或全年执行数，预算执行率无法计分：自评表中没有填写预算执行情况"
                                                    "（年初预算数/全年预算数/全年执行数）；请在表中填写，或用 --budget 全年预算数 "
                                                    "--spent 全年执行数 指定"}) if f.code == "missing-budget" else f
                    for f in findings]
    return findings


_STATUS = {"ok": "", "na": "不适用", "error": "无法计分"}
_SEVERITY = {"error": ("错误", "bold red"), "warning": ("警告", "yellow"), "info": ("提示", "cyan")}  # by Severity


SCREEN_ROWS = 200  # beyond this many indicators the text output is a summary; the full result goes to a file


def _print_evaluation(ev: Evaluation, rules: RuleSet, console: Console, losses: dict | None = None,
                      followups: dict | None = None, full_result: Path | None = None) -> None:
    """The result as text; with ``full_result`` (a large table) each table's rows are left out and the file with
    every row named, since a rich table of thousands of rows takes longer to draw than to score."""
    from rich.table import Table
    from rich.text import Text
    from .model import TABLE_KIND_LABEL
    from .rules import fmt
    head = f"{ev.unit_name} {ev.year or ''} 年度绩效自评 — 规则集 {rules.label}（{rules.title}）"
    console.print(Text(head, style="bold"))
    if ev.example:
        console.print(Text("【示例数据】实际完成值为演示用示例，并非单位真实数据", style="magenta"))
    for t in ev.tables:
        table = Table(title=f"{t.title}（{TABLE_KIND_LABEL[t.kind]}）", show_lines=True, expand=True, title_justify="left")
        for col, kw in (("一级指标", {"min_width": 10, "max_width": 10}), ("二级指标", {"min_width": 8, "max_width": 10}),
                        ("三级指标", {"max_width": 18}),
                        ("年度指标值", {"max_width": 12}), ("实际完成值", {"max_width": 14}), ("分值", {"justify": "right"}),
                        ("得分", {"justify": "right"}), ("计算过程", {"ratio": 1})):
            table.add_column(col, overflow="fold", **kw)
        prev = ("", "")
        if full_result is not None:
            console.print(Text(f"{table.title}：{len(t.indicators)} 项指标，逐项得分和计算过程见 {full_result}", style="bold"))
        for i in (t.indicators if full_result is None else ()):
            l1 = "" if i.level1 == prev[0] else i.level1
            l2 = "" if (i.level1, i.level2) == prev else i.level2
            prev = (i.level1, i.level2)
            score = f"{i.score:.{rules.rounding.decimals}f}" if i.score is not None else _STATUS[i.status]
            style = "red" if i.status == "error" else ("dim" if i.status == "na" else
                                                       ("yellow" if i.score is not None and i.weight and i.score < i.weight - 1e-9 else ""))
            table.add_row(l1, l2, i.level3, i.target or "（空）", i.actual or "（空）",
                          fmt(i.weight), Text(score, style=style), i.explanation)
        if full_result is None:
            console.print(table)
        for name, g in t.groups.items():
            console.print(f"  {name}：{fmt(g['score'])} / {fmt(g['weight'])}")
        console.print(f"  预算执行率：{t.execution.explanation}")
        if t.cap is not None and t.raw_total is not None and t.raw_total > t.cap:
            console.print(f"  总分封顶：{fmt(t.raw_total)} → {fmt(t.cap)}")
        if t.complete:
            console.print(Text(f"  总分 {fmt(t.total)}，等级 {t.grade}", style="bold green"))
        else:
            partial = fmt(t.raw_total) if t.raw_total is not None else "—"
            console.print(Text(f"  总分无法确定：{t.undetermined or '有指标无法计分或缺少预算执行数据'}（已计部分 {partial} 分），"
                               "请先处理下列错误",
                               style="bold red"))
        if losses and losses.get(t.table):
            _print_losses(losses[t.table], console)
        if followups and followups["tables"].get(t.table):
            console.print(Text(f"  绩效监控回顾（{followups['period']}的预警及处理）：", style="bold"))
            for x in followups["tables"][t.table]:
                console.print(f"    {x['indicator']}：{x['light']}（{x['warning']}）；纠偏措施：{x['action']}；{x['result']}")
        console.print()
    for title in ev.unscored_tables:
        console.print(f"{title}：汇总表，没有绩效指标，不单独评分。")
    _print_findings(ev.findings, console, most=None if full_result is None else 50)


def _print_losses(t: dict, console: Console) -> None:
    """The compact 失分去向 section of one table (losses.losses_context)."""
    from rich.text import Text
    if not t["items"]:
        return
    lost = f"，共失 {t['lost']} 分" if t["lost"] is not None else ""
    console.print(Text(f"  失分去向（满分 {t['full_marks']}{lost}）：", style="bold"))
    for k, x in enumerate(t["items"], 1):
        console.print(f"    {k}. {x['text']}")
    if t["rest"]:
        console.print(f"    其余 {t['rest']['count']} 项共失 {t['rest']['lost']} 分（全部见 --json 的 losses）")


def _print_findings(findings: list[Finding], console: Console, most: int | None = None) -> None:
    from rich.text import Text
    from .model import Severity
    if not findings:
        console.print(Text("未发现问题。", style="green"))
        return
    counts = {s: sum(1 for f in findings if f.severity == s) for s in Severity}
    console.print(Text(f"发现 {len(findings)} 项问题：错误 {counts[Severity.ERROR]}，警告 {counts[Severity.WARNING]}，"
                       f"提示 {counts[Severity.INFO]}", style="bold"))
    ordered = sorted(findings, key=lambda f: list(Severity).index(f.severity))
    if most is not None and len(ordered) > most:
        console.print(f"（以下列出前 {most} 项，其余 {len(ordered) - most} 项见 evaluator check --json 或 score -o 写出的文件）")
        ordered = ordered[:most]
    for f in ordered:
        label, style = _SEVERITY[f.severity]
        console.print(Text.assemble((f"[{label}] ", style), (f"{f.location.describe()}：", "bold"), f.message,
                                    (f"  ({f.code})", "dim")))


@contextmanager
def _reported(*inputs: Optional[Path]) -> Iterator[None]:
    """Any error inside becomes the one-line Chinese message of ``_fail`` and exit code 1 (never a traceback);
    nothing written inside may replace one of the command's ``inputs``."""
    from .output import inputs_protected

    try:
        with inputs_protected(*inputs):
            yield
    except typer.Exit:
        raise
    except Exception as e:  # noqa: BLE001 - turned into a one-line message
        _fail(e)


def _fail(e: Exception) -> NoReturn:
    if _state["debug"]:
        traceback.print_exc()
    from jinja2.exceptions import SecurityError, TemplateError

    if isinstance(e, SecurityError):
        typer.echo(f"错误：模板试图执行不允许的操作，已阻止（{e}）。请检查 EVALUATOR_TEMPLATES 中的模板。", err=True)
    elif isinstance(e, TemplateError):
        typer.echo(f"错误：模板有误（{type(e).__name__}：{e}）。请检查 EVALUATOR_TEMPLATES 中的模板。", err=True)
    elif isinstance(e, EvaluatorError):
        typer.echo(f"错误：{e.render()}", err=True)
    elif isinstance(e, OSError):  # a file that cannot be read or written, outside the readers' and writers' own checks
        from .errors import os_error_message

        message, hint = os_error_message(e, "读写")
        where = f"{quote(e.filename)}：" if e.filename else ""
        typer.echo(f"错误：{where}{message}（{hint}）", err=True)
    elif isinstance(e, (RecursionError, MemoryError)) or type(e).__module__.startswith("lxml"):
        # deep nesting (Python's recursion limit, lxml's 256 XML levels in a .docx/.xlsx) or an input too large
        what = "内存不足" if isinstance(e, MemoryError) else "内容嵌套过深或 XML 已损坏"
        files = "、".join(quote(a, 60) for a in sys.argv[1:] if Path(a).suffix.lower() in _INPUT_SUFFIXES)
        typer.echo(f"错误：{files + '：' if files else ''}输入文件{what}，无法处理（请检查文件是否完整、是否选对了文件；"
                   "也可在 Word/WPS/Excel 中另存一份后再试）", err=True)
    else:
        typer.echo(f"内部错误（{type(e).__name__}：{e}）。请加 --debug 重新运行并把输出报告给开发者。", err=True)
    raise typer.Exit(1)


_INPUT_SUFFIXES = {".docx", ".xlsx", ".xlsm", ".xls", ".doc", ".et", ".wps", ".csv", ".yaml", ".yml", ".json"}
TARGETS_ARG = typer.Argument(..., help="绩效目标表：数据文件（YAML/JSON）或 Word/Excel 表（.docx/.doc/.wps/.xlsx/.xls/.et）；"
                                       "或已填好的自评表（Word/Excel/CSV）", show_default=False)
ACTUALS_ARG = typer.Argument(None, help="实际完成值：数据文件（YAML/JSON）或填好的填报表（.xlsx）；已填好的自评表不需要",
                             show_default=False)
RULES_OPT = typer.Option("mof-2020", "--rules", "-r", help="规则集编号（见 evaluator rules）或规则文件路径")
BUDGET_OPT = typer.Option(None, "--budget", help="全年预算数（万元），用于自评表（覆盖表中填写的数）")
SPENT_OPT = typer.Option(None, "--spent", help="全年执行数（万元），用于自评表（覆盖表中填写的数）")


@app.command("score")
def score_cmd(
    targets: Path = TARGETS_ARG,
    actuals: Optional[Path] = ACTUALS_ARG,
    rules: str = RULES_OPT,
    budget: Optional[float] = BUDGET_OPT,
    spent: Optional[float] = SPENT_OPT,
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出结果（字段见 README）"),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="同时把 JSON 结果写入此文件"),
    monitor_file: Optional[Path] = typer.Option(None, "--monitor", help="年中绩效监控进度文件：逐项列出当时的预警、纠偏措施和年末结果"),
) -> None:
    """计算每项指标得分（附计算过程）、一级指标小计、预算执行率得分、总分和等级，以及失分去向。"""
    from .output import dumps, evaluation_json, findings_chunks, json_chunks, write_atomic
    from .losses import losses_context, point_losses
    from .load import paused_gc

    # --json alone (no monitor review): the indicators are written from the scored frame, not as models
    columnar = as_json and monitor_file is None
    # the cycle collector stays paused while the result is built and written too (see _load_findings): writing
    # 200,000 indicators makes 200,000 dicts beside the scored frame, and each collection walked them all
    # (0.27 s of score --json's 3.1 s CPU at 200,000 rows)
    with _reported(targets, actuals), paused_gc():
        # the monitor review matches the targets' indicators: only then are a 自评表's rows read as models
        ev, rs, tset, aset, scored = _load_scored(targets, actuals, budget, spent, rules, indicators=not columnar,
                                                  models=monitor_file is not None)
        losses = point_losses(tset, aset, rs, scored=scored)
        # (--json alone: the findings are encoded from their models in pieces, like the indicators)
        payload = evaluation_json(ev.model_copy(update={"findings": []}) if columnar else ev)
        payload["losses"] = [t.model_dump() for t in losses]
        followups = None
        if monitor_file is not None:
            from .monitor import followup_context, load_progress, monitor

            result = monitor(tset, load_progress(monitor_file, tset), rs)
            followups = followup_context(result, ev)
            payload["monitor_followup"] = followups
        large = not as_json and sum(len(t.indicators) for t in ev.tables) > SCREEN_ROWS
        if large and not output:  # more than a screenful: the full result goes to a file, named in the summary
            from .output import safe_name

            output = Path("reports") / f"{safe_name(targets.stem)}-评分结果.json"
        if columnar:
            from .evaluation import indicator_dicts

            frame = scored.scored
            del scored  # (the indicator frame the losses re-scored is no longer needed while writing)
            # (the tables too: a table with a 一级指标 per row has 180,000 groups, which the marks are not looked
            # for in nor copied with the rest)
            pieces = json_chunks(payload, {"indicators": indicator_dicts(frame, rs), "tables": [payload["tables"]],
                                           "findings": findings_chunks(ev.findings)})
            if output:  # encoded once, for -o and stdout alike
                pieces = list(pieces)
                write_atomic(output, pieces)
        else:
            text = dumps(payload) if as_json or output else ""  # encoded once, for -o and stdout alike
            if output:
                write_atomic(output, text)
    if columnar:
        with _reported(), paused_gc():
            _write_json_pieces(pieces)
    elif as_json:
        _write_json(text)
    else:
        console = _console()
        _print_evaluation(ev, rs, console, {t["table"]: t for t in losses_context(losses, top=5)}, followups,
                          full_result=output if large else None)
        if output:
            console.print(f"结果已写入 {output}")


@app.command("check")
def check_cmd(
    targets: Path = TARGETS_ARG,
    actuals: Optional[Path] = ACTUALS_ARG,
    rules: str = RULES_OPT,
    budget: Optional[float] = BUDGET_OPT,
    spent: Optional[float] = SPENT_OPT,
    as_json: bool = typer.Option(False, "--json", help="以 JSON 列出问题"),
) -> None:
    """检查输入文件，列出全部问题（错误、警告、提示）。有错误时退出码为 1。"""
    from .load import paused_gc
    from .model import Severity
    from .output import dumps, findings_json
    with _reported():
        findings = _load_findings(targets, actuals, budget, spent, rules)
    if as_json:
        with paused_gc():  # (as in score: 25,000 findings' dicts beside their models)
            _write_json(dumps(findings_json(findings)))
    else:
        _print_findings(findings, _console())
    if any(f.severity == Severity.ERROR for f in findings):
        raise typer.Exit(1)


@app.command("report")
def report_cmd(
    targets: Path = TARGETS_ARG,
    actuals: Optional[Path] = ACTUALS_ARG,
    output: Optional[Path] = typer.Option(None, "--output", "-o",
                                          help="输出目录（默认 reports/<目标表文件名>/）"),
    formats: str = typer.Option("xlsx,docx,pdf,html", "--format", "-f",
                                help="输出格式，逗号分隔：xlsx（自评表）、docx（自评表和自评报告）、pdf、html（自评报告）"),
    rules: str = RULES_OPT,
    budget: Optional[float] = BUDGET_OPT,
    spent: Optional[float] = SPENT_OPT,
    force: bool = typer.Option(False, "--force", help="覆盖生成后又被修改过的文件（默认保留修改过的文件，新文件另存为 .v2）"),
    money_decimals: int = typer.Option(2, "--money-decimals", min=0, max=6, help="金额（万元）保留的小数位数"),
    monitor_file: Optional[Path] = typer.Option(None, "--monitor", help="年中绩效监控进度（YAML/JSON 或填好的进度填报表 .xlsx）：自评报告逐项写明当时的预警、纠偏措施和年末结果"),
) -> None:
    """生成每张表的自评表（xlsx、docx）、自评报告（pdf、docx、html，含图表）和审核清单（xlsx）。"""
    from rich.text import Text
    from .model import Severity
    from .rules import fmt
    from .report import FORMATS, write_reports

    with _reported(targets, actuals, monitor_file):
        wanted = [f.strip().lower() for f in formats.split(",") if f.strip()]
        unknown = [f for f in wanted if f not in FORMATS]
        if unknown or not wanted:
            raise InputFileError(f"不支持的输出格式：{'、'.join(unknown) or '（空）'}", hint=f"可用格式：{','.join(FORMATS)}")
        ev, rs, tset, aset = _load_all(targets, actuals, budget, spent, rules)
        out_dir = output or Path("reports") / targets.stem
        if "pdf" in wanted:
            from .fonts import pdf_font_ready

            if not pdf_font_ready():
                typer.echo("首次生成 PDF：正在建立中文字体缓存（约 40 秒，每台机器只需一次）……", err=True)
        look_back = None
        if monitor_file is not None:
            from .monitor import followup_context, load_progress, monitor

            look_back = followup_context(monitor(tset, load_progress(monitor_file, tset), rs), ev)
        files = write_reports(tset, aset, ev, rs, out_dir, wanted, force=force, money_decimals=money_decimals,
                              monitoring=look_back)
    console = _console()
    for t in ev.tables:
        state = f"总分 {fmt(t.total)}，等级 {t.grade}" if t.complete else "总分暂无法确定（见报告“八、其他需要说明的情况”）"
        console.print(f"{t.title}：{state}")
    errors = sum(1 for f in ev.findings if f.severity == Severity.ERROR)
    if errors:
        console.print(Text(f"注意：有 {errors} 项错误，报告中已列出；请修正后重新生成。", style="bold red"))
    console.print(f"已生成 {len(files)} 个文件，位于 {out_dir}：")
    for f in files:
        console.print(f"  {f.name}")
    kept = [f for f in files if re.search(r"\.v\d+\.[^.]+$", f.name)]
    if kept:
        console.print(Text(f"有 {len(kept)} 个文件生成后被修改过，已保留原文件，新文件另存为 .v2 等（覆盖请加 --force）。",
                           style="yellow"))
    console.print("签字前请先查看审核清单（…自评审核清单.xlsx）中的问题和计分过程。")


@app.command("whatif")
def whatif_cmd(
    targets: Path = TARGETS_ARG,
    actuals: Optional[Path] = ACTUALS_ARG,
    settings: list[str] = typer.Option([], "--set", "-s", help="假设的实际完成值，如 \"政协常委会=5次\"、\"执行率=95%\"；可多次使用"),
    table: Optional[str] = typer.Option(None, "--table", help="只在这张表（表编号）中查找指标、调整执行率"),
    rules: str = RULES_OPT,
    budget: Optional[float] = BUDGET_OPT,
    spent: Optional[float] = SPENT_OPT,
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出"),
) -> None:
    """假设分析：改动几项实际完成值或执行率，按同一规则重新评分，与现在的得分、总分、等级对照（不改动任何文件）。"""
    from rich.table import Table
    from rich.text import Text
    from .output import dumps
    from .whatif import parse_settings, run_whatif, whatif_context

    with _reported(targets, actuals):
        if not settings:
            raise InputFileError("没有指定要假设的值", hint="用法：evaluator whatif 目标表 实际完成值 --set \"政协常委会=5次\"")
        ev, rs, tset, aset = _load_all(targets, actuals, budget, spent, rules)
        result = run_whatif(tset, aset, rs, parse_settings(tset, aset, settings, table), before=ev)
    if as_json:
        sys.stdout.write(dumps(result.model_dump()))
        return
    ctx = whatif_context(result, rs.rounding.decimals)
    console = _console()
    console.print(Text(f"{ctx['unit_name']} {ctx['year'] or ''} 年度 假设分析 — 规则集 {ctx['rule']}；假设："
                       + "；".join(ctx["settings"]), style="bold"))
    for t in ctx["tables"]:
        table_view = Table(title=t["title"], show_lines=True, expand=True, title_justify="left")
        for col, kw in (("三级指标", {"max_width": 20}), ("年度指标值", {}), ("现在实际", {}), ("假设实际", {}),
                        ("分值", {"justify": "right"}), ("现在得分", {"justify": "right"}),
                        ("假设得分", {"justify": "right"}), ("变化", {"justify": "right"}), ("假设下的计算过程", {"ratio": 1})):
            table_view.add_column(col, overflow="fold", **kw)
        for r in t["rows"]:
            table_view.add_row(r["level3"], r["target"], r["before"], r["after"], r["weight"], r["score_before"],
                               r["score_after"], r["delta"], r["explanation"])
        ex = t["execution"]
        if ex["changed"]:
            table_view.add_row("预算执行率", "100%", ex["rate_before"], ex["rate_after"], "", ex["before"], ex["after"],
                               ex["delta"], ex["explanation"])
        console.print(table_view)
        console.print(Text(f"  总分 {t['total_before']}（{t['grade_before']}）→ {t['total_after']}（{t['grade_after']}）"
                           + (f"，{t['total_delta']}" if t["total_delta"] else ""), style="bold"))
    for p in ctx["problems"]:
        console.print(Text(f"[假设值有问题] {p}", style="yellow"))
    console.print("（只是假设：没有改动任何文件）")


@app.command("review-targets")
def review_targets_cmd(
    file: Path = typer.Argument(..., help="绩效目标表：数据文件（YAML/JSON）、官方 Word/Excel 表或自评表（CSV/Excel）",
                                show_default=False),
    rules: str = RULES_OPT,
    review_rules: Optional[str] = typer.Option(None, "--review-rules", help="目标审核规则文件（默认 rules/checks/target-review.yaml）"),
    previous: Optional[Path] = typer.Option(None, "--previous", help="上年的实际完成值：数据文件（YAML/JSON）或上年已填好的自评表（Word/Excel/CSV）；检查目标是否不高于上年实际"),
    db: Optional[str] = typer.Option(None, "--db", help="从数据库读取本单位上年的实际完成值（SQLAlchemy 地址）"),
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出"),
) -> None:
    """目标审核：检查绩效目标表是否完整、细化量化、与预算和年度目标一致、指标性质和单位是否合理、是否不低于上年实际。有错误时退出码为 1。"""
    from rich.text import Text
    from .output import dumps
    from .rules import load_rules
    from .target_review import (
        load_any_targets, load_review_rules, previous_from_file, previous_from_store, review_context, review_targets,
    )

    with _reported(file, previous):
        tset, unplaced = load_any_targets(file)
        rs, review = load_rules(rules), load_review_rules(review_rules)
        last = None
        if previous is not None:
            last = previous_from_file(previous, tset)
        elif db is not None:
            last = previous_from_store(_store(db), tset.unit_name, tset.year - 1)
        findings = review_targets(tset, rs, review, previous=last, file=str(file))
        ctx = review_context(tset, findings, review)
    if as_json:
        sys.stdout.write(dumps({**ctx, "findings": [f.model_dump(mode="json", exclude_none=True) for f in findings]}))
    else:
        console = _console()
        console.print(Text(f"{ctx['unit_name']} {ctx['year'] or ''} 年度绩效目标表审核 — {ctx['title']}（{ctx['rules']}）",
                           style="bold"))
        if last is None:
            console.print("（未提供上年数据：不检查目标是否低于上年实际；可用 --previous 上年实际完成值文件 或 --db）")
        for t in ctx["tables"]:
            c = t["counts"]
            console.print(Text(f"{t['title']}（{t['table']}，{t['indicators']} 项指标）：错误 {c['error']}，警告 {c['warning']}，"
                               f"提示 {c['info']}", style="bold"))
            for x in t["items"]:
                style = {"error": "bold red", "warning": "yellow", "info": "cyan"}[x["severity"]]
                where = f"第 {x['item']} 项 {x['indicator']}" if x["item"] else "整表"
                console.print(Text.assemble((f"  [{x['severity_label']}] ", style), (f"{where}：", "bold"), x["message"],
                                            (f"  ({x['code']})", "dim")))
                if x["suggestion"]:
                    console.print(f"      建议：{x['suggestion']}")
        for f in unplaced:
            console.print(f"  [未导入] {f.location.describe()}：{f.message}")
        if not findings:
            console.print(Text("未发现问题。", style="green"))
    if ctx["errors"]:
        raise typer.Exit(1)


def _monitor_targets(path: Path):
    """The targets monitoring works on, from any targets input (data file, Word/Excel form, 自评表)."""
    from .intake import read_targets
    from .errors import collecting

    with collecting() as found:
        tset, _, _ = read_targets(path)
    for note in (x for x in found if isinstance(x, str)):
        typer.echo(note, err=True)
    return tset


@app.command("monitor-template")
def monitor_template_cmd(
    targets: Path = TARGETS_ARG,
    month: int = typer.Option(..., "--month", "-m", min=1, max=12, help="监控截至月份（如 7 表示 1–7 月）"),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="输出文件（默认 reports/<目标表文件名>-进度填报-<月>月.xlsx）"),
    previous: Optional[Path] = typer.Option(None, "--from", help="上次填报的进度（YAML/JSON 或进度填报表）：已填内容带入新表"),
) -> None:
    """生成年中绩效运行监控的进度填报表（Excel）：目标已锁定，填写累计执行数、截至本月完成值、全年预计、完成可能性、偏差原因和纠偏措施。"""
    from .monitor import load_progress
    from .monitor_workbook import write_progress_workbook

    with _reported(targets, previous):
        tset = _monitor_targets(targets)
        prior = load_progress(previous, tset) if previous is not None else None
        wanted = output or Path("reports") / f"{targets.stem}-进度填报-{month}月.xlsx"
        path = write_progress_workbook(tset, month, wanted, prior)
    typer.echo(f"进度填报表已写入 {path}" + (f"（{wanted.name} 已存在，未覆盖）" if path != wanted else ""))
    typer.echo(f"填好后运行：evaluator monitor {targets} {path} --month {month}")


@app.command("monitor")
def monitor_cmd(
    targets: Path = typer.Argument(..., help="绩效目标表（数据文件 YAML/JSON 或 Word/Excel 表）；或财政局：各单位提交所在的目录",
                                   show_default=False),
    progress: Optional[Path] = typer.Argument(None, help="年中进度：填好的进度填报表（.xlsx，evaluator monitor-template 生成）或"
                                                         "进度文件（YAML/JSON，格式见 README）；目录模式下不需要",
                                              show_default=False),
    month: Optional[int] = typer.Option(None, "--month", "-m", min=1, max=12, help="监控截至月份（默认取进度文件中的月份）"),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="输出目录（默认 reports/<进度文件名>/ 或 reports/bureau）"),
    rules: str = RULES_OPT,
    monitor_rules: Optional[str] = typer.Option(None, "--monitor-rules", help="监控规则：monitor（默认）、monitor-milestones 或规则文件路径"),
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出（不写文件）"),
) -> None:
    """绩效运行监控（双监控）：预算执行进度与时间进度、各指标目标实现程度和全年预计、偏差预警与纠偏措施；写出绩效运行监控表（xlsx、docx）和预警清单。"""
    from rich.text import Text
    from .load import load_targets
    from .output import dumps
    from .rules import load_rules
    from .monitor import (
        discover_progress, load_monitor_rules, load_progress, monitor, monitor_context, write_monitor_docx,
        write_monitor_xlsx, write_warning_list,
    )

    with _reported(targets, progress):
        rs, mrules = load_rules(rules), load_monitor_rules(monitor_rules)
        if targets.is_dir():
            pairs = discover_progress(targets)
            if not pairs:
                raise InputFileError("目录下没有同时含目标表（targets.yaml/json）和进度文件（progress.yaml/json，或进度填报表 progress.xlsx）的提交",
                                     where=str(targets))
            contexts, failed = [], []
            for t_path, p_path in pairs:
                try:
                    t_set = load_targets(t_path)
                    contexts.append(monitor_context(monitor(t_set, load_progress(p_path, t_set), rs, mrules, month)))
                except EvaluatorError as e:
                    failed.append((str(p_path), e.render()))
            if not contexts:
                raise InputFileError("没有一个提交可以读取", where=str(targets), hint=failed[0][1] if failed else None)
            year, m = contexts[0]["year"], contexts[0]["month"]
            if as_json:
                sys.stdout.write(dumps({"units": contexts, "failed": failed}))
                return
            out_dir = output or Path("reports") / "bureau"
            path = write_warning_list(contexts, out_dir / f"绩效监控预警清单-{year}-{m:02d}.xlsx", f"{year}年1–{m}月", year)
            red = sum(c["counts"]["red"] for c in contexts)
            yellow = sum(c["counts"]["yellow"] for c in contexts)
            typer.echo(f"{len(contexts)} 个单位：红色预警 {red} 项，黄色预警 {yellow} 项；预警清单已写入 {path}")
            for where, message in failed:
                typer.echo(f"  无法读取 {where}：{message}", err=True)
            return
        if progress is None:
            raise InputFileError("缺少进度文件", where=str(targets), hint="用法：evaluator monitor 目标表.yaml 进度.yaml --month 7")
        tset = _monitor_targets(targets)
        result = monitor(tset, load_progress(progress, tset), rs, mrules, month)
        ctx = monitor_context(result)
        if as_json:
            sys.stdout.write(dumps({**ctx, "result": result.model_dump()}))
            return
        out_dir = output or Path("reports") / progress.stem
        files = [write_monitor_xlsx(ctx, out_dir / f"{progress.stem}-绩效运行监控表.xlsx"),
                 write_monitor_docx(ctx, out_dir / f"{progress.stem}-绩效运行监控表.docx")]
    console = _console()
    console.print(Text(f"{ctx['unit_name']} {ctx['period']} 绩效运行监控（时间进度 {ctx['time_share']}，规则 {ctx['rules']}）",
                       style="bold"))
    if ctx["example"]:
        console.print(Text("【示例数据】进度为演示用示例，并非单位真实数据", style="magenta"))
    styles = {"red": "bold red", "yellow": "yellow", "green": "green", "none": ""}
    for t in ctx["tables"]:
        console.print(Text.assemble((f"{t['title']}：", "bold"), (f"[{t['light_label']}] ", styles[t["light"]]), t["message"]))
        for i in t["indicators"]:
            if i["light"] in ("red", "yellow"):
                console.print(Text.assemble("  ", (f"[{i['light_label']}] ", styles[i["light"]]), (f"{i['level3']}：", "bold"),
                                            i["message"]))
                if i["action"]:
                    console.print(f"      纠偏措施：{i['action']}")
    for u in ctx["unmatched"]:
        console.print(Text(f"[进度文件中的指标对应不到目标表] {u}", style="yellow"))
    console.print(f"红色预警 {ctx['counts']['red']} 项，黄色预警 {ctx['counts']['yellow']} 项；已写入：")
    for f in files:
        console.print(f"  {f}")


@app.command("trend")
def trend_cmd(
    unit: str = typer.Argument(..., help="单位名称（数据库中的部门名称，可写其中一部分）", show_default=False),
    db: Optional[str] = typer.Option(None, "--db", help="数据库（SQLAlchemy 地址），默认当前目录的 evaluator.db"),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="图表输出目录（默认 reports/trend/<单位>/）"),
    rules: str = RULES_OPT,
    trend_rules: Optional[str] = typer.Option(None, "--trend-rules", help="同比规则文件（默认 rules/checks/trend.yaml）"),
    as_json: bool = typer.Option(False, "--json", help="以 JSON 输出（不画图）"),
) -> None:
    """同比：一个单位多年的各表总分走势、每项指标各年的目标与实际（图）、多年不变的目标、连年大幅超额完成（目标偏低）的指标。"""
    from rich.text import Text
    from .output import dumps
    from .rules import load_rules
    from .output import write_atomic as write
    from .trend import load_trend_rules, trend_charts, trend_context, unit_trend

    with _reported():
        result = unit_trend(_store(db), unit, load_rules(rules), load_trend_rules(trend_rules))
        ctx = trend_context(result)
        if as_json:
            sys.stdout.write(dumps({**ctx, "result": result.model_dump(mode="json")}))
            return
        out_dir = output or Path("reports") / "trend" / result.unit_name
        files = [write(out_dir / f"{name}.png", png) for name, png in trend_charts(result).items()]
    console = _console()
    console.print(Text(f"{ctx['unit_name']} {ctx['years'][0]}–{ctx['years'][-1]} 年同比（{ctx['rules']}）", style="bold"))
    console.print("  单位得分：" + "；".join(f"{x['year']} 年 {x['score']}" + (f"（{x['change']}）" if x["change"] else "")
                                        for x in ctx["score"]))
    for t in ctx["tables"]:
        console.print(Text(f"{t['title']}（{t['indicators']} 项指标）", style="bold"))
        console.print("  总分：" + "；".join(f"{y['year']} 年 {y['total']}{y['grade'] and ' ' + y['grade']}"
                                          + (f"（{y['change']}）" if y["change"] else "") for y in t["years"]))
        for f in t["flagged"]:
            console.print(Text.assemble("  ", (f"{f['level3']}：", "yellow"), f["note"]))
    console.print(f"有 {ctx['flagged']} 项指标值得关注；图表已写入 {out_dir}（{len(files)} 张）")


@app.command("import")
def import_cmd(
    form: Path = typer.Argument(..., help="官方绩效目标表或自评表（.docx/.doc/.wps/.xlsx/.xls/.et/.csv），可含多张表",
                                show_default=False),
    output: Path = typer.Option(Path("data/targets"), "--output", "-o", help="目标表数据文件的输出目录"),
    actuals_dir: Path = typer.Option(Path("data/actuals"), "--actuals-dir",
                                     help="导入自评表时，实际完成值数据文件的输出目录"),
    unit: Optional[str] = typer.Option(None, "--unit", help="部门（单位）名称（表中没有时使用）"),
    force: bool = typer.Option(False, "--force", help="覆盖已存在的目标表文件（含实际完成值的文件永远不会被覆盖）"),
) -> None:
    """读取官方 Word/Excel 绩效目标表（或已填好的自评表），写成目标表（和实际完成值）数据文件。"""
    from rich.text import Text
    from .model import TABLE_KIND_LABEL
    from .output import write_atomic
    from .errors import collecting
    from .forms import import_form
    from .workbook import dump_yaml, free_path

    with _reported(form), collecting() as found:
        result = import_form(form, unit_name=unit)
        result.findings.extend(f for f in found if not isinstance(f, str))
        for note in (x for x in found if isinstance(x, str)):
            typer.echo(note, err=True)
        stem = form.stem
        header = f"# 由 evaluator import 从 {form.name} 导入；请核对后使用。\n"
        target_path = free_path(output / f"{stem}.yaml", force=force)
        write_atomic(target_path, dump_yaml(result.targets, header))
        actual_path = None
        if result.actuals is not None:
            actual_path = free_path(actuals_dir / f"{stem}.yaml", force=False)
            write_atomic(actual_path, dump_yaml(result.actuals, header))
    console = _console()
    for t in result.targets.tables:
        what = f"{len(t.indicators)} 项指标" if t.indicators else f"{len(t.fund_items)} 项专项资金"
        console.print(f"  {t.form or ''} {t.title}（{TABLE_KIND_LABEL[t.kind]}，{what}）→ 表编号 {t.id}")
    console.print(f"目标表已写入 {target_path}" + ("（同名文件已存在，另存为新版本）" if target_path.name != f"{stem}.yaml" else ""))
    if actual_path:
        console.print(f"实际完成值已写入 {actual_path}" +
                      ("（同名文件已存在，另存为新版本）" if actual_path.name != f"{stem}.yaml" else ""))
    if result.findings:
        console.print(Text(f"有 {len(result.findings)} 处内容未能导入，请核对：", style="bold yellow"))
        for f in result.findings:
            console.print(f"  {f.location.describe()}：{f.message}")
        raise typer.Exit(0)


@app.command("template")
def template_cmd(
    targets: Path = typer.Argument(..., help="目标表：数据文件（YAML/JSON）或 Word/Excel 绩效目标表", show_default=False),
    output: Path = typer.Option(Path("自评填报.xlsx"), "--output", "-o", help="填报表文件名"),
    actuals: Optional[Path] = typer.Option(None, "--actuals", help="已有的实际完成值文件：把已填内容带入新表"),
    rules: str = RULES_OPT,
    force: bool = typer.Option(False, "--force", help="覆盖已存在但尚未填写的填报表（已填写的永远不会被覆盖）"),
) -> None:
    """生成给填表人填写的 Excel 填报表：每张表一个工作表，目标和分值锁定，只填实际完成值等黄色单元格。"""
    from .rules import load_rules
    from .workbook import free_path, write_template

    from .intake import read_inputs
    from .load import paused_gc

    with paused_gc():  # (one pause for reading and writing: a collection between them walks every table's objects)
        with _reported(targets, actuals):
            got = read_inputs(targets, actuals, need_actuals=False)
            if got.one_file:
                raise InputFileError("这是已填好的自评表（含实际完成值），不需要再生成填报表", where=str(targets),
                                     hint=f"直接评分：evaluator score {targets.name}；或生成自评报告：evaluator report {targets.name}")
            for note in got.notes:
                typer.echo(note, err=True)
            tset, aset = got.targets, got.actuals
            path = free_path(output, force=force)
            write_template(tset, load_rules(rules), path, aset)
        for f in got.findings:
            typer.echo(f"注意：{f.location.describe()}：{f.message}", err=True)
        note = "（同名文件已存在，为避免覆盖已填内容，另存为新版本）" if path != output else ""
        typer.echo(f"填报表已写入 {path}{note}")
        typer.echo(f"填好后运行：evaluator score {targets} {path}")


DB_OPT = typer.Option(None, "--db", help="数据库（SQLAlchemy 地址），默认当前目录的 evaluator.db")


def _store(db: Optional[str]):
    from .store import Store

    return Store(db)


@app.command("batch")
def batch_cmd(
    folder: Path = typer.Argument(..., help="包含各部门提交的目录（每个部门一个子目录：targets 与 actuals 数据文件或填报表）",
                                  show_default=False),
    year: Optional[int] = typer.Option(None, "--year", help="只评这一年度"),
    rules: str = RULES_OPT,
    db: Optional[str] = DB_OPT,
) -> None:
    """财政局：对目录下所有部门的自评评分并存入数据库；坏文件不会中断，最后逐一列出。"""
    from rich.console import Console
    from .rules import load_rules
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from .bureau import batch

    from contextlib import ExitStack

    try:
        with _reported(), ExitStack() as stack:
            rs = load_rules(rules)
            store = stack.enter_context(_store(db))
            with Progress(TextColumn("读取提交"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                          console=Console(stderr=True), transient=True) as bar:
                task = bar.add_task("read", total=None)
                result = batch(folder, rs, store, year, progress=lambda k, n: bar.update(task, completed=k, total=n))
    except KeyboardInterrupt:
        typer.echo("已中断：已评分的部门已存入数据库；再次运行 batch 会跳过未变化的提交，从中断处继续。", err=True)
        raise typer.Exit(130)
    c = result.counts
    if result.errors:  # listed before the summary, so the last line says what happened overall
        typer.echo(f"有 {len(result.errors)} 个提交未评分（无法读取，或与另一目录重名），已跳过：", err=True)
        for where, message in result.errors:
            typer.echo(f"  {where}：{message}", err=True)
    typer.echo(f"已评分 {result.scored_tables} 张表（{result.indicators} 项指标）：新增 {c.get('new', 0)}，"
               f"新版本 {c.get('updated', 0)}，未变化 {c.get('unchanged', 0)}；结果存入 {store.shown_url}")
    if result.errors:
        raise typer.Exit(1)  # a run with an unreadable submission is not a clean run (scripts can tell)


@app.command("compare")
def compare_cmd(
    year: Optional[int] = typer.Option(None, "--year", help="年度（默认数据库中最新的年度）"),
    output: Path = typer.Option(Path("reports/bureau"), "--output", "-o", help="输出目录"),
    tolerance: float = typer.Option(10.0, "--tolerance", help="自评与复核总分相差多少分以上标记（等级变化总会标记）"),
    db: Optional[str] = DB_OPT,
) -> None:
    """财政局：生成各部门对比（排名、等级分布、一级指标、执行率与得分、疑点、同比、自评与复核）：Excel 和 HTML。"""
    from .bureau import build_view, write_view

    with _reported(), _store(db) as store:
        view = build_view(store, year, tolerance)
        files = write_view(view, output)
    dept = view["departments"]
    typer.echo(f"{int(view['year']['year'].iloc[0])} 年度：{len(dept)} 个部门，{len(view['submissions'])} 张表，"
               f"{view['flags']['submission_id'].nunique()} 张表有疑点")
    for f in files:
        typer.echo(f"  {f}")


review_app = typer.Typer(help="复核：抽样、导出复核表、导入复核结果", no_args_is_help=True, rich_markup_mode=None)
app.add_typer(review_app, name="review")


@review_app.command("sample")
def review_sample_cmd(
    share: float = typer.Option(0.15, "--share", help="抽样比例"),
    seed: int = typer.Option(1, "--seed", help="随机种子（相同种子得到相同样本）"),
    stratify: bool = typer.Option(False, "--stratify", help="按等级分层抽样"),
    year: Optional[int] = typer.Option(None, "--year"),
    output: Path = typer.Option(Path("复核表.xlsx"), "--output", "-o", help="复核表文件"),
    db: Optional[str] = DB_OPT,
) -> None:
    """抽取复核样本并生成复核表（复核人员填写“复核得分”“复核意见”）。"""
    from .bureau import draw_sample, write_review_workbook
    from .workbook import free_path

    with _reported(), _store(db) as store:
        sample = draw_sample(store, year, share, seed, stratify)
        path = write_review_workbook(store, sample, free_path(output))
    typer.echo(f"抽取 {len(sample)} 张表（{sample['department'].nunique()} 个部门），复核表已写入 {path}")


@review_app.command("import")
def review_import_cmd(
    file: Path = typer.Argument(..., help="填好的复核表（.xlsx）", show_default=False),
    reviewer: Optional[str] = typer.Option(None, "--reviewer", help="复核人"),
    db: Optional[str] = DB_OPT,
) -> None:
    """导入复核结果；之后 evaluator compare 会显示自评与复核的偏差。"""
    from .bureau import import_reviews

    with _reported(), _store(db) as store:
        n = import_reviews(store, file, reviewer)
    typer.echo(f"已导入 {n} 项复核得分")


@app.command("serve")
def serve_cmd(
    db: Optional[str] = DB_OPT,
    host: str = typer.Option("127.0.0.1", "--host", help="监听地址（默认只接受本机访问）"),
    port: int = typer.Option(8000, "--port", help="端口"),
    workers: int = typer.Option(1, "--workers", help="工作进程数（PostgreSQL 部署可多开，见 docs/deploy.md）"),
    demo: bool = typer.Option(False, "--demo", help="数据库还没有账号时，先装入演示数据（财政局、石峰区政协、示例单位和 2023 年度任务）"),
) -> None:
    """启动网页版（自评任务、填报、送审、退回、复核、对比）。默认使用当前目录的 evaluator.db。"""
    import uvicorn

    from .store import Store, default_url

    url = db or default_url()
    with _reported():
        with Store(url) as store:
            shown = store.shown_url
            if demo:
                from .web.demo import DEMO_PASSWORD, seed_demo

                if seed_demo(store).get("users"):
                    typer.echo(f"已装入演示数据。账号：bureau（财政局）、shifeng-clerk（石峰区政协填报人）、shifeng-head"
                               f"（负责人）、supervisor（主管部门）、unit1-clerk …，密码均为 {DEMO_PASSWORD}")
            from .web.auth import list_users

            if not list_users(store):
                typer.echo("数据库中还没有账号：请先运行 evaluator users add 用户名 --role bureau 开设账号", err=True)
    typer.echo(f"evaluator 网页版：http://{host}:{port}/  （数据库 {shown}；Ctrl-C 停止）")
    import os

    os.environ["EVALUATOR_DB"] = url
    uvicorn.run("evaluator.web.asgi:app", host=host, port=port, workers=workers, log_level="warning",
                proxy_headers=True)


users_app = typer.Typer(help="账号：开设、列出、改密码、停用、程序访问令牌", no_args_is_help=True, rich_markup_mode=None)
app.add_typer(users_app, name="users")


def _password(password: Optional[str]) -> str:
    if password:
        return password
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    import getpass

    first = getpass.getpass("密码：")
    if getpass.getpass("再输入一次：") != first:
        raise EvaluatorError("两次输入的密码不一致")
    return first


@users_app.command("add")
def users_add_cmd(
    username: str = typer.Argument(..., help="用户名（登录用）", show_default=False),
    role: str = typer.Option(..., "--role", help="clerk 单位填报人 | head 单位负责人 | supervisor 主管部门 | bureau 财政局 | admin 管理员"),
    unit: Optional[str] = typer.Option(None, "--unit", help="所属单位（填报人、负责人、主管部门须填）"),
    name: Optional[str] = typer.Option(None, "--name", help="姓名"),
    password: Optional[str] = typer.Option(None, "--password", help="密码（不填则从终端或标准输入读取）"),
    db: Optional[str] = DB_OPT,
) -> None:
    """开设账号（密码以 argon2 散列保存）。"""
    from .web.auth import add_user

    with _reported(), _store(db) as store:
        user = add_user(store, username, _password(password), role, unit, name)
    typer.echo(f"已开设账号 {user.username}（{user.role.value}）")


@users_app.command("list")
def users_list_cmd(db: Optional[str] = DB_OPT) -> None:
    """列出全部账号。"""
    from .web.auth import list_users
    from .web.permissions import ROLE_LABEL, Role

    with _reported(), _store(db) as store:
        rows = list_users(store)
    for r in rows:
        typer.echo(f"{r['username']}\t{ROLE_LABEL[Role(r['role'])]}\t{r['unit'] or '—'}\t{r['name'] or ''}\t"
                   f"{'正常' if r['active'] else '已停用'}")


@users_app.command("passwd")
def users_passwd_cmd(username: str = typer.Argument(..., show_default=False),
                     password: Optional[str] = typer.Option(None, "--password"), db: Optional[str] = DB_OPT) -> None:
    """修改密码（该账号已登录的会话全部失效）。"""
    from .web.auth import set_password

    with _reported(), _store(db) as store:
        set_password(store, username, _password(password))
    typer.echo(f"已修改 {username} 的密码")


@users_app.command("disable")
def users_disable_cmd(username: str = typer.Argument(..., show_default=False), db: Optional[str] = DB_OPT) -> None:
    """停用账号（会话和令牌随即失效；记录保留）。"""
    from .web.auth import set_active

    with _reported(), _store(db) as store:
        set_active(store, username, False)
    typer.echo(f"已停用 {username}")


@users_app.command("enable")
def users_enable_cmd(username: str = typer.Argument(..., show_default=False), db: Optional[str] = DB_OPT) -> None:
    """重新启用账号。"""
    from .web.auth import set_active

    with _reported(), _store(db) as store:
        set_active(store, username, True)
    typer.echo(f"已启用 {username}")


@users_app.command("token")
def users_token_cmd(username: str = typer.Argument(..., show_default=False),
                    name: Optional[str] = typer.Option(None, "--name", help="令牌用途，例如 省平台"),
                    db: Optional[str] = DB_OPT) -> None:
    """为程序访问 /api/ 生成令牌（只显示这一次）：Authorization: Bearer 令牌。"""
    from .web.auth import new_api_token

    with _reported(), _store(db) as store:
        token = new_api_token(store, username, name)
    typer.echo(token)


units_app = typer.Typer(help="单位：导入单位名单（含主管部门）、列出", no_args_is_help=True, rich_markup_mode=None)
app.add_typer(units_app, name="units")


@units_app.command("import")
def units_import_cmd(file: Path = typer.Argument(..., help="单位名单（CSV 或 .xlsx）：单位名称、主管部门、单位编码（可选）",
                                                 show_default=False), db: Optional[str] = DB_OPT) -> None:
    """导入单位名单；主管部门不存在时一并建立。已有的单位更新其主管部门和编码。"""
    from .web.workflow import import_units

    with _reported(), _store(db) as store:
        counts = import_units(store, file)
    typer.echo(f"读取 {counts['rows']} 行，新增 {counts['new']} 个单位（含主管部门）")


@units_app.command("list")
def units_list_cmd(db: Optional[str] = DB_OPT) -> None:
    """列出全部单位及其主管部门。"""
    from .web.workflow import list_units

    with _reported(), _store(db) as store:
        rows = list_units(store)
    for r in rows:
        typer.echo(f"{r['name']}\t{r['parent'] or '—'}\t{r['code'] or ''}")


@app.command("synth")
def synth_cmd(
    departments: int = typer.Option(50, "--departments", "-n", help="部门数"),
    seed: int = typer.Option(1, "--seed", help="随机种子"),
    output: Path = typer.Option(Path("province"), "--output", "-o", help="输出目录"),
    year: int = typer.Option(2023, "--year", help="年度（最后一年）"),
    years: int = typer.Option(1, "--years", help="生成几个年度（用于同比）"),
    tables: int = typer.Option(11, "--tables", help="每个部门的表数"),
    indicators: int = typer.Option(20, "--indicators", help="每张表的指标数（最多 20）"),
) -> None:
    """生成一个合成的“省”：各部门的目标表和实际完成值（用于演示、测试和基准）。"""
    from .synth import synth_province

    with _reported():
        counts = synth_province(output, departments, seed, year, tables, indicators, years)
    typer.echo(f"已生成 {counts['departments']} 个部门、{counts['tables']} 张表、{counts['indicators']} 项指标"
               f"（其中 {counts['broken_files']} 个文件故意损坏）：{output}")


@app.command("rules")
def rules_cmd(rule_id: Optional[str] = typer.Argument(None, help="规则集编号或规则文件路径；省略时列出全部规则集")) -> None:
    """列出可用的规则集，或说明某个规则集的全部设置及其依据。"""
    from rich.table import Table
    from .rules import list_rule_sets, load_rules
    console = _console()
    with _reported():
        if rule_id is None:
            table = Table(title="可用规则集", show_lines=True)
            for col in ("编号", "版本", "名称", "依据"):
                table.add_column(col, overflow="fold")
            for rs in list_rule_sets():
                table.add_row(rs.id, rs.version, rs.title, "；".join(s.title for s in rs.sources))
            console.print(table)
            console.print("查看某个规则集的全部设置：evaluator rules 编号")
            return
        rs = load_rules(rule_id)
        from .ruledoc import describe_rules

        tables = describe_rules(rs)
    for title, header, rows in tables:
        table = Table(title=title, show_lines=True, title_justify="left", expand=True)
        for k, col in enumerate(header):
            table.add_column(col, overflow="fold", ratio=3 if k == len(header) - 1 else 1)
        for row in rows:
            table.add_row(*row)
        console.print(table)


def main() -> None:
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
