"""Year on year: one unit's tables across the years in the bureau's store — each indicator's target and actual, the
targets that never move, the ones met with room to spare every year (set too low), and the score trend.

Tables are matched across years by their id without the year (``D0001-2022-01`` ↔ ``D0001-2023-01``), indicators by
二级 + 三级 name. Stored targets and actuals are text; the engine (``score_frame``) reads them into numbers in the
target's unit and tells the direction, so "met with room" follows the same reading as the scores.
"""
from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from .checks import CheckRules, Section, load_check_rules
from .columns import num as _num, records
from .errors import EvaluatorError
from .model import ActualSet, Actual, Indicator, TableActuals, TableKind, TargetSet, TargetTable
from .rules import RuleSet, fmt
from .target_review import table_key

__all__ = ["TrendRules", "load_trend_rules", "unit_trend", "UnitTrend", "trend_context", "trend_charts",
           "find_unit"]


class NeverMoves(Section):
    min_years: int = Field(3, ge=2)
    skip_units: tuple[str, ...] = ("%",)  # rates held at a standard (合格率 ≥95%) are left to the "room" check


class Room(Section):
    min_years: int = Field(2, ge=1)
    ratio: float = Field(1.3, gt=1)


class TrendRules(CheckRules):
    """Year-on-year settings (rules/checks/trend.yaml)."""

    SECTIONS: ClassVar[tuple[str, ...]] = ("never_moves", "room")
    never_moves: NeverMoves
    room: Room


def load_trend_rules(ref: str | Path | None = None) -> TrendRules:
    return load_check_rules(TrendRules, "trend", ref)


# --------------------------------------------------------------------------- the result
class YearPoint(BaseModel):
    model_config = ConfigDict(extra="forbid")
    year: int
    target: str
    actual: str | None
    target_value: float | None  # in the target's unit (the engine's reading)
    actual_value: float | None
    score: float | None
    weight: float | None
    status: str | None


class IndicatorTrend(BaseModel):
    model_config = ConfigDict(extra="forbid")
    level1: str
    level2: str
    level3: str
    unit: str | None
    scale: float = 1.0  # how the target's number is written (万 → 1e4): charts show it that way
    direction: str | None
    points: list[YearPoint]
    never_moves: bool
    room: bool  # met with room to spare in every year (target set too low)
    note: str  # the finding in words, "" when there is none


class TableTrend(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: str
    title: str
    kind: str | None
    totals: dict[int, float | None]  # year → total
    grades: dict[int, str | None]
    execution: dict[int, float | None]  # year → 执行率
    indicators: list[IndicatorTrend]


class UnitTrend(BaseModel):
    model_config = ConfigDict(extra="forbid")
    unit_name: str
    years: list[int]
    rules: str
    score: dict[int, float | None]  # the unit's score per year (部门整体 table, else the mean of its tables)
    tables: list[TableTrend]


# --------------------------------------------------------------------------- reading the store
def find_unit(store: Any, name: str) -> str:
    """The stored department ``name`` means: exact, else the only one containing it (else a message with candidates)."""
    units = sorted({s["department"] for s in store.current()})
    if name in units:
        return name
    part = [u for u in units if name and name in u]
    if len(part) == 1:
        return part[0]
    if part:
        raise EvaluatorError(f"“{name}”对应多个单位：{'、'.join(part[:10])}" + ("……" if len(part) > 10 else ""),
                             hint="请写出完整的单位名称")
    close = difflib.get_close_matches(name, units, n=5, cutoff=0.3)
    raise EvaluatorError(f"数据库中没有单位“{name}”", where=store.shown_url,
                         hint=("相近的单位：" + "、".join(close)) if close else
                         ("数据库中还没有任何单位，请先运行 evaluator batch" if not units else f"共有 {len(units)} 个单位"))


def unit_trend(store: Any, unit_name: str, rules: RuleSet, trules: TrendRules | None = None) -> UnitTrend:
    """A unit's tables and indicators across every year in the store (the latest version of each)."""
    from .frame import indicator_frame
    from .score import score_frame

    trules = trules or load_trend_rules()
    unit = find_unit(store, unit_name)
    subs = [s for s in store.current() if s["department"] == unit]
    years = sorted({s["year"] for s in subs})
    rows = store.indicators_of([s["id"] for s in subs], ("submission_id", "position", "level1", "level2", "level3",
                                                         "target", "actual", "weight", "score", "status"))
    by_sub: dict[int, list[dict[str, Any]]] = {}
    for r in rows:
        by_sub.setdefault(r["submission_id"], []).append(r)
    # the engine reads the stored texts: one table per submission, ids made unique by the submission id
    tables, entries = [], []
    for s in subs:
        inds = by_sub.get(s["id"], [])
        tid = f"s{s['id']}"
        tables.append(TargetTable(id=tid, kind=TableKind.PROJECT, title=s["title"] or s["table_id"], unit_name=unit,
                                  year=s["year"], indicators=[
                                      Indicator(level1=r["level1"] or "", level2=r["level2"] or "",
                                                level3=r["level3"] or "", target=r["target"] or "") for r in inds]))
        entries.append(TableActuals(table=tid, indicators=[
            Actual(indicator=r["level3"] or "", level2=r["level2"] or "", actual=r["actual"]) for r in inds]))
    read: dict[tuple[str, int], dict[str, Any]] = {}
    if tables:
        frame, _ = indicator_frame(TargetSet(unit_name=unit, year=years[-1], tables=tables),
                                   ActualSet(unit_name=unit, year=years[-1], tables=entries))
        for r in records(score_frame(frame, rules)):
            read[(str(r["table"]), int(r["position"]))] = r
    groups: dict[str, list[dict[str, Any]]] = {}
    for s in subs:
        groups.setdefault(table_key(s["table_id"]) or table_key("", s["title"]), []).append(s)
    out_tables = []
    for key, members in groups.items():
        members.sort(key=lambda s: s["year"])
        series: dict[tuple[str, str], dict[str, Any]] = {}
        for s in members:
            for pos, r in enumerate(by_sub.get(s["id"], [])):
                e = read.get((f"s{s['id']}", pos), {})
                item = series.setdefault((r["level2"] or "", r["level3"] or ""), {"level1": r["level1"] or "",
                                                                                 "points": [], "unit": None,
                                                                                 "direction": None})
                item["unit"] = item["unit"] or _label(e.get("t_unit"))
                item["scale"] = _num(e.get("t_scale")) or item.get("scale") or 1.0
                item["direction"] = _label(e.get("direction_used")) or item["direction"]
                item["points"].append(YearPoint(
                    year=s["year"], target=r["target"] or "", actual=r["actual"], target_value=_num(e.get("t_val")),
                    actual_value=_num(e.get("a_val")), score=r["score"], weight=r["weight"], status=r["status"]))
                item.setdefault("kinds", set()).add(_label(e.get("t_kind")))
        indicators = [_indicator(l2, l3, item, trules) for (l2, l3), item in series.items()]
        last = members[-1]
        out_tables.append(TableTrend(
            key=key, title=_yearless(last["title"] or last["table_id"]), kind=last.get("kind"),
            totals={s["year"]: s["total"] for s in members}, grades={s["year"]: s["grade"] for s in members},
            execution={s["year"]: s["execution_rate"] for s in members}, indicators=indicators))
    return UnitTrend(unit_name=unit, years=years, rules=trules.label, score=_unit_score(subs, years),
                     tables=out_tables)



def _label(x: Any) -> str | None:
    return x if isinstance(x, str) and x else None


def _yearless(title: str) -> str:
    import re

    return re.sub(r"^(19|20)\d{2}年(度)?", "", title)


def _unit_score(subs: list[dict[str, Any]], years: list[int]) -> dict[int, float | None]:
    """As the bureau's comparison counts a department: its 部门整体 table's total, else the mean of its tables'."""
    out = {}
    for y in years:
        of_year = [s for s in subs if s["year"] == y]
        dept = [s["total"] for s in of_year if s.get("kind") == TableKind.DEPARTMENT.value and s["total"] is not None]
        totals = [s["total"] for s in of_year if s["total"] is not None]
        out[y] = dept[0] if dept else (round(sum(totals) / len(totals), 2) if totals else None)
    return out


def _indicator(level2: str, level3: str, item: dict[str, Any], trules: TrendRules) -> IndicatorTrend:
    points: list[YearPoint] = item["points"]
    numeric = item.get("kinds", set()) <= {"number", "rate"}
    deadline = "deadline" in item.get("kinds", set())
    same = len({p.target_value for p in points}) == 1
    never = trules.never_moves.enabled and numeric and not deadline and len(points) >= trules.never_moves.min_years \
        and same \
        and item["unit"] not in trules.never_moves.skip_units
    lower = item["direction"] == "lower"
    ratio = trules.room.ratio

    def roomy(p: YearPoint) -> bool:
        if p.status != "ok" or p.target_value is None or p.actual_value is None or p.target_value <= 0:
            return False
        full = p.weight is not None and p.score is not None and p.score >= p.weight - 1e-9
        return full and (p.target_value >= ratio * p.actual_value if lower else p.actual_value >= ratio * p.target_value)

    room = trules.room.enabled and numeric and len(points) >= trules.room.min_years and all(roomy(p) for p in points)
    notes = []
    if never:
        notes.append(f"连续 {len(points)} 年目标均为“{points[-1].target}”，未随实际情况调整")
    if room:
        shares = "；".join(f"{p.year} 年实际 {p.actual}，目标 {p.target}" for p in points)
        bound = f"不到目标的 {100 / ratio:.0f}%" if lower else f"达到目标的 {ratio * 100:.0f}% 以上"
        notes.append(f"连续 {len(points)} 年大幅超额完成（实际{bound}：{shares}）：目标设定偏低")
    return IndicatorTrend(level1=item["level1"], level2=level2, level3=level3, unit=item["unit"],
                          scale=item.get("scale") or 1.0, direction=item["direction"], points=points,
                          never_moves=never, room=room,
                          note="；".join(notes))


# --------------------------------------------------------------------------- structure, charts
def trend_context(result: UnitTrend) -> dict[str, Any]:
    """Formatted rows: the score trend, each table's totals by year, and the indicators worth a look."""
    def change(values: dict[int, float | None]) -> dict[int, str]:
        out, prev = {}, None
        for y in result.years:
            v = values.get(y)
            out[y] = "" if v is None or prev is None else f"{v - prev:+.2f}"
            prev = v if v is not None else prev
        return out

    tables = []
    for t in result.tables:
        tables.append({
            "key": t.key, "title": t.title,
            "years": [{"year": y, "total": fmt(t.totals.get(y)) if t.totals.get(y) is not None else "—",
                       "grade": t.grades.get(y) or "", "change": change(t.totals).get(y, ""),
                       "execution": "" if t.execution.get(y) is None else f"{t.execution[y] * 100:.1f}%"}
                      for y in result.years if y in t.totals],
            "flagged": [{"level3": i.level3, "note": i.note, "never_moves": i.never_moves, "room": i.room,
                         "series": [{"year": p.year, "target": p.target, "actual": p.actual or "",
                                     "score": "" if p.score is None else fmt(p.score)} for p in i.points]}
                        for i in t.indicators if i.note],
            "indicators": len(t.indicators),
        })
    return {"unit_name": result.unit_name, "years": result.years, "rules": result.rules,
            "score": [{"year": y, "score": "—" if result.score.get(y) is None else fmt(result.score[y]),
                       "change": change(result.score).get(y, "")} for y in result.years],
            "tables": tables, "flagged": sum(len(t["flagged"]) for t in tables)}


def trend_charts(result: UnitTrend, limit: int = 9) -> dict[str, bytes]:
    """PNG charts (charts.py conventions: Agg, the bundled CJK font, plain-text labels): the score trend, and per
    table the target (line) and actual (bars) of its numeric indicators across the years, flagged ones first."""
    from matplotlib.ticker import MaxNLocator

    from .charts import COLORS, save_figure, short_label, chart_style

    out: dict[str, bytes] = {}
    years = result.years
    with chart_style() as plt:
        fig, ax = plt.subplots(figsize=(6.4, 3.0))
        fig.subplots_adjust(left=0.1, right=0.97, top=0.88, bottom=0.32)
        for t in result.tables:
            ys = [y for y in years if t.totals.get(y) is not None]
            ax.plot(ys, [t.totals[y] for y in ys], marker="o", linewidth=1.2, label=short_label(_name(t.title), 14))
        ax.set_xticks(years)
        ax.set_xticklabels([str(y) for y in years])
        ax.set_ylabel("总分")
        ax.set_title(f"{result.unit_name} 各表总分")
        if len(result.tables) <= 9:
            ax.legend(fontsize=7, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=3)
        out["score"] = save_figure(fig, plt, "png")
    for k, t in enumerate(result.tables, start=1):
        numeric = [i for i in t.indicators if any(p.target_value is not None for p in i.points)
                   and i.direction != "band"]
        numeric.sort(key=lambda i: (not i.note, 0))
        shown = numeric[:limit]
        if not shown:
            continue
        cols = 3
        rows = -(-len(shown) // cols)
        with chart_style() as plt:
            fig, axes = plt.subplots(rows, cols, figsize=(7.2, 1.9 * rows + 0.5), squeeze=False)
            fig.subplots_adjust(left=0.07, right=0.98, top=1 - 0.55 / (1.9 * rows + 0.5), bottom=0.08, hspace=0.9,
                                wspace=0.35)
            for ax, i in zip(axes.flat, shown):
                pts = [p for p in i.points if p.target_value is not None]
                xs = [p.year for p in pts]
                ax.bar(xs, [(p.actual_value or 0) / i.scale for p in pts], color=COLORS["score"], width=0.5,
                       label="实际")
                ax.plot(xs, [p.target_value / i.scale for p in pts], color=COLORS["short"], marker="o",
                        linewidth=1.2, label="目标")
                # labels as plain texts, few ticks: title and tick layout is most of a small chart's cost
                ax.set_xticks([])
                ax.set_xlim(years[0] - 0.6, years[-1] + 0.6)
                for y in years:
                    ax.text(y, -0.06, str(y)[2:], transform=ax.get_xaxis_transform(), ha="center", va="top",
                            fontsize=7)
                ax.yaxis.set_major_locator(MaxNLocator(nbins=3))
                ax.tick_params(axis="y", labelsize=6)
                word = {1e4: "万", 1e8: "亿"}.get(i.scale, "")
                title = short_label(i.level3, 11) + (f"（{word}{i.unit or ''}）" if i.unit or word else "")
                ax.text(0.5, 1.06, ("● " if i.note else "") + title, transform=ax.transAxes, ha="center",
                        va="bottom", fontsize=7.5, color=COLORS["short"] if i.note else "black")
            for ax in list(axes.flat)[len(shown):]:
                ax.axis("off")
            fig.suptitle(f"{short_label(t.title, 28)}：目标（线）与实际（柱）", fontsize=9)
            out[f"table-{k}"] = save_figure(fig, plt, "png")
    return out


def _name(title: str) -> str:
    """A table's short name for a legend: the part in its last brackets (业务性专项经费), else the title."""
    import re

    inner = re.findall(r"（([^（）]+)）", title)
    return inner[-1] if inner else title
