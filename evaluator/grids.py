"""Every input table as a grid of texts: Word bodies (paragraphs and tables in order), Excel sheets (.xlsx, .xls,
WPS .et), CSV. The one place cell text enters evaluator: sizes are checked before a sheet is built, control
characters are removed with a finding, merged regions are filled, hidden sheets are skipped.

A grid is dense in rows and columns but keeps merges sparse (``merged`` maps only the cells a merge covers to the
region's top-left), so a 200,000-row flat table costs one list of strings per row and nothing more.
"""
from __future__ import annotations

import codecs
import csv
import datetime as dt
import html
import io
import re
import sys
import zipfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

from .errors import (CONTROL_CHARACTERS, CONTROLS, InputFileError, check_cell, check_sheet_size, has_controls,
                     max_cell_chars, notice, remove_controls)
from .model import Location

__all__ = ["Grid", "docx_grids", "sheet_grids", "csv_grid", "clean_text", "col_name", "edge_spaces"]


@dataclass
class Grid:
    """One Word table, Word paragraph, Excel sheet or CSV file as rows of texts.

    ``merged[(r, c)]`` is the top-left cell of the merged region that covers (r, c), for covered cells only; a
    covered cell's text repeats its region's text. ``rows[r]`` is r's row number in the source (1-based)."""

    name: str  # "表 1", "段落 3", "工作表“Sheet1”", "x.csv"
    cells: list[list[str]]
    merged: dict[tuple[int, int], tuple[int, int]] = field(default_factory=dict)
    rows: list[int] | None = None
    kind: str = "table"  # "table" | "paragraph" | "sheet" | "csv"
    file: str | None = None
    stripped: bool = False  # no cell starts or ends with a space: the reader checked or cleaned every cell

    @property
    def merged_rows(self) -> set[int]:
        """The rows that have a covered cell (computed once)."""
        rows = self.__dict__.get("_merged_rows")
        if rows is None:
            rows = self.__dict__["_merged_rows"] = {r for r, _ in self.merged}
        return rows

    def origin(self, r: int, c: int) -> tuple[int, int]:
        return self.merged.get((r, c), (r, c))

    def row_number(self, r: int) -> int:
        return self.rows[r] if self.rows is not None else r + 1


def col_name(c: int) -> str:
    s, n = "", c + 1
    while n:
        n, rem = divmod(n - 1, 26)
        s = chr(65 + rem) + s
    return s


_END = "。；;：:！!？?）)」』”"


def clean_text(text: str) -> str:
    """Cell text as data: lines stripped, and a line break that only wrapped a narrow cell removed.

    "专题调研和\n提案工作" → "专题调研和提案工作"; "…答复；\n2.完成…" keeps its break (the line ends a sentence
    or item, or is long enough to be a line of its own)."""
    if "\n" not in text and "\r" not in text:
        return text.strip()
    lines = [line.strip() for line in str(text).replace("\r", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    while lines and not lines[0]:
        lines.pop(0)
    out: list[str] = []
    for line in lines:
        if out and out[-1] and line and len(out[-1]) <= 12 and out[-1][-1] not in _END:
            out[-1] += line
        else:
            out.append(line)
    return "\n".join(out)


def _where(file: str, sheet: str | None, r: int, c: int) -> tuple[str, Location]:
    place = f"{file}" + (f" {sheet}" if sheet else "") + f" 第 {r} 行 {col_name(c)} 列"
    return place, Location(file=file, sheet=sheet, row=r, column=col_name(c))


def _checked_row(row: list[str], file: str, sheet: str | None, r: int, most: float) -> list[str]:
    """Length limit and control characters for a whole row at once (the common clean row costs two C calls)."""
    if row and max(map(len, row)) > most:
        for c, text in enumerate(row):
            if len(text) > most:
                check_cell(text, _where(file, sheet, r, c)[0])
    if CONTROL_CHARACTERS.search("".join(row)):
        for c, text in enumerate(row):
            if CONTROL_CHARACTERS.search(text):
                place, loc = _where(file, sheet, r, c)
                row[c] = remove_controls(text, place, loc)
    return row


# --------------------------------------------------------------------------- Word
def docx_grids(path: Path) -> list[Grid]:
    """The body of a .docx in order: each non-blank paragraph a one-cell grid, each table a grid."""
    from docx import Document
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = Document(str(path))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError) as e:
        raise InputFileError(f"无法打开 Word 文件（{type(e).__name__}）", where=str(path),
                             hint="请确认文件未损坏、未加密；也可在 Word/WPS 中另存为 .docx 后再试") from e
    grids: list[Grid] = []
    tables = paragraphs = 0
    for el in _body_blocks(document.element.body):
        if el.tag.endswith("}tbl"):
            tables += 1
            grids.append(_docx_table(el, f"表 {tables}", str(path)))
        else:
            paragraphs += 1
            text = _paragraph_text(el)
            if text.strip():
                name = f"第 {paragraphs} 段"
                text = check_cell(text, f"{path} {name}", Location(file=str(path), sheet=name))
                grids.append(Grid(name=name, cells=[[clean_text(text)]], kind="paragraph", file=str(path)))
    return grids


def _body_blocks(body) -> Iterator[Any]:
    """Paragraphs and tables of the body in order, looking inside content controls (w:sdt)."""
    for el in body.iterchildren():
        tag = el.tag.rsplit("}", 1)[-1]
        if tag in ("p", "tbl"):
            yield el
        elif tag == "sdt":
            for content in el.iterchildren():
                if content.tag.endswith("}sdtContent"):
                    yield from _body_blocks(content)


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _paragraph_text(p) -> str:
    """A paragraph's text with its tabs and line breaks (a tab separates "填报单位：…" from "金额单位：…")."""
    out = []
    for el in p.iter(_W + "t", _W + "tab", _W + "br", _W + "cr"):
        if el.tag == _W + "t":
            out.append(el.text or "")
        elif el.tag == _W + "tab":
            out.append("\t")
        else:
            out.append("\n")
    return "".join(out)


def _tc_text(tc) -> str:
    paragraphs = tc.xpath("./w:p | ./w:tbl//w:p")
    return clean_text("\n".join("".join(p.xpath(".//w:t/text()")) for p in paragraphs))


def _docx_table(tbl, name: str, file: str) -> Grid:
    raw: list[list[tuple[int, int, str, str | None]]] = []  # (col, span, text, vMerge)
    width = 0
    check_sheet_size(len(tbl.tr_lst), 0, f"{file} {name}")
    for tr in tbl.tr_lst:
        col = tr.grid_before
        row = []
        for tc in tr.tc_lst:
            span = tc.grid_span
            place = f"{file} {name} 第 {len(raw) + 1} 行 {col_name(col)} 列"
            text = check_cell(_tc_text(tc), place,
                              Location(file=file, sheet=name, row=len(raw) + 1, column=col_name(col)))
            row.append((col, span, text, tc.vMerge))
            col += span
        width = max(width, col + tr.grid_after)
        raw.append(row)
    cells = [[""] * width for _ in raw]
    merged: dict[tuple[int, int], tuple[int, int]] = {}
    for r, row in enumerate(raw):
        for col, span, text, vmerge in row:
            if vmerge == "continue" and r > 0:
                top = merged.get((r - 1, col), (r - 1, col))
                for c in range(col, min(col + span, width)):
                    merged[(r, c)] = top
                    cells[r][c] = cells[top[0]][top[1]]
            else:
                for c in range(col, min(col + span, width)):
                    if c != col:
                        merged[(r, c)] = (r, col)
                    cells[r][c] = text
    return Grid(name=name, cells=cells, merged=merged, kind="table", file=file)


# --------------------------------------------------------------------------- Excel (.xlsx, .xls, .et)
def _cell_text(v: Any) -> str:
    if v is None or v == "":
        return ""
    if isinstance(v, str):
        return clean_text(v)
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else repr(v)
    if isinstance(v, (dt.date, dt.datetime)):  # a date typed into Excel (a serial number)
        return f"{v.year}年{v.month}月{v.day}日"
    return clean_text(str(v))


def sheet_grids(path: Path, visible_only: bool = True) -> list[Grid]:
    """Every (visible) sheet of an Excel workbook — .xlsx/.xlsm, .xls or a WPS .et — with merged regions filled.

    Read with python-calamine (one reader for every format, merged ranges included; bench/README.md has the
    figures against xlrd and openpyxl). An .xlsx sheet's size is checked from its ``<dimension>`` before the sheet
    is read, and its XML is scanned for what calamine does not report: error values (#DIV/0!, #N/A …), which are
    kept as their text, and formulas with no stored result, which are refused. In an .xls/.et (BIFF) calamine reads
    error values as blank too: xlrd finds them (``_xls_errors``)."""
    from python_calamine import CalamineWorkbook, SheetTypeEnum, SheetVisibleEnum

    file = str(path)
    ooxml = zipfile.is_zipfile(path)
    parts = _xlsx_parts(path) if ooxml else {}
    try:
        fh = open(path, "rb")
    except OSError as e:
        raise InputFileError(f"无法读取文件（{e.strerror}）", where=file) from e
    with fh:
        try:
            book = CalamineWorkbook.from_filelike(fh)
            metadata = book.sheets_metadata
        except Exception as e:  # calamine raises its own error types and ValueError for a broken or encrypted file
            raise _open_error(path, e) from e
        grids, hidden = [], []
        xls_errors: dict[str, dict[tuple[int, int], tuple[str, str]]] | None = None
        for meta in metadata:
            if visible_only and meta.visible != SheetVisibleEnum.Visible:
                hidden.append(meta.name)
                continue
            if meta.typ != SheetTypeEnum.WorkSheet:
                continue
            label = f"工作表“{meta.name}”"
            where = f"{file} {label}"
            part = parts.get(meta.name)
            dims = _xlsx_dimension(path, part) if part is not None else None
            if dims is not None:
                check_sheet_size(dims[0], dims[1], where)
            try:
                sheet = book.get_sheet_by_name(meta.name)
            except Exception as e:  # noqa: BLE001 - a broken sheet inside a readable workbook
                raise _open_error(path, e) from e
            if dims is None:  # .xls/.et (BIFF: at most 65,536 rows), or an .xlsx written without its <dimension>:
                # calamine holds the sheet compactly; the check comes before any Python object is built
                check_sheet_size(sheet.total_height + 1 if sheet.height else 0, sheet.total_width + 1, where)
            if part is not None:
                specials = _xlsx_specials(path, part)
            else:
                if xls_errors is None:
                    xls_errors = {} if ooxml else _xls_errors(path)
                specials = xls_errors.get(meta.name, {})
            grids.append(_sheet_grid(sheet, label, file, specials))
    if hidden:
        notice(f"{path.name}：已跳过隐藏的工作表 {'、'.join(f'“{n}”' for n in hidden)}")
    return grids


def _sheet_grid(sheet, label: str, file: str, specials: dict[tuple[int, int], tuple[str, str]]) -> Grid:
    start_c = (sheet.start or (0, 0))[1]
    most = max_cell_chars()
    ranges = sheet.merged_cell_ranges or []
    covered_rows: set[int] = set()
    for (r0, _), (r1, _) in ranges:
        if r1 > r0:
            covered_rows.update(range(r0, r1 + 1))
    special_rows = {r for r, _ in specials}
    cells: list[list[str]] = []
    rows: list[int] = []
    width = 0
    for r, values in enumerate(sheet.iter_rows()):  # rows from the sheet's first row, columns from its first column
        row = [v if type(v) is str and (not v or (v[0] > " " and v[-1] > " " and "\n" not in v)) else _cell_text(v)
               for v in values]
        if start_c:
            row = [""] * start_c + row
        if not any(row) and r not in covered_rows and r not in special_rows:
            continue
        rows.append(r + 1)
        cells.append(_checked_row(row, file, label, r + 1, most))
        width = max(width, len(row))
    for (r, c), (what, text) in specials.items():
        k = _index(rows, r + 1)
        if what == "formula":
            raise InputFileError(f"单元格是公式“{text}”，但没有计算结果", where=f"{file} {label} 第 {r + 1} 行 {col_name(c)} 列",
                                 hint="请在 Excel/WPS 中打开并保存该文件后再试，或直接填写数值")
        if k is None:
            rows.append(r + 1)
            cells.append([""] * max(width, c + 1))
            order = sorted(range(len(rows)), key=rows.__getitem__)
            rows, cells = [rows[i] for i in order], [cells[i] for i in order]
            k = _index(rows, r + 1)
        row = cells[k]
        if c >= len(row):
            row.extend([""] * (c + 1 - len(row)))
        row[c] = text  # an error value (#DIV/0!): kept as written, so it is unreadable rather than blank
        width = max(width, len(row))
    for row in cells:
        if len(row) < width:
            row.extend([""] * (width - len(row)))
    merged: dict[tuple[int, int], tuple[int, int]] = {}
    if ranges:
        index = {n: k for k, n in enumerate(rows)}
        for (r0, c0), (r1, c1) in ranges:
            top = None
            for r in range(r0, r1 + 1):
                k = index.get(r + 1)
                if k is None:
                    continue
                if top is None:
                    top = (k, c0)
                    text = cells[k][c0] if c0 < width else ""
                for c in range(c0, min(c1 + 1, width)):
                    if (k, c) != top:
                        merged[(k, c)] = top
                        cells[k][c] = text
    return Grid(name=label, cells=cells, merged=merged, rows=rows, kind="sheet", file=file)


def _index(rows: list[int], n: int) -> int | None:
    import bisect

    k = bisect.bisect_left(rows, n)
    return k if k < len(rows) and rows[k] == n else None


def _open_error(path: Path, e: Exception) -> InputFileError:
    text = f"{type(e).__name__} {e}".lower()
    if "password" in text or "encrypt" in text:
        return InputFileError("Excel 文件设置了打开密码，无法读取", where=str(path), hint="请去掉打开密码后另存，再试")
    return InputFileError(f"无法打开 Excel 文件（{type(e).__name__}）", where=str(path),
                          hint="请确认文件未损坏、未加密；也可在 Excel/WPS 中另存为 .xlsx 后再试")


_NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def _xlsx_parts(path: Path) -> dict[str, str]:
    """Sheet name → the zip member holding its XML (from xl/workbook.xml and its relationships)."""
    from xml.etree import ElementTree as ET

    try:
        with zipfile.ZipFile(path) as z:
            book = ET.fromstring(z.read("xl/workbook.xml"))
            rels = ET.fromstring(z.read("xl/_rels/workbook.xml.rels"))
    except (KeyError, zipfile.BadZipFile, ET.ParseError, OSError):
        return {}
    targets = {r.get("Id"): r.get("Target", "") for r in rels}
    out = {}
    for s in book.iter(f"{{{_NS_MAIN}}}sheet"):
        target = targets.get(s.get(f"{{{_NS_REL}}}id"), "")
        if target:
            out[s.get("name")] = target.lstrip("/") if target.startswith("/") else "xl/" + target
    return out


_DIMENSION = re.compile(rb'<(?:\w+:)?dimension\s+ref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"')


def _col_number(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n


def _xlsx_dimension(path: Path, part: str) -> tuple[int, int] | None:
    """(rows, columns) from a sheet's ``<dimension ref="A1:H200000">``, read from the first bytes of its XML."""
    try:
        with zipfile.ZipFile(path) as z, z.open(part) as fh:
            head = fh.read(8192)
    except (KeyError, zipfile.BadZipFile, OSError, EOFError, zipfile.LargeZipFile):
        return None
    m = _DIMENSION.search(head)
    if not m:
        return None
    if m.group(3):
        return int(m.group(4)), _col_number(m.group(3))
    return int(m.group(2)), _col_number(m.group(1))


_CELL = re.compile(rb'<(?:\w+:)?c\b([^>/]*)>(.*?)</(?:\w+:)?c>', re.S)
_REF = re.compile(rb'r="([A-Z]+)(\d+)"')
_FORMULA = re.compile(rb'<(?:\w+:)?f\b[^>]*?(?:/>|>(.*?)</(?:\w+:)?f>)', re.S)
_VALUE = re.compile(rb'<(?:\w+:)?v>(.*?)</(?:\w+:)?v>', re.S)


def _xlsx_specials(path: Path, part: str) -> dict[tuple[int, int], tuple[str, str]]:
    """Cells calamine reads as blank that are not: error values and formulas without a stored result.

    The sheet's XML is streamed once for the two markers; only a sheet that has them is searched cell by cell."""
    try:
        with zipfile.ZipFile(path) as z, z.open(part) as fh:
            tail, hit = b"", False
            while chunk := fh.read(1 << 20):
                if b"<f" in tail + chunk or b't="e"' in tail + chunk or b":f" in tail + chunk:
                    hit = True
                    break
                tail = chunk[-8:]
            if not hit:
                return {}
            data = z.read(part)
    except (KeyError, zipfile.BadZipFile, OSError, EOFError):
        return {}
    out: dict[tuple[int, int], tuple[str, str]] = {}
    for m in _CELL.finditer(data):
        attrs, body = m.group(1), m.group(2)
        ref = _REF.search(attrs)
        if ref is None:
            continue
        at = (int(ref.group(2)) - 1, _col_number(ref.group(1)) - 1)
        value = _VALUE.search(body)
        stored = value is not None and value.group(1).strip() != b""
        if b't="e"' in attrs and stored:
            out[at] = ("error", html.unescape(value.group(1).decode("utf-8", "replace")))
        elif not stored and (f := _FORMULA.search(body)) and b'<is>' not in body:
            text = f.group(1) or b""
            out[at] = ("formula", "=" + html.unescape(text.decode("utf-8", "replace")))
    return out


def _xls_errors(path: Path) -> dict[str, dict[tuple[int, int], tuple[str, str]]]:
    """Sheet name → {(row, column): ("error", "#DIV/0!")} for the error values of a BIFF workbook (.xls, most .et),
    which calamine reads as blank: an error is an unreadable answer, never a missing one (and never 0).

    xlrd reads the BIFF records calamine does not expose; a file xlrd cannot open (a WPS variant) keeps calamine's
    reading alone."""
    import xlrd

    if not _may_hold_errors(path):
        return {}
    try:
        book = xlrd.open_workbook(str(path), on_demand=True, logfile=io.StringIO())
    except Exception:  # noqa: BLE001 - xlrd raises many types; calamine has already read the file
        return {}
    out: dict[str, dict[tuple[int, int], tuple[str, str]]] = {}
    try:
        for k, name in enumerate(book.sheet_names()):
            try:
                sheet = book.sheet_by_index(k)
            except Exception:  # noqa: BLE001 - one sheet xlrd cannot parse: calamine's reading stands
                continue
            found = {}
            for r in range(sheet.nrows):
                types = sheet.row_types(r)
                if xlrd.XL_CELL_ERROR in types:
                    values = sheet.row_values(r)
                    for c, t in enumerate(types):
                        if t == xlrd.XL_CELL_ERROR:
                            found[(r, c)] = ("error", xlrd.error_text_from_code.get(values[c], "#N/A"))
            if found:
                out[name] = found
            book.unload_sheet(k)
    finally:
        book.release_resources()
    return out


# a BIFF8 FORMULA record (0x0006) whose stored result is an error (result type 2, then 0xFFFF), or a BOOLERR record
# (0x0205, 8 bytes) flagged as an error: a byte pattern either may match by chance elsewhere, so it only decides
# whether xlrd reads the workbook's cells; it never finds an error by itself
_BIFF_ERROR = re.compile(rb"\x06\x00..[\s\S]{6}\x02[\s\S]{5}\xff\xff|\x05\x02\x08\x00[\s\S]{7}\x01", re.S)


def _may_hold_errors(path: Path) -> bool:
    """Whether a BIFF workbook can hold an error value: its workbook stream searched for the records that store one
    (0.06 s for a 60,000-row .xls, where xlrd's reading of every cell takes 0.5 s)."""
    import olefile

    try:
        with olefile.OleFileIO(str(path)) as ole:
            name = next((n for n in ("Workbook", "Book") if ole.exists(n)), None)
            if name is None:
                return True
            data = ole.openstream(name).read()
    except Exception:  # noqa: BLE001 - not an OLE file xlrd knows either way: let xlrd decide
        return True
    return _BIFF_ERROR.search(data) is not None


# --------------------------------------------------------------------------- CSV
def csv_grid(path: Path) -> Grid:
    """A CSV file (UTF-8 with or without BOM, or GB18030 as Chinese Excel writes it) as one grid.

    A quote that never closes is refused with the line where it opens — never rows swallowed into one cell."""
    raw = path.read_bytes()
    text = None
    for enc in ("utf-8-sig", "gb18030"):
        try:
            text = codecs.decode(raw, enc)
            break
        except UnicodeDecodeError:
            continue
    if text is None:  # pragma: no cover - gb18030 decodes nearly anything
        raise InputFileError("无法识别文件编码", where=str(path), hint="请另存为 UTF-8 CSV")
    file = str(path)
    lines = text.count("\n") + 1
    check_sheet_size(lines, 0, file)
    delimiter = "\t" if "\t" in text[:2000] and "," not in text[:2000] else ","
    # without quotes no cell spans lines or holds a delimiter: each row is one line (row k on line k + 1), the
    # rows are read in one call, and one scan of the text says whether any cell can be too long or start or end
    # with a space, so a clean file's rows are not checked one by one
    quoted = '"' in text
    line = 1
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        starts: list[int] | None = None
        if quoted:
            rows: list[list[str]] = []
            starts = []
            for row in reader:
                rows.append(row)
                starts.append(line)
                line = reader.line_num + 1
        else:
            rows = list(reader)
    except csv.Error as e:  # e.g. a field larger than the csv module's limit
        if starts is None:
            line = reader.line_num
        raise InputFileError(f"CSV 格式有误（{e}）", where=f"{path} 第 {line} 行", hint="请用 Excel/WPS 另存为 CSV") from e
    if quoted:
        _check_quotes(path, text, rows, starts)
    width = max(map(len, rows), default=0)
    check_sheet_size(len(rows), width, file)
    most = max_cell_chars()
    if not quoted and "_x00" not in text and _quiet_class(delimiter).search(text) is None:
        controls = edges = False  # (one scan: no control character, no space but the delimiter)
    else:
        controls = has_controls(text)
        edges = quoted or edge_spaces(text, delimiter)
    long_cells = quoted or _longest_line(raw) > most and max(map(len, text.split("\n")), default=0) > most
    if not (controls or long_cells or edges) and len(set(map(len, rows))) <= 1:
        return Grid(name=path.name, cells=rows, rows=starts, kind="csv", file=file, stripped=True)  # (nothing to pad or check)
    for k, row in enumerate(rows):
        if len(row) < width:
            row.extend([""] * (width - len(row)))
        if controls or (long_cells and row and max(map(len, row)) > most):
            _checked_row(row, file, None, starts[k] if starts is not None else k + 1, most)
        if edges and any("\n" in t or t[:1].isspace() or t[-1:].isspace() for t in row):
            rows[k] = [clean_text(t) for t in row]
    # stripped: with edges every row that has a cell with a line break or an edge space was cleaned (after its
    # control characters were removed); without, no cell has one (no cell spans a line) — unless removing a control
    # character left one ("\x01 a" → " a")
    return Grid(name=path.name, cells=rows, rows=starts, kind="csv", file=file, stripped=edges or not controls)


# what str.isspace calls a space, and those of them that do not end a line
SPACES = tuple(c for c in map(chr, range(0x3001)) if c.isspace())
_INLINE_SPACES = tuple(c for c in SPACES if c not in "\r\n")


@lru_cache(maxsize=8)
def _quiet_class(delimiter: str) -> re.Pattern:
    """Any character that makes ``has_controls`` or ``edge_spaces`` look further: a control character (one of
    ``errors.CONTROLS``; their ``_x00…_`` escapes are looked for apart) or a space other than ``delimiter``."""
    spaces = "".join(c for c in _INLINE_SPACES if c != delimiter)
    return re.compile(f"[{re.escape(CONTROLS + spaces)}]")


def _longest_line(raw: bytes) -> int:
    """The most bytes on one line of ``raw`` — at least as many as its characters, in any encoding (a line's
    characters are never more than its bytes; in UTF-8 and GB18030 a newline byte is only ever a newline)."""
    np = sys.modules.get("numpy")  # (the commands that score have it; a lighter caller does not import it for this)
    if len(raw) < 1 << 16 or np is None:
        return len(raw)
    ends = np.flatnonzero(np.frombuffer(raw, dtype=np.uint8) == 10)
    return int(np.diff(ends, prepend=-1, append=len(raw)).max())


def edge_spaces(text: str, delimiter: str, lines: bool = True) -> bool:
    """Can a cell of ``text`` (cells joined by ``delimiter``, unquoted) start or end with a space? A space next to
    a delimiter or an end of the text — with ``lines``, also a line end, and line ends are no spaces then. A search
    for each such pair, for each space the text holds at all: no regular expression walks a 10 MB text."""
    bounds = (delimiter, "\n", "\r") if lines else (delimiter,)
    for c in _INLINE_SPACES if lines else SPACES:
        if c == delimiter or c not in text:
            continue
        if text.startswith(c) or text.endswith(c) or any(b + c in text or c + b in text for b in bounds):
            return True
    return False


def _check_quotes(path: Path, text: str, rows: list[list[str]], starts: list[int]) -> None:
    """Refuse a quote that runs to the end of the file, or that swallows whole lines of the table into one cell."""
    if not rows:
        return
    width = max(len(r) for r in rows[: min(len(rows), 30)])
    odd = text.count('"') % 2 == 1
    for k, row in enumerate(rows):
        for cell in row:
            if "\n" not in cell:
                continue
            swallowed = [x for x in cell.split("\n") if x.count(",") >= max(2, width - 2)]
            if swallowed or (odd and k == len(rows) - 1):
                n = cell.count("\n")
                raise InputFileError(f"引号没有配对：从这一行开始的引号一直没有结束，后面 {n} 行被读进了同一个单元格",
                                     where=f"{path} 第 {starts[k]} 行",
                                     hint="请检查这一行的英文双引号（\"）是否成对，或用 Excel/WPS 重新另存为 CSV")
