"""The columnar path of a flat 自评表 (rows read as columns → the scoring frame → JSON from the frame) gives exactly
what the models path gives: the same frame, the same findings in the same order, byte-identical ``score --json``
and ``check --json``, and the plain-rows reader the same as the row loop."""
from __future__ import annotations

import csv
import io
import json
import random
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from evaluator import forms
from evaluator.cli import _input_findings, app
from evaluator.evaluation import check_findings
from evaluator.frame import Files, block_frame, indicator_frame
from evaluator.intake import read_inputs
from evaluator.output import dumps, findings_json
from evaluator.rules import load_rules

from .conftest import CASES, ROOT

HEAD = ["一级指标", "二级指标", "三级指标", "年度指标值", "实际完成值", "分值", "得分", "偏差原因分析及改进措施"]
TARGETS = ["≥5次", "20个", "100%", "≤50万元", "2023年底", "有所提升", "", "abc", "≥90%", "不少于3人", "4次/界别", "≤10%",
           "≧735人次", "=100%", "≤2天"]
ACTUALS = ["6次", "15", "98%", "45万元", "2023年11月", "达成", "", "无", "部分达成", "abc", "-3", "120%", "4次/界别", "是",
           "531人次", "#DIV/0!", "3天"]


def _write(path: Path, rows: list[list[str]], head: list[str] = HEAD, before: tuple = ()) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        for row in before:
            w.writerow(row)
        w.writerow(head)
        w.writerows(rows)
    return path


def _generated(folder: Path) -> dict[str, list[str]]:
    """Flat tables with distinct / shared / unknown-一级 names, blanks, bad values, weights, claimed scores, notes."""
    rng = random.Random(11)
    level1 = ["产出指标", "效益指标", "满意度指标", "其他", ""]
    level2 = ["数量指标", "质量指标", "时效指标", "成本指标", "社会效益指标", "服务对象满意度指标", ""]
    mixed = [[rng.choice(level1), rng.choice(level2), rng.choice([f"指标{i}", f"指标{i % 7}", "重复名"]),
              rng.choice(TARGETS), rng.choice(ACTUALS), "", rng.choice(["", "", "3", "0"]), rng.choice(["", "无", "原因", "/"])]
             for i in range(300)]
    ten = [[("产出指标" if i < 5 else "效益指标"), ("数量指标" if i % 2 else "质量指标"), f"项{i}", TARGETS[i], ACTUALS[i],
            "9", rng.choice(["9", "8.5", ""]), rng.choice(["", "说明"])] for i in range(10)]
    out = {
        "distinct": _write(folder / "distinct.csv", [[rng.choice(level1[:3]), rng.choice(level2), f"指标{i}",
                                                     rng.choice(TARGETS), rng.choice(ACTUALS), "", "", ""] for i in range(400)]),
        "shared": _write(folder / "shared.csv", [[rng.choice(level1[:3]), rng.choice(level2), f"指标{i % 10}",
                                                 rng.choice(TARGETS), rng.choice(ACTUALS), "", "", ""] for i in range(400)]),
        "unknown-level1": _write(folder / "unknown.csv", [[f"其他指标{i}", rng.choice(level2), f"指标{i}", rng.choice(TARGETS),
                                                          rng.choice(ACTUALS), "", "", ""] for i in range(300)]),
        "mixed": _write(folder / "mixed.csv", mixed),
        "weights": _write(folder / "weights.csv", ten),
        "weight-missing": _write(folder / "weight-missing.csv", [r[:5] + ["" if k == 3 else r[5]] + r[6:] for k, r in enumerate(ten)]),
        "percent": _write(folder / "percent.csv", [r[:5] + ["9%"] + r[6:] for r in ten]),
        "fraction": _write(folder / "fraction.csv", [r[:5] + ["0.09"] + r[6:] for r in ten]),
        "filled-down": _write(folder / "filled.csv", [[r[0] if k % 3 == 0 else "", r[1] if k % 2 == 0 else ""] + r[2:]
                                                       for k, r in enumerate(ten)]),
        "blank-lines": _write(folder / "blank-lines.csv", ten[:4] + [[""] * 8] + ten[4:]),
        "duplicates": _write(folder / "duplicates.csv", ten + ten[:3]),
        "titled": _write(folder / "titled.csv", ten, before=(["2023年度项目支出绩效自评表"], ["项目名称", "测试项目", "主管部门", "某局"],
                                                            ["年度预算数", "100", "全年执行数", "90"])),
        "unit-column": _write(folder / "unit.csv", [r[:4] + ["次"] + r[4:] for r in ten], head=HEAD[:4] + ["度量单位"] + HEAD[4:]),
        # not plain rows: read by the row loop, which reports them — the columnar path must still agree
        "total-row": _write(folder / "total.csv", ten + [["总分", "", "", "", "", "100", "88", ""]]),
        "signature": _write(folder / "signature.csv", ten + [["填表人：张三"] + [""] * 7]),
        "stray-cell": _write(folder / "stray.csv", [r + (["多余"] if k == 2 else [""]) for k, r in enumerate(ten)], head=HEAD + [""]),
        "no-level3": _write(folder / "no-l3.csv", ten[:3] + [["产出指标", "数量指标", "", "5", "5", "", "", ""]] + ten[3:]),
    }
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(HEAD)
    for r, row in enumerate(mixed[:200], start=2):
        for c, x in enumerate(row, start=1):
            cell = sheet.cell(r, c, float(x) if x.replace(".", "").isdigit() else x)  # numbers as Excel numbers
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"  # "=100%" as the text it is, not a formula
    book.save(folder / "mixed.xlsx")
    out["xlsx"] = folder / "mixed.xlsx"
    return {name: [str(p)] for name, p in out.items()}


def _inputs(tmp_path: Path) -> dict[str, list[str]]:
    specs = _generated(tmp_path)
    specs["distinct-with-budget"] = specs["distinct"] + ["--budget", "100", "--spent", "95"]
    specs["weights-with-budget"] = specs["weights"] + ["--budget", "100", "--spent", "120"]
    for name in ("self-evaluation.xlsx", "bad/weights.csv", "bad/negative-and-absurd.csv", "bad/duplicated.csv"):
        specs[name] = [str(ROOT / "tests" / "fixtures" / name)]
    for p in sorted((ROOT / "tests" / "fixtures" / "published").glob("*"))[:6]:
        specs[p.name] = [str(p)]
    if CASES is not None:
        for p in sorted(CASES.glob("*.csv")):
            specs[f"case-{p.stem}"] = [str(p)]
    return specs


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, list[str]]:
    return _inputs(tmp_path_factory.mktemp("columnar"))


def _cli(*args: str) -> tuple[int, str]:
    r = CliRunner().invoke(app, list(args))
    return r.exit_code, r.stdout


def _models_findings(args: list[str]) -> str:
    """``check --json`` as the models path gives it (the tables' indicators as models, matched by name)."""
    path = Path(args[0])
    got = read_inputs(path, None, *_budget(args))
    findings = _input_findings(got, check_findings(got.targets, got.actuals, load_rules("mof-2020"), targets_file=str(path)))
    return dumps(findings_json(findings))


def _budget(args: list[str]) -> tuple[float | None, float | None]:
    if "--budget" in args:
        return float(args[args.index("--budget") + 1]), float(args[args.index("--spent") + 1])
    return None, None


def _models_score(args: list[str]) -> tuple[str, object]:
    """``score --json`` as the models path gives it (input rows and scored indicators as models), and the
    Evaluation the text output prints."""
    from evaluator.cli import _load_scored
    from evaluator.losses import point_losses
    from evaluator.output import evaluation_json

    ev, rs, tset, aset, scored = _load_scored(Path(args[0]), None, *_budget(args), "mof-2020")
    payload = evaluation_json(ev)
    payload["losses"] = [t.model_dump() for t in point_losses(tset, aset, rs, scored=scored)]
    return dumps(payload), ev


def test_score_json_is_byte_identical_to_the_models_path(inputs, tmp_path):
    from evaluator.cli import _load_scored

    for name, args in inputs.items():
        code, out = _cli("score", *args, "--json")
        try:
            expected, ev = _models_score(args)
        except Exception:  # noqa: BLE001 - refused input: refused the same way (exit 1, nothing on stdout)
            assert (code, out) == (1, ""), name
            continue
        assert (code, out) == (0, expected), name
        file = tmp_path / f"{name.replace('/', '_')}.json"
        assert _cli("score", *args, "--json", "-o", str(file)) == (0, expected), name
        assert file.read_text(encoding="utf-8") == expected, name
        # the text output prints the Evaluation: read as columns it is the models path's, model for model
        assert _load_scored(Path(args[0]), None, *_budget(args), "mof-2020", models=False)[0] == ev, name
        json.loads(out)


def test_check_json_and_text_are_identical_to_the_models_path(inputs):
    for name, args in inputs.items():
        code, out = _cli("check", *args, "--json")
        try:
            expected = _models_findings(args)
        except Exception:  # noqa: BLE001 - refused input: check refuses it too (exit 1, no JSON)
            assert code == 1 and out == "", name
            continue
        assert out == expected, name
        assert (code == 1) == any(f["severity"] == "error" for f in json.loads(out)), name


def test_block_frame_is_the_indicator_frame_of_the_models(inputs):
    """The frame and findings from the columns equal those ``indicator_rows`` builds from the models."""
    for name, args in inputs.items():
        path = Path(args[0])
        try:
            with_models = read_inputs(path, None)
        except Exception:  # noqa: BLE001 - refused input
            continue
        columns = read_inputs(path, None, models=False)
        if not columns.one_file:
            assert not columns.blocks
            continue
        files = Files(str(path), str(path))
        frame, found = indicator_frame(with_models.targets, with_models.actuals, files)
        frame2, found2 = block_frame(columns.targets, columns.actuals, columns.blocks, files)
        pd.testing.assert_frame_equal(frame, frame2, check_index_type=True, obj=name)
        assert found == found2, name
        assert not any(t.indicators for t in columns.targets.tables), name


def test_block_frame_of_several_tables_is_the_indicator_frame_of_the_models(tmp_path):
    """Several tables' columns in one frame (positions restart per table; a column empty in one table and filled
    in another, a column of None in all): the frame ``indicator_rows`` builds from the same tables' models."""
    rows = [["产出指标", "数量指标", "会议", "≥5次", "6次", "10", "", "原因"],
            ["效益指标", "社会效益指标", "影响", "有所提升", "达成", "", "", ""]]
    path = _write(tmp_path / "one.csv", rows)
    files = Files(str(path), str(path))
    columns = read_inputs(path, None, models=False)
    models = read_inputs(path, None)
    plain = tmp_path / "plain.csv"
    plain.write_text("一级指标,二级指标,三级指标,年度指标值,实际完成值\n产出指标,数量指标,培训,3次,2次\n", encoding="utf-8")
    other_columns, other_models = read_inputs(plain, None, models=False), read_inputs(plain, None)
    [block], [other] = columns.blocks.items(), other_columns.blocks.items()
    second = other_columns.targets.tables[0].model_copy(update={"id": "t2"})
    targets = columns.targets.model_copy(update={"tables": [*columns.targets.tables, second]})
    actuals = columns.actuals.model_copy(update={"tables": [*columns.actuals.tables,
                                                            other_columns.actuals.tables[0].model_copy(update={"table": "t2"})]})
    frame2, found2 = block_frame(targets, actuals, {block[0]: block[1], "t2": other[1]}, files)
    m_targets = models.targets.model_copy(update={"tables": [
        *models.targets.tables, other_models.targets.tables[0].model_copy(update={"id": "t2"})]})
    m_actuals = models.actuals.model_copy(update={"tables": [
        *models.actuals.tables, other_models.actuals.tables[0].model_copy(update={"table": "t2"})]})
    frame, found = indicator_frame(m_targets, m_actuals, files)
    assert len(frame) == 3 and frame["position"].tolist() == [0, 1, 0]
    pd.testing.assert_frame_equal(frame, frame2, check_index_type=True)
    assert found == found2


@pytest.mark.parametrize("budget", [(100.0, 90.0), (100, 90), (None, None)])
def test_block_frame_with_a_budget_is_the_indicator_frame_of_the_models(tmp_path, budget):
    """One table's year, budget, spent and entry flag go to the frame as arrays of the type pandas infers."""
    rows = [["产出指标", "数量指标", "会议", "≥5次", "6次", "10", "", "原因"],
            ["效益指标", "社会效益指标", "影响", "有所提升", "达成", "", "", ""]]
    path = _write(tmp_path / "one.csv", rows)
    files = Files(str(path), str(path))
    columns, models = read_inputs(path, None, *budget, models=False), read_inputs(path, None, *budget)
    frame, found = indicator_frame(models.targets, models.actuals, files)
    frame2, found2 = block_frame(columns.targets, columns.actuals, columns.blocks, files)
    pd.testing.assert_frame_equal(frame, frame2, check_index_type=True)
    assert found == found2 and (frame2["budget"].dtype == float) == (budget[0] is not None)


def test_plain_rows_are_read_as_the_row_loop_reads_them(inputs, monkeypatch):
    """A block of plain rows is read column by column; the row loop (forced) gives the same targets, actuals and
    findings — and the forced loop is what reads every file whose rows are not plain."""
    plain = []
    original = forms._Parser._plain_block

    def spy(self, *a):
        block = original(self, *a)
        plain.append((self.path.name, block is not None))
        return block

    def read(path: Path):
        try:
            got = read_inputs(path, None)
        except Exception as e:  # noqa: BLE001 - refused: the same message either way
            return str(e)
        return got.targets, got.actuals, got.findings

    for name, args in inputs.items():
        path = Path(args[0])
        with monkeypatch.context() as m:
            m.setattr(forms._Parser, "_plain_block", spy)
            fast = read(path)
        with monkeypatch.context() as m:
            m.setattr(forms._Parser, "_plain_block", lambda self, *a: None)
            slow = read(path)
        assert fast == slow, name
    taken = [p for _, p in plain]
    assert sum(taken) >= 10 and not all(taken)  # both ways were taken
    assert ("mixed.xlsx", True) in plain  # a flat workbook's rows are plain too


def test_json_pieces_are_dumps():
    """``json_chunks`` writes what ``dumps`` writes, for no items, one piece and several, in one list or two."""
    from evaluator.output import json_chunks

    rows = [{"a": i, "b": "文字\n换行", "c": None, "d": [1, {"e": 2.5}]} for i in range(5)]
    payload = {"x": 1, "indicators": [], "y": {"z": [1, 2]}, "findings": [], "z": "\x00"}
    for parts in ([], [rows], [rows[:2], [], rows[2:]]):
        expected = dumps({**payload, "indicators": [r for p in parts for r in p]})
        assert b"".join(json_chunks(payload, {"indicators": parts})).decode("utf-8") == expected
        expected = dumps({**payload, "indicators": [r for p in parts for r in p], "findings": rows[::-1]})
        pieces = json_chunks(payload, {"findings": [rows[::-1]], "indicators": parts})
        assert b"".join(pieces).decode("utf-8") == expected


def test_score_json_to_a_console_without_the_characters(monkeypatch):
    """Streamed to a stdout that is not UTF-8, the JSON still reads back exactly (characters escaped)."""
    from evaluator import cli

    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="ascii", errors="strict")
    monkeypatch.setattr(cli.sys, "stdout", stream)
    cli._write_json_pieces(iter([b'{"a": "\xe6\x96\x87\xe5\xad\x97"', b"}\n"]))
    stream.flush()
    assert json.loads(raw.getvalue().decode("ascii")) == {"a": "文字"}


@pytest.mark.parametrize("text", [
    "一级指标,二级指标,三级指标\n产出指标, 数量指标,指标1 \n效益指标,质量指标,指标2\n",  # spaces at cell edges, no quotes
    "一级指标\t二级指标\t三级指标\n产出指标\t 数量指标\t指标1\u3000\n效益指标\t\t指标2\n",  # tab-separated
    '一级指标,二级指标,三级指标\r\n"产出指标","数量\n指标"," 指标1"\r\n效益指标,质量指标,指标2\r\n',  # quoted, CRLF
    "一级指标,二级指标,三级指标\n产出指标,数量指标,指标1\n",  # clean
])
def test_csv_cells_are_cleaned_as_when_checked_one_by_one(tmp_path, monkeypatch, text):
    """The one scan that lets a clean CSV skip the per-row checks never skips a cell that needs cleaning."""
    from evaluator import grids

    path = tmp_path / "t.csv"
    path.write_text(text, encoding="utf-8")
    fast = grids.csv_grid(path).cells
    monkeypatch.setattr(grids, "edge_spaces", lambda text, delimiter: True)  # (every row checked)
    assert fast == grids.csv_grid(path).cells


def test_edge_spaces_are_found_as_a_search_for_them_finds_them():
    """``grids._edge_spaces`` (a substring search per space the text holds) answers as the regular expression of
    a space at a cell's edge: after a delimiter or line start, before a delimiter or line end (and also next to a
    bare "\\r", which the csv module ends a line at too, where the expression missed it)."""
    import re

    from evaluator.grids import edge_spaces

    rng = random.Random(11)
    alphabet = ["a", "指", ",", "\t", "\n", "\r\n", "\r", " ", "\u3000", "\xa0", "\x0b", "\u2028", "\x85"]
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        for d in (",", "\t"):
            space = "[^\\S\\r\\n%s]" % ("\\t" if d == "\t" else "")
            pattern = re.compile(f"(?:^|{re.escape(d)}){space}|{space}(?:{re.escape(d)}|\\r?$)", re.M)
            found = pattern.search(text) is not None
            bare_cr = "\r" in text.replace("\r\n", "")
            assert edge_spaces(text, d) == found or (bare_cr and not found), (text, d)
        cells = text.split("\n")  # cells joined by NUL, any space at their edges (a line end is one)
        joined = "\x00".join(cells)
        assert edge_spaces(joined, "\x00", lines=False) == any(c != c.strip() for c in cells), cells


def test_a_csv_grid_said_stripped_has_no_cell_to_strip(tmp_path):
    """``Grid.stripped`` lets the form reader skip stripping a CSV's columns: it must hold for every cell whenever
    the grid says so — random files with spaces, tabs, control characters (removing one can leave an edge space:
    "\x01 a"), quotes, commas and line breaks; and the plain-row reader gives the same block with it ignored."""
    from evaluator import grids
    from evaluator.errors import EvaluatorError, collecting

    rng = random.Random(5)
    alphabet = ["a", "指", ",", "\n", "\r\n", " ", "\u3000", "\xa0", "\x0b", "\x01", "\x1c", '"', "\t", "\x85"]
    path = tmp_path / "t.csv"
    said = 0
    for _ in range(1500):
        body = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 16)))
        path.write_text("一级指标,二级指标,三级指标\n" + body, encoding="utf-8")
        try:
            with collecting():
                grid = grids.csv_grid(path)
        except EvaluatorError:
            continue
        if grid.stripped:
            said += 1
            assert all(t == t.strip() for row in grid.cells for t in row), body
    assert said > 500


@pytest.mark.parametrize("body", ["产出指标,数量指标,会议,\x01 ≥5次,\x01 6次,,\x01 原因说明\n",
                                  "产出指标 , 数量指标,会议 ,≥5次 , 6次,10, 原因\n产出指标,数量指标,培训,3次,2次,10,\n"])
def test_plain_rows_of_a_stripped_grid_read_as_when_stripped_again(tmp_path, monkeypatch, body):
    from evaluator import grids

    path = tmp_path / "t.csv"
    path.write_text("一级指标,二级指标,三级指标,年度指标值,实际完成值,分值,偏差原因分析及改进措施\n" + body, encoding="utf-8")
    fast = read_inputs(path, None, None, None, models=False)
    real = grids.Grid.__init__

    def never_stripped(self, *args, **kwargs):
        real(self, *args, **kwargs)
        self.stripped = False

    monkeypatch.setattr(grids.Grid, "__init__", never_stripped)
    slow = read_inputs(path, None, None, None, models=False)
    assert [b.columns for b in fast.blocks.values()] == [b.columns for b in slow.blocks.values()]
    assert fast.findings == slow.findings


def test_a_long_cell_in_an_unquoted_csv_is_still_refused(tmp_path, monkeypatch):
    from evaluator.errors import EvaluatorError
    from evaluator.grids import csv_grid

    monkeypatch.setenv("EVALUATOR_MAX_CELL_CHARS", "100")
    path = tmp_path / "long.csv"
    path.write_text("一级指标,二级指标,三级指标\n产出指标,数量指标," + "长" * 150 + "\n", encoding="utf-8")
    with pytest.raises(EvaluatorError, match="单元格内容过长"):
        csv_grid(path)


def test_names_are_matched_in_one_scan_as_one_by_one():
    """``NameCodes.contains_any`` scans all distinct names at once; the same answer as a search per name — the
    values holding a few matches found by counting separators, many by where each value starts, a value or a
    word holding a NUL searched one by one."""
    import re

    import numpy as np

    from evaluator.columns import NameCodes

    rng = random.Random(5)
    for _ in range(600):
        alphabet = "成本数量质量指标ab \x01" + ("\x00" if rng.random() < 0.1 else "")
        size = rng.choice([30, 30, 400])  # (400 names: often more than 64 matches)
        values = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6))) for _ in range(rng.randint(1, size))]
        if rng.random() < 0.2:
            values.append(None)
        names = NameCodes(pd.Series(values, dtype=object))
        words = tuple(rng.choice(["成本", "数量", "a", "", "指标", "b ", "\x01"]) for _ in range(rng.randint(1, 3)))
        pattern = re.compile("|".join(map(re.escape, words)))
        expected = np.array([bool(pattern.search(str(u))) for u in names.uniques], dtype=bool)[names.codes]
        assert (names.contains_any(words) == expected).all(), (values, words)


def test_name_codes_are_the_sorted_factorisation_of_the_names():
    """``NameCodes`` (runs hashed once, a column without "" not factorised a second time, sorted on demand by a
    stable sort) gives the names' sorted distinct values (with "") and each row's place among them."""
    import numpy as np

    from evaluator.columns import NameCodes

    rng = random.Random(8)
    for _ in range(1500):
        pool = ["".join(rng.choice("成本数量ab ") for _ in range(rng.randint(0, 4))) for _ in range(rng.randint(1, 8))]
        pool += [None] * rng.randint(0, 2) + [float("nan")] * (rng.random() < 0.1) + [3] * (rng.random() < 0.1)
        values = [rng.choice(pool) for _ in range(rng.randint(1, 40))]
        if rng.random() < 0.4:
            values = sorted(values, key=str)  # runs
        rows = None if rng.random() < 0.7 else np.array([rng.random() < 0.6 for _ in values])
        names = NameCodes(pd.Series(values, dtype=object), rows)
        texts = ["" if v is None or v != v or (rows is not None and not rows[i]) else str(v) for i, v in enumerate(values)]
        uniques = sorted({*texts, ""})  # ("" always among them: the code of a missing name)
        assert names.uniques.tolist() == uniques and names.codes.tolist() == [uniques.index(t) for t in texts], values


def test_a_repeated_name_is_one_finding_that_lists_its_rows(tmp_path):
    """A 三级指标 repeated under the same 二级指标 gets one warning listing every row that holds it, located at its
    first repeat (was one warning per repeat: a table of 10 names on 200,000 rows carried 200,000 of them and 1 GB);
    past 20 rows the message lists the first 20 and the count, ``location.rows`` all of them. Both paths agree,
    and a data file without rows names the items."""
    from evaluator.frame import SHOWN_ROWS, duplicate_findings

    rows = [["产出指标", "数量指标", "会议", "≥5次", "6次", "", "", ""],
            ["产出指标", "数量指标", "调研", "4个", "4个", "", "", ""],
            ["产出指标", "数量指标", "会议", "≥5次", "6次", "", "", ""],
            ["产出指标", "质量指标", "会议", "100%", "100%", "", "", ""],  # another 二级指标: not a repeat
            ["效益指标", "社会效益指标", "影响", "有所提升", "达成", "", "", ""]]
    rows += [["产出指标", "时效指标", "及时", "2023年底", "2023年11月", "", "", ""]] * 25
    rows += [["产出指标", "数量指标", "会议", "≥5次", "6次", "", "", ""]]
    path = _write(tmp_path / "repeats.csv", rows)
    code, out = _cli("check", "--json", str(path), "--budget", "100", "--spent", "100")
    found = [f for f in json.loads(out) if f["code"] == "duplicate-indicator"]
    timely = list(range(7, 32))
    shown = "、".join(map(str, timely[:SHOWN_ROWS]))
    assert [(f["location"]["row"], f["location"]["item"], f["location"]["rows"], f["message"]) for f in found] == [
        (4, 3, [2, 4, 32], "同一二级指标下三级指标重复：二级指标“数量指标”下的“会议”出现 3 次（第 2、4、32 行），请核对是否重复填报"),
        (8, 7, timely, f"同一二级指标下三级指标重复：二级指标“时效指标”下的“及时”出现 25 次（第 {shown} 行等，共 25 行；"
                       "全部行号见 --json 的 location.rows），请核对是否重复填报"),
    ]
    assert _models_findings([str(path), "--budget", "100", "--spent", "100"]) == out  # the models path: the same
    # a data file's indicators have no rows: items, as listed in the file
    items = duplicate_findings("t", ["数量指标"] * 3, ["会议", "调研", "会议"], [None] * 3, "targets.yaml")
    assert [(f.location.item, f.location.row, f.location.rows, f.message) for f in items] == [
        (3, None, None, "同一二级指标下三级指标重复：二级指标“数量指标”下的“会议”出现 2 次（第 1、3 项指标），请核对是否重复填报")]
    assert duplicate_findings("t", ["a", "b"], ["x", "x"], [2, 3], None) == []  # the same name under two 二级指标


def test_the_one_scan_of_a_clean_csv_agrees_with_each_check():
    """csv_grid's one scan for a clean file (no control character, no space but the delimiter) is False only
    when ``has_controls`` and ``edge_spaces`` both are; ``_longest_line`` of the bytes is never less than the
    longest line's characters (UTF-8 and GB18030). Its class is ``errors.CONTROLS`` and the inline spaces but the
    delimiter, over every code point."""
    from evaluator.errors import CONTROL_CLASS, CONTROLS, has_controls
    from evaluator.grids import _INLINE_SPACES, _longest_line, _quiet_class, edge_spaces

    for d in (",", "\t"):
        quiet = "".join(c for c in map(chr, range(0x110000)) if _quiet_class(d).match(c))
        assert quiet == "".join(sorted(set(CONTROLS) | set(_INLINE_SPACES) - {d}))
    assert "".join(c for c in map(chr, range(0x110000)) if CONTROL_CLASS.match(c)) == CONTROLS

    rng = random.Random(3)
    alphabet = ["a", "指", ",", "\t", "\n", "\r", " ", "\u3000", "\xa0", "\x0b", "\x01", "\x85", "\u2028", "_x000B_",
                "_x00", "\ufffe", "\x7f", "€", "😀"]
    for _ in range(4000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14)))
        for d in (",", "\t"):
            if "_x00" not in text and _quiet_class(d).search(text) is None:
                assert not has_controls(text) and not edge_spaces(text, d), (text, d)
        longest = max(map(len, text.split("\n")))
        for enc in ("utf-8", "gb18030"):
            raw = text.encode(enc, errors="replace")
            if raw.decode(enc) == text:
                assert _longest_line(raw) >= longest
                assert _longest_line(raw * 5000) >= max(map(len, (text * 5000).split("\n")))


@pytest.mark.parametrize("shape", ["distinct-then-runs", "runs-then-distinct", "alternating", "na-in-head",
                                   "all-distinct"])
@pytest.mark.parametrize("keep_missing", [False, True])
def test_factorize_runs_is_pandas_factorize_on_long_columns(shape, keep_missing):
    """Above 4 × 1,024 rows factorize_runs looks at the first rows to choose a path (hash at once, or the runs'
    first values): every path gives pd.factorize's codes and uniques."""
    from evaluator.columns import factorize_runs

    rng = random.Random(shape)
    n = 6_000
    if shape == "distinct-then-runs":
        values = [f"名{i}" for i in range(1_100)] + [f"组{i // 50}" for i in range(n - 1_100)]
    elif shape == "runs-then-distinct":
        values = [f"组{i // 50}" for i in range(3_000)] + [f"名{i}" for i in range(n - 3_000)]
    elif shape == "alternating":
        values = [("甲", "乙", None)[i % 3] for i in range(n)]
    elif shape == "na-in-head":
        values = [pd.NA if i % 7 == 0 else f"名{rng.randrange(40)}" for i in range(n)]
    else:
        values = [f"名{i}" for i in range(n)]
    column = pd.Series(values, dtype=object).to_numpy(dtype=object)
    codes, uniques = factorize_runs(column, keep_missing=keep_missing)
    want_codes, want_uniques = pd.factorize(column, use_na_sentinel=not keep_missing)
    assert codes.tolist() == want_codes.tolist()
    assert [u if isinstance(u, str) else None for u in uniques] == \
        [u if isinstance(u, str) else None for u in want_uniques]
