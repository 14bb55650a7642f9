"""Explanations: the trace of a scored row rendered as the sentence a clerk checks
("实际 4次 ÷ 目标 5次 × 分值 8.34 = 6.67"); only for rows that are shown or written.

``row_text`` renders one row (the reference); ``frame_texts`` renders a whole scored frame with the same
functions and templates, each part once per distinct value it reads and each method's template column-wise."""
from __future__ import annotations

from itertools import repeat
from string import Formatter
from typing import Any, Callable

import numpy as np
import pandas as pd

from .columns import column_array
from .errors import Code
from .model import Band
from .rules import Method, RuleSet, fmt

__all__ = ["row_text", "frame_texts", "each_distinct", "actual_text", "method_label", "TEXT_COLUMNS"]

# what the 计算过程, the shown actual and the method name of a scored row read
TEXT_COLUMNS = ["status", "reason", "t_problem", "a_problem", "a_unit", "t_unit", "t_val", "a_val", "fraction",
               "target_raw", "actual_raw", "method", "custom_method", "weight", "score", "tol", "band_used",
               "judged_used", "over", "cost_fill", "as_fraction", "negative", "t_scale", "t_per", "rate_base_used"]

# the methods of the engine (not of a rule set) and their texts
_FIXED = {"missing-zero": "缺少实际完成值，按规则集设定计 0 分", "na-full": "不适用，按规则集设定计满分 {w_text}"}
_TEXT_FIELDS = ("a_text", "t_text", "w_text", "raw_text", "tol_text")


def row_text(r: dict[str, Any], rules: RuleSet) -> str:
    status, reason = r["status"], r["reason"]
    if status == "na":
        return "不适用，不计分" + ("；其分值按适用指标折算" if rules.not_applicable == "rescale" else "")
    if status == "error":
        return {
            Code.UNREADABLE_TARGET.value: f"无法计分：{r['t_problem'] or '年度指标值无法识别'}",
            Code.MISSING_ACTUAL.value: "无法计分：缺少实际完成值（空白不按 0 分处理）",
            Code.UNREADABLE_ACTUAL.value: f"无法计分：{r['a_problem'] or '实际完成值与指标类型不符'}",
            Code.UNIT_MISMATCH.value: f"无法计分：实际完成值单位“{r['a_unit'] or ''}”与目标单位“{r['t_unit'] or ''}”不一致",
            Code.RATE_NEEDS_BASE.value: "无法计分：目标为人均/每单位指标，需提供计量基数（如界别数）才能与总数比较",
        }.get(reason, "无法计分")
    ctx = {
        "t": r["t_val"], "a": r["a_val"], "fraction": r["fraction"],
        "t_text": _target_text(r), "a_text": _actual_shown(r), "w_text": fmt(r["weight"], rules.rounding.decimals),
        "raw_text": _score_text(r, rules), "tol_text": fmt(r["tol"]),
        "band": Band(r["band_used"]) if r.get("band_used") else None, "judged": bool(r["judged_used"]),
    }
    m = r["method"]
    text = _FIXED[m].format_map(ctx) if m in _FIXED else _method(r, rules).explain(ctx)
    return text + _notes(r, rules)


def _method(r: dict[str, Any], rules: RuleSet) -> Method:
    """The rule set's (or the indicator's own) method that scored a row."""
    m = r["method"]
    if m == "qualitative":
        return rules.scoring.qualitative
    if m == "deadline":
        return rules.scoring.deadline
    if m == "@custom":
        return r["custom_method"]
    return rules.scoring.band if m == "@band" else getattr(rules.scoring, m[1:])


def _target_text(r: dict[str, Any]) -> str:
    return _value_text(r["t_val"], r) if r["t_val"] == r["t_val"] else format(r["target_raw"] or "（空）")


def _actual_shown(r: dict[str, Any]) -> str:
    """The actual in the 计算过程: the number scored, or (定性, 时效, none) as entered."""
    if r["method"] not in ("qualitative", "deadline") and r["a_val"] == r["a_val"]:
        return _value_text(r["a_val"], r)
    return actual_text(r)


def _score_text(r: dict[str, Any], rules: RuleSet) -> str:
    return f"{r['score']:.{rules.rounding.decimals}f}"


def _notes(r: dict[str, Any], rules: RuleSet) -> str:
    """What else shaped the score, in brackets after the 计算过程 ("" when nothing did)."""
    notes = []
    if r["over"]:
        notes.append(f"超额完成（≥{fmt(rules.over_achievement.threshold * 100)}%）扣 {fmt(rules.over_achievement.deduction)} 分")
    if r["cost_fill"]:
        notes.append("成本指标以全年执行数作为实际值")
    if r["as_fraction"]:
        notes.append("实际值按百分比读取")
    if r["negative"]:
        notes.append("实际值为负数，按 0 计")
    return "（" + "；".join(notes) + "）" if notes else ""


def _value_text(value: float, r: dict[str, Any]) -> str:
    """A scored number in the target's own terms: 528.244101万, 5次, 3.64次/界别."""
    if r.get("rate_base_used") == r.get("rate_base_used") and r.get("rate_base_used") and value == r["a_val"]:
        return f"{r['actual_raw']} ÷ 计量基数 {fmt(r['rate_base_used'])} = {value:.2f}{_unit_per(r['t_unit'], r.get('t_per'))}"
    return _amount(value, r["t_scale"]) + _terms(r["t_scale"], r["t_unit"], r.get("t_per"))


def _amount(value: float, scale: float | None) -> str:
    """The number of ``_value_text`` in the target's scale (528.244101 of 528.244101万)."""
    return fmt(value / (scale or 1.0), 6)


def _terms(scale: float | None, unit: str | None, per: str | None) -> str:
    """What follows the number in ``_value_text``: the scale's word, the unit, the per-unit (万元, 次/界别)."""
    return {1e4: "万", 1e8: "亿"}.get(scale or 1.0, "") + _unit_per(unit, per)


def _unit_per(unit: str | None, per: str | None) -> str:
    return (unit or "") + ("/" + per if per else "")


def actual_text(r: dict[str, Any]) -> str:
    if r["cost_fill"]:
        return f"{fmt(r['a_val'] / 1e4)}万元"
    raw = r["actual_raw"]
    if raw is None or raw == "":
        return "（空）"
    return str(raw)


def method_label(r: dict[str, Any]) -> str:
    spec = r.get("scoring") or {}
    if spec.get("method") == "step-deduction":
        return f"目标 {fmt(r['t_val'])}，每偏离 {fmt(spec['step'])} 扣 {fmt(spec['points'])} 分，扣完为止"
    if spec.get("method") == "value-bands":
        return "按实际值所在区间计分：" + "；".join(f"≤{fmt(b['max'])} 计 {fmt(b['points'])} 分" for b in spec["bands"])
    return str(spec.get("method", ""))


# --------------------------------------------------------------------------- a whole frame
def frame_texts(scored: pd.DataFrame, rules: RuleSet) -> list[str]:
    """The 计算过程 of every row of a scored frame (``score.score_frame``; it reads ``TEXT_COLUMNS``), in order:
    ``[row_text(r, rules) for r in records(scored, TEXT_COLUMNS)]`` byte for byte, without a Python call per row.

    For writers of whole tables (``score --json``, ``batch``). Each part of a text (target, actual, weight and
    score as words, the bracketed notes, an error's message) is rendered by ``row_text``'s own functions once per
    distinct combination of the values it reads, and each method's template (``Method.texts``, chosen by its
    vectorised ``text_case``) is filled column-wise. Rows of a per-indicator method (rare) take ``row_text``."""
    n = len(scored)
    if not n:
        return []
    cols = _Columns(scored)

    def row(i: int) -> _Row:
        return _Row(cols, i)

    text = cols.array
    out = np.empty(n, dtype=object)
    status, method = text("status"), text("method")
    methods: dict[str, Method] = {}
    for m in pd.unique(method[status == "ok"]):
        if m in _FIXED or m == "@custom" or m is None:
            continue
        spec = _method({"method": m}, rules)
        if type(spec).texts is not Method.texts and all(_fields(t) is not None for t in spec.texts()):
            methods[m] = spec
    templated = (status == "ok") & np.isin(method, [*methods, *_FIXED])
    # 不适用 and 无法计分: the text reads the status, reason and problem columns only
    plain = np.flatnonzero(np.isin(status, ["na", "error"]))
    out[plain] = each_distinct(plain, [text(c) for c in ("status", "reason", "t_problem", "a_problem", "a_unit", "t_unit")],
                                lambda i: row_text(row(i), rules))
    for i in np.flatnonzero(~templated & ~np.isin(status, ["na", "error"])).tolist():
        out[i] = row_text(row(i), rules)
    rows = np.flatnonzero(templated)
    if not len(rows):
        return out.tolist()
    floats = {c: cols.array(c).astype(float, copy=False) for c in ("t_val", "a_val", "fraction", "weight", "score", "tol",
                                                           "t_scale", "rate_base_used")}
    fields = {"w_text": each_distinct(rows, [floats["weight"]], lambda i: fmt(cols.value("weight", i), rules.rounding.decimals)),
              "raw_text": each_distinct(rows, [floats["score"]], lambda i: _score_text(row(i), rules)),
              "tol_text": each_distinct(rows, [floats["tol"]], lambda i: fmt(cols.value("tol", i))),
              "t_text": np.empty(len(rows), dtype=object), "a_text": np.empty(len(rows), dtype=object)}
    # a number in the target's terms reads (value, scale, unit, per), and the row itself where a count was divided
    t_val, a_val, base = floats["t_val"][rows], floats["a_val"][rows], floats["rate_base_used"][rows]
    per_count = ~np.isnan(base) & (base != 0)
    terms = [floats["t_scale"], text("t_unit"), text("t_per")]
    has_t = ~np.isnan(t_val)
    terms_text = each_distinct(rows, terms, lambda i: _terms(cols.value("t_scale", i), cols.value("t_unit", i),
                                                            cols.value("t_per", i)))
    for part, value, value_rows, as_entered in (
            ("t_text", "t_val", has_t, [text("target_raw")]),
            ("a_text", "a_val", ~np.isnan(a_val) & ~np.isin(method[rows], ["qualitative", "deadline"]),
             [text("cost_fill"), floats["a_val"], text("actual_raw")])):
        render = _target_text if part == "t_text" else _actual_shown
        own = value_rows & per_count & ((t_val == a_val) if part == "t_text" else True)
        at = np.flatnonzero(value_rows & ~own)  # the number and its terms, each once per distinct value
        amounts = each_distinct(rows[at], [floats[value], floats["t_scale"]],
                                many=lambda idx: list(map(_amount, cols.values(value, idx), cols.values("t_scale", idx))))
        fields[part][at] = _join([amounts, terms_text[at]])
        at = np.flatnonzero(~value_rows)
        fields[part][at] = each_distinct(rows[at], as_entered, lambda i: render(row(i)))
        for k in np.flatnonzero(own).tolist():
            fields[part][k] = render(row(int(rows[k])))
    notes = each_distinct(rows, [text(c) for c in ("over", "cost_fill", "as_fraction", "negative")],
                           lambda i: _notes(row(i), rules))
    case_inputs = {"fraction": floats["fraction"][rows], "t": t_val, "a": a_val,
                   "band": each_distinct(rows, [text("band_used")], lambda i: Band(cols.value("band_used", i))
                                          if cols.value("band_used", i) else None),
                   "judged": cols.array("judged_used").astype(bool)[rows]}
    texts = np.empty(len(rows), dtype=object)
    for m in pd.unique(method[rows]):
        at = np.flatnonzero(method[rows] == m)
        if m in _FIXED:
            templates, cases = (_FIXED[m],), np.zeros(len(at), dtype=np.int64)
        else:
            templates = methods[m].texts()
            cases = np.broadcast_to(methods[m].text_case({k: v[at] for k, v in case_inputs.items()}), (len(at),))
        for c in np.unique(cases).tolist():
            some = at[cases == c]
            texts[some] = _fill(templates[c], {k: v[some] for k, v in fields.items()})
    out[rows] = _join([texts, notes])
    return out.tolist()


class _Columns:
    """The scored frame's columns as arrays, each made when first needed, read whole or one value at a time as
    ``records`` gives it (text and labels as objects, missing → None; numbers and flags as Python values)."""

    def __init__(self, frame: pd.DataFrame):
        self.frame, self.arrays = frame, {}

    def array(self, name: str) -> np.ndarray:
        if name not in self.arrays:
            self.arrays[name] = column_array(self.frame[name])
        return self.arrays[name]

    def value(self, name: str, i: int) -> Any:
        x = self.array(name)[i]
        return x.item() if isinstance(x, np.generic) else x

    def values(self, name: str, rows: np.ndarray) -> list[Any]:
        """``[self.value(name, i) for i in rows]``, one ``tolist`` for a column of numbers."""
        x = self.array(name)[rows]
        return x.tolist() if x.dtype != object else [self.value(name, i) for i in rows.tolist()]


class _Row:
    """Row ``i`` of the columns, read like its ``records`` dict (``r["t_val"]``, ``r.get("t_per")``) without
    building one: ``row_text`` renders one representative row of each distinct case."""

    __slots__ = ("cols", "i")

    def __init__(self, cols: _Columns, i: int):
        self.cols, self.i = cols, i

    def __getitem__(self, key: str) -> Any:
        if key not in TEXT_COLUMNS:
            raise KeyError(key)
        return self.cols.value(key, self.i)

    def get(self, key: str, default: Any = None) -> Any:
        return self.cols.value(key, self.i) if key in TEXT_COLUMNS else default


def _objects(values: list[Any]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _codes(values: np.ndarray) -> np.ndarray:
    """Integer codes of a column, equal exactly where the values are: floats by their bits (−0.0 is not 0.0,
    every NaN alike), text and labels by value (None apart)."""
    if values.dtype.kind == "f":
        return pd.factorize(values.view(np.int64))[0]
    return pd.factorize(values, use_na_sentinel=False)[0]


def each_distinct(rows: np.ndarray, keys: list[np.ndarray], render: Callable[[int], Any] | None = None, *,
                  many: Callable[[np.ndarray], list[Any]] | None = None) -> np.ndarray:
    """``render(i)`` at the first of ``rows`` with each distinct combination of ``keys`` (whole columns as arrays), given to
    every row with that combination: an object array along ``rows``. ``many``: renders all those first rows at
    once (given their indices), for a part with many distinct values (the amounts of a column of actuals)."""
    if not len(rows):
        return np.empty(0, dtype=object)
    code = np.zeros(len(rows), dtype=np.int64)
    for key in keys:
        part = _codes(key[rows])
        code = pd.factorize(code * (int(part.max()) + 1) + part)[0]
    # codes number first appearances: a row is the first of its code where the code exceeds all before it
    first = np.flatnonzero(code > np.maximum.accumulate(np.r_[-1, code[:-1]]))
    firsts = rows[first]
    return _objects(many(firsts) if many is not None else [render(int(i)) for i in firsts.tolist()])[code]


def _fields(template: str) -> list[tuple[str, str | None]] | None:
    """A template as (literal, field) pairs, or None when it needs more than plain text fields."""
    parts = []
    for literal, field, spec, conversion in Formatter().parse(template):
        if field is not None and (field not in _TEXT_FIELDS or spec or conversion):
            return None
        parts.append((literal, field))
    return parts


def _fill(template: str, fields: dict[str, np.ndarray]) -> list[str]:
    """``template.format_map`` of each row, the template's literals and the rows' field texts joined column-wise."""
    parts = _fields(template) or ()
    if all(field is None for _, field in parts):  # no field: the same text on every row
        return ["".join(literal for literal, _ in parts)] * len(next(iter(fields.values())))
    columns: list[Any] = []
    for literal, field in parts:
        if literal:
            columns.append(repeat(literal))
        if field is not None:
            columns.append(fields[field])
    return _join(columns)


def _join(columns: list[Any]) -> list[str]:
    return list(map("".join, zip(*columns)))
