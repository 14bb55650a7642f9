"""Per-submission counts and sums over a table's indicator rows and findings — what the bureau's 疑点 need.

The comparison of a province flags tables by a handful of per-table figures (rows at full marks, shortfalls,
qualitative rows answered with a stock phrase, claimed points above the rule, unexplained shortfalls). Computing
them means reading every indicator row of every table (656,000 for 3,000 departments); a stored submission never
changes (a correction is a new version), so the store computes them once, when it records the submission
(``submission_stats``), and the view reads one row per table. Two functions compute them: ``stats_of`` from the
columns ``batch`` scored (no frame of the rows), and ``indicator_stats``/``group_sums`` from stored indicator rows
for any submission stored without them (the view, migration 0005). They give the same figures to the bit
(tests/test_tablestats.py); a changed definition changes both, and STATS_VERSION.
"""
from __future__ import annotations

import re
from typing import Any

__all__ = ["STATS_VERSION", "STATS_COLUMNS", "STOCK_PHRASES", "indicator_stats", "group_sums", "as_rows", "group_rows",
           "stats_of"]

# bump when a figure's definition (or STOCK_PHRASES) changes: stored figures of another version are recomputed
STATS_VERSION = 1
STOCK_PHRASES = {"达成", "达成预期指标", "达成预期目标", "达到预期", "完成", "已完成", "有效", "良好", "是", "持续促进",
                 "有所提升", "显著", "明显", "达标", "合格", "符合", "好"}
STATS_COLUMNS = ("ok_rows", "full_rows", "short_rows", "scorable_rows", "qualitative_rows", "stock_rows",
                 "claimed_over", "claimed_sum", "missing_notes", "word_actuals")
INDICATOR_COLUMNS = ("submission_id", "status", "score", "weight", "claimed", "qualitative", "actual", "group_key")
_SPACE = re.compile(r"\s+")


def indicator_stats(inds, fnd):
    """Per submission id (the index): the ``STATS_COLUMNS`` from its indicator rows (``INDICATOR_COLUMNS``) and
    its findings (``submission_id``, ``code``). Submissions with no rows at all get zeros."""
    import pandas as pd

    from .errors import Code

    sid = inds["submission_id"]
    ids = pd.Index(sorted(set(sid.tolist()) | set(fnd["submission_id"].tolist())), name="submission_id")
    ok = inds["status"] == "ok"
    score, weight = inds["score"].astype(float), inds["weight"].astype(float)
    qual = inds["qualitative"] == 1
    actual = inds["actual"].where(qual, "").fillna("")
    distinct = actual.unique()  # a province repeats the same few answers: test each text once
    stock = actual.map(dict(zip(distinct, [_SPACE.sub("", a) in STOCK_PHRASES for a in distinct]))) & qual
    claimed = inds["claimed"].astype(float)
    has_claim = claimed.notna() & ok
    over = (claimed - score).clip(lower=0).where(has_claim)
    count = lambda mask: mask.groupby(sid).sum()  # noqa: E731
    out = pd.DataFrame({
        "ok_rows": count(ok), "full_rows": count(ok & (score >= weight - 1e-9)),
        "short_rows": count(ok & (score < weight - 1e-9)), "scorable_rows": count(inds["status"] != "na"),
        "qualitative_rows": count(qual), "stock_rows": count(stock),
        "claimed_over": over.groupby(sid).sum(), "claimed_sum": claimed.fillna(score).fillna(0).groupby(sid).sum(),
    }).reindex(ids)
    codes = fnd["code"]
    out["missing_notes"] = (codes == Code.MISSING_DEVIATION_NOTE.value).groupby(fnd["submission_id"]).sum()
    out["word_actuals"] = (codes == Code.WORD_ACTUAL.value).groupby(fnd["submission_id"]).sum()
    out = out.fillna(0)
    for c in STATS_COLUMNS:
        if c not in ("claimed_over", "claimed_sum"):
            out[c] = out[c].astype(int)
    return out


def group_sums(inds):
    """Σ得分 and Σ分值 of the scored (``ok``) rows per submission and 一级指标 group: a frame indexed by
    (submission_id, group_key) with columns score, weight — what each table's 一级指标 score rate is made of."""
    ok = inds[inds["status"] == "ok"]
    return ok.assign(score=ok["score"].astype(float), weight=ok["weight"].astype(float)).groupby(
        ["submission_id", "group_key"])[["score", "weight"]].sum()


def group_rows(sums) -> list[dict[str, Any]]:
    """``group_sums`` as ``submission_group_stats`` rows."""
    index = sums.index  # (its levels' values as lists: iterating the MultiIndex builds a tuple per row first)
    return [{"submission_id": int(sid), "group_key": key, "score": float(sc), "weight": float(w)}
            for sid, key, sc, w in zip(index.get_level_values(0).tolist(), index.get_level_values(1).tolist(),
                                       sums["score"].tolist(), sums["weight"].tolist())]


def as_rows(stats, ids: list[int]) -> list[dict[str, Any]]:
    """``indicator_stats`` of these submission ids as ``submission_stats`` rows (zeros for one without rows)."""
    stats = stats.reindex(ids, fill_value=0)
    return [{"submission_id": int(sid), "version": STATS_VERSION,
             **{c: (float(v) if c in ("claimed_over", "claimed_sum") else int(v)) for c, v in zip(STATS_COLUMNS, row)}}
            for sid, row in zip(stats.index, stats[list(STATS_COLUMNS)].itertuples(index=False))]


def stats_of(indicators: dict[str, list], findings: list[tuple[int, str]], ids: list[int]
             ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The ``submission_stats`` and ``submission_group_stats`` rows of the submissions ``ids`` (the latter of
    every submission among the rows), from their indicator rows (``INDICATOR_COLUMNS`` as lists, None for a
    missing value, or arrays, NaN for a missing number) and their findings' (submission id, code) pairs — what ``as_rows(indicator_stats(...))`` and
    ``group_rows(group_sums(...))`` give, to the bit, without a frame of the rows (``batch`` stores 33,000
    tables' figures). The counts are counted directly; each sum is pandas' grouped sum of the same values in the
    same order (it compensates rounding, so a plain running sum would differ in the last bit)."""
    import numpy as np
    import pandas as pd

    from .errors import Code

    sid = np.asarray(indicators["submission_id"], dtype=np.int64)
    n, at = len(ids), pd.Index(ids).get_indexer(sid)  # each row's place in ``ids`` (-1: another submission's row)
    mine = at >= 0
    status = np.asarray(indicators["status"], dtype=object)
    ok = status == "ok"
    score, weight, claimed = (np.array(indicators[c], dtype=float) for c in ("score", "weight", "claimed"))
    qual = np.asarray(indicators["qualitative"]) == 1
    stock = np.zeros(len(sid), dtype=bool)
    if qual.any():  # a province repeats the same few answers: each text tested once
        where = np.flatnonzero(qual)
        codes, texts = pd.factorize(np.asarray(indicators["actual"], dtype=object)[where])  # (missing: code -1)
        stock[where] = np.array([_SPACE.sub("", t) in STOCK_PHRASES for t in texts.tolist()] + [False])[codes]

    def count(mask: np.ndarray) -> list[int]:
        return np.bincount(at[mask & mine], minlength=n).tolist()

    with np.errstate(invalid="ignore"):
        over = claimed - score
        over = np.where(np.isnan(over) | (over >= 0), over, 0.0)  # (Series.clip(lower=0): NaN stays)
        full, short = ok & (score >= weight - 1e-9), ok & (score < weight - 1e-9)
    over[~(~np.isnan(claimed) & ok)] = np.nan
    filled = np.where(np.isnan(claimed), score, claimed)
    filled[np.isnan(filled)] = 0.0

    def summed(values: np.ndarray) -> list[float]:
        # pandas' grouped sum, as indicator_stats takes it: one column over all the rows, grouped by submission id
        # (its result's last bit and sign of zero depend on the whole column and the order of the groups' codes)
        return pd.Series(values).groupby(sid).sum().reindex(ids, fill_value=0.0).tolist()

    place = pd.Index(ids).get_indexer([k for k, _ in findings]) if findings else np.zeros(0, dtype=np.int64)
    code = np.array([c for _, c in findings], dtype=object)

    def counted(which: Code) -> list[int]:
        return np.bincount(place[(code == which.value) & (place >= 0)], minlength=n).tolist()

    figures = zip(count(ok), count(full), count(short), count(status != "na"), count(qual), count(stock),
                  summed(over), summed(filled), counted(Code.MISSING_DEVIATION_NOTE),
                  counted(Code.WORD_ACTUAL))
    stats = [{"submission_id": int(i), "version": STATS_VERSION, **dict(zip(STATS_COLUMNS, row))}
             for i, row in zip(ids, figures)]
    return stats, _group_rows(sid, ok, indicators["group_key"], score, weight)


def _group_rows(sid, ok, group_key: list, score, weight) -> list[dict[str, Any]]:
    """``group_rows(group_sums(...))`` of these rows: the scored rows' 得分 and 分值 summed per submission and group
    (a missing group left out), in (submission, group) order — each column grouped on its own over all the
    scored rows, as ``group_sums`` sums them."""
    import numpy as np
    import pandas as pd

    rows = np.flatnonzero(ok)
    keys = [sid[rows], np.asarray(group_key, dtype=object)[rows]]
    scores, weights = (pd.Series(values[rows]).groupby(keys).sum() for values in (score, weight))
    index = scores.index
    return [{"submission_id": int(s), "group_key": g, "score": sc, "weight": w}
            for s, g, sc, w in zip(index.get_level_values(0).tolist(), index.get_level_values(1).tolist(),
                                   scores.tolist(), weights.tolist())]
