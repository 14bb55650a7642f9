"""The bureau's column reading of data files (``load_columns``) against the models (``load``): the same values for
every file the models accept, the same Chinese message for every file they refuse; and the rows matched from
columns (``frame.column_parts``, what the bureau's batch scores) against those matched from the models
(``frame.indicator_rows``)."""
from __future__ import annotations

import itertools
import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from evaluator import InputFileError
from evaluator.frame import FRAME_COLUMNS, Files, column_parts, columns_frame, indicator_rows, rows_frame
from evaluator.load import load_actuals, load_targets
from evaluator.load_columns import load_actuals_columns, load_targets_columns, model_columns
from evaluator.model import Actual, Indicator

ROOT = Path(__file__).resolve().parent.parent
BAD = ROOT / "tests" / "fixtures" / "bad"
CORPUS = ROOT / "tests" / "fixtures" / "refused_data_files.json"


def _outcome(read, path: Path, entry) -> tuple:
    """What a reader makes of a file: its refusal as the user reads it, or the tables (without their indicators)
    and each table's indicators as columns."""
    try:
        got = read(path)
    except InputFileError as e:
        return ("refused", e.render())
    if hasattr(got, "columns"):  # load_columns.Columns
        return ("read", got.model, got.columns, got.full())
    return ("read", got.model_copy(update={"tables": [t.model_copy(update={"indicators": []}) for t in got.tables]}),
            [model_columns(t.indicators, entry) for t in got.tables], got)


def _matched_alike(t: tuple, a: tuple, files: Files) -> bool:
    """``column_parts`` of read targets and actuals (``_outcome``'s) against ``indicator_rows`` of their models: the
    same rows, column by column, the same findings and the same frame to score (dtypes too); False when it
    declines."""
    got = column_parts(t[1], t[2], a[1], a[2], files, "p\x1f")
    if got is None:
        return False
    rows, findings = indicator_rows(t[3], a[3], files, "p\x1f")
    assert got[0] == {name: [r[k] for r in rows] for k, name in enumerate(FRAME_COLUMNS)}
    assert got[1] == findings
    if rows:  # (score_items builds no frame of no rows)
        pd.testing.assert_frame_equal(columns_frame(got[0]), rows_frame(rows))
    return True


def _same(path: Path, kind: str) -> tuple:
    if kind == "targets":
        old, new = _outcome(load_targets, path, Indicator), _outcome(load_targets_columns, path, Indicator)
    else:
        old, new = _outcome(load_actuals, path, Actual), _outcome(load_actuals_columns, path, Actual)
    assert new == old and repr(new) == repr(old), path.name  # (repr: 5 and 5.0 are equal, their reprs not)
    return new


def _files() -> list[tuple[Path, str]]:
    out = [(p, k) for p in sorted(BAD.glob("*")) if p.suffix in (".yaml", ".json") for k in ("targets", "actuals")]
    out += [(p, "targets") for p in sorted((ROOT / "data" / "targets").glob("*.yaml"))]
    out += [(p, "actuals") for p in sorted((ROOT / "data" / "actuals").glob("*.yaml"))]
    return out


@pytest.mark.parametrize("path,kind", _files(), ids=lambda x: x.name if isinstance(x, Path) else x)
def test_the_repository_data_files_read_the_same_as_models(path, kind):
    _same(path, kind)


def test_the_refused_data_files_of_the_test_suite_get_the_same_message(tmp_path):
    """Every YAML/JSON data file the rest of the suite writes and refuses, read both ways: the same message, word
    for word. ``refused_data_files.json`` was recorded (2026-12-01) by running test_load, test_intake,
    test_bad_files, test_bureau, test_beyond_inputs, test_rules, test_score, test_cli, test_monitor and test_trend
    with ``load.read_mapping``/``load.validate_mapping`` wrapped (a ``sitecustomize`` on ``PYTHONPATH``, so the
    CLI's subprocesses too) to keep the text of each file they refused (up to 6,000 characters): 299 texts."""
    corpus = json.loads(CORPUS.read_text(encoding="utf-8"))
    assert len(corpus) >= 30
    refused = 0
    for k, (suffix, text, kind) in enumerate(corpus):
        path = tmp_path / f"f{k}{suffix}"
        path.write_text(text, encoding="utf-8")
        refused += _same(path, kind)[0] == "refused"
    assert refused == len(corpus)


# --------------------------------------------------------------------------- random files: every value a field may get
_TEXTS = ["产出指标", "数量指标", "会议", " 会议", "会议 ", "会议\u3000", "\u00a0x", "", "≥5次", "100%", "达成", "部分达成",
          "achieved", "partial", "higher", "lower", " higher", "正向", "1", "10.5", "x\u0085", "a\u2028"]
_VALUES = _TEXTS + [None, 0, 1, 5, 99.5, 100, 100.5, -1, 0.0, 1e12, 1e13, True, False, [], ["a"], {"a": 1}, {}]
_KEYS = [*Indicator.model_fields, *Actual.model_fields, "一级指标", "二级指标", "三级指标", "年度指标值", "指标值", "分值",
         "实际完成值", "得分", "评判档次", "计量基数", "indicator", "unknown", "备注"]


def _strategies():
    from hypothesis import strategies as st

    value = st.sampled_from(_VALUES)
    plain_target = st.fixed_dictionaries(
        {"level1": st.sampled_from(["产出指标", "效益指标"]), "level2": st.sampled_from(["数量指标", "质量指标"]),
         "level3": st.sampled_from(["a", "b", "c", "d"])},
        optional={"target": st.sampled_from(["≥5次", "", None, "100%"]), "weight": st.sampled_from([None, 5, 10.5, 100]),
                  "direction": st.sampled_from([None, "higher", "lower"]), "unit": st.sampled_from([None, "次"]),
                  "id": st.sampled_from([None, "i1"]), "rate_base": st.sampled_from([None, 3, 0.5])})
    plain_actual = st.fixed_dictionaries(
        {"indicator": st.sampled_from(["a", "b", "c", "d", "e"])},
        optional={"actual": st.sampled_from(["4次", "达成", None, ""]), "level2": st.sampled_from([None, "数量指标", "质量指标", ""]),
                  "band": st.sampled_from([None, "achieved", "partial"]), "claimed_score": st.sampled_from([None, 3, 4.5]),
                  "deviation_note": st.sampled_from([None, "原因"]), "id": st.sampled_from([None, "i1"])})
    messy = st.dictionaries(st.sampled_from(_KEYS), value, max_size=6)

    def odd(d: dict):  # a plain entry with one of its own values, or one more key, changed to any value
        return st.one_of(st.sampled_from(sorted(d)), st.sampled_from(_KEYS)).flatmap(
            lambda k: value.map(lambda v: {**d, k: v}))

    def entries(plain):
        return st.lists(st.one_of(*[plain] * 6, messy, plain.flatmap(odd), plain.flatmap(odd)), max_size=5)

    return entries(plain_target), entries(plain_actual), plain_target, plain_actual


def _dump(data: dict, path: Path) -> None:
    if path.suffix == ".json":
        path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    else:  # (YAML reads every plain scalar as text: numbers there are strings the models convert)
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_random_entries_read_the_same_and_rows_match_the_same(tmp_path, suffix):
    """Random targets and actuals — plain entries, entries with one odd value (a number as text, text to strip, a
    bool, a list, out of range, an alias, an unknown key) and entries of anything — read both ways give the same
    tables and columns, or the same refusal; and where the columns can be matched (distinct names), the rows and
    findings are those ``indicator_rows`` gives on the models."""
    from hypothesis import HealthCheck, given, settings, strategies as st

    target_entries, actual_entries, _, _ = _strategies()
    targets_path, actuals_path = tmp_path / f"t{suffix}", tmp_path / f"a{suffix}"
    counts = {"read": 0, "refused": 0, "matched": 0}

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.lists(target_entries, min_size=1, max_size=3), st.lists(actual_entries, min_size=1, max_size=3),
           st.sampled_from([2023, 2022]))
    def check(target_lists, actual_lists, year):
        tables = [{"id": f"t{k}", "kind": "project", "title": "项目", "unit_name": "某局", "year": 2023, "indicators": e}
                  for k, e in enumerate(target_lists)]
        _dump({"unit_name": "某局", "year": 2023, "tables": tables}, targets_path)
        _dump({"unit_name": "某局", "year": year,
               "tables": [{"table": f"t{k}", "indicators": e, "budget": {"budget": 10, "spent": 9}}
                          for k, e in enumerate(actual_lists)]}, actuals_path)
        t, a = _same(targets_path, "targets"), _same(actuals_path, "actuals")
        counts[t[0]] += 1
        counts[a[0]] += 1
        if t[0] == a[0] == "read":
            files = Files(str(targets_path), str(actuals_path))
            counts["matched"] += _matched_alike(t, a, files)

    check()
    assert min(counts.values()) > 10, counts


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_rows_matched_from_columns_are_those_matched_from_models(tmp_path, suffix):
    """Plain random targets and actuals (names from a few, 二级指标 given or not, tables missing on either side):
    where every table's names are distinct, ``column_parts`` gives the rows and findings ``indicator_rows`` gives;
    where some repeat, it declines (None) and the models are matched."""
    from hypothesis import HealthCheck, given, settings, strategies as st

    _, _, plain_target, plain_actual = _strategies()
    targets_path, actuals_path = tmp_path / f"t{suffix}", tmp_path / f"a{suffix}"
    counts = {"matched": 0, "declined": 0}

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.lists(st.lists(plain_target, max_size=5), min_size=1, max_size=3),
           st.lists(st.tuples(st.sampled_from(["t0", "t1", "t2", "t9"]), st.lists(plain_actual, max_size=5)), max_size=3))
    def check(target_lists, actual_lists):
        tables = [{"id": f"t{k}", "kind": "project", "title": "项目", "unit_name": "某局", "year": 2023, "indicators": e}
                  for k, e in enumerate(target_lists)]
        _dump({"unit_name": "某局", "year": 2023, "tables": tables}, targets_path)
        _dump({"unit_name": "某局", "year": 2023, "tables": [{"table": tid, "indicators": e} for tid, e in actual_lists]},
              actuals_path)
        t, a = _same(targets_path, "targets"), _same(actuals_path, "actuals")
        files = Files(str(targets_path), str(actuals_path))
        counts["matched" if _matched_alike(t, a, files) else "declined"] += 1

    check()
    assert min(counts.values()) > 30, counts


@pytest.mark.parametrize("targets_level2", [("数量指标", "质量指标"), ("数量指标", "数量指标")])
@pytest.mark.parametrize("actuals_level2", list(itertools.product([None, "same", "数量指标", "质量指标", ""], repeat=2)))
def test_actuals_listed_as_the_targets_match_as_the_models_do(tmp_path, targets_level2, actuals_level2):
    """The common case ``column_parts`` takes without a lookup — the actuals name the targets' indicators in their
    order — with each actual's 二级指标 absent, the target's, another or blank: the rows and findings
    ``indicator_rows`` gives (an actual naming another 二级指标 is not that row's)."""
    targets = [{"level1": "产出指标", "level2": l2, "level3": n, "target": "≥5次", "weight": 10}
               for n, l2 in zip("ab", targets_level2)]
    actuals = []
    for n, l2, mine in zip("ab", actuals_level2, targets_level2):
        entry = {"indicator": n, "actual": "4次"}
        if l2 is not None:
            entry["level2"] = mine if l2 == "same" else l2
        actuals.append(entry)
    targets_path, actuals_path = tmp_path / "t.json", tmp_path / "a.json"
    _dump({"unit_name": "某局", "year": 2023, "tables": [{"id": "t0", "kind": "project", "title": "项目",
                                                        "unit_name": "某局", "year": 2023, "indicators": targets}]},
          targets_path)
    _dump({"unit_name": "某局", "year": 2023, "tables": [{"table": "t0", "indicators": actuals}]}, actuals_path)
    t, a = _same(targets_path, "targets"), _same(actuals_path, "actuals")
    assert _matched_alike(t, a, Files(str(targets_path), str(actuals_path)))
