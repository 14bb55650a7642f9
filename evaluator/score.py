"""Scoring: the vectorised core — an indicator frame scored under a rule set, every row at once.

``frame.indicator_frame`` builds the frame from the models; ``score_frame`` scores it (numpy over columns, one
pass per scoring method, no per-indicator loop); ``totals``, ``findings``, ``explain`` and ``evaluation`` take the
scored frame to the ``Evaluation`` model the CLI and reports use.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .columns import (
    BANDS, BD, C, CMPS, D, DIRECTION_OF_CMP, DIRECTIONS, FIELDS, K, KINDS, M, METHOD_KEYS, REASONS, RS, STATUSES,
    NameCodes, Vocab, code_labels, factorize_runs, floats, mapped, objects, ordinal_days, parse_column, parsed_fields,
)
from .errors import Code, quote
from .model import Band
from .parse import normalise_text, parse_scoring_text, parse_value
from .rules import RuleSet, method_from_dict

__all__ = ["score_frame", "clear_caches"]


def score_frame(df: pd.DataFrame, rules: RuleSet, level1: NameCodes | None = None) -> pd.DataFrame:
    """Score every row of an indicator frame. Adds method, weight, fraction, score, status and trace columns.

    Labels (status, method, reason, group, kinds, units …) come back as categoricals and the table ids too (as
    long as none is missing): compare them with strings as usual; ``records`` turns rows into plain dicts.
    ``level1``: the frame's 一级指标 already factorised (``NameCodes``), when the caller reads them too."""
    out = df.reset_index(drop=True)
    n = len(out)
    if n == 0:
        for c in ("group", "method", "weight", "fraction", "score", "status", "reason"):
            out[c] = pd.Series(dtype=object)
        return out
    vocab = Vocab()
    tp = parse_column(out["target_raw"], out["unit_col"], vocab)
    ap = parse_column(out["actual_raw"], None, vocab)
    # a blank target may be written into the name: "年度资金支付完成率100%"
    from_name = np.zeros(n, dtype=bool)
    blank_t = tp["kind"] == K["blank"]
    if blank_t.any():
        names = parse_column(out.loc[blank_t, "level3"].astype(object).str.replace(r"^指标\d+[:：]", "", regex=True),
                              None, vocab)
        usable = names["kind"] == K["number"]
        if usable.any():
            idx = np.flatnonzero(blank_t)[usable]
            for name, _ in FIELDS:
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
    table_codes, table_names = factorize_runs(objects(out["table"]), keep_missing=True)
    if not pd.isna(table_names).any():  # the table ids as a categorical: table_totals reuses the codes
        out["table"] = pd.Categorical.from_codes(table_codes, categories=table_names)
    given = floats(out["weight_given"])
    has_given = (np.bincount(table_codes, weights=~np.isnan(given)) > 0)[table_codes]  # the table gives 分值
    cmp_ = tp["cmp"]
    unsaid = DIRECTION_OF_CMP[cmp_] < 0  # no operator: the direction comes from the names
    # 三级指标 names matter only for a direction by name and for the order of an even weight split
    level1 = level1 if level1 is not None else NameCodes(out["level1"])
    level2, level3 = NameCodes(out["level2"]), NameCodes(out["level3"], unsaid | ~has_given)

    # --- weight group (满意度 as a 二级 under 效益 still belongs to the 满意度 group); -1 = none
    group = np.full(n, -1, dtype=np.int16)
    for gi, g in enumerate(rules.weights.groups):
        group = np.where((group < 0) & level1.contains_any(g.match_level1), gi, group)
    for gi, g in enumerate(rules.weights.groups):
        if g.match_level2:
            group = np.where(level2.contains_any(g.match_level2), gi, group)

    # --- direction: operator, else override, else 二级指标 / name
    cost = level2.contains_any(rules.direction.lower_level2)
    lower_by_name = (cost | level3.contains_any(rules.direction.lower_names)) \
        & ~level3.contains_any(rules.direction.higher_names)
    direction = DIRECTION_OF_CMP[cmp_]
    direction[unsaid] = np.where(lower_by_name[unsaid], D["lower"], D["higher"])
    override = mapped(out["direction"], D)  # None / NaN where not overridden
    overridden = ~np.isnan(override) & (cmp_ != C["band"])
    if overridden.any():
        direction[overridden] = override[overridden]

    # --- not applicable, missing, unreadable
    t_na = tk == K["na"]
    a_na = ak == K["na"]
    a_blank = ak == K["blank"]
    spent = floats(out["spent"])
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
        base = floats(out["actual_rate_base"])
        base = np.where(np.isnan(base), floats(out["rate_base"]), base)
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
    band_given = mapped(out["band"], BD)
    has_band = band_given > 0  # (NaN: no band given)
    judged = floats(out["judged_score"])
    has_judged = ~np.isnan(judged)
    a_band = ap["band"]  # this call's own array: the given bands go in place
    if has_band.any():
        a_band[has_band] = band_given[has_band]
    t_qual = (tk == K["qualitative"]) | (tk == K["blank"])
    # a word actual ("完成") for a numeric target, or a 时效 target answered in words, is judged by its band
    word_for_number = (t_num | (tk == K["deadline"])) & (a_kind == K["qualitative"])
    # ... but on a numeric target only the words the rule set lists (已完成, 达成年度指标 …): "abc" is no number; and a
    # non-answer (不详, 待统计, TBD, nan, #DIV/0! …) is never scored, whatever the target
    word_refused = word_for_number & t_num & ~_listed(out["actual_raw"], word_for_number & t_num, rules)
    word_for_number &= ~word_refused
    a_none, t_none = ak == K["no-answer"], tk == K["no-answer"]
    if word_refused.any() or a_none.any() or t_none.any():
        _no_answer_problems(out, ap["problem"], tp["problem"], word_refused, a_none, t_none)
    qual = ((t_qual & ~a_na & ~a_blank) | word_for_number | (has_band & ~t_na) | (has_judged & ~t_na)) \
        & ~word_refused & ~a_none
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
    fail((tk == K["unreadable"]) | t_none, Code.UNREADABLE_TARGET.value)
    fail(a_none | word_refused, Code.UNREADABLE_ACTUAL.value)
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
        year = floats(out["year"])[m]
        t_year, a_year = tp.rows("dl_y", m), ap.rows("dl_y", m)
        t_year = np.where(np.isnan(t_year), year, t_year)
        a_year = np.where(np.isnan(a_year), t_year, a_year)
        t_day, a_day = ordinal_days(t_year, tp.rows("dl_md", m)), ordinal_days(a_year, ap.rows("dl_md", m))
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
        "group": code_labels((*group_keys, None), group), "direction_used": code_labels(DIRECTIONS, direction),
        "t_kind": code_labels(KINDS, tk), "a_kind": code_labels(KINDS, a_kind), "target_from_name": from_name,
        "target_from_rule": from_rule,
        "t_val": t_val, "a_val": a_val, "tol": tp["tol"], "t_unit": vocab.labels(t_unit), "a_unit": vocab.labels(a_unit),
        "t_problem": tp["problem"], "a_problem": ap["problem"], "t_cmp": code_labels(CMPS, cmp_), "a_loose": ap["loose"],
        "band_used": code_labels(BANDS, np.where(m, a_band, 0)), "judged_used": judged_used,
        "judged_outside": judged_outside, "t_scale": t_scale, "t_per": vocab.labels(tp["per"]),
        "rate_base_used": rate_base_used, "qual_assumed": qual_assumed & ok,
        "word_for_number": word_for_number & ok, "as_fraction": as_fraction & ok, "cost_fill": cost_fill,
        "negative": negative, "over": over, "custom_method": custom_methods, "method": code_labels(METHOD_KEYS, method),
        "weight": weight, "fraction": fraction, "raw_score": raw, "score": score,
        "status": code_labels(STATUSES, status), "reason": code_labels(REASONS, reason),
    }
    # labels are categoricals (codes, no per-row objects); free text stays a plain object array (letting pandas
    # infer its string dtype costs more than the scoring); copy=False keeps each column its own array instead of
    # copying them into consolidated 2-D blocks
    added = pd.DataFrame({k: pd.Series(v, dtype=object if isinstance(v, np.ndarray) and v.dtype.kind in "OU" else None,
                                       index=out.index, copy=False)
                          for k, v in cols.items()}, index=out.index, copy=False)
    return pd.concat([out, added], axis=1)


def _listed(actuals: pd.Series, rows: np.ndarray, rules: RuleSet) -> np.ndarray:
    """Is the actual on each of ``rows`` one of the rule set's ``word_actuals``? (checked once per distinct text)"""
    out = np.zeros(len(rows), dtype=bool)
    if rows.any():
        idx = np.flatnonzero(rows)
        codes, uniques = pd.factorize(objects(actuals)[idx])
        keys = rules.word_actual_keys
        out[idx] = np.array([normalise_text(str(u)).rstrip("。.！!") in keys for u in uniques], dtype=bool)[codes]
    return out


def _no_answer_problems(out: pd.DataFrame, a_problem: np.ndarray, t_problem: np.ndarray, word_refused: np.ndarray,
                        a_none: np.ndarray, t_none: np.ndarray) -> None:
    """The reason shown for a non-answer, in place (only these rows: they are few)."""
    actual = objects(out["actual_raw"])
    for i in np.flatnonzero(word_refused):
        a_problem[i] = (f"无法识别的实际完成值“{quote(str(actual[i]).strip())}”：定量指标须填写数值（可带单位），"
                        "或填写规则集认可的完成情况用语（如“已完成”“达成年度指标”）")
    for i in np.flatnonzero(a_none):
        a_problem[i] = f"无法识别的实际完成值：{a_problem[i]}"
    for i in np.flatnonzero(t_none):
        t_problem[i] = f"无法识别的年度指标值：{t_problem[i]}"


def clear_caches() -> None:
    """Forget every parsed value (benchmarks use this to time parsing from cold)."""
    parse_value.cache_clear()
    parsed_fields.cache_clear()


def _safe(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return np.where(b > 0, a / np.where(b > 0, b, 1), 0.0)


_UNIT_FAMILIES = [{"%", "‰"}, {"人", "人次", "名", "位"}, {"个", "项", "件"}, {"天"}, {"次", "场", "期"}]


_COMPATIBLE = {(x, y) for fam in _UNIT_FAMILIES for x in fam for y in fam if x != y and "%" not in (x, y)}


def _compatible_units(a: np.ndarray, t: np.ndarray, vocab: Vocab) -> np.ndarray:
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
