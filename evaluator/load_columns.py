"""Data files read for the bureau's batch: the tables as models, their indicators as columns.

A province is hundreds of thousands of indicator entries, and a model per entry was the largest share of reading
it. Here the file (``load.read_mapping``) is validated as its model with the indicator lists left out, and each
table's indicator list is checked column by column: a list whose every entry holds only plain text in the text
fields (what the model would keep as it is: strings already stripped, the enum fields spelled as their values,
no numbers, aliases or ``scoring``) becomes columns of those strings. Any other list is validated entry by entry
by its model (``Indicator``/``Actual``), and the columns are taken from the models. So the models stay the
schema: whatever is not trivially what they would produce goes through them, and a file they refuse is refused
by validating the whole file as before — the same Chinese message, word for word
(``tests/test_load.py::test_column_reading_gives_the_models_values_and_messages``).
"""
from __future__ import annotations

import math
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, get_args, get_origin

import annotated_types as at
from pydantic import BaseModel, ValidationError

from .load import paused_gc, read_mapping, refuse_repeated_ids, validate_mapping
from .model import Actual, ActualSet, Indicator, TargetSet

__all__ = ["Columns", "load_targets_columns", "load_actuals_columns", "model_columns", "TARGET_FIELDS", "ACTUAL_FIELDS"]

# the fields of an entry as columns, in the model's order
TARGET_FIELDS = tuple(Indicator.model_fields)
ACTUAL_FIELDS = tuple(Actual.model_fields)
# What the column check accepts without a model, read from the models' fields: text (a string, already stripped:
# str_strip_whitespace would keep it as it is), an enum member's value, a finite int or float within the field's
# bounds (the model makes it a float). Any other value, key or alias goes to the model.
def _text_fields(model: type[BaseModel]) -> dict[str, bool]:
    """The text fields of an entry: field → required (``str``); the optional ones are ``str | None``, and
    ``Indicator.target``, whose validator reads null as "" (``_target_text``)."""
    return {name: f.is_required() for name, f in model.model_fields.items()
            if f.annotation == str | None or (f.annotation is str and (f.is_required() or name in _NULL_AS_EMPTY))}


_NULL_AS_EMPTY = {"target"}


def _enum_fields(model: type[BaseModel]) -> dict[str, set[str]]:
    """The optional enum fields of an entry: field → the values of its members."""
    out = {}
    for name, f in model.model_fields.items():
        inner = [a for a in get_args(f.annotation) if a is not type(None)]
        if len(inner) == 1 and isinstance(inner[0], type) and issubclass(inner[0], StrEnum):
            out[name] = {m.value for m in inner[0]}
    return out


_TEXT = {Indicator: _text_fields(Indicator), Actual: _text_fields(Actual)}
_ENUMS = {Indicator: _enum_fields(Indicator), Actual: _enum_fields(Actual)}
# the validators the check above knows to keep a plain value as it is (null target → ""; a number as actual → its
# text, which the check sends to the model; 评判档次 aliases, which are not members' values): with any other, every
# entry goes to its model
_KNOWN_VALIDATORS = {Indicator: {"_target_text"}, Actual: {"_actual_text", "_band_alias"}}
_CHECKED = {m: set(m.__pydantic_decorators__.field_validators) == names and not m.__pydantic_decorators__.model_validators
            for m, names in _KNOWN_VALIDATORS.items()}


def _number_fields(model: type[BaseModel]) -> dict[str, list]:
    """The optional bounded numbers of an entry (分值, 计量基数, 得分 …: ``float | None`` with ``Ge``/``Le``… on
    it): field → its bounds, read from the model's own annotations."""
    out = {}
    for name, f in model.model_fields.items():
        inner = [a for a in get_args(f.annotation) if a is not type(None)]
        if len(inner) == 1 and get_origin(inner[0]) is Annotated and get_args(inner[0])[0] is float:
            out[name] = [m for x in get_args(inner[0])[1:] for m in getattr(x, "metadata", [x])]
    return out


_NUMBERS = {Indicator: _number_fields(Indicator), Actual: _number_fields(Actual)}
_BOUND = {at.Ge: lambda lo, hi, m: lo >= m.ge, at.Gt: lambda lo, hi, m: lo > m.gt, at.Le: lambda lo, hi, m: hi <= m.le,
          at.Lt: lambda lo, hi, m: hi < m.lt}
_PLAIN = {m: frozenset(_TEXT[m]) | frozenset(_ENUMS[m]) | frozenset(_NUMBERS[m]) for m in (Indicator, Actual)}


class Columns:
    """A data file read as ``model`` with its tables' indicator lists left empty, and each table's indicators as
    columns (``columns[k]``: field → list, for ``model.tables[k]``). ``full()`` is the model with its indicators,
    validated from the same parsed data (for a department the columns cannot serve)."""

    def __init__(self, model: Any, columns: list[dict[str, list]], data: dict, path: Path, kind: type[BaseModel]):
        self.model, self.columns, self._data, self._path, self._kind = model, columns, data, path, kind
        self._full: Any = None

    def full(self) -> Any:
        if self._full is None:
            with paused_gc():
                self._full = validate_mapping(self._kind, self._data, self._path)
        return self._full


def load_targets_columns(path: str | Path) -> Columns:
    """``load.load_targets``, the indicators as columns: the same checks, the same messages."""
    p = Path(path)
    got = _load(TargetSet, Indicator, p)
    refuse_repeated_ids(got.model, p)
    return got


def load_actuals_columns(path: str | Path) -> Columns:
    """``load.load_actuals``, the indicators as columns."""
    return _load(ActualSet, Actual, Path(path))


def _load(kind: type[BaseModel], entry: type[BaseModel], path: Path) -> Columns:
    with paused_gc():
        data = read_mapping(path)
        tables = data.get("tables")
        if not isinstance(tables, list):
            return _whole(kind, data, path)  # (the model says what is wrong)
        lists = [t.get("indicators") if isinstance(t, dict) else None for t in tables]
        if not all(isinstance(x, list) for x in lists if x is not None):
            return _whole(kind, data, path)
        try:
            model = kind.model_validate({**data, "tables": [t if x is None else {**t, "indicators": []}
                                                             for t, x in zip(tables, lists)]})
        except ValidationError:
            return _whole(kind, data, path)
        columns = _split(_plain_columns([e for x in lists if x for e in x], entry), [len(x or ()) for x in lists])
        for k, entries in enumerate(lists if columns is None else ()):  # (one table at a time when not all serve)
            cols = _plain_columns(entries or [], entry)
            if cols is None:
                try:
                    cols = model_columns([entry.model_validate(e) for e in entries], entry)
                except ValidationError:
                    return _whole(kind, data, path)
            lists[k] = cols
        return Columns(model, columns or lists, data, path, kind)


def _split(columns: dict[str, list] | None, sizes: list[int]) -> list[dict[str, list]] | None:
    """The columns of all a file's entries, cut back into each table's (the check holds for every table when it
    holds for all of their entries together: it looks at each value, and at the bounds of all of them)."""
    if columns is None:
        return None
    out, start = [], 0
    for n in sizes:
        out.append({f: col[start:start + n] for f, col in columns.items()})
        start += n
    return out


def _whole(kind: type[BaseModel], data: dict, path: Path) -> Columns:
    """The file validated as a whole, as ``load`` does: its message when it is refused; the columns from its models."""
    model = validate_mapping(kind, data, path)
    entry = Indicator if kind is TargetSet else Actual
    columns = [model_columns(t.indicators, entry) for t in model.tables]
    got = Columns(model.model_copy(update={"tables": [t.model_copy(update={"indicators": []}) for t in model.tables]}),
                  columns, data, path, kind)
    got._full = model
    return got


def _plain_columns(entries: list, entry: type[BaseModel]) -> dict[str, list] | None:
    """The entries as columns when each is what its model would keep as it is, else None."""
    fields = TARGET_FIELDS if entry is Indicator else ACTUAL_FIELDS
    if not entries:
        return {f: [] for f in fields}
    if not _CHECKED[entry]:
        return None
    if set(map(type, entries)) != {dict}:
        return None
    present = set().union(*entries)  # (the keys any entry has: the others are null throughout)
    if not present <= _PLAIN[entry]:
        return None  # (an alias, scoring, row …: the model decides)
    n = len(entries)
    out: dict[str, list] = {}
    for f, required in _TEXT[entry].items():
        if f not in present:
            if required:
                return None
            continue
        col = [e.get(f) for e in entries]
        texts = col if required else [v for v in col if v is not None]
        if not set(map(type, texts)) <= {str} or list(map(str.strip, texts)) != texts:
            return None  # (a number, a list, text to strip: the model decides)
        out[f] = col
    for f, values in _ENUMS[entry].items():
        if f in present:
            col = [e.get(f) for e in entries]
            if not set(map(type, col)) <= {str, type(None)} or not set(col) <= values | {None}:
                return None
            out[f] = col
    for f, bounds in _NUMBERS[entry].items():
        if f not in present:
            continue
        col = [e.get(f) for e in entries]
        values = [v for v in col if v is not None]
        if not set(map(type, values)) <= {int, float} or not all(map(math.isfinite, values)):
            return None  # (text, a bool: the model decides)
        if values and not all(_BOUND[type(m)](min(values), max(values), m) for m in bounds):
            return None
        out[f] = [None if v is None else float(v) for v in col]
    none = [None] * n
    for f in _NULL_AS_EMPTY & _TEXT[entry].keys():  # (absent or null: "")
        out[f] = ["" if v is None else v for v in out.get(f, none)]
    return {f: out.get(f, none) for f in fields}


def model_columns(models: list, entry: type[BaseModel]) -> dict[str, list]:
    """Validated entries as the columns ``_plain_columns`` gives (enum members as their values)."""
    fields = TARGET_FIELDS if entry is Indicator else ACTUAL_FIELDS
    out = {f: [getattr(m, f) for m in models] for f in fields}
    for f in _ENUMS[entry]:
        out[f] = [None if v is None else v.value for v in out[f]]
    return out
