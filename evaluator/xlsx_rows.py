"""XlsxWriter with whole rows: the fill-in workbook's cells written as XlsxWriter writes them, at a fraction of
the cost.

A template of 10,000 tables is 1.5 million cells. XlsxWriter spends ~11 µs on each (argument checks, a cell
tuple, then the XML built attribute by attribute) and, in constant-memory mode, two temporary files per sheet.
``RowSheet.write_cells`` takes a whole row at once and produces, byte for byte, the ``<row>`` and ``<c>``
elements XlsxWriter's constant-memory writer produces (inline strings, its number format, its escapes — each
distinct text escaped once, with XlsxWriter's own escape functions); everything else in the file (styles,
validations, merges, protection, print setup, the package) is XlsxWriter's. A finished sheet's rows go to the
book's one temporary file, and ``Book`` assembles each sheet's XML only when it goes into the zip: memory stays
flat and 10,000 sheets need one file, not 15,000. ``tests/test_xlsx_rows.py`` compares the output with
XlsxWriter's own.
"""
from __future__ import annotations

import io
import math
import tempfile
from typing import Any, Sequence

import xlsxwriter
from xlsxwriter.exceptions import DuplicateWorksheetName, InvalidWorksheetName
from xlsxwriter.packager import Packager
from xlsxwriter.utility import _preserve_whitespace, _utf16_len, _utf16_truncate, xl_col_to_name
from xlsxwriter.worksheet import Worksheet
from xlsxwriter.xmlwriter import XMLwriter

from .output import SHEET_FORBIDDEN

__all__ = ["Book", "RowSheet"]

_STRMAX = 32767  # Excel's limit of a cell's text, in UTF-16 units (XlsxWriter truncates to it)
_COLS = [xl_col_to_name(c) for c in range(64)]  # (the template's sheets use 11 columns; others are named on use)


class RowSheet(Worksheet):
    """A worksheet whose cells are written a row at a time by ``write_cells`` (XlsxWriter's cell methods are
    not used on it: their cells would be missing from the file, so ``_write_sheet_data`` refuses them)."""

    def __init__(self) -> None:
        super().__init__()
        self._rows: list[str] = []
        self._stored: tuple[int, int] | None = None  # (offset, length) of the finished rows in the book's file
        self._store: Any = None  # the book's file of finished rows (set by Book.add_worksheet)
        self._texts: dict[str, str] = {}  # text → the rest of its <c> element (shared by every sheet of a Book)
        self._heads: dict[tuple, list[tuple[str, str | None]]] = {}  # formats of a row → each cell's '<c r="X', ' s="N"'
        self._heights: dict[float, str] = {}

    def write_cells(self, row: int, values: Sequence[Any], formats: Sequence[Any], height: float | None = None,
                    first_col: int = 0) -> None:
        """One row (0-based), its cells from ``first_col`` on: ``values[k]`` with ``formats[k]``. Numbers are
        numbers, text is text (never a formula), None or "" a blank that keeps its format; a blank without a
        format is no cell (as with XlsxWriter). ``height`` in points, as ``set_row`` takes it. Rows come in
        order, each once."""
        key = (tuple(formats), first_col)
        heads = self._heads.get(key)
        if heads is None:  # (the format indices assigned in cell order, as XlsxWriter assigns them)
            heads = self._heads[key] = [
                (f'<c r="{_COLS[c] if c < 64 else xl_col_to_name(c)}',
                 '"' if fmt is None else f'" s="{fmt._get_xf_index()}"', fmt is not None)
                for c, fmt in enumerate(key[0], start=first_col)]
        rn = str(row + 1)
        texts = self._texts
        cells: list[str] = []
        lo = hi = -1
        for k, ((head, style, formatted), value) in enumerate(zip(heads, values)):
            cls = value.__class__
            if cls is str and value:
                body = texts.get(value)
                if body is None:
                    body = texts[value] = _text_body(value)
                cells.append(f"{head}{rn}{style}{body}")
            elif value is None or value == "":
                if not formatted:
                    continue  # (a blank without a format is no cell)
                cells.append(f"{head}{rn}{style}/>")
            elif (cls is float or cls is int) and math.isfinite(value):
                cells.append(f"{head}{rn}{style}><v>{value:.16G}</v></c>")
            else:  # (booleans, non-finite numbers, numpy numbers, anything else as its text)
                cells.append(f"{head}{rn}{style}{_other_body(value)}")
            if lo < 0:
                lo = k
            hi = k
        ht = ""
        if height is not None:  # (XlsxWriter's set_row counts the row, at the sheet's first column, in its dimensions)
            col = self.dim_colmin if self.dim_colmin is not None else 0
            self._dims(row, col, col)
            ht = self._heights.get(height)
            if ht is None:
                px = height * 4 / 3  # (as set_row: points to pixels, then written back as points)
                ht = self._heights[height] = (f' ht="{px * 0.75:.16g}" customHeight="1"'
                                              if px != self.original_row_height else "")
        if cells:
            self._dims(row, first_col + lo, first_col + hi)
            self._rows.append(f'<row r="{rn}"{ht}>{"".join(cells)}</row>')
        elif height is not None:
            self._rows.append(f'<row r="{rn}"{ht}/>')

    def _dims(self, row: int, colmin: int, colmax: int) -> None:
        """The sheet's used range, as XlsxWriter's ``_check_dimensions`` keeps it."""
        if self.dim_rowmin is None or row < self.dim_rowmin:
            self.dim_rowmin = row
        if self.dim_rowmax is None or row > self.dim_rowmax:
            self.dim_rowmax = row
        if self.dim_colmin is None or colmin < self.dim_colmin:
            self.dim_colmin = colmin
        if self.dim_colmax is None or colmax > self.dim_colmax:
            self.dim_colmax = colmax

    def merge_cells(self, row: int, first: int, last: int) -> None:
        """Cells ``first``–``last`` of ``row`` merged; the value goes in the first (written with the row), the
        covered cells stay empty (XlsxWriter's ``merge_range`` would write each as a blank)."""
        self.merge.append([row, first, row, last])

    def finish(self) -> None:
        """The sheet is complete: its rows go to the book's file (UTF-8) until the workbook is assembled."""
        data = "".join(self._rows).encode("utf-8")
        self._rows = []
        self._store.seek(0, io.SEEK_END)
        self._stored = (self._store.tell(), len(data))
        self._store.write(data)

    def _write_sheet_data(self) -> None:
        if self.table:
            raise RuntimeError(f"工作表“{self.name}”的单元格须由 write_cells 写入")
        if self._stored is None:
            self.finish()
        if self.dim_rowmin is None:
            self._xml_empty_tag("sheetData")
        else:
            offset, length = self._stored
            self._store.seek(offset)
            self.fh.write("<sheetData>")
            self.fh.write(self._store.read(length).decode("utf-8"))
            self.fh.write("</sheetData>")


def _text_body(text: str) -> str:
    """The rest of an inline-string <c> element, as XlsxWriter's constant-memory writer gives it (its control
    character escapes, whitespace preservation and XML escapes). Text is always text: unlike XlsxWriter, a
    text that looks like rich-text XML ("<r>…</r>") is escaped too, never written raw."""
    if len(text) > _STRMAX // 2 and _utf16_len(text) > _STRMAX:
        text = _utf16_truncate(text, _STRMAX)
    text = XMLwriter._escape_control_characters(text)
    space = ' xml:space="preserve"' if _preserve_whitespace(text) else ""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f' t="inlineStr"><is><t{space}>{text}</t></is></c>'


def _other_body(value: Any) -> str:
    """The rest of the <c> element of anything but plain text and finite numbers, as XlsxWriter writes it: a
    boolean, a non-finite number as its error (``nan_inf_to_errors``), a number's subclass as the number,
    anything else as its text."""
    if isinstance(value, bool):
        return f' t="b"><v>{int(value)}</v></c>'
    if isinstance(value, (int, float)):
        if math.isnan(value):
            return ' t="e"><f>#NUM!</f><v>#NUM!</v></c>'
        if math.isinf(value):
            return f' t="e"><f>{"-" if value < 0 else ""}1/0</f><v>#DIV/0!</v></c>'
        return f"><v>{value:.16G}</v></c>"
    return _text_body(str(value))


class _SheetPart:
    """A worksheet's XML made when the zip asks for it (``getvalue``), then dropped: one sheet's XML in memory
    at a time."""

    def __init__(self, sheet: Worksheet) -> None:
        self.sheet = sheet

    def getvalue(self) -> str:
        out = io.StringIO()
        self.sheet._set_xml_writer(out)
        self.sheet._assemble_xml_file()
        self.sheet.fh = None  # (the sheet would keep its XML alive: 7,500 of them, 160 MB)
        return out.getvalue()


class _Packager(Packager):
    def _write_worksheet_files(self) -> None:
        index = 1
        for sheet in self.workbook.worksheets():
            if sheet.is_chartsheet:
                continue
            self.filenames.append((_SheetPart(sheet), f"xl/worksheets/sheet{index}.xml", False))
            index += 1


class Book(xlsxwriter.Workbook):
    """An XlsxWriter workbook of ``RowSheet``s: finished sheets' rows wait in one temporary file (not one or two
    per sheet, as in constant-memory mode), and each sheet's XML is assembled only when it goes into the zip.
    Text is written as text. Sheet names are checked as XlsxWriter checks them, with a set: its own check
    compares each new name with every sheet before it (quadratic in sheets)."""

    worksheet_class = RowSheet

    def __init__(self, out: Any, options: dict | None = None) -> None:
        super().__init__(out, {**(options or {}), "in_memory": True, "constant_memory": False,
                               "strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False,
                               "nan_inf_to_errors": True})
        self.names: set[str] = set()
        self._texts: dict[str, str] = {}
        self._heads: dict[tuple, list] = {}
        self._heights: dict[float, str] = {}
        self._store = tempfile.TemporaryFile()  # (removed by the system when closed, or if the process dies)

    def add_worksheet(self, name: str | None = None, worksheet_class: Any = None) -> RowSheet:
        ws = super().add_worksheet(name, worksheet_class)
        # (one escape per distinct text, one set of cell heads per row layout, in the whole workbook)
        ws._texts, ws._heads, ws._heights, ws._store = self._texts, self._heads, self._heights, self._store
        return ws

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._store.close()

    def _check_sheetname(self, sheetname, is_chartsheet=False):  # noqa: ANN001 (XlsxWriter's hook)
        if (not sheetname or _utf16_len(sheetname) > 31 or SHEET_FORBIDDEN.search(sheetname)
                or sheetname.startswith("'") or sheetname.endswith("'")):
            raise InvalidWorksheetName(f"工作表名不合 Excel 的要求：{sheetname}")
        if sheetname.lower() in self.names:
            raise DuplicateWorksheetName(f"工作表名重复：{sheetname}")
        self.names.add(sheetname.lower())
        return sheetname

    def _get_packager(self) -> Packager:
        return _Packager()
