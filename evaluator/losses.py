"""Where the points went: per table, every point lost, largest first, in the indicator's own terms.

Each loss says how far the result fell short in the indicator's unit ("差 1次 → 少 1.67 分") and what would have
given full marks ("实际达到 5次 可得满分 8.34"). The full-marks value is not derived from the scoring rules by a
second copy of them: it is proposed (usually the target itself) and then scored by the engine through a what-if;
only values the engine confirms are shown as full marks. The execution score and a total cap lose points the
same way and are listed with the indicators.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from .columns import num as _num, records
from .model import ActualSet, BAND_LABEL, Band, TargetSet, TargetTable
from .rules import RuleSet, fmt
from .whatif import Change

if TYPE_CHECKING:
    from .evaluation import Scored

__all__ = ["Loss", "TableLosses", "point_losses", "table_losses", "losses_context", "amount_text"]

_EPS = 1e-9
_SCALE_WORD = {1e4: "万", 1e8: "亿"}


class Loss(BaseModel):
    """Points one indicator (or the execution score, or a total cap) lost, with the gap and the way to full marks."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["indicator", "execution", "cap"]
    table: str
    position: int | None
    level1: str
    level2: str
    level3: str
    target: str
    actual: str | None
    weight: float
    score: float
    lost: float
    gap: str  # in the indicator's own unit: "差 1次", "超出 13个", "评为“部分达成年度指标并具有一定效果”"
    full: str | None  # what would have given full marks, confirmed by the engine; None if no value does
    full_actual: str | None  # that value as an entry (the --set value that gives full marks)
    deviation_note: str | None = None

    @property
    def text(self) -> str:
        return f"{self.level3}：{self.gap} → 少 {fmt(self.lost)} 分" + (f"；{self.full}" if self.full else "")


class TableLosses(BaseModel):
    model_config = ConfigDict(extra="forbid")
    table: str
    title: str
    full_marks: float
    total: float | None
    grade: str | None
    lost: float | None  # full_marks − total (None while the total cannot be determined)
    losses: list[Loss]  # largest first
    unscored: list[str]  # indicators that cannot be scored: their loss is not known yet


def point_losses(targets: TargetSet, actuals: ActualSet | None, rules: RuleSet, *, confirm: bool = True,
                 scored: "Scored | None" = None) -> list[TableLosses]:
    """Every table's point losses, largest first (ties in the targets' order). ``confirm=False`` skips the
    what-if that confirms the full-marks values (then ``full`` is None): the gaps alone cost one scoring pass.
    ``scored``: the frames ``evaluation.evaluate_scored`` built from the same inputs (then none is built again)."""
    if scored is None:
        from .frame import indicator_frame
        from .score import score_frame
        from .totals import table_totals

        frame, _ = indicator_frame(targets, actuals)
        if not len(frame):
            return []
        sframe = score_frame(frame, rules)
        totals = table_totals(sframe, rules)
    else:
        frame, sframe, totals = scored.frame, scored.scored, scored.totals
        if not len(frame):
            return []
    scored = sframe
    lossy = (scored["status"] == "error").to_numpy() | ((scored["status"] == "ok").to_numpy()
                                                        & (scored["weight"].to_numpy() - scored["score"].to_numpy() > _EPS))
    rows = records(scored[lossy])  # (only these rows are needed: a big table has few of them)
    proposals: dict[tuple[str, int], Change] = {}
    at: dict[tuple[str, int], int] = {}  # the row of each proposal
    drafts: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for r, i in zip(rows, np.flatnonzero(lossy).tolist()):
        r["table"] = str(r["table"])
        if r["status"] != "ok" or r["weight"] - r["score"] <= _EPS:
            continue
        draft = _indicator_draft(r)
        drafts.append((r, draft))
        if draft["candidate"] is not None:
            key = (r["table"], int(r["position"]))
            proposals[key] = Change(table=r["table"], position=int(r["position"]), actual=draft["candidate"])
            at[key] = i
    budgets = {}
    for tid, t in totals.iterrows():
        if t["budget"] == t["budget"] and t["budget"] > 0:
            budgets[tid] = t
    confirmed: dict[str, Any] = {"rows": {}, "execution": set(), "caps": {}}
    if confirm:
        confirmed = _confirm(frame, rules, proposals, budgets, scored, at)
        # a 定性 band's default may be below full marks: then a judged full score is the way to full marks
        weights = {(r["table"], int(r["position"])): float(r["weight"]) for r in rows}
        retry = {k: Change(table=c.table, position=c.position, actual=c.actual, judged_score=weights[k])
                 for k, c in proposals.items() if k not in confirmed["rows"] and _qualitative(c.actual)}
        if retry:
            again = _confirm(frame, rules, retry, {}, scored, at)
            confirmed["rows"].update({k: retry[k] for k in again["rows"]})
    out: dict[str, list[Loss]] = {}
    for r, draft in drafts:
        key = (r["table"], int(r["position"]))
        change = confirmed["rows"].get(key)
        full = None
        if change is not None:
            full = draft["full"] + (f"（评判得分 {fmt(change.judged_score)}）" if change.judged_score is not None else "") \
                + f"，可得满分 {fmt(r['weight'])}"
        out.setdefault(r["table"], []).append(Loss(
            kind="indicator", table=r["table"], position=int(r["position"]), level1=r["level1"], level2=r["level2"],
            level3=r["level3"], target=r["target_raw"] or "", actual=_text(r["actual_raw"]) or draft.get("actual"),
            weight=float(r["weight"]), score=float(r["score"]), lost=_round(r["weight"] - r["score"], rules),
            gap=draft["gap"], full=full, full_actual=change.actual if change else None,
            deviation_note=_text(r["deviation_note"])))
    result = []
    titles = {t.id: t.title for t in targets.tables}
    unscored_in: dict[str, list[str]] = {}
    for r in rows:
        if r["status"] == "error":
            unscored_in.setdefault(r["table"], []).append(f"{r['level3']}（无法计分）")
    for tid, t in totals.iterrows():
        items = out.get(tid, [])
        items += _execution_losses(tid, t, rules, tid in confirmed["execution"], confirmed["caps"].get(tid, -1.0))  # (-1: not checked)
        items.sort(key=lambda x: (-x.lost, x.position if x.position is not None else 10 ** 6))
        full_marks = _round(float(t["weight"]) + rules.weights.execution, rules)
        total = None if t["total"] != t["total"] else float(t["total"])
        unscored = unscored_in.get(tid, [])
        result.append(TableLosses(table=tid, title=titles.get(tid, tid), full_marks=full_marks, total=total,
                                  grade=t["grade"] if isinstance(t["grade"], str) else None,
                                  lost=None if total is None else _round(full_marks - total, rules),
                                  losses=items, unscored=unscored))
    return result


def table_losses(table: TargetTable, actuals: ActualSet | None, rules: RuleSet, *, confirm: bool = True
                 ) -> TableLosses:
    """One table's losses (the documents' 偏差分析 lists them in this order)."""
    targets = TargetSet(unit_name=table.unit_name, year=table.year, tables=[table])
    found = point_losses(targets, actuals, rules, confirm=confirm)
    return found[0] if found else TableLosses(table=table.id, title=table.title, full_marks=0, total=None, grade=None,
                                              lost=None, losses=[], unscored=[])


def _round(x: float, rules: RuleSet) -> float:
    return round(float(x), rules.rounding.decimals)


def _qualitative(text: str | None) -> bool:
    return text == "达成"


def _text(x: Any) -> str | None:
    return None if x is None or (isinstance(x, float) and x != x) or x == "" else str(x)



def amount_text(value: float, r: dict[str, Any]) -> str:
    """A number in the target's own terms: 528.244101万, 5次, 0.36次/年/界别 (a quotient to two decimals)."""
    scale = _num(r["t_scale"]) or 1.0
    unit = _text(r["t_unit"]) or ""
    per = "/" + r["t_per"] if _text(r["t_per"]) else ""
    x = value / scale
    return f"{fmt(x, 6 if abs(x * 1e6 - round(x * 1e6)) < 1e-3 else 2)}{_SCALE_WORD.get(scale, '')}{unit}{per}"


def _total(value: float, r: dict[str, Any]) -> str:
    """A per-unit amount (4次/年/界别) as the total an entry states (44次 for 11 界别)."""
    scale = _num(r["t_scale"]) or 1.0
    return f"{fmt(value / scale, 6)}{_SCALE_WORD.get(scale, '')}{_text(r['t_unit']) or ''}"


def _indicator_draft(r: dict[str, Any]) -> dict[str, Any]:
    """The gap in the indicator's terms, a proposed full-marks entry and how to say it (confirmed later)."""
    method, t, a = r["method"], _num(r["t_val"]), _num(r["a_val"])
    numeric_target = r["t_kind"] in ("number", "rate") and t is not None
    base = _num(r["rate_base_used"])
    if method == "missing-zero":
        return {"gap": "未填写实际完成值，按规则计 0 分", "candidate": None, "full": ""}
    if method == "qualitative":
        band = Band(r["band_used"]) if r["band_used"] else None
        gap = f"评为“{BAND_LABEL[band]}”" if band else "定性评判"
        if r["judged_used"]:
            gap += f"，评判得分 {fmt(r['score'])}"
        if r["word_for_number"] and numeric_target:  # a word entry for a number: the number would be scored
            return {"gap": gap + f"（实际完成值“{r['actual_raw']}”是文字）", "candidate": amount_text(t, r),
                    "full": f"按数值填写实际完成值 {amount_text(t, r)}"}
        if r["t_kind"] == "deadline":
            return {"gap": gap, "candidate": r["target_raw"], "full": f"在期限 {r['target_raw']} 前完成"}
        return {"gap": gap, "candidate": "达成", "full": "评为“达成年度指标”"}
    if method == "deadline":
        return {"gap": f"实际完成 {r['actual_raw']}，晚于期限 {r['target_raw']}", "candidate": r["target_raw"],
                "full": f"在期限 {r['target_raw']} 前完成"}
    if t is None or a is None:
        return {"gap": "未达到目标", "candidate": None, "full": ""}
    direction = r["direction_used"]
    if r["over"]:
        gap = f"实际 {amount_text(a, r)} 达到目标 {amount_text(t, r)} 的 {fmt(a / t * 100 if t else 0, 1)}%，按规则扣分"
        return {"gap": gap, "candidate": _entry_value(t, r, base), "full": f"实际为 {_entry_value(t, r, base)}"}
    if direction == "lower":
        gap = f"超出 {amount_text(a - t, r)}"
        full = f"控制在 {_entry_value(t, r, base)} 以内"
    elif direction == "band":
        tol = _num(r["tol"]) or 0.0
        gap = f"偏离目标 {amount_text(abs(a - t), r)}，超出允许的 ±{amount_text(tol, r)}"
        full = f"实际在 {amount_text(t, r)} ± {amount_text(tol, r)} 以内"
    elif direction == "equal":
        gap = f"与目标相差 {amount_text(abs(a - t), r)}"
        full = f"实际等于 {_entry_value(t, r, base)}"
    else:
        gap = f"差 {amount_text(t - a, r)}"
        full = f"实际达到 {_entry_value(t, r, base)}"
    if base:  # a per-unit target: the gap also in the total the unit entered
        gap += f"（按计量基数 {fmt(base)} 折合共差 {_total(abs(t - a) * base, r)}）"
    return {"gap": gap, "candidate": _entry_value(t, r, base), "full": full}


def _entry_value(t: float, r: dict[str, Any], base: float | None) -> str:
    """The target as an entry the engine reads back: a total for a per-unit target entered as a total."""
    return _total(t * base, r) if base else amount_text(t, r)


def _confirm(frame: Any, rules: RuleSet, proposals: dict[tuple[str, int], Change], budgets: dict[str, Any],
             scored: Any = None, at: dict[tuple[str, int], int] | None = None) -> dict[str, Any]:
    """Score all proposed full-marks entries in one what-if (and full execution per table) and keep those the
    engine confirms: the indicator (or execution) scores its full weight, and a cap no longer applies.

    The what-if is made on the engine's own indicator frame — the entries as matched to the targets, by (table,
    position) — with the proposed 实际完成值 (and 评判得分) in place of the old entry and its judgement, as
    ``whatif.apply_changes`` makes it on the entries; then scored by ``score_frame``/``table_totals``.

    Given the frame as scored and the row of each proposal (``at``), only the rows that change are scored again,
    each with the weight its table gave it: a row's score reads no other row but through the weights, which
    change only if an entry turns a row 不适用 — then the whole frame is scored, as the proposals are made
    together. The execution score and a cap read the table's 全年预算数/全年执行数 only: they are scored on the
    row each table takes its budget from."""
    from .score import score_frame
    from .totals import table_totals

    tables = frame["table"].astype(str).to_numpy(dtype=object)
    if scored is not None and at is not None and _unique_keys(scored):
        rows = np.array(sorted(at[k] for k in proposals), dtype=np.int64)
        part = _changed(frame.iloc[rows], [(tables[i], int(frame["position"].iat[i])) for i in rows.tolist()],
                        proposals, budgets)
        part["weight_given"] = scored["weight"].to_numpy(dtype=float)[rows]
        rescored = score_frame(part, rules)
        if not (rescored["status"] == "na").any():
            full = _full_rows(rescored)
            return {"rows": {key: c for key, c in proposals.items() if key in full},
                    **_confirm_execution(frame, tables, rules, budgets)}
    keys = list(zip(tables.tolist(), frame["position"].astype(int).tolist())) if proposals else []
    rescored = score_frame(_changed(frame, keys, proposals, budgets), rules)
    totals = table_totals(rescored, rules)
    full = _full_rows(rescored)
    return {"rows": {key: c for key, c in proposals.items() if key in full}, **_execution_at_full(totals, rules, budgets)}


def _unique_keys(scored: Any) -> bool:
    """Does each (table, position) name one row? (Then a proposal's row is the one it was made for.)"""
    import pandas as pd

    if not len(scored):
        return True
    codes = pd.factorize(scored["table"].astype(str))[0].astype("int64")
    position = scored["position"].astype("int64").to_numpy()
    low = int(position.min())
    return pd.Index(codes * (int(position.max()) - low + 1) + (position - low)).is_unique


def _changed(frame: Any, keys: list[tuple[str, int]], proposals: dict[tuple[str, int], Change],
             budgets: dict[str, Any]) -> Any:
    """A copy of ``frame`` (whose rows have ``keys``) with the proposed entries in place and, in the tables of
    ``budgets``, the whole budget spent."""
    changed = frame.copy()
    changes = [(i, proposals[key]) for i, key in enumerate(keys) if key in proposals]
    if changes:
        at = np.array([i for i, _ in changes], dtype=np.int64)
        for column, values in (("actual_raw", [c.actual for _, c in changes]),
                               ("judged_score", [c.judged_score for _, c in changes]),
                               ("band", [None] * len(changes)),
                               ("has_actual_entry", [True] * len(changes))):
            cells = changed[column].to_numpy(dtype=object).copy()
            cells[at] = values
            changed[column] = cells
    if budgets:
        rows = changed["table"].astype(str).isin(set(budgets)).to_numpy()
        cells = changed["spent"].to_numpy(dtype=object).copy()
        cells[rows] = changed["budget"].to_numpy(dtype=object)[rows]
        changed["spent"] = cells
    return changed


def _full_rows(scored: Any) -> set[tuple[str, int]]:
    """(table, position) of the scored rows that earn their full weight."""
    full = (scored["status"] == "ok").to_numpy() & (scored["score"].to_numpy() >= scored["weight"].to_numpy() - _EPS)
    return set(zip(scored["table"].astype(str)[full], scored["position"].astype(int)[full]))


def _confirm_execution(frame: Any, tables: Any, rules: RuleSet, budgets: dict[str, Any]) -> dict[str, Any]:
    """``_execution_at_full`` scored on the row each table of ``budgets`` takes its budget from (its first with one)."""
    import pandas as pd

    from .columns import floats
    from .score import score_frame
    from .totals import table_totals

    if not budgets:
        return {"execution": set(), "caps": {}}
    rows = np.flatnonzero(pd.Series(tables).isin(set(budgets)).to_numpy() & ~np.isnan(floats(frame["budget"])))
    rows = rows[~pd.Series(tables[rows]).duplicated().to_numpy()]
    part = _changed(frame.iloc[rows], [], {}, budgets)
    return _execution_at_full(table_totals(score_frame(part, rules), rules), rules, budgets)


def _execution_at_full(totals: Any, rules: RuleSet, budgets: dict[str, Any]) -> dict[str, Any]:
    """The tables whose execution score is full with the budget spent, and the cap each one keeps."""
    weight = rules.weights.execution
    execution = {tid for tid in budgets if tid in totals.index and totals.at[tid, "execution_score"] >= weight - _EPS}
    caps = {tid: (None if totals.at[tid, "cap"] != totals.at[tid, "cap"] else float(totals.at[tid, "cap"]))
            for tid in budgets if tid in totals.index}
    return {"execution": execution, "caps": caps}


def _execution_losses(tid: str, t: Any, rules: RuleSet, full_confirmed: bool, cap_at_full: float | None
                      ) -> list[Loss]:
    """The execution score's loss and a total cap's, as losses like the indicators'."""
    out = []
    weight = rules.weights.execution
    score, rate = _num(t["execution_score"]), _num(t["rate"])
    budget, spent = _num(t["budget"]), _num(t["spent"])
    if score is not None and rate is not None and weight - score > _EPS:
        unspent = (budget or 0) - (spent or 0)
        full = f"全年执行数达到 {fmt(budget, 6)} 万元（执行率 100%），可得满分 {fmt(weight)}" if full_confirmed else None
        out.append(Loss(kind="execution", table=tid, position=None, level1="预算执行率", level2="", level3="预算执行率",
                        target="100%", actual=f"{rate * 100:.2f}%", weight=weight, score=score,
                        lost=_round(weight - score, rules),
                        gap=f"执行率 {rate * 100:.2f}%，未执行 {fmt(unspent, 6)} 万元", full=full,
                        full_actual=f"{fmt(budget, 6)}万元" if full_confirmed else None))
    cap, raw = _num(t["cap"]), _num(t["raw_total"])
    if cap is not None and raw is not None and raw - cap > _EPS and rate is not None:
        lift = max((c.below for c in rules.execution.total_caps if rate < c.below), default=None)
        full = f"执行率达到 {fmt(lift * 100)}% 以上不再封顶" if lift is not None and cap_at_full is None else None
        out.append(Loss(kind="cap", table=tid, position=None, level1="总分封顶", level2="", level3="总分封顶",
                        target="", actual=f"{rate * 100:.2f}%", weight=raw, score=cap, lost=_round(raw - cap, rules),
                        gap=f"执行率 {rate * 100:.2f}%，总分由 {fmt(raw)} 封顶为 {fmt(cap)}", full=full,
                        full_actual=None))
    return out


def losses_context(tables: list[TableLosses], top: int | None = None) -> list[dict[str, Any]]:
    """The losses as plain, formatted rows for the CLI, the documents and the web (``top``: the largest only)."""
    out = []
    for t in tables:
        shown = t.losses if top is None else t.losses[:top]
        rest = t.losses[len(shown):]
        out.append({
            "table": t.table, "title": t.title, "full_marks": fmt(t.full_marks),
            "total": fmt(t.total) if t.total is not None else None, "grade": t.grade,
            "lost": fmt(t.lost) if t.lost is not None else None,
            "items": [{"kind": x.kind, "level3": x.level3, "target": x.target, "actual": x.actual or "",
                       "lost": fmt(x.lost), "lost_value": x.lost, "gap": x.gap, "full": x.full,
                       "full_actual": x.full_actual, "text": x.text, "position": x.position} for x in shown],
            "rest": {"count": len(rest), "lost": fmt(sum(x.lost for x in rest))} if rest else None,
            "unscored": t.unscored,
        })
    return out
