"""Models → frame: one row per indicator, actuals joined by table id and indicator name (the first stage of scoring)."""
from __future__ import annotations

from collections import Counter, defaultdict
from itertools import chain

import numpy as np
import pandas as pd

from .errors import Code
from .model import ActualSet, Finding, Location, Severity, TargetSet

__all__ = ["indicator_frame", "indicator_rows", "column_parts", "rows_frame", "columns_frame", "block_frame",
           "duplicate_findings",
           "Files", "FRAME_COLUMNS"]

FRAME_COLUMNS = ["table", "position", "row", "year", "level1", "level2", "level3", "target_raw", "unit_col",
                  "weight_given", "direction", "rate_base", "scoring", "actual_raw", "deviation_note", "band",
                  "judged_score", "claimed", "actual_rate_base", "has_actual_entry", "budget", "spent"]


class Files:
    """The targets and actuals files findings point at (the same file for a flat 自评表)."""

    def __init__(self, targets: str | None, actuals: str | None):
        self.targets, self.actuals = targets, actuals


def indicator_frame(targets: TargetSet, actuals: ActualSet | None, files: "Files | None" = None
                    ) -> tuple[pd.DataFrame, list[Finding]]:
    """One row per indicator, actuals joined by table id and indicator name (二级指标 when names repeat)."""
    rows, findings = indicator_rows(targets, actuals, files)
    return rows_frame(rows), findings


def rows_frame(rows: list[tuple]) -> pd.DataFrame:
    """``indicator_rows`` of one or many departments as the frame ``score_frame`` takes."""
    return pd.DataFrame.from_records(rows, columns=FRAME_COLUMNS, nrows=len(rows)) if rows \
        else pd.DataFrame(columns=FRAME_COLUMNS)


def indicator_rows(targets: TargetSet, actuals: ActualSet | None, files: "Files | None" = None,
                   table_prefix: str = "") -> tuple[list[tuple], list[Finding]]:
    """The rows of ``indicator_frame`` as tuples (columns ``FRAME_COLUMNS``), table ids prefixed with
    ``table_prefix``: the bureau's batch collects many departments' rows and builds one frame from them."""
    files = files or Files(None, None)
    file = files.actuals
    by_table = {t.table: t for t in (actuals.tables if actuals else [])}
    findings = _unknown_tables(targets, by_table, file)
    findings += _other_unit_or_year(targets, actuals, file)
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
        repeated = {name for name, k in Counter(i.level3 for i in table.indicators).items() if k > 1}
        used: set[int] = set()
        start: dict[tuple[str, str | None], int] = {}  # per candidate list: every entry before this one is used
        findings += duplicate_findings(table.id, [i.level2 for i in table.indicators],
                                       [i.level3 for i in table.indicators], [i.row for i in table.indicators],
                                       files.targets)
        for pos, ind in enumerate(table.indicators):
            key = (ind.level3, ind.level2) if entries.get((ind.level3, ind.level2)) else (ind.level3, None)
            act = _pick(entries.get(key, ()), key, start, used, ind)
            if act is not None:
                used.add(id(act))
            if ind.level3 in repeated and act is not None and act.level2 is None:
                findings.append(Finding(code=Code.DUPLICATE_INDICATOR, severity=Severity.WARNING,
                                        location=Location(file=file, table=table.id, indicator=ind.level3),
                                        message="三级指标名称在表中重复，实际完成值按出现顺序对应；请填写二级指标以便准确匹配"))
            budget = ta.budget if ta else None
            rows.append((  # in the order of FRAME_COLUMNS
                table_prefix + table.id, pos, ind.row, table.year, ind.level1, ind.level2, ind.level3,
                ind.target or "", ind.unit, ind.weight, ind.direction.value if ind.direction else None,
                ind.rate_base, ind.scoring,
                act.actual if act else None, act.deviation_note if act else None,
                act.band.value if act and act.band else None, act.judged_score if act else None,
                act.claimed_score if act else None, act.rate_base if act else None, act is not None,
                budget.budget if budget else None, budget.spent if budget else None,
            ))
        findings += [_unmatched(file, table.id, a.indicator) for a in (ta.indicators if ta else []) if id(a) not in used]
    return rows, findings


def _unmatched(file: str | None, table_id: str, name: str) -> Finding:
    return Finding(code=Code.UNMATCHED_ACTUAL, severity=Severity.ERROR,
                   location=Location(file=file, table=table_id, indicator=name),
                   message="实际完成值对应不到目标表中的任何指标，请核对三级指标名称")


def columns_frame(columns: dict[str, list | np.ndarray]) -> pd.DataFrame:
    """``rows_frame`` of rows given as ``FRAME_COLUMNS`` lists (or arrays): the same frame (pandas infers each
    column's type from its values alike), without a tuple per row. Two kinds of column are made without pandas
    looking at each value: one that is None on every row (a 自评表 has no 评分标准 or 度量单位 column, a data
    file no row numbers: most of a batch's 22 columns) is one object array of None shared by all of them, and
    the positions (integers, from ``range``) an integer array, as pandas would infer."""
    n = len(columns["table"])
    if not n:
        return pd.DataFrame(columns, columns=FRAME_COLUMNS)
    empty = None
    out: dict[str, list | np.ndarray | pd.Series] = {}
    for name in FRAME_COLUMNS:
        values = columns[name]
        if isinstance(values, list) and values[0] is None and values.count(None) == n:
            if empty is None:
                empty = pd.Series(np.full(n, None, dtype=object), dtype=object, copy=False)
            values = empty
        elif name == "position" and not isinstance(values, np.ndarray):
            values = np.asarray(values, dtype=np.int64)
        out[name] = values
    return pd.DataFrame(out, columns=FRAME_COLUMNS)


def column_parts(targets: TargetSet, target_columns: list[dict[str, list]], actuals: ActualSet | None,
                 actual_columns: list[dict[str, list]] | None, files: "Files | None" = None, table_prefix: str = ""
                 ) -> tuple[dict[str, list], list[Finding]] | None:
    """``indicator_rows`` when the indicators come as columns (``load_columns``: ``target_columns[k]`` for
    ``targets.tables[k]``, ``actual_columns[k]`` for ``actuals.tables[k]``): the same rows, as ``FRAME_COLUMNS``
    lists, and the same findings, built column by column. Only for tables whose 三级指标 names are distinct, and
    whose actuals' names are too — then each indicator takes the entry of its name unless that entry names
    another 二级指标, which is what ``_pick`` gives — else None (``indicator_rows`` on the models matches
    repeated names in order)."""
    files = files or Files(None, None)
    file = files.actuals
    by_table = {t.table: k for k, t in enumerate(actuals.tables)} if actuals else {}
    work = []
    for table, c in zip(targets.tables, target_columns):
        names = c["level3"]
        if not names:
            continue
        k = by_table.get(table.id)
        a = actual_columns[k] if k is not None else None
        index = {name: j for j, name in enumerate(a["indicator"])} if a is not None else None  # (also used below)
        if len(set(names)) < len(names) or (index is not None and len(index) < len(a["indicator"])):
            return None
        work.append((table, c, actuals.tables[k] if k is not None else None, a, index))  # type: ignore[union-attr]
    findings = _unknown_tables(targets, by_table, file)
    findings += _other_unit_or_year(targets, actuals, file, {table.id for table, *_ in work})
    columns: dict[str, list] = {name: [] for name in FRAME_COLUMNS}
    for table, c, ta, a, index in work:
        names = c["level3"]
        n = len(names)
        match: list[int | None] = [None] * n
        # the common case, the actuals listed as the targets, each naming no 二级指标 or the same: entry i is row i's
        same = a is not None and a["indicator"] == names and (a["level2"].count(None) == n or all(
            x is None or x == y for x, y in zip(a["level2"], c["level2"])))
        if same:
            match = list(range(n))
        elif a is not None:
            level2 = a["level2"]
            for i, (name, l2) in enumerate(zip(names, c["level2"])):
                j = index.get(name)
                if j is not None and level2[j] in (None, l2):
                    match[i] = j

        def entry(field: str) -> list:
            if a is None:
                return [None] * n
            col = a[field]
            return col if same else [None if j is None else col[j] for j in match]

        budget = ta.budget if ta else None
        for name, values in zip(FRAME_COLUMNS, (
                [table_prefix + table.id] * n, range(n), c["row"], [table.year] * n, c["level1"], c["level2"], names,
                c["target"], c["unit"], c["weight"], c["direction"], c["rate_base"], c["scoring"],
                entry("actual"), entry("deviation_note"), entry("band"), entry("judged_score"), entry("claimed_score"),
                entry("rate_base"), [True] * n if same else [j is not None for j in match],
                [budget.budget if budget else None] * n, [budget.spent if budget else None] * n)):
            columns[name] += values
        if a is not None and not same:
            used = set(match)
            findings += [_unmatched(file, table.id, name) for j, name in enumerate(a["indicator"]) if j not in used]
    return columns, findings


def block_frame(targets: TargetSet, actuals: ActualSet | None, blocks: dict, files: "Files | None" = None
                ) -> tuple[pd.DataFrame, list[Finding]]:
    """``indicator_frame`` of a form read without models (``forms.parse_forms(models=False)``): the indicator rows
    come as columns (``blocks``, by table id), each row's actual in the same row of the same columns — a 自评表
    pairs them by its rows, so the matching ``indicator_rows`` does by names (each indicator takes its own row's
    entry, ids ``r<row>``) is the identity. The same frame (column by column) and the same findings, in order."""
    files = files or Files(None, None)
    file = files.actuals
    by_table = {t.table: t for t in (actuals.tables if actuals else [])}
    findings = _unknown_tables(targets, by_table, file)
    with_rows = {tid for tid, b in blocks.items() if b.columns["level3"]}
    findings += _other_unit_or_year(targets, actuals, file, with_rows)
    parts: dict[str, list[list]] = {name: [] for name in FRAME_COLUMNS}
    for table in targets.tables:
        if table.id not in with_rows:
            continue
        c = blocks[table.id].columns
        n = len(c["level3"])
        ta = by_table.get(table.id)
        entries = ta is not None and blocks[table.id].has_actuals
        budget = ta.budget if ta else None
        findings += duplicate_findings(table.id, c["level2"], c["level3"], c["row"], files.targets)
        none = [None] * n
        for name, values in (
                ("table", [table.id] * n), ("position", range(n)), ("row", c["row"]), ("year", [table.year] * n),
                ("level1", c["level1"]), ("level2", c["level2"]), ("level3", c["level3"]),
                ("target_raw", [t or "" for t in c["target"]]), ("unit_col", c["unit"]), ("weight_given", c["weight"]),
                ("direction", none), ("rate_base", none), ("scoring", none),
                ("actual_raw", c["actual"] if entries else none), ("deviation_note", c["deviation_note"] if entries else none),
                ("band", none), ("judged_score", none), ("claimed", c["claimed_score"] if entries else none),
                ("actual_rate_base", none), ("has_actual_entry", [entries] * n),
                ("budget", [budget.budget if budget else None] * n), ("spent", [budget.spent if budget else None] * n)):
            parts[name].append(values)
    if not parts["table"]:
        return pd.DataFrame(columns=FRAME_COLUMNS), findings
    columns = {name: _one_table(name, p[0]) if len(p) == 1 else list(chain.from_iterable(p)) for name, p in parts.items()}
    return columns_frame(columns), findings


_SAME = frozenset({"year", "has_actual_entry", "budget", "spent"})  # one value on every row of a table
_DTYPES = {bool: np.bool_, int: np.int64, float: np.float64}  # what pandas infers from a list of each


def _one_table(name: str, values: list | range):
    """A column of one table's rows for the frame: its positions and its table-wide values (a year, a budget) as
    arrays of the type pandas would infer from the list, so it does not look at 200,000 equal values."""
    if name == "position":
        return np.arange(len(values))
    if name in _SAME and type(values[0]) in _DTYPES:
        return np.full(len(values), values[0], dtype=_DTYPES[type(values[0])])
    return values


SHOWN_ROWS = 20  # the most rows a message lists (the location lists them all)


def duplicate_findings(table_id: str, level2: list, level3: list, rows: list, file: str | None) -> list[Finding]:
    """One warning per 三级指标 repeated under the same 二级指标, listing every row (or item) that holds it, located at
    its first repeat: a table that repeats a few names on every row gets a few findings, not one per row."""
    if len(set(level3)) == len(level3) or len(set(zip(level2, level3))) == len(level3):
        return []  # (every name once: the common case, one set of names)
    where: dict[tuple, list[int]] = {}
    for pos, key in enumerate(zip(level2, level3)):
        where.setdefault(key, []).append(pos)
    groups = sorted((at[1], key, at) for key, at in where.items() if len(at) > 1)
    if not groups:
        return []
    from .errors import quote

    by_row = all(r is not None for r in rows)
    unit = "行" if by_row else "项指标"
    out = []
    for first, (l2, l3), at in groups:
        numbers = [int(rows[p]) for p in at] if by_row else [p + 1 for p in at]
        shown = "、".join(map(str, numbers[:SHOWN_ROWS]))
        listed = f"第 {shown} {unit}" if len(at) <= SHOWN_ROWS else \
            f"第 {shown} {unit}等，共 {len(at)} {unit}" + ("；全部行号见 --json 的 location.rows" if by_row else "")
        name = f"二级指标“{quote(l2)}”下的“{quote(l3)}”" if l2 else f"“{quote(l3)}”"
        out.append(Finding(code=Code.DUPLICATE_INDICATOR, severity=Severity.WARNING,
                           location=Location(file=file, table=table_id, item=first + 1, row=rows[first], indicator=l3,
                                             rows=tuple(numbers) if by_row else None),
                           message=f"同一二级指标下三级指标重复：{name}出现 {len(at)} 次（{listed}），请核对是否重复填报"))
    return out


def _unknown_tables(targets: TargetSet, by_table: dict, file: str | None) -> list[Finding]:
    """Actual tables whose id no target table has."""
    known = {t.id for t in targets.tables}
    return [Finding(code=Code.UNMATCHED_ACTUAL, severity=Severity.ERROR, location=Location(file=file, table=t),
                    message=f"实际完成值文件中的表“{t}”在目标表中不存在，请核对表编号") for t in by_table if t not in known]


def _pick(candidates, key, start: dict, used: set[int], ind):
    """The actual for ``ind``: the first unused candidate of its 二级指标 (or of none), preferring one whose id is
    ``ind.id`` or unset. Candidates are used in order, so the scan starts after the used ones: linear overall."""
    k = start.get(key, 0)
    while k < len(candidates) and id(candidates[k]) in used:
        k += 1
    start[key] = k
    first = None
    for a in candidates[k:]:
        if id(a) in used or a.level2 not in (None, ind.level2):
            continue
        if not ind.id or a.id in (None, ind.id):
            return a
        first = first or a
    return first


def _other_unit_or_year(targets: TargetSet, actuals: ActualSet | None, file: str | None,
                        with_rows: "set[str] | None" = None) -> list[Finding]:
    """Actuals written for another unit or another year than the targets (a file picked from the wrong folder).
    ``with_rows``: the tables that have indicator rows, when the tables hold them as columns, not models."""
    from difflib import SequenceMatcher

    from .errors import quote
    from .parse import normalise_text

    first = next((t.id for t in targets.tables if (t.id in with_rows if with_rows is not None else t.indicators)), None)
    if actuals is None or first is None:
        return []
    out = []
    where = Location(file=file, table=first, column="year")
    if actuals.year and targets.year and actuals.year != targets.year:
        out.append(Finding(code=Code.ACTUALS_OTHER_YEAR, severity=Severity.ERROR, location=where,
                           message=f"实际完成值文件是 {actuals.year} 年度的，目标表是 {targets.year} 年度的；"
                                   "请核对是否选错了文件"))
    a, t = normalise_text(actuals.unit_name), normalise_text(targets.unit_name)
    if a and t and a not in t and t not in a:
        alike = SequenceMatcher(None, a, t).ratio() >= 0.5
        out.append(Finding(code=Code.ACTUALS_OTHER_UNIT, severity=Severity.WARNING if alike else Severity.ERROR,
                           location=where.model_copy(update={"column": "unit_name"}),
                           message=f"实际完成值文件的单位“{quote(actuals.unit_name)}”与目标表的单位“{quote(targets.unit_name)}”"
                                   + ("写法不一致；请核对" if alike else "完全不同；请核对是否选错了文件")))
    return out
