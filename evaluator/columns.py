"""Column codecs for the vectorised core: text columns → integer codes and parsed-value arrays (each distinct
value parsed once), and scored frames → plain row dicts."""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from .errors import Code
from .model import Band
from .parse import canonical_numbers, parse_value

# Labels used inside the hot path are small integer codes: comparisons and np.where on int8 arrays run in C.
KINDS = ("number", "rate", "deadline", "qualitative", "na", "blank", "unreadable", "no-answer")
K = {name: i for i, name in enumerate(KINDS)}
CMPS = ("", "ge", "gt", "le", "lt", "eq", "band")
C = {name: i for i, name in enumerate(CMPS)}
BANDS = ("", Band.ACHIEVED.value, Band.PARTIAL.value, Band.NOT_ACHIEVED.value)
BD = {name: i for i, name in enumerate(BANDS)}
DIRECTIONS = ("higher", "lower", "equal", "band")
D = {name: i for i, name in enumerate(DIRECTIONS)}
METHOD_KEYS = ("", "qualitative", "deadline", "@higher", "@lower", "@equal", "@band", "missing-zero", "@custom", "na-full")
M = {name: i for i, name in enumerate(METHOD_KEYS)}
DIRECTION_OF_CMP = np.array([{"ge": D["higher"], "gt": D["higher"], "le": D["lower"], "lt": D["lower"], "eq": D["equal"],
                               "band": D["band"]}.get(c, -1) for c in CMPS], dtype=np.int8)  # -1: no operator
STATUSES = ("ok", "na", "error")
REASONS = ("", Code.NOT_APPLICABLE.value, Code.UNREADABLE_TARGET.value, Code.MISSING_ACTUAL.value,
           Code.UNREADABLE_ACTUAL.value, Code.UNIT_MISMATCH.value, Code.RATE_NEEDS_BASE.value)
RS = {name: i for i, name in enumerate(REASONS)}


class Vocab:
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


_SAMPLE = 1024  # the first rows looked at to tell a column of runs from a mostly distinct one


def factorize_runs(values: np.ndarray, keep_missing: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """``_factorize`` for a column whose values come in runs (table ids, 一级指标 names): only the first value of
    each run is hashed — comparing neighbours is several times cheaper than hashing every row."""
    n = len(values)
    if n < 2:
        return _factorize(values, keep_missing=keep_missing)
    head = np.empty(n, dtype=bool)
    head[0] = True
    try:
        if n > 4 * _SAMPLE:  # mostly distinct by the look of the first rows: hashed at once, no neighbour compared
            np.not_equal(values[1:_SAMPLE], values[:_SAMPLE - 1], out=head[1:_SAMPLE])
            if head[:_SAMPLE].sum() > _SAMPLE // 2:
                return _factorize(values, keep_missing=keep_missing, hint=n)
        np.not_equal(values[1:], values[:-1], out=head[1:])
    except TypeError:  # pd.NA compares as NA, not as a bool
        return _factorize(values, keep_missing=keep_missing)
    starts = np.flatnonzero(head)
    if len(starts) > n // 2:  # (mostly distinct, by the runs: size the table for them, not grow it step by step)
        return _factorize(values, keep_missing=keep_missing, hint=len(starts))
    # the first values of runs are often all distinct (table ids): size the table for them when that is cheap
    codes, uniques = _factorize(values[starts], keep_missing=keep_missing, hint=max(_HINT, min(len(starts), 1 << 16)))
    return np.repeat(codes, np.diff(np.append(starts, n))), uniques


def objects(column: pd.Series) -> np.ndarray:
    """The column's values as objects; missing text stays NaN or None (factorising treats both as missing)."""
    return column.to_numpy(dtype=object)


@lru_cache(maxsize=200_000)
def parsed_fields(text: str | None, unit: str | None) -> tuple:
    """The parsed value of one distinct (text, unit) as the flat tuple of fields the arrays are built from."""
    p = parse_value(text, unit)
    dl = p.deadline
    return (K[p.kind.value], C[p.comparator.value] if p.comparator else 0,
            np.nan if p.value is None else p.value, np.nan if p.tolerance is None else p.tolerance,
            p.unit, "/".join(p.per) if p.per else None, p.scale, p.loose,
            np.nan if not dl or dl[0] is None else dl[0], np.nan if not dl else dl[1] * 100 + dl[2],
            BD[p.band.value] if p.band else 0, p.problem)


_NUMBER = K["number"]
FIELDS = (("kind", np.int8), ("cmp", np.int8), ("val", float), ("tol", float), ("unit", object), ("per", object),
           ("scale", float), ("loose", bool), ("dl_y", float), ("dl_md", float), ("band", np.int8), ("problem", object))


def parse_column(texts: pd.Series, units: pd.Series | None, vocab: Vocab) -> "_Spread":
    """Parse each distinct (text, unit) once and spread the fields back over the rows as arrays."""
    values = objects(texts)
    missing = pd.isna(values)
    if missing.any():  # missing reads as blank; all-text columns factorise much faster (pandas' string table)
        values = values.copy()
        values[missing] = ""
    codes, uniques = _factorize(values)  # (no missing value left: every code is >= 0)
    text_list: list[str | None] = [str(u) for u in uniques]
    unit_list: list[str | None] = [None] * len(text_list)
    unit_values = None if units is None else objects(units)
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
        rows = [parsed_fields(text_list[i] or "", unit_list[i]) for i in rest]
        for (name, _), column in zip(FIELDS, zip(*rows)):
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


def floats(column: pd.Series) -> np.ndarray:
    """A column as floats, text that is not a number as NaN (a column of None costs one isna, not a parse)."""
    if column.dtype.kind in "biuf":
        return column.to_numpy(dtype=float)
    values = column.to_numpy(dtype=object)
    missing = pd.isna(values)
    if missing.all():
        return np.full(len(values), np.nan)
    return pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)


def mapped(column: pd.Series, mapping: dict[str, int]) -> np.ndarray:
    """Codes of a label column through ``mapping`` (NaN where missing or unknown), one lookup per distinct label."""
    values = objects(column)
    if not pd.notna(values).any():  # the usual case: no overrides given
        return np.full(len(values), np.nan)
    codes, uniques = _factorize(values)
    table = np.array([*(mapping.get(u, np.nan) for u in uniques), np.nan], dtype=float)
    return table[codes]  # code -1 → the trailing NaN


def code_labels(names: tuple[str | None, ...], codes: np.ndarray) -> pd.Categorical:
    """Integer codes → their labels as a categorical (no per-row objects); "" and None label as missing."""
    keep = [i for i, x in enumerate(names) if x]
    remap = np.full(len(names), -1, dtype=np.int8)
    remap[keep] = np.arange(len(keep))
    return pd.Categorical.from_codes(remap[codes], categories=[names[i] for i in keep])


def ordinal_days(year: np.ndarray, md: np.ndarray) -> np.ndarray:
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


class NameCodes:
    """A text column factorised once (distinct values, and codes in their sort order when asked for), reused by
    every check on it. Only the factorisation is made at once; the texts, their sort order and their joined scan
    when first asked for (a column that is only searched, such as the 一级指标, is never sorted, and a column of
    200,000 distinct names is not gone over once more for each)."""

    def __init__(self, values: pd.Series, rows: np.ndarray | None = None):
        """``rows``: only these rows' names are needed (the others read as "")."""
        if rows is None or rows.all():
            codes, uniques = factorize_runs(objects(values))
        else:
            codes = np.full(len(values), -1, dtype=np.intp)
            codes[rows], uniques = _factorize(objects(values)[rows])
        self._first = codes  # code -1 (missing) takes the trailing "" of the texts
        self._values = uniques
        self._sorted: tuple[np.ndarray, np.ndarray] | None = None
        self._texts: tuple[list[str], str, bool, bool] | None = None
        self._starts: np.ndarray | None = None

    @property
    def found(self) -> tuple[np.ndarray, np.ndarray]:
        """The factorisation itself: each row's place among the distinct values in order of appearance (-1 where
        missing, or not among ``rows``), and those values as they are (missing not among them) — for a reader that
        needs no order and tells a missing name from "" (the tables' 一级指标 groups, their unknown names)."""
        return self._first, self._values

    @property
    def uniques(self) -> np.ndarray:
        """The distinct values in sort order."""
        return self._in_order()[0]

    @property
    def codes(self) -> np.ndarray:
        """Each row's value as its place in ``uniques``: codes follow the names' sort order (ties in the weight
        split go by name)."""
        return self._in_order()[1]

    def _in_order(self) -> tuple[np.ndarray, np.ndarray]:
        """Sorted when first asked for. Missing and "" are one value: the texts factorised again when one of the
        distinct values is "" or reads as another's text (none is, in a column of names: then they are the
        distinct texts as they are). factorize(sort=True) sorts with numpy's quicksort of objects; a stable sort,
        Python's timsort, takes the runs names come in: a 200,000-name column in a tenth of the time, the same codes."""
        if self._sorted is None:
            texts, _, plain, _ = self._joined()
            names = np.array(texts, dtype=object)
            if plain and not (names[:-1] == "").any():  # distinct texts, none "": factorising them gives them back
                distinct, remap = names, np.arange(len(names))
            else:
                remap, distinct = pd.factorize(names)  # (the two ""s as one)
            order = np.argsort(distinct, kind="stable")
            rank = np.empty(len(order), dtype=np.intp)
            rank[order] = np.arange(len(order))
            self._sorted = (distinct[order], rank[remap][self._first])
        return self._sorted

    def _joined(self) -> tuple[list[str], str, bool, bool]:
        """The distinct values as texts, then "" (code -1), joined by NUL for one scan of all (a table of distinct
        names has as many as rows), whether they were texts already and whether none holds a NUL — made once, for
        every ``contains_any`` on the column (and its sort). The join itself tells texts from other values."""
        if self._texts is None:
            texts = self._values.tolist()
            texts.append("")
            try:
                joined, plain = "\x00".join(texts), True
            except TypeError:  # (not all texts: each made one, a missing value "")
                texts = ["" if u is None or u != u else str(u) for u in texts]
                joined, plain = "\x00".join(texts), False
            self._texts = (texts, joined, plain, joined.count("\x00") == len(texts) - 1)
        return self._texts

    def _holding(self, found: np.ndarray) -> np.ndarray:
        """The values (places in the texts) holding each of the offsets ``found`` (ascending) in the joined text:
        a few are counted by the NULs before them (one scan of the text up to the last); else by where each value
        starts, from their lengths (made once)."""
        texts, joined, _, _ = self._joined()
        if self._starts is None and len(found) <= 64:
            at, n, prev = [], 0, 0
            for pos in found.tolist():
                n += joined.count("\x00", prev, pos)
                prev = pos
                at.append(n)
            return np.array(at, dtype=np.intp)
        if self._starts is None:
            lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
            self._starts = np.concatenate(([0], np.cumsum(lengths + 1)[:-1]))
        return np.searchsorted(self._starts, found, side="right") - 1

    def contains_any(self, words: tuple[str, ...]) -> np.ndarray:
        """Does each value contain any of ``words``? Checked once per distinct value (names repeat a lot)."""
        if not words:
            return np.zeros(len(self._first), dtype=bool)
        pattern = re.compile("|".join(map(re.escape, words)))
        texts, joined, _, clean = self._joined()
        if "\x00" in "".join(words) or not clean:  # (a NUL in a word or a value)
            hits = np.array([bool(pattern.search(t)) for t in texts], dtype=bool)
        else:  # a match cannot cross a NUL: each lies in one value, found by its offset
            found = np.fromiter((m.start() for m in pattern.finditer(joined)), dtype=np.int64)
            hits = np.zeros(len(texts), dtype=bool)
            if len(found):
                hits[self._holding(found)] = True
        return hits[self._first]


def records(df: pd.DataFrame, columns: list[str] | None = None, rows: np.ndarray | None = None) -> list[dict[str, Any]]:
    """Rows as dicts (of ``columns``; of the ``rows`` mask), with missing text (NaN in pandas' str columns, a
    missing label) as None.

    Built column by column (one ``tolist`` each) rather than with ``to_dict``, which boxes every cell on its own."""
    names = list(df.columns) if columns is None else columns
    lists = [records_column(df, c, rows) for c in names]
    return [dict(zip(names, values)) for values in zip(*lists)]


def records_column(df: pd.DataFrame, name: str, rows: np.ndarray | None = None) -> list[Any]:
    """One column of ``records`` as a list (of the ``rows`` mask)."""
    column = df[name] if rows is None else df[name][rows]
    return column_array(column).tolist() if _is_text(column) else column.tolist()


def column_array(column: pd.Series) -> np.ndarray:
    """One column of ``records`` as an array: labels and text as objects (missing → None), the rest as stored."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        labels = np.array([*column.cat.categories, None], dtype=object)
        return labels[column.cat.codes.to_numpy()]  # code -1 → None
    if _is_text(column):
        values = column.to_numpy(dtype=object)
        missing = pd.isna(values)
        if missing.any():
            values = values.copy()
            values[missing] = None
        return values
    return column.to_numpy()


def _is_text(column: pd.Series) -> bool:
    return isinstance(column.dtype, pd.CategoricalDtype) or column.dtype == object or pd.api.types.is_string_dtype(column.dtype)


def num(x: Any) -> float | None:
    return None if x is None or (isinstance(x, float) and x != x) else float(x)  # (x != x: NaN, without numpy's call)
