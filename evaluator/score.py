"""Scoring: targets + actuals + a rule set → scores with a trace, vectorised over pandas.

``indicator_frame`` flattens the models into one row per indicator; ``score_frame`` scores every row at
once (numpy over columns, one pass per scoring method, no per-indicator loop); ``evaluate`` adds table
totals, execution scores, grades and findings and returns the ``Evaluation`` model the CLI and reports use.
"""
from __future__ import annotations

import re
from collections import defaultdict
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from .errors import Code
from .model import (
    ActualSet, Band, BAND_LABEL, Evaluation, ExecutionScore, Finding, IndicatorScore, Location, ParsedValue,
    Severity, TableEvaluation, TargetSet,
)
from .parse import canonical_numbers, parse_scoring_text, parse_value
from .rules import RuleSet, fmt, method_from_dict

__all__ = ["indicator_frame", "score_frame", "table_totals", "evaluate"]

_FRAME_COLUMNS = ["table", "position", "row", "year", "level1", "level2", "level3", "target_raw", "unit_col",
                  "weight_given", "direction", "rate_base", "scoring", "actual_raw", "deviation_note", "band",
                  "judged_score", "claimed", "actual_rate_base", "has_actual_entry", "budget", "spent"]


# --------------------------------------------------------------------------- models → frame
def indicator_frame(targets: TargetSet, actuals: ActualSet | None, files: "Files | None" = None
                    ) -> tuple[pd.DataFrame, list[Finding]]:
    """One row per indicator, actuals joined by table id and indicator name (二级指标 when names repeat)."""
    rows, findings = indicator_rows(targets, actuals, files)
    return rows_frame(rows), findings


def rows_frame(rows: list[tuple]) -> pd.DataFrame:
    """``indicator_rows`` of one or many departments as the frame ``score_frame`` takes."""
    return pd.DataFrame.from_records(rows, columns=_FRAME_COLUMNS, nrows=len(rows)) if rows \
        else pd.DataFrame(columns=_FRAME_COLUMNS)


def indicator_rows(targets: TargetSet, actuals: ActualSet | None, files: "Files | None" = None,
                   table_prefix: str = "") -> tuple[list[tuple], list[Finding]]:
    """The rows of ``indicator_frame`` as tuples (columns ``_FRAME_COLUMNS``), table ids prefixed with
    ``table_prefix``: the bureau's batch collects many departments' rows and builds one frame from them."""
    findings: list[Finding] = []
    files = files or Files(None, None)
    file = files.actuals
    by_table = {t.table: t for t in (actuals.tables if actuals else [])}
    known_tables = {t.id for t in targets.tables}
    for t in by_table:
        if t not in known_tables:
            findings.append(Finding(code=Code.UNMATCHED_ACTUAL, severity=Severity.ERROR, location=Location(file=file, table=t),
                                    message=f"实际完成值文件中的表“{t}”在目标表中不存在，请核对表编号"))
    rows: list[tuple] = []
    for table in targets.tables:
        if not table.indicators:
            continue
        ta = by_table.get(table.id)
        entries: dict[tuple[str, str | None], list] = defaultdict(list)
        for a in (ta.indicators if ta else []):
            entries[(a.indicator, None)].append(a)
            if a.level2:
                entries[(a.indicator, a.level2)].append(a)
        names = [i.level3 for i in table.indicators]
        used: set[int] = set()
        seen: set[tuple[str, str]] = set()
        for pos, ind in enumerate(table.indicators):
            key2 = (ind.level2, ind.level3)
            if key2 in seen:
                findings.append(Finding(code=Code.DUPLICATE_INDICATOR, severity=Severity.WARNING,
                                        location=Location(file=files.targets, table=table.id, item=pos + 1, row=ind.row,
                                                          indicator=ind.level3),
                                        message="同一二级指标下三级指标重复，请核对是否重复填报"))
            seen.add(key2)
            candidates = entries.get((ind.level3, ind.level2)) or entries.get((ind.level3, None)) or []
            candidates = [a for a in candidates if id(a) not in used and (a.level2 in (None, ind.level2))]
            if ind.id:
                candidates = [a for a in candidates if a.id in (None, ind.id)] or candidates
            act = candidates[0] if candidates else None
            if act is not None:
                used.add(id(act))
            if names.count(ind.level3) > 1 and act is not None and act.level2 is None:
                findings.append(Finding(code=Code.DUPLICATE_INDICATOR, severity=Severity.WARNING,
                                        location=Location(file=file, table=table.id, indicator=ind.level3),
                                        message="三级指标名称在表中重复，实际完成值按出现顺序对应；请填写二级指标以便准确匹配"))
            budget = ta.budget if ta else None
            rows.append((  # in the order of _FRAME_COLUMNS
                table_prefix + table.id, pos, ind.row, table.year, ind.level1, ind.level2, ind.level3,
                ind.target or "", ind.unit, ind.weight, ind.direction.value if ind.direction else None,
                ind.rate_base, ind.scoring,
                act.actual if act else None, act.deviation_note if act else None,
                act.band.value if act and act.band else None, act.judged_score if act else None,
                act.claimed_score if act else None, act.rate_base if act else None, act is not None,
                budget.budget if budget else None, budget.spent if budget else None,
            ))
        for a in (ta.indicators if ta else []):
            if id(a) not in used:
                findings.append(Finding(code=Code.UNMATCHED_ACTUAL, severity=Severity.ERROR,
                                        location=Location(file=file, table=table.id, indicator=a.indicator),
                                        message="实际完成值对应不到目标表中的任何指标，请核对三级指标名称"))
    return rows, findings


# --------------------------------------------------------------------------- parsing columns
# Labels used inside the hot path are small integer codes: comparisons and np.where on int8 arrays run in C.
KINDS = ("number", "rate", "deadline", "qualitative", "na", "blank", "unreadable")
K = {name: i for i, name in enumerate(KINDS)}
CMPS = ("", "ge", "gt", "le", "lt", "eq", "band")
C = {name: i for i, name in enumerate(CMPS)}
BANDS = ("", Band.ACHIEVED.value, Band.PARTIAL.value, Band.NOT_ACHIEVED.value)
BD = {name: i for i, name in enumerate(BANDS)}
DIRECTIONS = ("higher", "lower", "equal", "band")
D = {name: i for i, name in enumerate(DIRECTIONS)}
METHOD_KEYS = ("", "qualitative", "deadline", "@higher", "@lower", "@equal", "@band", "missing-zero", "@custom", "na-full")
M = {name: i for i, name in enumerate(METHOD_KEYS)}
_DIRECTION_OF_CMP = np.array([{"ge": D["higher"], "gt": D["higher"], "le": D["lower"], "lt": D["lower"], "eq": D["equal"],
                               "band": D["band"]}.get(c, -1) for c in CMPS], dtype=np.int8)  # -1: no operator
STATUSES = ("ok", "na", "error")
REASONS = ("", Code.NOT_APPLICABLE.value, Code.UNREADABLE_TARGET.value, Code.MISSING_ACTUAL.value,
           Code.UNREADABLE_ACTUAL.value, Code.UNIT_MISMATCH.value, Code.RATE_NEEDS_BASE.value)
RS = {name: i for i, name in enumerate(REASONS)}


class _Vocab:
    """Distinct unit / per strings shared by the target and actual columns, as integer codes (-1 = none)."""

    def __init__(self) -> None:
        self.codes: dict[str, int] = {}

    def code(self, value: str | None) -> int:
        if not isinstance(value, str) or not value:  # None, or NaN after factorising
            return -1
        return self.codes.setdefault(value, len(self.codes))

    def code_array(self, values: np.ndarray) -> np.ndarray:
        """Codes for an array of unit strings, one dictionary lookup per distinct string."""
        codes, uniques = pd.factorize(values, use_na_sentinel=False)
        table = np.array([self.code(u) for u in uniques], dtype=np.int32)
        return table[codes] if len(values) else np.zeros(0, dtype=np.int32)

    def labels(self, codes: np.ndarray) -> pd.Categorical:
        return pd.Categorical.from_codes(codes, categories=list(self.codes))  # code -1 → missing


# A factorisation sizes its hash table for the worst case (every row distinct) unless told otherwise; real
# columns have few distinct values, so a small hint saves allocating and touching a table of len(column) slots.
_HINT = 1024


def _factorize(values: np.ndarray, keep_missing: bool = False, hint: int = _HINT) -> tuple[np.ndarray, np.ndarray]:
    """Codes (-1 for missing, unless missing is kept as a value) and distinct values of an object column."""
    return pd.factorize(values, use_na_sentinel=not keep_missing, size_hint=min(len(values), hint))


def _factorize_runs(values: np.ndarray, keep_missing: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """``_factorize`` for a column whose values come in runs (table ids, 一级指标 names): only the first value of
    each run is hashed — comparing neighbours is several times cheaper than hashing every row."""
    n = len(values)
    if n < 2:
        return _factorize(values, keep_missing=keep_missing)
    head = np.empty(n, dtype=bool)
    head[0] = True
    try:
        np.not_equal(values[1:], values[:-1], out=head[1:])
    except TypeError:  # pd.NA compares as NA, not as a bool
        return _factorize(values, keep_missing=keep_missing)
    starts = np.flatnonzero(head)
    if len(starts) > n // 2:
        return _factorize(values, keep_missing=keep_missing)
    # the first values of runs are often all distinct (table ids): size the table for them when that is cheap
    codes, uniques = _factorize(values[starts], keep_missing=keep_missing, hint=max(_HINT, min(len(starts), 1 << 16)))
    return np.repeat(codes, np.diff(np.append(starts, n))), uniques


def _objects(column: pd.Series) -> np.ndarray:
    """The column's values as objects; missing text stays NaN or None (factorising treats both as missing)."""
    return column.to_numpy(dtype=object)


@lru_cache(maxsize=200_000)
def _fields(text: str | None, unit: str | None) -> tuple:
    """The parsed value of one distinct (text, unit) as the flat tuple of fields the arrays are built from."""
    p = parse_value(text, unit)
    dl = p.deadline
    return (K[p.kind.value], C[p.comparator.value] if p.comparator else 0,
            np.nan if p.value is None else p.value, np.nan if p.tolerance is None else p.tolerance,
            p.unit, "/".join(p.per) if p.per else None, p.scale, p.loose,
            np.nan if not dl or dl[0] is None else dl[0], np.nan if not dl else dl[1] * 100 + dl[2],
            BD[p.band.value] if p.band else 0, p.problem)


_NUMBER = K["number"]
_FIELDS = (("kind", np.int8), ("cmp", np.int8), ("val", float), ("tol", float), ("unit", object), ("per", object),
           ("scale", float), ("loose", bool), ("dl_y", float), ("dl_md", float), ("band", np.int8), ("problem", object))


def _parse_column(texts: pd.Series, units: pd.Series | None, vocab: _Vocab) -> "_Spread":
    """Parse each distinct (text, unit) once and spread the fields back over the rows as arrays."""
    values = _objects(texts)
    missing = pd.isna(values)
    if missing.any():  # missing reads as blank; all-text columns factorise much faster (pandas' string table)
        values = values.copy()
        values[missing] = ""
    codes, uniques = _factorize(values)  # (no missing value left: every code is >= 0)
    text_list: list[str | None] = [str(u) for u in uniques]
    unit_list: list[str | None] = [None] * len(text_list)
    unit_values = None if units is None else _objects(units)
    if unit_values is not None and pd.notna(unit_values).any():
        # combine (text code, unit code) as one integer key: no per-row string concatenation
        u_codes, u_uniques = _factorize(unit_values)
        combined, first = pd.factorize((codes.astype(np.int64) + 1) * (len(u_uniques) + 1) + (u_codes + 1))
        t_part, u_part = first // (len(u_uniques) + 1) - 1, first % (len(u_uniques) + 1) - 1
        u_names = [None if u != u else (str(u) or None) for u in u_uniques]
        text_list = [text_list[t] for t in t_part.tolist()]
        unit_list = [u_names[u] if u >= 0 else None for u in u_part.tolist()]
        codes = combined
    # the canonical "≥12.5万元" shape is read for all values in one regex scan and goes straight into the arrays;
    # the rest goes through the parser, one call per distinct value
    size = len(text_list)
    hits, ops, numbers, units_found, scales = canonical_numbers(
        text_list if units is None else [t if u is None else None for t, u in zip(text_list, unit_list)])
    distinct = {
        "kind": np.full(size, _NUMBER, dtype=np.int8), "cmp": np.zeros(size, dtype=np.int8),
        "val": np.full(size, np.nan), "tol": np.full(size, np.nan), "unit": np.full(size, None, dtype=object),
        "per": np.full(size, None, dtype=object), "scale": np.ones(size), "loose": np.zeros(size, dtype=bool),
        "dl_y": np.full(size, np.nan), "dl_md": np.full(size, np.nan), "band": np.zeros(size, dtype=np.int8),
        "problem": np.full(size, None, dtype=object),
    }
    if hits:
        distinct["cmp"][hits] = [C[op.value] if op else 0 for op in ops]
        distinct["val"][hits] = numbers
        distinct["unit"][hits] = units_found
        distinct["scale"][hits] = scales
    found = set(hits)
    rest = [i for i in range(size) if i not in found]
    if rest:
        rows = [_fields(text_list[i] or "", unit_list[i]) for i in rest]
        for (name, _), column in zip(_FIELDS, zip(*rows)):
            distinct[name][rest] = column
    distinct["unit"] = vocab.code_array(distinct["unit"])
    distinct["per"] = vocab.code_array(distinct["per"])
    return _Spread(distinct, codes)


class _Spread(dict):
    """The fields of the distinct values, spread over the rows when first used (unused fields cost nothing)."""

    def __init__(self, distinct: dict[str, np.ndarray], codes: np.ndarray):
        super().__init__()
        self.distinct, self.codes = distinct, codes

    def __missing__(self, name: str) -> np.ndarray:
        values = self[name] = self.distinct[name][self.codes]
        return values

    def rows(self, name: str, mask: np.ndarray) -> np.ndarray:
        """One field on the rows of ``mask`` only, without spreading it over every row."""
        return self[name][mask] if name in self else self.distinct[name][self.codes[mask]]


def _floats(column: pd.Series) -> np.ndarray:
    """A column as floats, text that is not a number as NaN (a column of None costs one isna, not a parse)."""
    if column.dtype.kind in "biuf":
        return column.to_numpy(dtype=float)
    values = column.to_numpy(dtype=object)
    missing = pd.isna(values)
    if missing.all():
        return np.full(len(values), np.nan)
    return pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)


def _mapped(column: pd.Series, mapping: dict[str, int]) -> np.ndarray:
    """Codes of a label column through ``mapping`` (NaN where missing or unknown), one lookup per distinct label."""
    values = _objects(column)
    if not pd.notna(values).any():  # the usual case: no overrides given
        return np.full(len(values), np.nan)
    codes, uniques = _factorize(values)
    table = np.array([*(mapping.get(u, np.nan) for u in uniques), np.nan], dtype=float)
    return table[codes]  # code -1 → the trailing NaN


def _labels(names: tuple[str | None, ...], codes: np.ndarray) -> pd.Categorical:
    """Integer codes → their labels as a categorical (no per-row objects); "" and None label as missing."""
    keep = [i for i, x in enumerate(names) if x]
    remap = np.full(len(names), -1, dtype=np.int8)
    remap[keep] = np.arange(len(keep))
    return pd.Categorical.from_codes(remap[codes], categories=[names[i] for i in keep])


def _ordinal(year: np.ndarray, md: np.ndarray) -> np.ndarray:
    """(year, month*100+day) → a day count; vectorised via numpy datetime64."""
    ok = ~(np.isnan(year) | np.isnan(md))
    out = np.full(len(year), np.nan)
    if ok.any():
        y = year[ok].astype(int)
        m = (md[ok] // 100).astype(int)
        d = (md[ok] % 100).astype(int)
        base = (y - 1970).astype("datetime64[Y]").astype("datetime64[M]") + (m - 1).astype("timedelta64[M]")
        out[ok] = (base.astype("datetime64[D]") + (d - 1).astype("timedelta64[D]")).astype(float)
    return out


class _Codes:
    """A text column factorised once (sorted codes + distinct values), reused by every check on it."""

    def __init__(self, values: pd.Series, rows: np.ndarray | None = None):
        """``rows``: only these rows' names are needed (the others read as "")."""
        if rows is None or rows.all():
            codes, uniques = _factorize_runs(_objects(values))
        else:
            codes = np.full(len(values), -1, dtype=np.intp)
            codes[rows], uniques = _factorize(_objects(values)[rows])
        # missing and "" are one value; codes follow the names' sort order (ties in the weight split go by name)
        names = np.array([*("" if u is None or u != u else str(u) for u in uniques), ""], dtype=object)
        remap, self.uniques = pd.factorize(names, sort=True)
        self.codes = remap[codes]  # code -1 (missing) takes the trailing ""

    def contains_any(self, words: tuple[str, ...]) -> np.ndarray:
        """Does each value contain any of ``words``? Checked once per distinct value (names repeat a lot)."""
        if not words or not len(self.uniques):
            return np.zeros(len(self.codes), dtype=bool)
        pattern = re.compile("|".join(map(re.escape, words)))
        hits = np.array([bool(pattern.search(str(u))) for u in self.uniques], dtype=bool)
        return hits[self.codes]


# --------------------------------------------------------------------------- the vectorised core
def score_frame(df: pd.DataFrame, rules: RuleSet) -> pd.DataFrame:
    """Score every row of an indicator frame. Adds method, weight, fraction, score, status and trace columns.

    Labels (status, method, reason, group, kinds, units …) come back as categoricals and the table ids too (as
    long as none is missing): compare them with strings as usual; ``_records`` turns rows into plain dicts."""
    out = df.reset_index(drop=True)
    n = len(out)
    if n == 0:
        for c in ("group", "method", "weight", "fraction", "score", "status", "reason"):
            out[c] = pd.Series(dtype=object)
        return out
    vocab = _Vocab()
    tp = _parse_column(out["target_raw"], out["unit_col"], vocab)
    ap = _parse_column(out["actual_raw"], None, vocab)
    # a blank target may be written into the name: "年度资金支付完成率100%"
    from_name = np.zeros(n, dtype=bool)
    blank_t = tp["kind"] == K["blank"]
    if blank_t.any():
        names = _parse_column(out.loc[blank_t, "level3"].astype(object).str.replace(r"^指标\d+[:：]", "", regex=True),
                              None, vocab)
        usable = names["kind"] == K["number"]
        if usable.any():
            idx = np.flatnonzero(blank_t)[usable]
            for name, _ in _FIELDS:
                tp[name][idx] = names[name][usable]
            from_name[idx] = True
    # a 评分标准 written as the target ("≤100%，计5分；每超过一个百分点扣0.5分，扣完为止") brings its own method
    from_rule = np.zeros(n, dtype=bool)
    unreadable = np.flatnonzero(tp["kind"] == K["unreadable"])
    if len(unreadable):
        scoring = out["scoring"].to_numpy(dtype=object).copy()
        for i in unreadable:
            hit = parse_scoring_text(str(out["target_raw"].iat[i]))
            if hit and scoring[i] is None:
                target, spec = hit
                tp["kind"][i], tp["cmp"][i] = K["number"], C[target.comparator.value]
                tp["val"][i], tp["unit"][i], tp["scale"][i] = target.value, vocab.code(target.unit), 1.0
                tp["problem"][i] = None
                scoring[i] = spec
                from_rule[i] = True
        out["scoring"] = pd.Series(scoring, index=out.index, dtype=object)
    tk, ak = tp["kind"], ap["kind"]
    table_codes, table_names = _factorize_runs(_objects(out["table"]), keep_missing=True)
    if not pd.isna(table_names).any():  # the table ids as a categorical: table_totals reuses the codes
        out["table"] = pd.Categorical.from_codes(table_codes, categories=table_names)
    given = _floats(out["weight_given"])
    has_given = (np.bincount(table_codes, weights=~np.isnan(given)) > 0)[table_codes]  # the table gives 分值
    cmp_ = tp["cmp"]
    unsaid = _DIRECTION_OF_CMP[cmp_] < 0  # no operator: the direction comes from the names
    # 三级指标 names matter only for a direction by name and for the order of an even weight split
    level1, level2, level3 = _Codes(out["level1"]), _Codes(out["level2"]), _Codes(out["level3"], unsaid | ~has_given)

    # --- weight group (满意度 as a 二级 under 效益 still belongs to the 满意度 group); -1 = none
    group = np.full(n, -1, dtype=np.int16)
    for gi, g in enumerate(rules.weights.groups):
        group = np.where((group < 0) & level1.contains_any(g.match_level1), gi, group)
    for gi, g in enumerate(rules.weights.groups):
        if g.match_level2:
            group = np.where(level2.contains_any(g.match_level2), gi, group)

    # --- direction: operator, else override, else 二级指标 / name
    cost = level2.contains_any(rules.direction.lower_level2)
    lower_by_name = cost | level3.contains_any(rules.direction.lower_names)
    direction = _DIRECTION_OF_CMP[cmp_]
    direction[unsaid] = np.where(lower_by_name[unsaid], D["lower"], D["higher"])
    override = _mapped(out["direction"], D)  # None / NaN where not overridden
    overridden = ~np.isnan(override) & (cmp_ != C["band"])
    if overridden.any():
        direction[overridden] = override[overridden]

    # --- not applicable, missing, unreadable
    t_na = tk == K["na"]
    a_na = ak == K["na"]
    a_blank = ak == K["blank"]
    spent = _floats(out["spent"])
    cost_fill = cost & a_blank & (tk == K["number"]) & ~np.isnan(spent) if rules.cost_from_spent \
        else np.zeros(n, dtype=bool)

    # --- numbers: actual in the target's unit and scale
    # (the spread arrays are this call's own: adjusted in place, no full-length temporaries)
    t_val, t_unit, t_scale = tp["val"], tp["unit"], tp["scale"]
    a_val, a_unit, a_scale = ap["val"], ap["unit"], ap["scale"]
    no_unit = (a_unit < 0) & (a_scale == 1.0)
    with np.errstate(over="ignore", invalid="ignore"):
        np.multiply(a_val, t_scale, out=a_val, where=no_unit)
    np.copyto(a_unit, t_unit, where=no_unit)
    # an Excel 100% read back as 1.0 against a % target
    percent = vocab.codes.get("%", -2)
    as_fraction = no_unit & (t_unit == percent)
    if as_fraction.any():
        as_fraction &= (np.abs(a_val) <= 1.5) & (t_val > 1.5) & (ak == K["number"])
        np.multiply(a_val, 100, out=a_val, where=as_fraction)
    a_kind = ak.copy()
    if cost_fill.any():
        # cost indicators without an actual: compare the table's 全年执行数 (万元) with the ceiling
        np.copyto(a_val, spent * 1e4, where=cost_fill)
        np.copyto(a_unit, t_unit, where=cost_fill)
        a_kind[cost_fill] = K["number"]
        a_blank &= ~cost_fill

    unit_ok = (a_unit < 0) | (t_unit < 0) | (a_unit == t_unit) | _compatible_units(a_unit, t_unit, vocab)

    # per-unit rates: a total actual is divided by the count (界别数 …)
    rate = tk == K["rate"]
    rate_total = rate & (a_kind == K["number"])
    if rate.any():
        base = _floats(out["actual_rate_base"])
        base = np.where(np.isnan(base), _floats(out["rate_base"]), base)
        with np.errstate(over="ignore", invalid="ignore"):
            np.divide(a_val, base, out=a_val, where=rate_total & ~np.isnan(base))
        rate_needs_base = rate_total & np.isnan(base)
        rate_per_mismatch = rate & (a_kind == K["rate"]) & (tp["per"] != ap["per"])
        rate_base_used = np.where(rate_total, base, np.nan)
    else:
        rate_needs_base = rate_per_mismatch = rate
        rate_base_used = np.full(n, np.nan)

    t_num = (tk == K["number"]) | rate
    a_num = (a_kind == K["number"]) | (a_kind == K["rate"])
    negative = a_num & (a_val < 0) & (direction != D["band"])
    a_val[negative] = 0.0


    # --- which method scores each row
    band_given = _mapped(out["band"], BD)
    has_band = band_given > 0  # (NaN: no band given)
    judged = _floats(out["judged_score"])
    has_judged = ~np.isnan(judged)
    a_band = ap["band"]  # this call's own array: the given bands go in place
    if has_band.any():
        a_band[has_band] = band_given[has_band]
    t_qual = (tk == K["qualitative"]) | (tk == K["blank"])
    # a word actual ("完成") for a numeric target, or a 时效 target answered in words, is judged by its band
    word_for_number = (t_num | (tk == K["deadline"])) & (a_kind == K["qualitative"])
    qual = (t_qual & ~a_na & ~a_blank) | word_for_number | (has_band & ~t_na) | (has_judged & ~t_na)
    qual_assumed = qual & (a_band == 0)
    unknown_phrase_error = qual_assumed & (rules.scoring.qualitative.unknown_phrase == "error") \
        & (a_kind == K["qualitative"])
    a_band[qual_assumed & ~unknown_phrase_error] = BD[Band.ACHIEVED.value]

    OK, NA, ERR = 0, 1, 2
    status = np.zeros(n, dtype=np.int8)
    reason = np.zeros(n, dtype=np.int8)

    def fail(mask: np.ndarray, why: str) -> None:
        m = mask & (status == OK)
        status[m] = ERR
        reason[m] = RS[why]

    na = t_na | (a_na & ~t_na)
    na_full = na & (rules.not_applicable == "full")
    status[na & ~na_full] = NA
    reason[na] = RS[Code.NOT_APPLICABLE.value]
    qual = qual & ~na_full
    fail(tk == K["unreadable"], Code.UNREADABLE_TARGET.value)
    fail(a_blank & ~qual, Code.MISSING_ACTUAL.value)
    fail((a_kind == K["unreadable"]) & ~qual, Code.UNREADABLE_ACTUAL.value)
    fail(unknown_phrase_error, Code.UNREADABLE_ACTUAL.value)
    fail(t_num & a_num & ~unit_ok & ~qual, Code.UNIT_MISMATCH.value)
    fail(rate_needs_base & ~qual, Code.RATE_NEEDS_BASE.value)
    fail(rate_per_mismatch & ~qual, Code.UNIT_MISMATCH.value)
    fail((tk == K["deadline"]) & ~qual & (a_kind != K["deadline"]) & ~a_blank & ~a_na, Code.UNREADABLE_ACTUAL.value)
    fail(t_num & (a_kind == K["deadline"]), Code.UNREADABLE_ACTUAL.value)

    missing_zero = (reason == RS[Code.MISSING_ACTUAL.value]) & (rules.missing_actual == "zero")
    status[missing_zero] = OK

    ok = status == OK
    method = np.zeros(n, dtype=np.int8)
    method[na_full] = M["na-full"]
    method[ok & qual] = M["qualitative"]
    method[ok & ~qual & ~na_full & (tk == K["deadline"])] = M["deadline"]
    numeric = ok & ~qual & t_num & a_num
    for key in ("higher", "lower", "equal", "band"):
        method[numeric & (direction == D[key])] = M[f"@{key}"]
    method[missing_zero] = M["missing-zero"]
    custom = out["scoring"].to_numpy(dtype=object)
    has_custom = numeric & pd.notna(custom)
    method[has_custom] = M["@custom"]

    # --- weights
    weight = _weights(given, has_given, table_codes, group, level2.codes, level3.codes, status == NA, rules)

    # --- fractions, one vectorised pass per method
    fraction = np.full(n, np.nan)
    higher = direction != D["lower"]
    for key in ("higher", "lower", "equal"):
        m = method == M[f"@{key}"]
        if m.any():
            fraction[m] = getattr(rules.scoring, key).fraction(t_val[m], a_val[m], weight[m], higher[m])
    m = method == M["@band"]
    if m.any():
        fraction[m] = rules.scoring.band.fraction(t_val[m], a_val[m], weight[m], higher[m], tol=tp.rows("tol", m))
    m = method == M["deadline"]
    if m.any():
        # deadlines as day numbers; a target without a year takes the table's year, an actual the target's
        year = _floats(out["year"])[m]
        t_year, a_year = tp.rows("dl_y", m), ap.rows("dl_y", m)
        t_year = np.where(np.isnan(t_year), year, t_year)
        a_year = np.where(np.isnan(a_year), t_year, a_year)
        t_day, a_day = _ordinal(t_year, tp.rows("dl_md", m)), _ordinal(a_year, ap.rows("dl_md", m))
        fraction[m] = rules.scoring.deadline.fraction(t_day, a_day, weight[m], higher[m])
    fraction[method == M["missing-zero"]] = 0.0
    fraction[method == M["na-full"]] = 1.0
    custom_methods = np.full(n, None, dtype=object)
    for i in np.flatnonzero(has_custom):  # per-indicator rule overrides are rare and validated on load
        spec = method_from_dict(custom[i], where=f"{out['table'].iat[i]} / {out['level3'].iat[i]} / scoring")
        custom_methods[i] = spec
        fraction[i] = spec.fraction(t_val[i:i + 1], a_val[i:i + 1], weight[i:i + 1], higher[i:i + 1])[0]
    # 定性: a judged score inside the band wins, else the band's default point
    m = method == M["qualitative"]
    judged_used = m & has_judged
    judged_outside = np.zeros(n, dtype=bool)
    if m.any():
        bands = rules.scoring.qualitative.bands
        default = np.array([np.nan] + [bands[Band(b)].default / 100 for b in BANDS[1:]])[a_band[m]]
        lo = np.array([0.0] + [bands[Band(b)].range[0] / 100 for b in BANDS[1:]])[a_band[m]]
        hi = np.array([1.0] + [bands[Band(b)].range[1] / 100 for b in BANDS[1:]])[a_band[m]]
        judged_fraction = _safe(judged[m], weight[m])
        inside = (judged_fraction >= lo - 1e-9) & (judged_fraction <= hi + 1e-9)
        judged_outside[m] = judged_used[m] & ~inside
        fraction[m] = np.where(judged_used[m], np.clip(judged_fraction, lo, hi), default)

    # --- over-achievement deduction (off by default)
    oa = rules.over_achievement
    over = np.zeros(n, dtype=bool)
    if oa.enabled:
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            ratio = np.where(t_val > 0, a_val / np.where(t_val > 0, t_val, 1), np.nan)
        over = ((method == M["@higher"]) | (method == M["@equal"])) & (ratio >= oa.threshold - 1e-12)
    raw = fraction * weight
    raw = np.where(over, np.maximum(weight - oa.deduction, 0), raw)
    score = np.clip(rules.rounding.apply(raw), 0, weight)
    score = np.where(ok, score, np.nan)

    group_keys = tuple(g.key for g in rules.weights.groups)
    cols = {
        "group": _labels((*group_keys, None), group), "direction_used": _labels(DIRECTIONS, direction),
        "t_kind": _labels(KINDS, tk), "a_kind": _labels(KINDS, a_kind), "target_from_name": from_name,
        "target_from_rule": from_rule,
        "t_val": t_val, "a_val": a_val, "tol": tp["tol"], "t_unit": vocab.labels(t_unit), "a_unit": vocab.labels(a_unit),
        "t_problem": tp["problem"], "a_problem": ap["problem"], "t_cmp": _labels(CMPS, cmp_), "a_loose": ap["loose"],
        "band_used": _labels(BANDS, np.where(m, a_band, 0)), "judged_used": judged_used,
        "judged_outside": judged_outside, "t_scale": t_scale, "t_per": vocab.labels(tp["per"]),
        "rate_base_used": rate_base_used, "qual_assumed": qual_assumed & ok,
        "word_for_number": word_for_number & ok, "as_fraction": as_fraction & ok, "cost_fill": cost_fill,
        "negative": negative, "over": over, "custom_method": custom_methods, "method": _labels(METHOD_KEYS, method),
        "weight": weight, "fraction": fraction, "raw_score": raw, "score": score,
        "status": _labels(STATUSES, status), "reason": _labels(REASONS, reason),
    }
    # labels are categoricals (codes, no per-row objects); free text stays a plain object array (letting pandas
    # infer its string dtype costs more than the scoring); copy=False keeps each column its own array instead of
    # copying them into consolidated 2-D blocks
    added = pd.DataFrame({k: pd.Series(v, dtype=object if isinstance(v, np.ndarray) and v.dtype.kind in "OU" else None,
                                       index=out.index, copy=False)
                          for k, v in cols.items()}, index=out.index, copy=False)
    return pd.concat([out, added], axis=1)


def clear_caches() -> None:
    """Forget every parsed value (benchmarks use this to time parsing from cold)."""
    parse_value.cache_clear()
    _fields.cache_clear()


def _safe(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1), 0.0)


_UNIT_FAMILIES = [{"%", "‰"}, {"人", "人次", "名", "位"}, {"个", "项", "件"}, {"天"}, {"次", "场", "期"}]


_COMPATIBLE = {(x, y) for fam in _UNIT_FAMILIES for x in fam for y in fam if x != y and "%" not in (x, y)}


def _compatible_units(a: np.ndarray, t: np.ndarray, vocab: _Vocab) -> np.ndarray:
    """Units that differ only in wording (人 / 人次 / 名), checked on the unit codes."""
    pairs = [(vocab.codes[x], vocab.codes[y]) for x, y in _COMPATIBLE if x in vocab.codes and y in vocab.codes]
    out = np.zeros(len(a), dtype=bool)
    for x, y in pairs:
        out |= (a == x) & (t == y)
    return out


def _weights(given: np.ndarray, has_given: np.ndarray, table: np.ndarray, group: np.ndarray, l2: np.ndarray,
             l3: np.ndarray, na: np.ndarray, rules: RuleSet) -> np.ndarray:
    """Given 分值 where the table has them; else each group's weight split evenly (largest remainder).

    Not-applicable indicators weigh nothing; under ``rescale`` the others are scaled up to the same total.
    Ties in the split go by (二级, 三级) name, not row order, so shuffled input scores the same.
    """
    missing = np.isnan(given)
    weight = given.copy()  # NaN where the table gives no 分值 (split below), 0 where it gives some but not this one
    weight[has_given & missing] = 0.0
    decimals = rules.rounding.decimals
    group_weight = np.array([g.weight for g in rules.weights.groups] + [np.nan])  # group -1 → NaN
    split = ~has_given
    if split.any():
        idx = np.flatnonzero(split & ~na & (group >= 0))
        t_codes = table[idx]
        g_codes = group[idx]
        l2_codes, l3_codes = l2[idx], l3[idx]
        gw_idx = group_weight[g_codes]
        if rules.not_applicable == "rescale":
            # a 一级指标 group with no applicable indicator in a table: the others take its weight
            present = _first_in_group([t_codes, g_codes])
            per_table = np.bincount(t_codes, weights=np.where(present, gw_idx, 0.0))[t_codes]
            gw_idx = gw_idx * np.where(per_table > 0, group_weight[:-1].sum() / np.where(per_table > 0, per_table, 1), 1)
        units = np.round(gw_idx * 10 ** decimals).astype(np.int64)
        if rules.weights.split == "by-level2":
            # first across the 二级指标 of a group, then across the 三级指标 of each 二级
            first = _first_in_group([t_codes, g_codes, l2_codes])
            units = _split_units(units, [t_codes, g_codes], [l2_codes], include=first, spread=[t_codes, g_codes, l2_codes])
            units = _split_units(units, [t_codes, g_codes, l2_codes], [l3_codes])
        else:
            units = _split_units(units, [t_codes, g_codes], [l2_codes, l3_codes])
        weight[idx] = units / 10 ** decimals
        weight = np.where(split & np.isnan(weight), 0.0, weight)
    if rules.not_applicable == "rescale" and na.any():
        weight = np.where(na, 0.0, weight)
        # scale applicable weights up so the indicator part keeps its total
        full = np.bincount(table, weights=np.where(has_given, np.nan_to_num(given), weight))[table]
        split_full = (np.bincount(table, weights=split) > 0)[table]
        applicable = np.bincount(table, weights=np.where(na, 0.0, weight))[table]
        some_na = (np.bincount(table, weights=na) > 0)[table]
        scale = (applicable > 0) & ~split_full & some_na  # (nothing to rescale in a table without 不适用 rows)
        # each applicable weight's share of the applicable total, times the full total (divide first: no overflow)
        share = np.divide(weight, applicable, out=np.zeros_like(weight), where=scale)
        weight = np.where(na, 0.0, np.where(scale, share * full, weight))
    return weight


def _group_ids(keys: list[np.ndarray]) -> np.ndarray:
    """One integer per distinct combination of the keys (each an array of small integer codes, -1 allowed),
    ordered as the combinations are ordered (first key first): sorting the ids sorts by all the keys."""
    ids = keys[0].astype(np.int64) + 1
    for k in keys[1:]:
        size = int(k.max()) + 2 if len(k) else 1
        if len(ids) and int(ids.max()) >= (1 << 62) // size:  # keep the combined id inside int64
            ids = pd.factorize(ids, sort=True)[0].astype(np.int64)
        ids = ids * size + (k.astype(np.int64) + 1)
    return ids


def _first_in_group(keys: list[np.ndarray]) -> np.ndarray:
    """True on the first row of each distinct key combination."""
    return ~pd.Series(_group_ids(keys)).duplicated().to_numpy()


def _split_units(units: np.ndarray, keys: list[np.ndarray], order: list[np.ndarray], include: np.ndarray | None = None,
                 spread: list[np.ndarray] | None = None) -> np.ndarray:
    """Largest-remainder split of each group's ``units`` (integers) over its rows, vectorised.

    Rows of a group share ``units``; each gets ``units // k``, and the first ``units % k`` rows in ``order``
    (names, not input position) get one more, so the parts add up exactly. With ``include`` only those rows
    take part, and the result is spread back to every row with the same ``spread`` key.
    """
    n = len(units)
    idx = np.arange(n) if include is None else np.flatnonzero(include)
    group = _group_ids(keys)[idx]
    perm = np.argsort(_group_ids([group, *(o[idx] for o in order)]), kind="stable")  # by group, then names
    group = group[perm]
    first = np.empty(len(perm), dtype=bool)
    first[:1] = True
    np.not_equal(group[1:], group[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    member = np.cumsum(first) - 1
    rank = np.arange(len(perm)) - starts[member]
    k = np.diff(np.append(starts, len(perm)))[member]
    u = units[idx][perm]
    out = np.zeros(n, dtype=np.int64)
    out[idx[perm]] = u // k + (rank < u % k)
    if spread is not None:
        ids = pd.factorize(_group_ids(spread))[0]
        out = np.bincount(ids, weights=out).astype(np.int64)[ids]  # include=False rows hold 0
    return out


# --------------------------------------------------------------------------- explanations (render the trace)
def _row_text(r: dict[str, Any], rules: RuleSet) -> str:
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
    decimals = rules.rounding.decimals
    ctx = {
        "t": r["t_val"], "a": r["a_val"], "fraction": r["fraction"],
        "t_text": _value_text(r["t_val"], r) if r["t_val"] == r["t_val"] else (r["target_raw"] or "（空）"),
        "a_text": _value_text(r["a_val"], r) if r["method"] not in ("qualitative", "deadline") and r["a_val"] == r["a_val"]
        else _actual_text(r),
        "w_text": fmt(r["weight"], decimals),
        "raw_text": f"{r['score']:.{decimals}f}", "tol_text": fmt(r["tol"]),
        "band": Band(r["band_used"]) if r.get("band_used") else None, "judged": bool(r["judged_used"]),
    }
    m = r["method"]
    if m == "missing-zero":
        text = "缺少实际完成值，按规则集设定计 0 分"
    elif m == "na-full":
        text = f"不适用，按规则集设定计满分 {ctx['w_text']}"
    elif m == "qualitative":
        text = rules.scoring.qualitative.explain(ctx)
    elif m == "deadline":
        text = rules.scoring.deadline.explain(ctx)
    elif m == "@custom":
        text = r["custom_method"].explain(ctx)
    else:
        text = (rules.scoring.band if m == "@band" else getattr(rules.scoring, m[1:])).explain(ctx)
    notes = []
    if r["over"]:
        notes.append(f"超额完成（≥{fmt(rules.over_achievement.threshold * 100)}%）扣 {fmt(rules.over_achievement.deduction)} 分")
    if r["cost_fill"]:
        notes.append("成本指标以全年执行数作为实际值")
    if r["as_fraction"]:
        notes.append("实际值按百分比读取")
    if r["negative"]:
        notes.append("实际值为负数，按 0 计")
    return text + ("（" + "；".join(notes) + "）" if notes else "")


def _value_text(value: float, r: dict[str, Any]) -> str:
    """A scored number in the target's own terms: 528.244101万, 5次, 3.64次/界别."""
    scale = r["t_scale"] or 1.0
    word = {1e4: "万", 1e8: "亿"}.get(scale, "")
    unit = r["t_unit"] or ""
    per = "/" + r["t_per"] if r.get("t_per") else ""
    text = f"{fmt(value / scale, 6)}{word}{unit}{per}"
    if r.get("rate_base_used") == r.get("rate_base_used") and r.get("rate_base_used") and value == r["a_val"]:
        text = f"{r['actual_raw']} ÷ 计量基数 {fmt(r['rate_base_used'])} = {value:.2f}{unit}{per}"
    return text


def _actual_text(r: dict[str, Any]) -> str:
    if r["cost_fill"]:
        return f"{fmt(r['a_val'] / 1e4)}万元"
    raw = r["actual_raw"]
    if raw is None or raw == "":
        return "（空）"
    return str(raw)


# --------------------------------------------------------------------------- tables, findings, evaluation
def table_totals(scored: pd.DataFrame, rules: RuleSet) -> pd.DataFrame:
    """Per table: indicator sum, execution rate and score, cap, total and grade — vectorised over tables."""
    codes, names = _table_codes(scored["table"])
    n_tables = len(names)
    score = scored["score"].to_numpy(dtype=float)
    t = pd.DataFrame({
        "indicator_score": np.bincount(codes, weights=np.nan_to_num(score), minlength=n_tables),
        "weight": np.bincount(codes, weights=scored["weight"].to_numpy(dtype=float), minlength=n_tables),
        "errors": np.bincount(codes, weights=(scored["status"] == "error").to_numpy(), minlength=n_tables
                              ).astype(np.int64),
        "budget": _first_number(scored["budget"], codes, n_tables),
        "spent": _first_number(scored["spent"], codes, n_tables),
    }, index=pd.Index(names, name="table"))
    budget, spent = t["budget"].to_numpy(), t["spent"].to_numpy()
    ex = rules.execution
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        rate = np.where(budget > 0, spent / np.where(budget > 0, budget, 1), np.where(budget == 0, 1.0, np.nan))
    rate_c = np.minimum(rate, ex.cap_rate)
    w = rules.weights.execution
    if ex.method == "proportional":
        ex_score = np.minimum(rate_c, 1.0) * w
    else:
        steps = np.ceil(np.clip(1 - rate_c, 0, None) * 100 / ex.step - 1e-9)
        ex_score = np.clip(w - steps * ex.points, 0, w)
    ex_score = rules.rounding.apply(ex_score)
    t["rate"] = rate
    t["execution_score"] = ex_score
    raw_total = rules.rounding.apply(t["indicator_score"].to_numpy(dtype=float) + np.nan_to_num(ex_score))
    cap = np.full(len(t), np.nan)
    for c in sorted(ex.total_caps, key=lambda c: -c.below):
        cap = np.where(rate < c.below - 1e-12, c.cap, cap)
    total = np.where(~np.isnan(cap), np.minimum(raw_total, cap), raw_total)
    complete = (t["errors"].to_numpy() == 0) & ~np.isnan(ex_score)
    t["raw_total"] = raw_total
    t["cap"] = cap
    t["total"] = np.where(complete, total, np.nan)
    t["complete"] = complete
    tot = t["total"].to_numpy(dtype=float)
    t["grade"] = np.select([tot >= g.min - 1e-9 for g in rules.grades], [g.grade for g in rules.grades],
                           default=rules.grades[-1].grade).astype(object)
    t["grade"] = t["grade"].where(~np.isnan(tot), None)
    return t


def _table_codes(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Codes and ids of the tables, in order of first appearance."""
    if not isinstance(column.dtype, pd.CategoricalDtype):
        return _factorize_runs(_objects(column), keep_missing=True)
    codes = column.cat.codes.to_numpy()
    names = column.cat.categories.to_numpy(dtype=object)
    if len(codes) and codes[0] == 0:  # as score_frame returns it: every id used, numbered in order of appearance
        seen = np.maximum.accumulate(codes)
        if seen[-1] == len(names) - 1 and (codes[1:] <= seen[:-1] + 1).all():
            return codes, names
    first = np.full(len(names), len(codes))
    np.minimum.at(first, codes, np.arange(len(codes)))
    present = np.flatnonzero(first < len(codes))  # (a filtered frame keeps ids it no longer has)
    present = present[np.argsort(first[present], kind="stable")]
    remap = np.full(len(names), -1)
    remap[present] = np.arange(len(present))
    return remap[codes], names[present]


def _first_number(column: pd.Series, codes: np.ndarray, n: int) -> np.ndarray:
    """Each group's first number in ``column`` (NaN when it has none)."""
    values = _floats(column)
    # the usual case: the value is on every row of its table, so each group's first row has it
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]]) if len(codes) else codes
    if len(starts) == n and (codes[starts] == np.arange(n)).all() and not np.isnan(values[starts]).any():
        return values[starts]
    rows = np.flatnonzero(~np.isnan(values))
    first = np.full(n, len(values))
    np.minimum.at(first, codes[rows], rows)
    return np.append(values, np.nan)[first]  # a group without a number points past the end: NaN


_TARGET_COLUMNS = {"年度指标值", "分值", "度量单位"}


def _finding(code: Code, sev: Severity, r: dict[str, Any], message: str, files: "Files", column: str | None = None
             ) -> Finding:
    """A finding on one indicator, located in the file that holds the offending cell."""
    file = files.targets if column in _TARGET_COLUMNS else files.actuals
    row = r.get("row")
    # built without validation: every field comes from the scored frame, already typed (one finding per row
    # and check, so validating them again was a large share of a bureau batch)
    location = Location.model_construct(file=file, table=r["table"], row=int(row) if row == row and row else None,
                                        item=int(r["position"]) + 1, column=column, indicator=r["level3"])
    return Finding.model_construct(code=code.value, severity=sev, message=message, location=location)


class Files:
    """The targets and actuals files findings point at (the same file for a flat 自评表)."""

    def __init__(self, targets: str | None, actuals: str | None):
        self.targets, self.actuals = targets, actuals


def _row_findings(rows: list[dict[str, Any]], rules: RuleSet, file: Files, notes: dict[str, str]) -> list[Finding]:
    out: list[Finding] = []
    tol = rules.claimed_tolerance
    for r in rows:
        st, reason = r["status"], r["reason"]
        if st == "error":
            msg = _row_text(r, rules).removeprefix("无法计分：")
            column = "年度指标值" if reason == Code.UNREADABLE_TARGET.value else "实际完成值"
            action = {
                Code.MISSING_ACTUAL.value: "请填写实际完成值；确实不适用的填“无”",
                Code.UNREADABLE_TARGET.value: "请按“≥5次”“100%”“2023年底”等格式改写年度指标值",
                Code.UNREADABLE_ACTUAL.value: "请填写数值（可带单位）、完成日期或达成情况",
                Code.UNIT_MISMATCH.value: "请统一计量单位",
                Code.RATE_NEEDS_BASE.value: "请在实际完成值中按同样的“每…”口径填写，或提供计量基数（rate_base）",
            }.get(reason, "")
            out.append(_finding(Code(reason), Severity.ERROR, r, f"{msg}。{action}", file, column))
        if r["target_from_rule"]:
            out.append(_finding(Code.TARGET_FROM_RULE, Severity.INFO, r,
                                f"年度指标值是评分标准的文字，已按其规则计分（{_method_label(r)}）", file, "年度指标值"))
        if r["target_from_name"]:
            out.append(_finding(Code.TARGET_FROM_NAME, Severity.INFO, r,
                                "年度指标值为空，已从指标名称中读取目标值；建议在年度指标值列中填写", file, "年度指标值"))
        if r["t_kind"] == "blank":
            out.append(_finding(Code.BLANK_TARGET, Severity.WARNING, r,
                                "年度指标值为空：按指标名称作为定性目标评判；建议补充可衡量的指标值", file, "年度指标值"))
        if st == "ok" and r["word_for_number"]:
            out.append(_finding(Code.WORD_ACTUAL, Severity.WARNING, r,
                                f"定量指标的实际完成值为文字“{r['actual_raw']}”，按定性档次计分；建议填写具体数值", file, "实际完成值"))
        elif st == "ok" and r["qual_assumed"]:
            out.append(_finding(Code.QUALITATIVE_ASSUMED, Severity.INFO, r,
                                f"实际完成值“{r['actual_raw']}”未表明档次，按“达成”计分；如需调整请填写评判档次或评判得分",
                                file, "实际完成值"))
        if st == "ok" and r["cost_fill"]:
            out.append(_finding(Code.COST_FROM_SPENT, Severity.INFO, r,
                                "成本指标未填实际值，已用本表全年执行数比较", file, "实际完成值"))
        if r["judged_outside"]:
            band = BAND_LABEL[Band(r["band_used"])]
            out.append(_finding(Code.JUDGED_OUT_OF_BAND, Severity.WARNING, r,
                                f"评判得分 {fmt(r['judged_score'])} 不在“{band}”档次的分值范围内，已按档次边界计 {fmt(r['score'])}",
                                file, "评判得分"))
        if r["negative"]:
            out.append(_finding(Code.NEGATIVE_ACTUAL, Severity.WARNING, r, "实际完成值为负数，按 0 计", file, "实际完成值"))
        if r["over"]:
            out.append(_finding(Code.OVER_ACHIEVEMENT, Severity.WARNING, r,
                                f"实际完成值达到目标的 {fmt(rules.over_achievement.threshold * 100)}% 以上，按规则扣分；"
                                "请说明指标值是否设定偏低", file, "实际完成值"))
        if st == "ok" and r["score"] < r["weight"] - 1e-9 and not (r["deviation_note"] or "").strip():
            out.append(_finding(Code.MISSING_DEVIATION_NOTE, Severity.WARNING, r,
                                f"得分 {fmt(r['score'])} 低于分值 {fmt(r['weight'])}，须填写偏差原因分析及改进措施", file,
                                "偏差原因分析及改进措施"))
        claimed = r["claimed"]
        if claimed is not None and not (isinstance(claimed, float) and np.isnan(claimed)) and st == "ok" \
                and abs(float(claimed) - r["score"]) > tol + 1e-9:
            out.append(_finding(Code.CLAIMED_SCORE_MISMATCH, Severity.WARNING, r,
                                f"自评得分 {fmt(float(claimed))} 与按规则计算的 {fmt(r['score'])} 不一致；"
                                f"{_row_text(r, rules)}", file, "得分"))
        # target quality
        level2, cmp_ = r["level2"] or "", r["t_cmp"]
        if "成本" in level2 and (r["t_kind"] in ("qualitative", "blank") or cmp_ in ("ge", "gt")):
            out.append(_finding(Code.COST_WITHOUT_CEILING, Severity.WARNING, r,
                                "成本指标没有可比较的上限（应写成“≤X万元”）", file, "年度指标值"))
        if "数量" in level2 and cmp_ in ("le", "lt"):
            contradiction = _notes_contradiction(r, notes.get(r["table"], ""))
            if contradiction:
                out.append(_finding(Code.TARGET_CONTRADICTS_NOTES, Severity.WARNING, r,
                                    f"数量指标写作“{r['target_raw']}”（上限），而本表测算说明写“{contradiction}”（下限）；"
                                    "请核对指标性质", file, "年度指标值"))
            else:
                out.append(_finding(Code.QUANTITY_CEILING, Severity.INFO, r,
                                    f"数量指标写作“{r['target_raw']}”（上限），数量指标通常为“≥”；请核对", file, "年度指标值"))
    return out


def _method_label(r: dict[str, Any]) -> str:
    spec = r.get("scoring") or {}
    if spec.get("method") == "step-deduction":
        return f"目标 {fmt(r['t_val'])}，每偏离 {fmt(spec['step'])} 扣 {fmt(spec['points'])} 分，扣完为止"
    if spec.get("method") == "value-bands":
        return "按实际值所在区间计分：" + "；".join(f"≤{fmt(b['max'])} 计 {fmt(b['points'])} 分" for b in spec["bands"])
    return str(spec.get("method", ""))


def _notes_contradiction(r: dict[str, Any], notes: str) -> str | None:
    """Does the table's 测算说明 state a floor (不少于/不低于/≥ N) for an indicator whose target is a ceiling?"""
    import re

    if not notes:
        return None
    name = str(r["level3"])
    keys = {name, name[:2], name[-2:]} if len(name) >= 2 else {name}
    for key in sorted(keys, key=len, reverse=True):
        m = re.search(re.escape(key) + r"[^，。；,;]{0,6}?(不少于|不低于|至少|≥)\s*(\d+(?:\.\d+)?)\s*([\u4e00-\u9fff%]?)", notes)
        if m and abs(float(m.group(2)) - (r["t_val"] or 0)) < 1e-9:
            return m.group(0)
    return None


def evaluate(targets: TargetSet, actuals: ActualSet | None, rules: RuleSet, *, targets_file: str | None = None,
             actuals_file: str | None = None, inputs_hash: str | None = None) -> Evaluation:
    """Score a department: every table with indicators, totals, grades and all findings.

    ``targets_file`` / ``actuals_file`` only name the inputs in the findings' locations."""
    file = Files(targets_file, actuals_file or targets_file)
    frame, findings = indicator_frame(targets, actuals, file)
    scored = score_frame(frame, rules)
    totals = table_totals(scored, rules) if len(scored) else pd.DataFrame()
    notes = {t.id: " ".join(filter(None, [c.summary or "" for c in t.cost_notes] + [c.basis or "" for c in t.cost_notes]
                                       + [c.detail or "" for c in t.cost_notes])) for t in targets.tables}
    rows = _records(scored)
    findings += _row_findings(rows, rules, file, notes)
    by_table: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_table[r["table"]].append(r)
    claimed_total = {t.table: t.claimed_total for t in (actuals.tables if actuals else [])}
    tables: list[TableEvaluation] = []
    for table in targets.tables:
        if table.id not in by_table:
            continue
        t = totals.loc[table.id]
        trs = by_table[table.id]
        findings += _table_findings(table.id, t, trs, rules, file, claimed_total.get(table.id))
        tables.append(_table_evaluation(table, t, trs, rules))
    return Evaluation(unit_name=targets.unit_name, year=targets.year or None, rule_set=rules.id,
                      rule_version=rules.version, tables=tables, findings=findings, inputs_hash=inputs_hash,
                      example=bool(actuals and actuals.example),
                      unscored_tables=[t.title for t in targets.tables if not t.indicators])


def _records(df: pd.DataFrame, columns: list[str] | None = None) -> list[dict[str, Any]]:
    """Rows as dicts, with missing text (NaN in pandas' str columns, a missing label) as None.

    Built column by column (one ``tolist`` each) rather than with ``to_dict``, which boxes every cell on its own."""
    names = list(df.columns) if columns is None else columns
    lists = [_column_list(df[c]) for c in names]
    return [dict(zip(names, values)) for values in zip(*lists)]


def _column_list(column: pd.Series) -> list[Any]:
    if isinstance(column.dtype, pd.CategoricalDtype):
        labels = np.array([*column.cat.categories, None], dtype=object)
        return labels[column.cat.codes.to_numpy()].tolist()  # code -1 → None
    if column.dtype == object or pd.api.types.is_string_dtype(column.dtype):
        values = column.to_numpy(dtype=object)
        missing = pd.isna(values)
        if missing.any():
            values = values.copy()
            values[missing] = None
        return values.tolist()
    return column.tolist()


def _num(x: Any) -> float | None:
    return None if x is None or (isinstance(x, float) and np.isnan(x)) else float(x)


def _table_evaluation(table, t: pd.Series, rows: list[dict[str, Any]], rules: RuleSet) -> TableEvaluation:
    decimals = rules.rounding.decimals
    indicators = [
        IndicatorScore(
            table=r["table"], position=int(r["position"]), level1=r["level1"], level2=r["level2"], level3=r["level3"],
            group=r["group"], target=r["target_raw"], actual=_actual_text(r) if r["cost_fill"] else r["actual_raw"],
            weight=_round_weight(r["weight"], decimals), score=_num(r["score"]), status=r["status"],
            method=_method_name(r, rules), rule=rules.label, explanation=_row_text(r, rules),
            inputs={k: v for k, v in {"target": _num(r["t_val"]), "actual": _num(r["a_val"]), "unit": r["t_unit"],
                                      "direction": r["direction_used"], "band": r["band_used"]}.items()
                    if v is not None},
            deviation_note=r["deviation_note"], claimed_score=_num(r["claimed"]),
        )
        for r in rows
    ]
    groups: dict[str, dict[str, float | None]] = {}
    for g in rules.weights.groups:
        members = [r for r in rows if r["group"] == g.key]
        if members:
            groups[g.label] = {"weight": round(sum(r["weight"] for r in members), decimals),
                               "score": round(sum(r["score"] for r in members if r["status"] == "ok"), decimals)}
    other = [r for r in rows if r["group"] is None]
    if other:
        for l1 in dict.fromkeys(r["level1"] for r in other):
            members = [r for r in other if r["level1"] == l1]
            groups[l1] = {"weight": round(sum(r["weight"] for r in members), decimals),
                          "score": round(sum(r["score"] for r in members if r["status"] == "ok"), decimals)}
    rate = _num(t["rate"])
    ex_score = _num(t["execution_score"])
    budget, spent = _num(t["budget"]), _num(t["spent"])
    if rate is None:
        ex_text = "缺少全年预算数或全年执行数，预算执行率无法计分"
    elif rules.execution.method == "proportional":
        ex_text = (f"执行率 = 全年执行数 {fmt(spent)} ÷ 全年预算数 {fmt(budget)} = {rate * 100:.2f}%"
                   f"{'（按 100% 计）' if rate > rules.execution.cap_rate else ''}；"
                   f"得分 = {min(rate, rules.execution.cap_rate, 1) * 100:.2f}% × {fmt(rules.weights.execution)} = "
                   f"{ex_score:.{decimals}f}")
    else:
        ex_text = (f"执行率 {rate * 100:.2f}%，每低于 {fmt(rules.execution.step)}% 扣 {fmt(rules.execution.points)} 分："
                   f"{ex_score:.{decimals}f}")
    execution = ExecutionScore(budget=budget, spent=spent, rate=rate, weight=rules.weights.execution, score=ex_score,
                               explanation=ex_text)
    return TableEvaluation(table=table.id, title=table.title, kind=table.kind, indicators=indicators, groups=groups,
                           execution=execution, total=_num(t["total"]), raw_total=_num(t["raw_total"]),
                           cap=_num(t["cap"]), grade=t["grade"] if isinstance(t["grade"], str) else None, complete=bool(t["complete"]))


def _round_weight(w: float, decimals: int) -> float:
    """The weight as used: given weights keep their own decimals (a score is never shown above its weight)."""
    return float(round(w, 10))


def _method_name(r: dict[str, Any], rules: RuleSet) -> str | None:
    m = r["method"]
    if m is None:
        return None
    if m == "@custom":
        return r["custom_method"].name
    if m.startswith("@"):
        return (rules.scoring.band if m == "@band" else getattr(rules.scoring, m[1:])).name
    return m


def _table_findings(table_id: str, t: pd.Series, rows: list[dict[str, Any]], rules: RuleSet, file: Files,
                    claimed_total: float | None) -> list[Finding]:
    out: list[Finding] = []
    loc = Location(file=file.targets, table=table_id)
    budget_loc = Location(file=file.actuals, table=table_id, column="budget")
    given = [r["weight_given"] for r in rows if r["weight_given"] is not None and not pd.isna(r["weight_given"])]
    if given:
        missing = [r for r in rows if (r["weight_given"] is None or pd.isna(r["weight_given"])) and r["status"] != "na"]
        for r in missing:
            out.append(_finding(Code.MISSING_WEIGHT, Severity.ERROR, r,
                                "本表其他指标填写了分值，此指标分值为空，按 0 分计；请补填分值", file, "分值"))
        total_w = sum(given) + rules.weights.execution
        if abs(total_w - 100) > rules.weights.tolerance:
            out.append(Finding(code=Code.WEIGHTS_NOT_100, severity=Severity.ERROR, location=loc,
                               message=f"指标分值合计 {fmt(sum(given))} + 预算执行率 {fmt(rules.weights.execution)} = "
                                       f"{fmt(total_w)}，不等于 100；请核对分值"))
    if not given and rules.not_applicable == "rescale":
        present = {r["group"] for r in rows if r["status"] != "na"}
        absent = [g for g in rules.weights.groups if g.key not in present]
        if absent and present - {None}:
            names = "、".join(f"“{g.label}”（{fmt(g.weight)} 分）" for g in absent)
            out.append(Finding(code=Code.GROUP_RESCALED, severity=Severity.INFO, location=loc,
                               message=f"本表没有适用的{names}类指标，其分值按比例分配给其他一级指标"))
    unknown = sorted({r["level1"] for r in rows if r["group"] is None})
    if unknown and not given:
        out.append(Finding(code=Code.UNKNOWN_GROUP, severity=Severity.ERROR, location=loc,
                           message=f"一级指标“{'、'.join(unknown)}”不在规则集 {rules.label} 的权重分组内，且表中没有分值，"
                                   "无法分配分值；请填写分值或选用相应规则集"))
    if _num(t["rate"]) is None:
        out.append(Finding(code=Code.MISSING_BUDGET, severity=Severity.ERROR, location=budget_loc,
                           message="缺少全年预算数或全年执行数，预算执行率无法计分；请在实际完成值文件的 budget 中填写"))
    elif rules.execution.reason_below and t["rate"] < rules.execution.reason_below:
        out.append(Finding(code=Code.LOW_EXECUTION, severity=Severity.WARNING, location=budget_loc,
                           message=f"预算执行率 {t['rate'] * 100:.2f}% 低于 {rules.execution.reason_below * 100:.0f}%，须说明原因"))
    if _num(t["cap"]) is not None and t["raw_total"] > t["cap"]:
        out.append(Finding(code=Code.TOTAL_CAPPED, severity=Severity.INFO, location=loc,
                           message=f"预算执行率 {t['rate'] * 100:.2f}%，总分由 {fmt(t['raw_total'])} 封顶为 {fmt(t['cap'])}"))
    if claimed_total is not None and _num(t["total"]) is not None and abs(claimed_total - t["total"]) > rules.claimed_tolerance:
        out.append(Finding(code=Code.CLAIMED_TOTAL_MISMATCH, severity=Severity.WARNING, location=budget_loc.model_copy(update={"column": "自评得分"}),
                           message=f"自评总分 {fmt(claimed_total)} 与按规则计算的 {fmt(t['total'])} 不一致"))
    return out
