"""Command line: a thin typer layer over the public API; every message in Chinese."""
from __future__ import annotations

import json
import sys
import traceback
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, NoReturn, Optional

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from . import __version__
from .errors import EvaluatorError, InputFileError
from .load import inputs_hash
from .model import BAND_LABEL, ActualSet, Evaluation, Severity, TABLE_KIND_LABEL, TargetSet
from .output import dumps, evaluation_json, write_atomic
from .rules import METHODS, RuleSet, fmt, list_rule_sets, load_rules

app = typer.Typer(
    help="evaluator：预算绩效自评评分引擎。读取绩效目标表和实际完成值，按评分规则计算每项指标得分，给出计算过程、总分和等级。",
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,
)
_state = {"debug": False}


def _console() -> Console:
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


def _load(targets: Path, actuals: Optional[Path], budget: Optional[float], spent: Optional[float],
          rules_ref: str) -> tuple[Evaluation, RuleSet]:
    ev, rules, _, _ = _load_all(targets, actuals, budget, spent, rules_ref)
    return ev, rules


def _load_all(targets: Path, actuals: Optional[Path], budget: Optional[float], spent: Optional[float],
              rules_ref: str) -> tuple[Evaluation, RuleSet, TargetSet, Optional[ActualSet]]:
    from .intake import read_inputs
    from .score import evaluate

    rules = load_rules(rules_ref)
    got = read_inputs(targets, actuals, budget, spent)
    for note in got.notes:
        typer.echo(note, err=True)
    files = (targets,) if actuals is None else (targets, actuals)
    ev = evaluate(got.targets, got.actuals, rules, targets_file=str(targets),
                  actuals_file=str(actuals) if actuals is not None else None, inputs_hash=inputs_hash(*files))
    findings = got.findings + ev.findings
    if got.one_file:  # the budget is read from the 自评表 itself: say so, not "the budget key of an actuals file"
        findings = [f.model_copy(update={"message": "缺少全年预算数或全年执行数，预算执行率无法计分：自评表中没有填写预算执行情况"
                                                    "（年初预算数/全年预算数/全年执行数）；请在表中填写，或用 --budget 全年预算数 "
                                                    "--spent 全年执行数 指定"}) if f.code == "missing-budget" else f
                    for f in findings]
    ev = ev.model_copy(update={"findings": findings})
    return ev, rules, got.targets, got.actuals


_STATUS = {"ok": "", "na": "不适用", "error": "无法计分"}
_SEVERITY = {Severity.ERROR: ("错误", "bold red"), Severity.WARNING: ("警告", "yellow"), Severity.INFO: ("提示", "cyan")}


def _print_evaluation(ev: Evaluation, rules: RuleSet, console: Console) -> None:
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
        for i in t.indicators:
            l1 = "" if i.level1 == prev[0] else i.level1
            l2 = "" if (i.level1, i.level2) == prev else i.level2
            prev = (i.level1, i.level2)
            score = f"{i.score:.{rules.rounding.decimals}f}" if i.score is not None else _STATUS[i.status]
            style = "red" if i.status == "error" else ("dim" if i.status == "na" else
                                                       ("yellow" if i.score is not None and i.weight and i.score < i.weight - 1e-9 else ""))
            table.add_row(l1, l2, i.level3, i.target or "（空）", i.actual or "（空）",
                          fmt(i.weight), Text(score, style=style), i.explanation)
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
            console.print(Text(f"  总分暂无法确定：有指标无法计分或缺少预算执行数据（已计部分 {partial} 分），请先处理下列错误",
                               style="bold red"))
        console.print()
    for title in ev.unscored_tables:
        console.print(f"{title}：汇总表，没有绩效指标，不单独评分。")
    _print_findings(ev, console)


def _print_findings(ev: Evaluation, console: Console) -> None:
    if not ev.findings:
        console.print(Text("未发现问题。", style="green"))
        return
    counts = {s: sum(1 for f in ev.findings if f.severity == s) for s in Severity}
    console.print(Text(f"发现 {len(ev.findings)} 项问题：错误 {counts[Severity.ERROR]}，警告 {counts[Severity.WARNING]}，"
                       f"提示 {counts[Severity.INFO]}", style="bold"))
    for f in sorted(ev.findings, key=lambda f: list(Severity).index(f.severity)):
        label, style = _SEVERITY[f.severity]
        console.print(Text.assemble((f"[{label}] ", style), (f"{f.location.describe()}：", "bold"), f.message,
                                    (f"  ({f.code})", "dim")))


@contextmanager
def _reported() -> Iterator[None]:
    """Any error inside becomes the one-line Chinese message of ``_fail`` and exit code 1 (never a traceback)."""
    try:
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
    else:
        typer.echo(f"内部错误（{type(e).__name__}：{e}）。请加 --debug 重新运行并把输出报告给开发者。", err=True)
    raise typer.Exit(1)


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
) -> None:
    """计算每项指标得分（附计算过程）、一级指标小计、预算执行率得分、总分和等级。"""
    with _reported():
        ev, rs = _load(targets, actuals, budget, spent, rules)
        payload = evaluation_json(ev)
        if output:
            write_atomic(output, dumps(payload))
    if as_json:
        sys.stdout.write(dumps(payload))
    else:
        console = _console()
        _print_evaluation(ev, rs, console)
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
    with _reported():
        ev, _ = _load(targets, actuals, budget, spent, rules)
    if as_json:
        sys.stdout.write(dumps(evaluation_json(ev)["findings"]))
    else:
        _print_findings(ev, _console())
    if any(f.severity == Severity.ERROR for f in ev.findings):
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
) -> None:
    """生成每张表的自评表（xlsx、docx）和自评报告（html、docx、pdf，含图表），可直接随决算报送。"""
    from .report import FORMATS, write_reports

    with _reported():
        wanted = [f.strip().lower() for f in formats.split(",") if f.strip()]
        unknown = [f for f in wanted if f not in FORMATS]
        if unknown or not wanted:
            raise InputFileError(f"不支持的输出格式：{'、'.join(unknown) or '（空）'}", hint=f"可用格式：{','.join(FORMATS)}")
        ev, rs, tset, aset = _load_all(targets, actuals, budget, spent, rules)
        out_dir = output or Path("reports") / targets.stem
        if "pdf" in wanted:
            from .charts import pdf_font_ready

            if not pdf_font_ready():
                typer.echo("首次生成 PDF：正在建立中文字体缓存（约 20 秒，每台机器只需一次）……", err=True)
        files = write_reports(tset, aset, ev, rs, out_dir, wanted)
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
    from .errors import collecting
    from .forms import import_form
    from .workbook import dump_yaml, free_path

    with _reported(), collecting() as found:
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
    from .workbook import free_path, write_template

    from .intake import read_inputs

    with _reported():
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
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from .bureau import batch

    try:
        with _reported():
            rs = load_rules(rules)
            store = _store(db)
            with Progress(TextColumn("读取提交"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                          console=Console(stderr=True), transient=True) as bar:
                task = bar.add_task("read", total=None)
                result = batch(folder, rs, store, year, progress=lambda k, n: bar.update(task, completed=k, total=n))
    except KeyboardInterrupt:
        typer.echo("已中断：已评分的部门已存入数据库；再次运行 batch 会跳过未变化的提交，从中断处继续。", err=True)
        raise typer.Exit(130)
    c = result.counts
    typer.echo(f"已评分 {result.scored_tables} 张表（{result.indicators} 项指标）：新增 {c.get('new', 0)}，"
               f"新版本 {c.get('updated', 0)}，未变化 {c.get('unchanged', 0)}；结果存入 {store.url}")
    if result.errors:
        typer.echo(f"有 {len(result.errors)} 个提交无法读取，已跳过：", err=True)
        for where, message in result.errors:
            typer.echo(f"  {where}：{message}", err=True)


@app.command("compare")
def compare_cmd(
    year: Optional[int] = typer.Option(None, "--year", help="年度（默认数据库中最新的年度）"),
    output: Path = typer.Option(Path("reports/bureau"), "--output", "-o", help="输出目录"),
    tolerance: float = typer.Option(10.0, "--tolerance", help="自评与复核总分相差多少分以上标记（等级变化总会标记）"),
    db: Optional[str] = DB_OPT,
) -> None:
    """财政局：生成各部门对比（排名、等级分布、一级指标、执行率与得分、疑点、同比、自评与复核）：Excel 和 HTML。"""
    from .bureau import build_view, write_view

    with _reported():
        view = build_view(_store(db), year, tolerance)
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

    with _reported():
        store = _store(db)
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

    with _reported():
        n = import_reviews(_store(db), file, reviewer)
    typer.echo(f"已导入 {n} 项复核得分")


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
    console.print(Text(f"{rs.id} 版本 {rs.version}：{rs.title}", style="bold"))
    if rs.description:
        console.print(rs.description.strip())
    console.print(Text("依据：", style="bold"))
    for s in rs.sources:
        console.print(f"  [{s.tag}] {s.title}" + (f"  {s.url}" if s.url else "") + (f"\n      {s.note}" if s.note else ""))
    console.print(Text("权重：", style="bold"))
    for g in rs.weights.groups:
        match = "、".join(g.match_level1) + (f"（二级指标含 {'、'.join(g.match_level2)} 也归入此组）" if g.match_level2 else "")
        console.print(f"  {g.label} {fmt(g.weight)} 分 — 一级指标含 {match}")
    console.print(f"  预算执行率 {fmt(rs.weights.execution)} 分；目标表无分值时：" +
                  ("一级指标分值平均分配到三级指标" if rs.weights.split == "even" else "先平均分到二级指标，再平均分到三级指标"))
    console.print(Text("计分方法：", style="bold"))
    for key, label in (("higher", "正向（≥、＞）"), ("lower", "反向（≤、＜、成本）"), ("equal", "等于（=）"),
                       ("band", "区间（±）"), ("deadline", "时效（期限）"), ("qualitative", "定性")):
        m = getattr(rs.scoring, key)
        params = {k: v for k, v in m.model_dump(mode="json").items() if k != "method"}
        extra = ""
        if key == "qualitative":
            extra = "；".join(f"{BAND_LABEL[b]} {fmt(s.range[0])}–{fmt(s.range[1])}%（默认 {fmt(s.default)}%）"
                             for b, s in m.bands.items())
        elif params:
            extra = json.dumps(params, ensure_ascii=False)
        console.print(f"  {label}：{m.method} — {METHODS[m.method].label}" + (f"；{extra}" if extra else ""))
    console.print(f"  不适用指标：{'按适用指标折算' if rs.not_applicable == 'rescale' else '计满分'}；"
                  f"缺少实际完成值：{'报错，不计分' if rs.missing_actual == 'error' else '计 0 分并提示'}")
    oa = rs.over_achievement
    console.print("  超额完成：" + (f"达到目标 {fmt(oa.threshold * 100)}% 及以上扣 {fmt(oa.deduction)} 分" if oa.enabled else "不扣分"))
    ex = rs.execution
    console.print("  预算执行率：" + ("执行率 × 分值" if ex.method == "proportional" else
                                  f"100% 得满分，每低于 {fmt(ex.step)}% 扣 {fmt(ex.points)} 分") +
                  (f"；低于 {fmt(ex.reason_below * 100)}% 须说明原因" if ex.reason_below else ""))
    for c in ex.total_caps:
        console.print(f"    执行率低于 {fmt(c.below * 100)}% 时总分不超过 {fmt(c.cap)}")
    console.print(f"  取整：保留 {rs.rounding.decimals} 位小数（{rs.rounding.mode}）")
    console.print("  等级：" + "，".join(f"{g.grade} ≥ {fmt(g.min)}" for g in rs.grades))


def main() -> None:
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
