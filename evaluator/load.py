"""Read data/targets, data/actuals and flat 自评表 files into validated models.

Unusable files raise ``InputFileError`` naming the file and place; everything else is left to scoring,
which reports it as findings.
"""
from __future__ import annotations

import csv
import gc
import hashlib
import io
import json
import math
import re
from collections import Counter
from contextlib import contextmanager
from itertools import chain
from pathlib import Path
from typing import Any, Iterator

import yaml
from pydantic import BaseModel, ValidationError

from .errors import EvaluatorError, InputFileError, check_file_size, clean_lines, clean_strings, has_controls, quote
from .model import ActualSet, TargetSet

__all__ = ["load_targets", "load_actuals", "read_flat_table", "inputs_hash", "parse_data", "values_in_range", "read_mapping",
           "validate_mapping", "refuse_repeated_ids", "paused_gc"]


def inputs_hash(*paths: str | Path) -> str:
    """A short hash of the input files' bytes: printed on outputs so a result can be traced to its inputs."""
    h = hashlib.sha256()
    for p in paths:
        h.update(Path(p).read_bytes())
    return h.hexdigest()[:12]


def read_mapping(path: Path) -> dict:
    """A YAML/JSON data file as a mapping, with a located Chinese message when it cannot be read or is no mapping (targets, actuals, progress files)."""
    check_file_size(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise InputFileError("文件不是 UTF-8 编码的文本", where=str(path), hint="请另存为 UTF-8") from e
    as_json = path.suffix.lower() == ".json"
    clean = not has_controls(text)
    data = parse_data(text if clean else clean_lines(text, str(path)), str(path), as_json=as_json)
    if not isinstance(data, dict):
        raise InputFileError("文件内容应为键值映射（YAML/JSON 对象）", where=str(path))
    if clean and (_JSON_ESCAPES if as_json else _YAML_ESCAPES).search(text) is None:
        return data  # every string is a piece of the clean text: no escape can have made a control character
    return clean_strings(data, str(path))  # control characters: removed, each with a finding (errors.check_cell)


# the escapes that can make a control character (or a piece of "_x000B_") inside a string: in JSON \uXXXX, \b
# and \f (\n \r \t \" \\ \/ make none); in YAML any backslash (a double-quoted scalar's escapes)
_JSON_ESCAPES = re.compile(r"\\[ubf]")
_YAML_ESCAPES = re.compile(r"\\")


def _validation_message(e: ValidationError, data: dict, labels: bool = False) -> str:
    msgs = []
    for err in e.errors()[:5]:
        loc = err["loc"]
        where = _describe_loc(tuple(FIELD_LABELS.get(p, p) if labels else p for p in loc), data)
        kind = err["type"]
        if kind == "extra_forbidden":
            msgs.append(f"{where}：未知的键“{loc[-1]}”，请检查拼写")
        elif kind == "missing":
            msgs.append(f"{where}：缺少必填项“{loc[-1]}”")
        else:
            msgs.append(f"{where}：取值“{quote(err.get('input'))}”无效（{_reason(err)}）")
    more = len(e.errors()) - 5
    return "；".join(msgs) + (f"；另有 {more} 处" if more > 0 else "")


_REASONS = {
    "finite_number": "应为有限的数字，不能是 inf、nan 或过大的数", "float_parsing": "应为数字", "float_type": "应为数字", "int_parsing": "应为整数",
    "int_type": "应为整数", "int_from_float": "应为整数", "int_parsing_size": "整数位数过多", "bool_parsing": "应为 是/否",
    "string_type": "应为文字", "dict_type": "应为键值映射", "list_type": "应为列表", "enum": "不是可选的取值",
    "literal_error": "不是可选的取值",
}
_BOUNDS = {"greater_than_equal": ("ge", "应不小于 {}"), "greater_than": ("gt", "应大于 {}"),
           "less_than_equal": ("le", "应不大于 {}"), "less_than": ("lt", "应小于 {}")}


def _reason(err: dict) -> str:
    """pydantic's reason in Chinese (the common ones); a custom check's own message as it is."""
    kind, ctx = err["type"], err.get("ctx") or {}
    if kind in _BOUNDS:
        key, text = _BOUNDS[kind]
        return text.format(f"{ctx.get(key):g}" if isinstance(ctx.get(key), float) else ctx.get(key))
    if kind == "value_error":
        return str(ctx.get("error") or err["msg"]).removeprefix("Value error, ")
    return _REASONS.get(kind, err["msg"])


@contextmanager
def values_in_range(where: str) -> Iterator[None]:
    """Around a reader building models from cells: a value out of range (a year 1999 in a title, a 分值 of 150, an
    ``inf`` budget) is the file's one-line error, never a pydantic traceback."""
    try:
        yield
    except ValidationError as e:
        raise InputFileError(_validation_message(e, {}, labels=True), where=where,
                             hint="请检查表中的年度、分值和金额（年度 2000–2100，分值 0–100，金额为有限的数字）") from e


FIELD_LABELS = {"year": "年度", "weight": "分值", "claimed_score": "得分", "judged_score": "评判得分", "rate_base": "计量基数",
                "budget": "全年预算数", "spent": "全年执行数", "initial": "年初预算数", "amount": "金额", "total": "资金总额",
                "claimed_total": "自评得分"}


def _describe_loc(loc: tuple, data: Any) -> str:
    parts: list[str] = []
    node = data
    for p in loc:
        if isinstance(p, int):
            name = node[p].get("level3") or node[p].get("三级指标") or node[p].get("indicator") or node[p].get("id") \
                if isinstance(node, list) and p < len(node) and isinstance(node[p], dict) else None
            parts.append(f"第 {p + 1} 项" + (f"（{name}）" if name else ""))
            node = node[p] if isinstance(node, list) and p < len(node) else None
        else:
            parts.append(str(p))
            node = node.get(p) if isinstance(node, dict) else None
    return " → ".join(parts)


def validate_mapping(model: type[BaseModel], data: dict, path: Path) -> Any:
    """``data`` as ``model``, each validation error turned into a Chinese message naming the file and the key."""
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise InputFileError(_validation_message(e, data), where=str(path), hint="请对照 README 中的数据文件格式修改") from e


@contextmanager
def paused_gc() -> Iterator[None]:
    """Python's cycle collector paused while a large tree of objects is built or walked (a targets file of
    10,000 tables is millions of dicts, lists and models; a bureau workbook 700,000 XlsxWriter cells): each
    collection walks every object alive, again and again — 2.6 s of an 11 s ``template``. None of them is in a
    cycle, so reference counting frees them as usual; collection resumes afterwards (and was left off if it
    was off)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _load(model: type[BaseModel], p: Path) -> Any:
    """Read and validate a data file (YAML or JSON, read as data by ``parse_data``)."""
    with paused_gc():
        return validate_mapping(model, read_mapping(p), p)


def load_targets(path: str | Path) -> TargetSet:
    """A data/targets file (YAML or JSON) → ``TargetSet``."""
    p = Path(path)
    targets = _load(TargetSet, p)
    refuse_repeated_ids(targets, p)
    return targets


def refuse_repeated_ids(targets: TargetSet, path: Path) -> None:
    """A targets file that gives two tables one id is refused, every repeated id named."""
    counts = Counter(t.id for t in targets.tables)  # (list.count per id was quadratic: 1.7 s at 10,000 tables)
    if dup := sorted(i for i, n in counts.items() if n > 1):
        raise InputFileError(f"表编号重复：{', '.join(dup)}", where=str(path), hint="每张表的 id 必须唯一")


def load_actuals(path: str | Path) -> ActualSet:
    """A data/actuals file (YAML or JSON) → ``ActualSet``."""
    p = Path(path)
    return _load(ActualSet, p)

# --------------------------------------------------------------------------- data files: YAML and JSON read as data
MAX_DEPTH = 32  # nesting of mappings and lists in a data file (the models need 5)
MAX_DIGITS = 30  # digits of an integer in a JSON file (years, 分值 and 万元 amounts need far fewer)
_NULLS = frozenset({"", "~", "null", "Null", "NULL"})


class _DataProblem(Exception):
    def __init__(self, message: str, line: int | None = None, hint: str | None = None):
        super().__init__(message)
        self.message, self.line, self.hint = message, line, hint


def parse_data(text: str, where: str, *, as_json: bool = False, error: type[EvaluatorError] = InputFileError) -> Any:
    """The text of a YAML or JSON data file → plain dicts, lists, strings (and numbers, in JSON).

    YAML is read as data, not by YAML 1.1's guesses: every plain scalar stays the text the user wrote (``yes``,
    ``010``, ``1:30``, ``2023-12-20``) except ``null``/``~``/empty, and the models convert where they want numbers.
    Duplicate keys, aliases (``*x``: billion laughs), several documents and nesting deeper than ``MAX_DEPTH`` are
    refused with their line; so are NaN/Infinity and integers longer than ``MAX_DIGITS`` in JSON."""
    try:
        return _json_data(text) if as_json else _yaml_data(text)
    except _DataProblem as p:
        raise error(p.message, where=f"{where} 第 {p.line} 行" if p.line else where,
                    hint=p.hint or "请检查缩进、冒号和引号") from None


def _yaml_data(text: str) -> Any:
    loader = (yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader)(text)
    root: Any = None
    stack: list[list] = []  # frames [container, pending key (or _NO_KEY), line of each key]
    documents = 0

    def add(value: Any, line: int, key_text: str | None = None) -> None:
        nonlocal root
        if not stack:
            root = value
            return
        frame = stack[-1]
        if isinstance(frame[0], list):
            frame[0].append(value)
        elif frame[1] is _NO_KEY:
            if key_text is None:
                raise _DataProblem("键必须是简单的文字（不能是列表或映射）", line)
            if key_text in frame[2]:
                raise _DataProblem(f"键“{quote(key_text)}”重复（第 {frame[2][key_text]} 行已出现）", line,
                                   "同一层级的键只能出现一次，请删除或合并重复的键")
            frame[1], frame[2][key_text] = key_text, line
        else:
            frame[0][frame[1]] = value
            frame[1] = _NO_KEY

    try:
        while True:
            event = loader.get_event()
            line = event.start_mark.line + 1 if event.start_mark else None
            if isinstance(event, yaml.ScalarEvent):
                text_ = event.value
                plain = not event.style  # '' or None: plain; quoted otherwise
                add(None if plain and text_ in _NULLS and not event.tag else text_, line, text_)
            elif isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                if len(stack) >= MAX_DEPTH:
                    raise _DataProblem(f"嵌套层数超过 {MAX_DEPTH} 层", line, "数据文件只需几层嵌套，请检查文件内容")
                container: Any = {} if isinstance(event, yaml.MappingStartEvent) else []
                add(container, line)
                stack.append([container, _NO_KEY, {}])
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                stack.pop()
            elif isinstance(event, yaml.AliasEvent):
                raise _DataProblem(f"数据文件中不能使用 YAML 别名（*{quote(event.anchor or '', 20)}）", line,
                                   "请把别名处的内容直接写出来")
            elif isinstance(event, yaml.DocumentStartEvent):
                documents += 1
                if documents > 1:
                    raise _DataProblem("文件中有多个 YAML 文档（---）", line, "一个数据文件只能有一个文档")
            elif isinstance(event, yaml.StreamEndEvent):
                return root
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        if "nesting depth" in str(getattr(e, "problem", "")):  # libyaml's own limit (1,000 levels), met while scanning
            raise _DataProblem(f"嵌套层数超过 {MAX_DEPTH} 层", mark.line + 1 if mark else None,
                               "数据文件只需几层嵌套，请检查文件内容") from None
        raise _DataProblem("文件格式有误，无法解析", mark.line + 1 if mark else None,
                           "YAML 语法错误：请检查缩进、冒号和引号") from None
    finally:
        loader.dispose()


_NO_KEY = object()


def _json_data(text: str) -> Any:
    def pairs(items: list[tuple[str, Any]]) -> dict:
        obj = dict(items)
        if len(obj) != len(items):
            seen: set[str] = set()
            raise _Duplicate(next(k for k, _ in items if k in seen or seen.add(k)))  # type: ignore[func-returns-value]
        return obj

    def integer(s: str) -> int:
        if len(s.lstrip("-")) > MAX_DIGITS:
            raise _BadNumber(f"整数位数过多（{len(s.lstrip('-'))} 位）")
        return int(s)

    def real(s: str) -> float:
        x = float(s)
        if not math.isfinite(x):
            raise _BadNumber(f"数值“{quote(s, 20)}”超出范围")
        return x

    def constant(s: str) -> float:
        raise _BadNumber(f"JSON 中不能写 {s}", hint="请填写有限的数字或留空")

    try:
        data = json.loads(text, object_pairs_hook=pairs, parse_int=integer, parse_float=real, parse_constant=constant)
    except _Duplicate as d:
        line = _json_duplicate_line(text, d.key)
        raise _DataProblem(f"键“{quote(d.key)}”重复", line, "同一层级的键只能出现一次，请删除或合并重复的键") from None
    except _BadNumber as b:
        raise _DataProblem(b.message, None, b.hint or "请填写合理范围内的数字") from None
    except json.JSONDecodeError as e:
        raise _DataProblem("文件格式有误，无法解析", e.lineno, "JSON 语法错误：请检查括号、逗号和引号") from None
    except RecursionError:
        raise _DataProblem(f"嵌套层数超过 {MAX_DEPTH} 层", None, "数据文件只需几层嵌套，请检查文件内容") from None
    if _depth(data) > MAX_DEPTH:
        raise _DataProblem(f"嵌套层数超过 {MAX_DEPTH} 层", None, "数据文件只需几层嵌套，请检查文件内容")
    return data


class _Duplicate(Exception):
    def __init__(self, key: str):
        self.key = key


class _BadNumber(Exception):
    def __init__(self, message: str, hint: str | None = None):
        self.message, self.hint = message, hint


def _depth(data: Any) -> int:
    """How deeply lists and dicts nest, counted up to ``MAX_DEPTH + 1`` (level by level, visiting only the
    containers: a deep file cannot exhaust the stack). Each level's values are typed in one pass (``map(type)``),
    and picked one by one only when a container is among them: the last level (a data file's entries, most of its
    values) costs no Python step per value."""
    depth, level = 0, [data] if isinstance(data, (dict, list)) else []
    while level and depth <= MAX_DEPTH:
        depth += 1
        values = list(chain.from_iterable(node.values() if isinstance(node, dict) else node for node in level))
        if any(issubclass(kind, (dict, list)) for kind in set(map(type, values))):
            level = [v for v in values if isinstance(v, (dict, list))]
        else:
            level = []
    return depth


_JSON_KEY = re.compile(r'"((?:[^"\\]|\\.)*)"\s*:')


def _json_duplicate_line(text: str, key: str) -> int | None:
    """The line of a key's second appearance in the same object (only run once a duplicate was found)."""
    stack: list[set[str]] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in "{[":
            stack.append(set() if c == "{" else None)  # type: ignore[arg-type]
        elif c in "}]":
            stack.pop() if stack else None
        elif c == '"':
            m = _JSON_KEY.match(text, i)
            if m and stack and stack[-1] is not None:
                k = json.loads(f'"{m.group(1)}"')
                if k == key and k in stack[-1]:
                    return text.count("\n", 0, i) + 1
                stack[-1].add(k)
                i = m.end()
                continue
            j = i + 1  # skip a string value
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            i = j
        i += 1
    return None


# --------------------------------------------------------------------------- flat 自评表 (CSV / Excel / Word)
def read_flat_table(path: str | Path, *, budget: float | None = None, spent: float | None = None,
                    unit_name: str | None = None, year: int | None = None) -> tuple[TargetSet, ActualSet]:
    """A filled-in 自评表 (CSV, Excel or Word; the official layout with its header, or just the indicator columns) →
    targets and actuals, read by the same reader as ``import`` (its header fields — 项目名称, 主管部门, 实施单位, the
    year, the budget block — included); ``budget`` / ``spent`` / ``unit_name`` / ``year`` only override."""
    from .intake import read_flat

    tset, aset, _ = read_flat(Path(path), budget=budget, spent=spent, unit_name=unit_name, year=year)
    return tset, aset
