"""``xlsx_rows``: rows written whole give exactly the XML XlsxWriter's own cell methods give — for every cell
kind, escape and row height, and for the whole 自评填报 template — so the faster writer changes nothing the
clerk sees or the workbook does."""
from __future__ import annotations

import io
import math
import zipfile

import numpy as np
import pytest
import xlsxwriter
from openpyxl import load_workbook
from xlsxwriter.worksheet import Worksheet

from evaluator import xlsx_rows
from evaluator.workbook import FORMATS, write_template


class _RefSheet(Worksheet):
    """The same interface written through XlsxWriter's public cell methods (constant-memory mode): what the
    template's writer did before ``xlsx_rows``."""

    def write_cells(self, row, values, formats, height=None, first_col=0):
        if height is not None:
            self.set_row_pixels(row, height * 4 / 3)
        for col, (value, fmt) in enumerate(zip(values, formats), start=first_col):
            if value is None or value == "":
                self.write_blank(row, col, None, fmt)
            elif isinstance(value, bool):
                self.write_boolean(row, col, value, fmt)
            elif isinstance(value, (int, float)):
                self.write_number(row, col, value, fmt)
            else:
                self.write_string(row, col, str(value), fmt)

    def merge_cells(self, row, first, last):
        self.merge.append([row, first, row, last])

    def finish(self):
        self._opt_close()


class _RefBook(xlsxwriter.Workbook):
    worksheet_class = _RefSheet

    def __init__(self, out, options=None):
        super().__init__(out, {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
                               "strings_to_numbers": False, "nan_inf_to_errors": True})


def _parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {n: z.read(n) for n in z.namelist()}


def _both(write) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """``write(book)`` run on XlsxWriter's own writer and on ``xlsx_rows.Book``: each file's zip parts."""
    out = []
    for cls in (_RefBook, xlsx_rows.Book):
        buf = io.BytesIO()
        book = cls(buf)
        book.set_properties({"author": "evaluator", "created": __import__("datetime").datetime(2024, 1, 1)})
        write(book)
        book.close()
        out.append(_parts(buf.getvalue()))
    return out[0], out[1]


TEXTS = ["政协常委会", "≥5次", "a & b < c > d", ' "quoted" ', " leading", "trailing ", "two\nlines", "tab\tin",
         "ctl\x01\x1f", "_x0041_ literal", "=SUM(A1)", "+1", "1,000", "𠀀 astral", "\ufffe", "x" * 40000,
         "\u2028sep", "100%", "-"]
NUMBERS = [0, 1, -3, 8.33, 0.1 + 0.2, 1e20, 123456789012345678, 2.5e-9, 7.5, math.nan, math.inf, -math.inf,
           np.float64(8.34), True, False]


def test_every_cell_kind_is_written_as_xlsxwriter_writes_it():
    """Text (escapes, control characters, whitespace, over-long), numbers (ints, floats, huge, non-finite,
    numpy), booleans, blanks with and without a format, row heights (and the default), an offset first column,
    columns past Z, merges, an empty sheet: the sheet XML, styles and package are byte-identical."""

    def write(book):
        f = {k: book.add_format(v) for k, v in FORMATS.items()}
        ws = book.add_worksheet("数据")
        ws.write_cells(0, TEXTS, [f["locked"], None, f["entry"]] * 7, height=15.5)
        ws.write_cells(1, NUMBERS, [f["amount"], None] * 8)
        ws.write_cells(2, [None, "", None, "x", None], [f["entry"], f["entry"], None, f["title"], None], height=60)
        ws.write_cells(3, ["a", None, 5], [f["label"], f["narrative"], f["locked"]], height=15, first_col=27)
        ws.write_cells(5, ["实际完成情况", None, None, "text"], [f["label"], None, None, f["narrative"]], height=29)
        ws.merge_cells(5, 0, 2)
        ws.merge_cells(5, 3, 10)
        ws.write_cells(7, [1, 2], [None, None], height=20)
        ws.finish()
        empty = book.add_worksheet("空")
        empty.finish()
        late = book.add_worksheet("后")
        late.write_cells(4, ["x"], [f["doc_line"]])
        late.finish()  # (every sheet written and finished before the file is assembled, as the template does)

    ref, got = _both(write)
    assert list(ref) == list(got)
    assert {n for n in ref if ref[n] != got[n]} == set()


def test_text_that_looks_like_rich_text_stays_text():
    """XlsxWriter's constant-memory writer passes a string starting "<r>" and ending "</r>" through as raw
    rich-text XML (a hostile 指标 name could break the file); here it is escaped like any text."""
    buf = io.BytesIO()
    book = xlsx_rows.Book(buf)
    ws = book.add_worksheet("s")
    ws.write_cells(0, ["<r><t>x</t></r>", "<r>"], [None, None])
    ws.finish()
    book.close()
    cells = [c.value for c in load_workbook(io.BytesIO(buf.getvalue()))["s"][1]]
    assert cells == ["<r><t>x</t></r>", "<r>"]


def test_cells_written_the_usual_way_are_refused():
    """A RowSheet holds only rows given to ``write_cells``: a cell written by XlsxWriter's own methods would be
    left out of the file, so closing the workbook refuses it instead of losing it silently."""
    book = xlsx_rows.Book(io.BytesIO())
    ws = book.add_worksheet("s")
    ws.write_string(0, 0, "lost?")
    with pytest.raises(Exception, match="write_cells"):
        book.close()


def test_the_template_is_byte_identical_to_xlsxwriters_own_cells(tmp_path, monkeypatch, seed_targets, seed_actuals,
                                                                  mof):
    """The whole 自评填报 workbook — with entries carried over, and with names and entries that need escaping —
    written through ``xlsx_rows`` and through XlsxWriter's cell methods: every part of the file identical."""
    tables = [t for t in seed_targets.tables if t.indicators]
    odd = seed_targets.model_copy(update={"tables": [
        tables[0].model_copy(update={"id": "odd", "title": " <标题> & \"引号\" ", "indicators": [
            i.model_copy(update={"level3": n}) for i, n in zip(tables[0].indicators,
                                                               ["a&b", " 前空格", "=1+1", "_x0041_", "行\n二"])]
            + tables[0].indicators[5:]}), *tables[1:]]})
    for targets, actuals in ((seed_targets, seed_actuals), (odd, None)):
        files = {}
        for name, book in (("ref", _RefBook), ("rows", xlsx_rows.Book)):
            monkeypatch.setattr(xlsx_rows, "Book", book)
            files[name] = _parts(write_template(targets, mof, tmp_path / f"{name}.xlsx", actuals).read_bytes())
        assert list(files["ref"]) == list(files["rows"])
        assert [n for n in files["ref"] if files["ref"][n] != files["rows"][n]] == []
